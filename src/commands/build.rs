//! `mailinfra build`: the templates and the stack manifest on disk, and
//! `mailinfra.lock` when the placement of elements in stacks changed.

use std::path::Path;

use super::args::Cli;
use super::context::{front, out};
use super::{Exit, Result};
use crate::build;

pub(super) fn run(cli: &Cli, dir: &Path) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
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
