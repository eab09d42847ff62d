//! `mailinfra completions SHELL`: a completion script for the shell.

use super::args::Cli;
use super::{Exit, Result};

pub(super) fn run(shell: clap_complete::Shell) -> Result<Exit> {
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "mailinfra",
        &mut std::io::stdout(),
    );
    Ok(Exit::Success)
}
