//! One file per subcommand, each reading top to bottom as that command's
//! story; [`context`] holds what several of them share (the checked and
//! compiled spec, AWS connections, the async runtime), [`progress`] draws a
//! deploy's events and [`signals`] turns Ctrl-C and SIGTERM into an interrupt.
//!
//! A command returns how it ended ([`Exit`]) or why it could not ([`Error`]);
//! `crate::cli` prints the error and picks the exit code.

mod apply;
pub mod args;
mod blueprints;
mod build;
mod check;
mod completions;
pub(crate) mod context;
mod destroy;
mod dns;
mod explain;
mod init;
pub(crate) mod log;
mod plan;
mod progress;
mod schema;
mod signals;
mod status;
mod trace;
mod validate;

pub use context::use_color;

use args::{Cli, Command};

/// How a command that ran to its end ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// `apply`: there was nothing to change.
    NoChanges,
    /// The spec has errors; they were reported as diagnostics.
    Invalid,
    /// `plan --detailed-exitcode`: there are changes.
    Changes,
    /// A gate refused the apply; why was printed.
    Refused,
    /// A stack's outcome is unknown: CloudFormation still works on it.
    Unknown,
    /// A stack's deploy failed; its root cause was printed.
    Failed,
    /// Ctrl-C or SIGTERM: what ran was followed to its end.
    Interrupted,
    /// `apply`: everything else was applied; resources still wait for an SES
    /// identity to be verified (listed, with how to finish).
    Waiting,
}

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that goes with the spec is not as it must be.
    #[error("{0}")]
    Invalid(String),
    /// The command line asks for something that cannot be (a name that
    /// names nothing, a prompt without a terminal).
    #[error("{0}")]
    Usage(String),
    /// A gate refused: stale or damaged plan, destruction not allowed.
    #[error("{0}")]
    Refused(String),
    /// The user interrupted before anything was changed.
    #[error("{0}")]
    Interrupted(String),
    /// AWS, the network or the file system failed.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl From<crate::deploy::PlanError> for Error {
    fn from(e: crate::deploy::PlanError) -> Error {
        match e {
            crate::deploy::PlanError::Interrupted(_) => Error::Interrupted(e.to_string()),
            crate::deploy::PlanError::Failed(e) => Error::Failed(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Failed(e.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Runs the command the command line names.
pub fn run(cli: &Cli) -> Result<Exit> {
    match &cli.command {
        Command::Schema { markdown, out } => schema::run(*markdown, out.as_deref()),
        Command::Completions { shell } => completions::run(*shell),
        Command::Explain { code } => explain::run(code),
        Command::Blueprints { name, format } => blueprints::run(name.as_deref(), *format),
        Command::Init {
            blueprint,
            set,
            out,
            force,
        } => init::run(cli, blueprint, set, out.as_deref(), *force),
        Command::Validate { format } => validate::run(cli, *format),
        Command::Build { out, check } => build::run(cli, out, *check),
        Command::Plan {
            offline,
            build_dir,
            out,
            format,
            detailed_exitcode,
            aws,
            deploy,
        } => plan::run(
            cli,
            &plan::Flags {
                offline: *offline,
                build_dir,
                out: out.as_deref(),
                format: *format,
                detailed_exitcode: *detailed_exitcode,
            },
            aws,
            deploy,
        ),
        Command::Dns { format, live, aws } => dns::run(cli, *format, *live, aws),
        Command::Destroy {
            yes,
            allow_destroy,
            timeout,
            aws,
            deploy,
        } => destroy::run(
            cli,
            &destroy::Flags {
                yes: *yes,
                allow_destroy,
                timeout_minutes: *timeout,
            },
            aws,
            deploy,
        ),
        Command::Apply {
            plan,
            yes,
            allow_destroy,
            continue_rollback,
            skip,
            no_termination_protection,
            timeout,
            wait_verified,
            cancel_on_interrupt,
            aws,
            deploy,
        } => apply::run(
            cli,
            &apply::Flags {
                plan: plan.as_deref(),
                yes: *yes,
                allow_destroy,
                continue_rollback: *continue_rollback,
                skip,
                no_termination_protection: *no_termination_protection,
                timeout_minutes: *timeout,
                wait_verified_minutes: *wait_verified,
                cancel_on_interrupt: *cancel_on_interrupt,
            },
            aws,
            deploy,
        ),
        Command::Status { format, aws } => status::run(cli, *format, aws),
        Command::Trace { .. } => trace::run(cli),
        Command::Check {
            live,
            dns,
            dns_server,
            format,
            aws,
        } => {
            let scope = check::Scope {
                live: *live,
                dns: dns.then_some(*dns_server),
            };
            check::run(cli, &scope, *format, aws)
        }
    }
}
