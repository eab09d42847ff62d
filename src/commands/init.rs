//! `mailinfra init --blueprint NAME [--set KEY=VALUE]…`: a starter
//! `mailinfra.yaml` from a blueprint, its values checked as they go in. On a
//! terminal, a variable with neither value, default nor derivation is asked
//! for (again after an invalid answer); off one, `init` fails naming every
//! missing `--set` flag. The rendered spec is validated before anything is
//! written.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::Context as _;

use super::args::Cli;
use super::context::{report, summary_line};
use super::{Error, Exit, Result};
use crate::blueprint;
use crate::pipeline::{self, Checked, Judge};
use crate::render::diagnostics::Format;

/// Asks on the terminal for one value: name, type and description, and why
/// the last answer was refused. `None` at the end of input.
fn prompt(name: &str, v: &blueprint::Variable, why: Option<&str>) -> Option<String> {
    if let Some(why) = why {
        eprintln!("  not valid: {why}");
    }
    eprint!("{name} ({}, {}): ", v.var_type.as_str(), v.description);
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Load, schema and checks over the rendered text, as `validate` runs them.
fn validate(file: &str, text: String) -> Checked {
    match crate::load::Document::parse(file, text.clone()) {
        Ok(doc) => pipeline::check_document(doc, Judge::default()),
        Err(diagnostics) => Checked {
            file: file.to_string(),
            text: Some(text),
            diagnostics,
            model: None,
            spec_hash: String::new(),
        },
    }
}

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
    let given = set.iter().cloned().collect();
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut ask = prompt;
    let ask: Option<blueprint::Ask<'_>> = if tty { Some(&mut ask) } else { None };
    let values = blueprint::values(&bp, &given, ask).map_err(usage)?;
    let text = blueprint::render(&bp, &values)?;
    let path = out.unwrap_or(&cli.file);
    // The rendered spec goes through the whole front end before it is written.
    let checked = validate(&path.display().to_string(), text.clone());
    if checked.has_errors() {
        report(&checked, Format::Human, cli);
        eprintln!(
            "{}; nothing was written: change the `--set` values the errors point at",
            summary_line(&checked)
        );
        return Ok(Exit::Invalid);
    }
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
    // The schema the modeline points at, beside the spec.
    let schema = path
        .parent()
        .unwrap_or(Path::new(""))
        .join(blueprint::SCHEMA_FILE);
    std::fs::write(&schema, crate::schema::schema_text())
        .with_context(|| format!("cannot write `{}`", schema.display()))?;
    eprintln!(
        "wrote {} from blueprint `{}` and its schema {} (for editors; `mailinfra schema --out {}` refreshes it); next: mailinfra -f {} validate",
        path.display(),
        bp.name,
        schema.display(),
        schema.display(),
        path.display()
    );
    Ok(Exit::Success)
}
