//! `mailinfra init --blueprint NAME [--set KEY=VALUE]…`: a starter
//! `mailinfra.yaml` from a blueprint, its values checked as they go in. On a
//! terminal, a variable with neither value nor default is asked for.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::Context as _;

use super::args::Cli;
use super::{Error, Exit, Result};
use crate::blueprint;

pub(super) fn run(
    cli: &Cli,
    name: &str,
    set: &[(String, String)],
    out: Option<&Path>,
    force: bool,
) -> Result<Exit> {
    // A blueprint or value the command line names wrongly is a usage error.
    let usage = |e: anyhow::Error| Error::Usage(format!("{e:#}"));
    let bp = blueprint::find(name).map_err(usage)?;
    let values = set.iter().cloned().collect();
    let tty = std::io::stdin().is_terminal();
    let mut ask = |var: &str, v: &blueprint::Variable| -> Option<String> {
        if !tty {
            return None;
        }
        eprint!("{var} ({}): ", v.description);
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).ok()?;
        Some(line.trim().to_string()).filter(|l| !l.is_empty())
    };
    let text = blueprint::render(&bp, &values, &mut ask).map_err(usage)?;
    let path = out.unwrap_or(&cli.file);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Usage(format!(
                "`{}` already exists; pass `--force` to overwrite it or `--out FILE` to write elsewhere",
                path.display()
            )));
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot write `{}`", path.display()))
                .into());
        }
    };
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    eprintln!(
        "wrote {} from blueprint `{}`; next: mailinfra -f {} validate",
        path.display(),
        bp.name,
        path.display()
    );
    Ok(Exit::Success)
}
