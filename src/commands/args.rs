//! The command line's grammar: every subcommand, flag and value, with their
//! help text. Parsing only; nothing here runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::diagnostics::Format;

/// `--version`: the crate version, the git commit it was built from and the
/// build date (set by `build.rs`; `unknown` without git).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MAILINFRA_COMMIT"),
    ", built ",
    env!("MAILINFRA_BUILD_DATE"),
    ")"
);

/// Amazon SES mail infrastructure as code.
///
/// Describe your mail topology in `mailinfra.yaml`; mailinfra validates it,
/// compiles it to CloudFormation, plans the change and applies it.
#[derive(Debug, Parser)]
#[command(
    name = "mailinfra",
    version = VERSION,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in DIR: the spec, `mailinfra.lock`, the build
    /// directory, plan files and the journal are then all found from there.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// The spec file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "mailinfra.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// When to use colour: `auto` (on a terminal, unless NO_COLOR is set), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Treat warnings as errors.
    #[arg(long, global = true)]
    pub deny_warnings: bool,
    /// Log each AWS request, attempt and retry to stderr (credentials are
    /// never logged); `MAILINFRA_LOG` takes a filter such as `debug` instead.
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec: YAML, schema, references and semantic rules.
    Validate {
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the JSON schema of the spec (for editors and CI).
    Schema {
        /// Print the spec reference in Markdown instead (docs/spec-reference.md).
        #[arg(long, hide = true, conflicts_with = "out")]
        markdown: bool,
        /// Write the schema to FILE instead, conventionally
        /// `mailinfra.schema.json` next to the spec (where `init`'s modeline
        /// points).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Compile the spec and write the templates and a stack manifest.
    Build {
        /// Output directory.
        #[arg(long, default_value = "mailinfra.out", value_name = "DIR")]
        out: PathBuf,
        /// Write nothing: compare the build in `--out` (and `mailinfra.lock`)
        /// with what the spec compiles to, print a diff of each difference and
        /// exit 2 when there is one (for CI over a committed build).
        #[arg(long)]
        check: bool,
    },
    /// Show what an apply would change.
    Plan {
        /// Compare with the last build in `--build-dir` instead of the deployed stacks; needs no AWS access.
        #[arg(long, conflicts_with = "out")]
        offline: bool,
        /// The build directory `--offline` compares with.
        #[arg(long, default_value = "mailinfra.out", value_name = "DIR")]
        build_dir: PathBuf,
        /// Keep the change sets and write a plan file that `apply FILE` executes exactly.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// How to print the plan.
        #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
        format: PlanFormat,
        /// Exit 0 when nothing changes, 2 when something does, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Plan, then execute the change sets and wait for every stack to settle.
    Apply {
        /// A plan file from `plan --out`: execute exactly its change sets, refusing a stale one.
        #[arg(value_name = "PLAN")]
        plan: Option<PathBuf>,
        /// Apply without asking for confirmation (for CI). Applying a saved
        /// plan needs no confirmation: reviewing the plan was the approval.
        #[arg(long, visible_alias = "auto-approve")]
        yes: bool,
        /// Allow deleting or replacing this stateful resource (logical id, e.g.
        /// `ArchiveJournal`); repeat for each. Without it such a plan is refused.
        #[arg(long = "allow-destroy", value_name = "LOGICAL_ID")]
        allow_destroy: Vec<String>,
        /// Instead of applying: continue the rollback of stacks stuck in
        /// `UPDATE_ROLLBACK_FAILED` (ContinueUpdateRollback). Stacks are never deleted.
        #[arg(long, conflicts_with = "plan")]
        continue_rollback: bool,
        /// With `--continue-rollback`: a resource CloudFormation should skip (treat as
        /// rolled back although it is not; fix it by hand); repeat for each.
        #[arg(
            long = "skip",
            value_name = "LOGICAL_ID",
            requires = "continue_rollback"
        )]
        skip: Vec<String>,
        /// Leave termination protection off on stacks this apply creates (as the
        /// spec's `deploy.termination_protection: false` does).
        #[arg(long)]
        no_termination_protection: bool,
        /// Give up waiting for a stack after this many minutes (it goes on in
        /// CloudFormation; exit code 4).
        #[arg(long, default_value_t = 60, value_name = "MINUTES")]
        timeout: u64,
        /// Resources that wait for an SES identity to be verified (a DEED
        /// replica, an identity policy) are created once it is: wait up to this
        /// many minutes for the verification (`0`: do not wait). If time runs
        /// out, apply ends with exit code 6; run it again to finish.
        #[arg(long, default_value_t = 30, value_name = "MINUTES")]
        wait_verified: u64,
        /// On Ctrl-C or SIGTERM, cancel stack updates in progress (they roll back)
        /// instead of following them to their end. Creates cannot be cancelled.
        #[arg(long)]
        cancel_on_interrupt: bool,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Delete every stack of the spec's project in its regions (or `--region`).
    /// Stateful resources must each be named with `--allow-destroy`; stacks with
    /// termination protection are refused, never unprotected.
    Destroy {
        /// Destroy without asking (for CI); on a terminal the project's name
        /// must be typed to confirm.
        #[arg(long, visible_alias = "auto-approve")]
        yes: bool,
        /// Allow deleting this stateful resource (logical id, e.g.
        /// `ArchiveJournal`); repeat for each. Without it the destroy is refused.
        #[arg(long = "allow-destroy", value_name = "LOGICAL_ID")]
        allow_destroy: Vec<String>,
        /// Give up waiting for a stack after this many minutes (it goes on in
        /// CloudFormation; exit code 4).
        #[arg(long, default_value_t = 60, value_name = "MINUTES")]
        timeout: u64,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Check the spec like `validate`; with `--live`, also the deployed stacks:
    /// drift, stack states, the secondary region's readiness for failover, and
    /// in SES whether the identities are verified and DKIM works (replicated
    /// for DEED); with `--dns`, the DNS records as a resolver sees them.
    Check {
        /// Read the deployed stacks and SES identities (needs AWS access).
        #[arg(long)]
        live: bool,
        /// Resolve every DNS record the topology needs (Route 53 and external
        /// zones) and compare what is published with what is needed; with
        /// `--live`, also with SES's DKIM and MAIL FROM status, and the DKIM
        /// tokens read from the deployed stacks.
        #[arg(long)]
        dns: bool,
        /// The DNS server `--dns` asks (default: the system's resolvers).
        #[arg(long, env = "MAILINFRA_DNS_SERVER", value_name = "IP[:PORT]", value_parser = crate::lookup::parse_server)]
        dns_server: Option<std::net::SocketAddr>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Trace one message through an ingress endpoint, offline: each traffic
    /// policy statement and rule with why it matched or not, the actions taken
    /// and where the message ends up. What is not given is unknown, and the
    /// trace says what depends on it.
    Trace {
        /// The ingress endpoint (a name under `mail_manager.ingress`).
        #[arg(long, value_name = "NAME")]
        ingress: String,
        /// The connecting server's address (IPv4 or IPv6).
        #[arg(long, value_name = "IP")]
        sender_ip: Option<std::net::IpAddr>,
        /// The connection's TLS version.
        #[arg(long, value_enum)]
        tls: Option<TlsArg>,
        /// Whether the connection is implicit TLS (TLS-wrapped, port 465 style).
        #[arg(long, value_name = "BOOL")]
        tls_wrapped: Option<bool>,
        /// The envelope sender (MAIL FROM).
        #[arg(long, value_name = "ADDRESS")]
        mail_from: Option<String>,
        /// An envelope recipient (RCPT TO); repeat for each.
        #[arg(long = "rcpt", value_name = "ADDRESS", required = true)]
        rcpt: Vec<String>,
        /// The HELO/EHLO name.
        #[arg(long, value_name = "NAME")]
        helo: Option<String>,
        /// A header of the message, `'Name: value'` (`From`, `Subject`, `X-…`); repeat for each.
        #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
        header: Vec<(String, String)>,
        /// The SPF verdict.
        #[arg(long, value_enum)]
        spf: Option<VerdictArg>,
        /// The DKIM verdict.
        #[arg(long, value_enum)]
        dkim: Option<VerdictArg>,
        /// The sender domain's published DMARC policy.
        #[arg(long, value_enum)]
        dmarc: Option<DmarcArg>,
        /// An add-on's result, `NAME=RESULT` (`true`, `false`, a verdict or a
        /// string) by the spec's add-on name; repeat for each.
        #[arg(long = "addon", value_name = "NAME=RESULT", value_parser = parse_key_value)]
        addon: Vec<(String, String)>,
        /// The message size (`12MB`, or bytes).
        #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
        size: Option<u64>,
        /// Whether the message asks for a read receipt.
        #[arg(long, value_name = "BOOL")]
        read_receipt: Option<bool>,
        /// `human` or `json` (docs/trace-format.md).
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
    /// Where every stack stands now, next to what the last apply in this
    /// workspace recorded (run it after an apply was interrupted or timed out).
    Status {
        /// How to print it.
        #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
        format: StatusFormat,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// List the blueprints `init` can start from, or with NAME, one
    /// blueprint's variables: type, default (or required, or derived) and
    /// description.
    Blueprints {
        /// The blueprint whose variables to show.
        #[arg(value_name = "NAME", value_parser = blueprint_names())]
        name: Option<String>,
        /// How to print them.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Write a starter spec from a blueprint.
    Init {
        /// The blueprint (see `mailinfra blueprints`).
        #[arg(long, value_name = "NAME", value_parser = blueprint_names())]
        blueprint: String,
        /// A blueprint variable; repeat for each. Unset variables take their
        /// defaults or are derived; those only you can choose are asked for on
        /// a terminal (`mailinfra blueprints NAME` lists them).
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        set: Vec<(String, String)>,
        /// Where to write the spec (default: the `-f` file, `mailinfra.yaml`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// List every DNS record the topology needs, including those of `external`
    /// zones that you publish yourself.
    Dns {
        /// `table` (default), `zone` (a BIND zone-file fragment) or `json`.
        #[arg(long, value_enum, default_value_t = DnsFormat::Table)]
        format: DnsFormat,
        /// Read values known only after deploy (DKIM tokens) from the deployed stacks.
        #[arg(long)]
        live: bool,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Explain a diagnostic code, e.g. `mailinfra explain MI1101`.
    Explain {
        /// The code.
        code: String,
    },
    /// Print a shell completion script, e.g. `mailinfra completions bash >
    /// ~/.local/share/bash-completion/completions/mailinfra`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The shipped blueprints' names, for `--blueprint` and its completions.
fn blueprint_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::blueprint::BLUEPRINTS.iter().map(|b| b.0))
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    /// GitHub-flavoured Markdown, for a pull-request comment.
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DnsFormat {
    Table,
    Zone,
    Json,
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile from the shared config files (default: the standard credential chain).
    #[arg(long, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Only the stacks in this region (default: every region of the spec).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS endpoint for every service mailinfra calls (CloudFormation, S3, SES), e.g. a local emulator at `http://127.0.0.1:5000`; with it, `MAILINFRA_POLL_MS` sets how often to poll.
    #[arg(long, env = "MAILINFRA_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct DeployArgs {
    /// A CloudFormation service role for the stack operations (default: the spec's
    /// `deploy.role_arn`; without either, your credentials' permissions are used).
    #[arg(long, env = "MAILINFRA_ROLE_ARN", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// S3 bucket for templates over 51,200 bytes (default: the spec's
    /// `deploy.template_bucket`, else `mailinfra-templates-<account>-<region>`;
    /// it must belong to your account).
    #[arg(long, env = "MAILINFRA_TEMPLATE_BUCKET", value_name = "BUCKET")]
    pub template_bucket: Option<String>,
    /// How many stacks are planned or applied at once (dependencies always go first).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// When a stack is busy with another operation (a deploy, a rollback, a
    /// deletion), wait up to this many minutes for it to settle instead of stopping.
    #[arg(long, default_value_t = 0, value_name = "MINUTES")]
    pub wait_busy: u64,
    /// Drift-aware change sets (`REVERT_DRIFT`): compare with the live resources,
    /// so that changes made outside mailinfra (in the console) show in the plan
    /// as drift, and the apply puts them back as the spec says.
    #[arg(long)]
    pub revert_drift: bool,
    /// Import this resource (logical id), which already exists outside any stack
    /// (marked `EXISTS OUTSIDE THE STACK`), into its stack as it is, instead of
    /// refusing; repeat for each. Nothing you do not name is ever imported.
    #[arg(long = "import", value_name = "LOGICAL_ID")]
    pub import: Vec<String>,
}

impl DeployArgs {
    /// These flags, with the spec's `deploy` settings where a flag is not given.
    pub(crate) fn or_spec(&self, spec: &crate::spec::Deploy) -> DeployArgs {
        DeployArgs {
            role_arn: self.role_arn.clone().or_else(|| spec.role_arn.clone()),
            template_bucket: self
                .template_bucket
                .clone()
                .or_else(|| spec.template_bucket.clone()),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy_args(args: &[&str]) -> DeployArgs {
        let cli = Cli::try_parse_from([&["mailinfra", "plan"], args].concat()).unwrap();
        match cli.command {
            Command::Plan { deploy, .. } => deploy,
            _ => unreachable!("parsed a plan"),
        }
    }

    #[test]
    fn flags_win_over_the_specs_deploy_settings() {
        let spec = crate::spec::Deploy {
            role_arn: Some("arn:aws:iam::111111111111:role/spec".into()),
            template_bucket: Some("spec-bucket".into()),
            termination_protection: Some(false),
        };
        let merged = deploy_args(&[]).or_spec(&spec);
        assert_eq!(merged.role_arn, spec.role_arn);
        assert_eq!(merged.template_bucket, spec.template_bucket);
        let merged = deploy_args(&[
            "--role-arn",
            "arn:aws:iam::222222222222:role/flag",
            "--template-bucket",
            "flag-bucket",
        ])
        .or_spec(&spec);
        assert_eq!(
            merged.role_arn.as_deref(),
            Some("arn:aws:iam::222222222222:role/flag")
        );
        assert_eq!(merged.template_bucket.as_deref(), Some("flag-bucket"));
    }
}

/// A TLS version for `trace --tls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TlsArg {
    #[value(name = "none")]
    None,
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

/// An SPF or DKIM verdict for `trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerdictArg {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
}

/// A DMARC policy for `trace --dmarc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DmarcArg {
    None,
    Quarantine,
    Reject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    Human,
    Json,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !name.contains(' ') => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!(
            "`{s}` is not a header: write `Name: value`, e.g. `X-Originatororg: contoso.com`"
        )),
    }
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::values::parse_size(s)
}
