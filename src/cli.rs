//! The edge: parses the command line (its grammar is `commands::args`),
//! runs the command, and is the one place that turns an outcome or an error
//! into a message and an exit code.

use std::io::IsTerminal as _;

use clap::Parser as _;

use crate::commands::args::Cli;
use crate::commands::{self, Error, Exit, use_color};
use crate::exit;

/// Parses the process arguments and runs; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return code;
        }
    };
    commands::log::init(cli.debug);
    if let Some(dir) = &cli.directory
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let e = Error::Usage(format!("-C {}: {e}", dir.display()));
        report(&e, use_color(cli.color, std::io::stderr().is_terminal()));
        return error_code(&e);
    }
    match commands::run(&cli) {
        Ok(done) => code(done),
        Err(e) => {
            report(&e, use_color(cli.color, std::io::stderr().is_terminal()));
            error_code(&e)
        }
    }
}

/// The exit code of a command that ran to its end.
fn code(done: Exit) -> i32 {
    match done {
        Exit::Success | Exit::NoChanges => exit::SUCCESS,
        Exit::Invalid => exit::INVALID,
        Exit::Changes => exit::CHANGES,
        Exit::Refused => exit::REFUSED,
        Exit::Unknown => exit::UNKNOWN,
        Exit::Failed => exit::FAILED,
        Exit::Interrupted => exit::INTERRUPTED,
        Exit::Waiting => exit::WAITING,
    }
}

/// The exit code of a command that stopped with an error.
fn error_code(e: &Error) -> i32 {
    match e {
        Error::Invalid(_) => exit::INVALID,
        Error::Usage(_) => exit::USAGE,
        Error::Refused(_) => exit::REFUSED,
        Error::Interrupted(_) => exit::INTERRUPTED,
        Error::Failed(_) => exit::FAILED,
    }
}

/// Prints an error on stderr: `error: ` and the message with its causes.
fn report(e: &Error, color: bool) {
    if let Error::Interrupted(_) = e {
        eprintln!("{e}");
        return;
    }
    let head = if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    eprintln!("{head}: {e}");
}
