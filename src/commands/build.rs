//! `mailinfra build`: the templates and the stack manifest on disk, and
//! `mailinfra.lock` when the placement of elements in stacks changed;
//! `--check` compares a committed build with what the spec compiles to.

use std::path::Path;

use super::args::Cli;
use super::context::{Front, front, out};
use super::{Exit, Result};
use crate::build::{self, Stale};

pub(super) fn run(cli: &Cli, dir: &Path, check: bool) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
    if check {
        return self::check(&front, dir);
    }
    build::write(dir, &front.manifest, &front.artifacts)?;
    let placement = &front.placement;
    if placement.needed && !placement.current {
        build::write_atomic(&placement.path, placement.placement.render().as_bytes())?;
        eprintln!(
            "wrote {}: commit it, it keeps every element in its stack",
            placement.path.display()
        );
    }
    for a in &front.artifacts {
        let e = &a.entry;
        let deps = if e.depends_on.is_empty() {
            String::new()
        } else {
            format!("  after {}", e.depends_on.join(", "))
        };
        let upload = if e.needs_upload { "  (via S3)" } else { "" };
        out(&format!(
            "{}  {}  {} resources  {} bytes{upload}{deps}\n",
            e.name, e.region, e.resources, e.bytes
        ))?;
    }
    eprintln!(
        "wrote {} template(s) and {} to {}",
        front.artifacts.len(),
        build::MANIFEST,
        dir.display()
    );
    Ok(Exit::Success)
}

/// `build --check`: every difference between the build in `dir` (and the
/// lock file) and what the spec compiles to, as a diff; nothing is written.
fn check(front: &Front, dir: &Path) -> Result<Exit> {
    let mut found = build::compare(dir, &front.manifest, &front.artifacts)?;
    let placement = &front.placement;
    if placement.needed && !placement.current {
        let have = std::fs::read_to_string(&placement.path).unwrap_or_default();
        found.push(Stale::Changed {
            file: placement.path.display().to_string(),
            diff: build::unified_diff(
                &placement.path.display().to_string(),
                &have,
                &placement.placement.render(),
            ),
        });
    }
    for f in &found {
        match f {
            Stale::Changed { diff, .. } => out(diff)?,
            Stale::Missing(file) => out(&format!("missing: {}\n", dir.join(file).display()))?,
            Stale::Extra(file) => out(&format!("no longer built: {}\n", dir.join(file).display()))?,
        }
    }
    if found.is_empty() {
        eprintln!("{}: up to date with the spec", dir.display());
        return Ok(Exit::Success);
    }
    eprintln!(
        "{} file(s) differ from what the spec compiles to; run `mailinfra build` and commit the result",
        found.len()
    );
    Ok(Exit::Changes)
}
