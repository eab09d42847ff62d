//! `mailinfra validate`: load, schema, references and semantic rules; every
//! diagnostic at once, in the format asked for.

use super::args::Cli;
use super::context::{check, findings, report, summary_line};
use super::{Exit, Result};
use crate::render::diagnostics::Format;

pub(super) fn run(cli: &Cli, format: Format) -> Result<Exit> {
    let checked = check(cli);
    report(&checked, format, cli);
    if format == Format::Human {
        if checked.has_errors() {
            eprintln!("{}", summary_line(&checked));
        } else {
            eprintln!("{}: valid ({})", checked.file, findings(&checked));
        }
    }
    Ok(if checked.has_errors() {
        Exit::Invalid
    } else {
        Exit::Success
    })
}
