//! `mailinfra explain CODE`: what a diagnostic code means and how to fix it.

use super::context::out;
use super::{Error, Exit, Result};
use crate::codes;

pub(super) fn run(code: &str) -> Result<Exit> {
    let Some(c) = codes::lookup(code) else {
        return Err(Error::Usage(format!(
            "`{code}` is not a mailinfra diagnostic code (codes look like `MI1101`; docs/diagnostic-codes.md lists them all)"
        )));
    };
    out(&format!(
        "{} ({}): {}\n\n{}\n",
        c.code,
        c.severity.as_str(),
        c.title,
        c.explain
    ))?;
    Ok(Exit::Success)
}
