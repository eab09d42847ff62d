//! `mailinfra completions SHELL`: a completion script for the shell.

use super::args::Cli;
use super::context::out;
use super::{Exit, Result};

pub(super) fn run(shell: clap_complete::Shell) -> Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "mailinfra",
        &mut script,
    );
    out(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}
