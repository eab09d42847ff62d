//! The command line: parses arguments, runs the pipeline, and is the one place
//! that prints results and picks the exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::build::{self, Artifact};
use crate::cfn::{Connection, S3TemplateStore, SdkStackApi};
use crate::deploy::{self, PlanStatus, Progress, StackPlan, Timing};
use crate::diag::{self, Format};
use crate::pipeline::{self, Checked, Judge};
use crate::placement::{self, Lock};
use crate::{blueprint, codes, diff, dns_cmd, exit, render, schema, spec_doc};

/// Amazon SES mail infrastructure as code.
///
/// Describe your mail topology in `mailinfra.yaml`; mailinfra validates it,
/// compiles it to CloudFormation, plans the change and applies it.
#[derive(Debug, Parser)]
#[command(
    name = "mailinfra",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
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
        #[arg(long, hide = true)]
        markdown: bool,
    },
    /// Compile the spec and write the templates and a stack manifest.
    Build {
        /// Output directory.
        #[arg(long, default_value = "mailinfra.out", value_name = "DIR")]
        out: PathBuf,
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
        /// Apply without asking for confirmation (for CI).
        #[arg(long)]
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
        /// On Ctrl-C or SIGTERM, cancel stack updates in progress (they roll back)
        /// instead of following them to their end. Creates cannot be cancelled.
        #[arg(long)]
        cancel_on_interrupt: bool,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        deploy: DeployArgs,
    },
    /// Check the spec like `validate`; with `--live`, also the deployed stacks:
    /// drift, stack states, the secondary region's readiness for failover, and
    /// in SES whether the identities are verified and DKIM works (replicated
    /// for DEED).
    Check {
        /// Read the deployed stacks and SES identities (needs AWS access).
        #[arg(long)]
        live: bool,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        aws: AwsArgs,
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
    /// List the blueprints `init` can start from.
    Blueprints,
    /// Write a starter spec from a blueprint.
    Init {
        /// The blueprint (see `mailinfra blueprints`).
        #[arg(long, value_name = "NAME")]
        blueprint: String,
        /// A blueprint variable; repeat for each. Unset variables take their defaults.
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
    /// AWS endpoint for every service mailinfra calls (CloudFormation, S3, SES), e.g. a local emulator at `http://127.0.0.1:5000`.
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
    match run(&cli) {
        Ok(code) => code,
        Err(e) if e.is::<deploy::Interrupted>() => {
            eprintln!("{e:#}");
            exit::INTERRUPTED
        }
        Err(e) => {
            let color = use_color(cli.color, std::io::stderr().is_terminal());
            let head = if color {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{head}: {e:#}");
            exit::FAILURE
        }
    }
}

fn use_color(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Prints diagnostics; human text goes to stderr, machine formats to stdout.
fn report(checked: &Checked, format: Format, cli: &Cli) {
    if checked.diagnostics.is_empty() && format == Format::Human {
        return;
    }
    let src = diag::Source {
        file: &checked.file,
        text: checked.text.as_deref(),
    };
    match format {
        Format::Human => {
            let color = use_color(cli.color, std::io::stderr().is_terminal());
            eprint!(
                "{}",
                diag::render(&checked.diagnostics, &src, format, color)
            );
        }
        _ => print!(
            "{}",
            diag::render(&checked.diagnostics, &src, format, false)
        ),
    }
}

fn summary_line(checked: &Checked) -> String {
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = checked.diagnostics.len() - errors;
    format!("{}: {errors} error(s), {warnings} warning(s)", checked.file)
}

/// The front end's result: the checked spec, manifest, templates and placement.
type Front = (Checked, build::Manifest, Vec<Artifact>, LockState);

/// Runs the front end and compiles; `Ok(None)` when the spec has errors (already reported).
fn front(cli: &Cli, format: Format) -> anyhow::Result<Option<Front>> {
    let checked = pipeline::check_file(
        &cli.file,
        Judge {
            deny_warnings: cli.deny_warnings,
        },
    );
    report(&checked, format, cli);
    let Some(model) = &checked.model else {
        eprintln!("{}", summary_line(&checked));
        return Ok(None);
    };
    let before = Lock::read(&cli.file)?;
    let built = pipeline::build(model, &checked.spec_hash, before.as_ref())?;
    let lock = LockState {
        path: placement::lock_path(&cli.file),
        needed: before.is_some() || built.placement.is_sharded(),
        current: before.as_ref() == Some(&built.placement),
        placement: built.placement,
    };
    Ok(Some((checked, built.manifest, built.artifacts, lock)))
}

/// The placement a build computed and how it relates to the lock file.
struct LockState {
    path: PathBuf,
    /// Whether the topology needs a lock file (one exists, or it is sharded).
    needed: bool,
    /// Whether the lock file records exactly this placement.
    current: bool,
    placement: Lock,
}

impl LockState {
    /// `plan` and `apply` deploy only a placement the lock file records.
    fn require_current(&self) -> anyhow::Result<()> {
        if self.needed && !self.current {
            anyhow::bail!(
                "`{}` does not record where every element of the spec goes; run `mailinfra build` and commit `{}` (it keeps resources from moving between stacks)",
                self.path.display(),
                self.path.display()
            );
        }
        Ok(())
    }
}

pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Schema { markdown } => {
            if *markdown {
                print!("{}", spec_doc::markdown(schema::schema()));
            } else {
                print!("{}", schema::schema_text());
            }
            Ok(exit::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "mailinfra",
                &mut std::io::stdout(),
            );
            Ok(exit::SUCCESS)
        }
        Command::Explain { code } => match codes::lookup(code) {
            Some(c) => {
                println!(
                    "{} ({}): {}\n\n{}",
                    c.code,
                    c.severity.as_str(),
                    c.title,
                    c.explain
                );
                Ok(exit::SUCCESS)
            }
            None => {
                eprintln!(
                    "error: `{code}` is not a mailinfra diagnostic code (codes look like `MI1101`; the README lists them all)"
                );
                Ok(exit::FAILURE)
            }
        },
        Command::Blueprints => {
            for bp in blueprint::all()? {
                println!("{:<24} {}", bp.name, bp.meta.description);
            }
            Ok(exit::SUCCESS)
        }
        Command::Init {
            blueprint: name,
            set,
            out,
            force,
        } => {
            let bp = blueprint::find(name)?;
            let values: std::collections::BTreeMap<String, String> = set.iter().cloned().collect();
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
            let text = blueprint::render(&bp, &values, &mut ask)?;
            let path = out.clone().unwrap_or_else(|| cli.file.clone());
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true);
            if *force {
                opts.create(true).truncate(true);
            } else {
                opts.create_new(true);
            }
            let mut f = match opts.open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    anyhow::bail!(
                        "`{}` already exists; pass `--force` to overwrite it or `--out FILE` to write elsewhere",
                        path.display()
                    )
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
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
            Ok(exit::SUCCESS)
        }
        Command::Validate { format } => {
            let checked = pipeline::check_file(
                &cli.file,
                Judge {
                    deny_warnings: cli.deny_warnings,
                },
            );
            report(&checked, *format, cli);
            if *format == Format::Human {
                if checked.has_errors() {
                    eprintln!("{}", summary_line(&checked));
                } else {
                    eprintln!(
                        "{}: valid ({} warning(s))",
                        checked.file,
                        checked.diagnostics.len()
                    );
                }
            }
            Ok(if checked.has_errors() {
                exit::FAILURE
            } else {
                exit::SUCCESS
            })
        }
        Command::Build { out } => {
            let Some((_, manifest, artifacts, lock)) = front(cli, Format::Human)? else {
                return Ok(exit::FAILURE);
            };
            build::write(out, &manifest, &artifacts)?;
            if lock.needed && !lock.current {
                build::write_atomic(&lock.path, lock.placement.render().as_bytes())?;
                eprintln!(
                    "wrote {}: commit it, it keeps every element in its stack",
                    lock.path.display()
                );
            }
            for a in &artifacts {
                let e = &a.entry;
                let deps = if e.depends_on.is_empty() {
                    String::new()
                } else {
                    format!("  after {}", e.depends_on.join(", "))
                };
                let upload = if e.needs_upload { "  (via S3)" } else { "" };
                println!(
                    "{}  {}  {} resources  {} bytes{upload}{deps}",
                    e.name, e.region, e.resources, e.bytes
                );
            }
            eprintln!(
                "wrote {} template(s) and {} to {}",
                artifacts.len(),
                build::MANIFEST,
                out.display()
            );
            Ok(exit::SUCCESS)
        }
        Command::Plan {
            offline,
            build_dir,
            out,
            format,
            detailed_exitcode,
            aws,
            deploy: dargs,
        } => {
            let Some((checked, _, artifacts, lock)) = front(cli, Format::Human)? else {
                return Ok(exit::FAILURE);
            };
            lock.require_current()?;
            let artifacts = select_region(artifacts, aws.region.as_deref());
            let dargs = &dargs.or_spec(&spec_deploy(&checked));
            check_imports(dargs, &artifacts)?;
            let keep = if out.is_some() {
                deploy::Keep::ChangeSets
            } else {
                deploy::Keep::Nothing
            };
            let plans = if *offline {
                plan_offline(build_dir, &artifacts)?
            } else {
                let opts = options(keep, dargs, timing());
                runtime()?.block_on(async {
                    watch_interrupts(
                        opts.interrupt.clone(),
                        "stacks being planned finish, then the change sets of this plan are removed",
                        || {},
                    );
                    let regions = connect_all(&artifacts, aws, dargs).await;
                    let mut plans = deploy::plan_all(&regions, &artifacts, &opts).await?;
                    preflight(&mut plans, &artifacts, aws).await;
                    anyhow::Ok(plans)
                })?
            };
            if let Some(path) = out {
                let file = deploy::PlanFile::new(&checked.spec_hash, plans.clone());
                build::write_atomic(path, file.render().as_bytes())?;
                eprintln!(
                    "wrote the plan to {}; apply it with `mailinfra apply {}`",
                    path.display(),
                    path.display()
                );
            }
            let color = use_color(cli.color, std::io::stdout().is_terminal());
            match format {
                PlanFormat::Human => print!("{}", render::human(&plans, color)),
                PlanFormat::Markdown => print!("{}", render::markdown(&plans)),
                PlanFormat::Json => print!(
                    "{}",
                    render::json(&plans, if *offline { "offline" } else { "online" })
                ),
            }
            let changes = plans.iter().any(StackPlan::has_changes);
            Ok(if *detailed_exitcode && changes {
                exit::CHANGES
            } else {
                exit::SUCCESS
            })
        }
        Command::Dns { format, live, aws } => {
            let checked = pipeline::check_file(
                &cli.file,
                Judge {
                    deny_warnings: cli.deny_warnings,
                },
            );
            report(&checked, Format::Human, cli);
            let Some(model) = &checked.model else {
                eprintln!("{}", summary_line(&checked));
                return Ok(exit::FAILURE);
            };
            let values = if *live {
                let lock = Lock::read(&cli.file)?;
                let set = pipeline::compile_placed(model, lock.as_ref())?;
                runtime()?.block_on(live_dns(&set, aws))?
            } else {
                dns_cmd::Live::new()
            };
            let rows = dns_cmd::rows(model, &values);
            print!(
                "{}",
                match format {
                    DnsFormat::Table => dns_cmd::table(&rows),
                    DnsFormat::Zone => dns_cmd::zone_file(&rows),
                    DnsFormat::Json => dns_cmd::json(&rows),
                }
            );
            Ok(exit::SUCCESS)
        }
        Command::Apply {
            plan,
            yes,
            allow_destroy,
            continue_rollback,
            skip,
            no_termination_protection,
            timeout,
            cancel_on_interrupt,
            aws,
            deploy: dargs,
        } => {
            let Some((checked, _, artifacts, lock)) = front(cli, Format::Human)? else {
                return Ok(exit::FAILURE);
            };
            lock.require_current()?;
            let artifacts = select_region(artifacts, aws.region.as_deref());
            let dargs = &dargs.or_spec(&spec_deploy(&checked));
            check_imports(dargs, &artifacts)?;
            // Before anything is read: two applies in one workspace never interleave.
            let lock = crate::lock::Lock::acquire(&cli.file)?;
            let mut opts = options(deploy::Keep::ChangeSets, dargs, timing());
            opts.termination_protection = !no_termination_protection
                && spec_deploy(&checked).termination_protection != Some(false);
            opts.cancel_on_interrupt = *cancel_on_interrupt;
            opts.timing.stack_timeout = std::time::Duration::from_secs(timeout.saturating_mul(60));
            if *continue_rollback {
                return runtime()?.block_on(rollback(cli, &artifacts, aws, dargs, skip, &opts));
            }
            let planned = match plan {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read `{}`", path.display()))?;
                    let file = match deploy::PlanFile::parse(&text) {
                        Ok(f) => f,
                        Err(why) => {
                            eprintln!(
                                "error: cannot use the plan in `{}`: {why}; run `mailinfra plan --out {}` again",
                                path.display(),
                                path.display()
                            );
                            return Ok(exit::REFUSED);
                        }
                    };
                    if let Err(why) = file.matches(&checked.spec_hash, &artifacts) {
                        eprintln!(
                            "error: the plan in `{}` is stale: {why}; run `mailinfra plan --out {}` again",
                            path.display(),
                            path.display()
                        );
                        return Ok(exit::REFUSED);
                    }
                    Some(file.stacks)
                }
            };
            let journal =
                std::sync::Arc::new(crate::journal::Journal::open(&cli.file, &opts.plan_id)?);
            journal.write(crate::journal::Record {
                detail: plan.as_ref().map(|p| format!("plan file {}", p.display())),
                ..crate::journal::Record::new(crate::journal::Step::Started)
            })?;
            let code = runtime()?.block_on(async {
                let j = journal.clone();
                let lock_path = lock.path().to_path_buf();
                watch_interrupts(
                    opts.interrupt.clone(),
                    if opts.cancel_on_interrupt {
                        "running updates are cancelled and their rollback followed; creates are followed to their end"
                    } else {
                        "operations already running in CloudFormation are followed to their end"
                    },
                    move || {
                        j.write(crate::journal::Record::new(crate::journal::Step::Abandoned))
                            .ok();
                        std::fs::remove_file(&lock_path).ok();
                    },
                );
                let j = journal.clone();
                let interrupt = opts.interrupt.clone();
                tokio::spawn(async move {
                    interrupt.raised().await;
                    j.write(crate::journal::Record::new(crate::journal::Step::Interrupted))
                        .ok();
                });
                apply(
                    cli,
                    &artifacts,
                    aws,
                    dargs,
                    *yes,
                    allow_destroy,
                    planned,
                    &opts,
                    &journal,
                )
                .await
            });
            drop(lock);
            code
        }
        Command::Status { format, aws } => {
            let Some((_, _, artifacts, _)) = front(cli, Format::Human)? else {
                return Ok(exit::FAILURE);
            };
            let artifacts = select_region(artifacts, aws.region.as_deref());
            let records = crate::journal::last_apply(&crate::journal::read(&cli.file)?);
            let (last, words) = crate::status::summarise(&records);
            let mut stacks = runtime()?.block_on(live_status(&artifacts, aws));
            for s in &mut stacks {
                s.last_apply = words
                    .iter()
                    .find(|(stack, _)| stack == &s.stack)
                    .map(|(_, w)| w.clone());
            }
            print!(
                "{}",
                match format {
                    StatusFormat::Human => crate::status::human(last.as_ref(), &stacks),
                    StatusFormat::Json => crate::status::json(last.as_ref(), &stacks),
                }
            );
            Ok(if stacks.iter().any(|s| s.error.is_some()) {
                exit::FAILURE
            } else {
                exit::SUCCESS
            })
        }
        Command::Check { live, format, aws } => {
            let mut checked = pipeline::check_file(
                &cli.file,
                Judge {
                    deny_warnings: cli.deny_warnings,
                },
            );
            let found = match (&checked.model, *live) {
                (Some(model), true) => {
                    let set = pipeline::compile(model)?;
                    let (_, artifacts) = build::render(&set, &model.project, &checked.spec_hash);
                    let artifacts = select_region(artifacts, aws.region.as_deref());
                    runtime()?.block_on(live_check(model, &artifacts, aws))?
                }
                _ => Vec::new(),
            };
            let mut found = found;
            for d in &mut found {
                if cli.deny_warnings && d.severity == crate::diag::Severity::Warning {
                    d.severity = crate::diag::Severity::Error;
                }
            }
            pipeline::add_found(&mut checked, found);
            report(&checked, *format, cli);
            if *format == Format::Human {
                if checked.has_errors() {
                    eprintln!("{}", summary_line(&checked));
                } else {
                    eprintln!(
                        "{}: {} ({} warning(s))",
                        checked.file,
                        if *live {
                            "valid, deployed stacks checked"
                        } else {
                            "valid"
                        },
                        checked.diagnostics.len()
                    );
                }
            }
            Ok(if checked.has_errors() {
                exit::FAILURE
            } else {
                exit::SUCCESS
            })
        }
    }
}

/// Marks resources the plans add that already exist outside any stack (SES
/// identities). A read that fails is a warning: the apply may then fail on it.
async fn preflight(plans: &mut [StackPlan], artifacts: &[Artifact], aws: &AwsArgs) {
    let adds_identity = |c: &crate::diff::ResourceChange| {
        c.action == crate::diff::Action::Add && c.resource_type == crate::preflight::IDENTITY
    };
    if deploy::changes_where(plans, adds_identity).is_empty() {
        return;
    }
    let apis = per_region(artifacts, async |r| {
        crate::ses::SdkMailApi::connect(&connection(r, aws)).await
    })
    .await;
    if let Err(e) = crate::preflight::mark_existing(plans, artifacts, &apis, &timing()).await {
        eprintln!(
            "warning: cannot check whether the identities to create already exist in SES ({e:#}); \
             the apply fails on any that does"
        );
    }
}

/// Reads every stack of the build, a few at a time, in the build's order.
async fn live_status(artifacts: &[Artifact], aws: &AwsArgs) -> Vec<crate::status::StackStatus> {
    use crate::cfn::StackApi as _;
    use futures_util::StreamExt as _;
    let apis = per_region(artifacts, async |r| connect(r, aws).await).await;
    let t = timing();
    let apis = &apis;
    let t = &t;
    futures_util::stream::iter(artifacts)
        .map(|a| async move {
            let mut s = crate::status::StackStatus {
                stack: a.entry.name.clone(),
                region: a.entry.region.clone(),
                status: None,
                last_updated: None,
                error: None,
                last_apply: None,
            };
            let Some(api) = apis.get(&a.entry.region) else {
                return s;
            };
            match deploy::retrying(t, || api.describe_stack(&a.entry.name)).await {
                Ok(Some(info)) => {
                    s.status = Some(info.status);
                    s.last_updated = info.last_updated;
                }
                Ok(None) => {}
                Err(e) => s.error = Some(format!("{e:#}")),
            }
            s
        })
        .buffered(8)
        .collect()
        .await
}

/// Drift and stack state of every stack of the build, the SES state of the
/// identities in each sending region, and the secondary region's readiness,
/// as diagnostics.
async fn live_check(
    model: &crate::model::Model,
    artifacts: &[Artifact],
    aws: &AwsArgs,
) -> anyhow::Result<Vec<crate::diag::Diagnostic>> {
    use crate::cfn::StackApi as _;
    let t = timing();
    let mut found = Vec::new();
    for a in artifacts {
        let api = connect(&a.entry.region, aws).await;
        found.extend(crate::live::drift(&api, &a.entry.name, &t).await);
    }
    let regions = std::iter::once(&model.primary).chain(model.secondary.as_ref());
    for region in regions.filter(|r| aws.region.as_deref().is_none_or(|only| only == r.as_str())) {
        let ses = crate::ses::SdkMailApi::connect(&connection(region, aws)).await;
        found.extend(crate::live::identities(model, region, &ses, &t).await);
    }
    if let Some(secondary) = &model.secondary {
        let mut inventories = Vec::new();
        for region in [&model.primary, secondary] {
            let api = connect(region, aws).await;
            let stack = crate::compile::stack_name(
                &model.project,
                region,
                crate::compile::Concern::Sending,
            );
            inventories.push(match api.describe_stack(&stack).await {
                Ok(Some(info)) => api.stack_resources(&info.arn).await.unwrap_or_default(),
                _ => Vec::new(),
            });
        }
        found.extend(crate::live::readiness(
            (&model.primary, &inventories[0]),
            (secondary, &inventories[1]),
        ));
    }
    Ok(found)
}

/// Reads the outputs of the stacks that hold deploy-time DNS values (every
/// stack with a DKIM tokens output).
async fn live_dns(set: &crate::compile::StackSet, aws: &AwsArgs) -> anyhow::Result<dns_cmd::Live> {
    use crate::cfn::StackApi as _;
    let mut live = dns_cmd::Live::new();
    let mut apis: std::collections::BTreeMap<&str, SdkStackApi> = Default::default();
    for s in &set.stacks {
        if !s.template.outputs.keys().any(|k| k.ends_with("DkimTokens")) {
            continue;
        }
        if !apis.contains_key(s.region.as_str()) {
            apis.insert(&s.region, connect(&s.region, aws).await);
        }
        let Some(api) = apis.get(s.region.as_str()) else {
            continue;
        };
        if let Some(info) = api.describe_stack(&s.name).await? {
            for (k, v) in info.outputs {
                for (key, value) in crate::dns::expand_output(&k, &v) {
                    live.insert((s.region.clone(), key), value);
                }
            }
        }
    }
    Ok(live)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn select_region(artifacts: Vec<Artifact>, region: Option<&str>) -> Vec<Artifact> {
    match region {
        Some(r) => artifacts
            .into_iter()
            .filter(|a| a.entry.region == r)
            .collect(),
        None => artifacts,
    }
}

/// Diffs the new templates against the ones in the last build.
fn plan_offline(dir: &Path, artifacts: &[Artifact]) -> anyhow::Result<Vec<StackPlan>> {
    let previous = build::read_manifest(dir)?;
    let mut plans = Vec::new();
    for a in artifacts {
        let old: Option<Value> = previous
            .as_ref()
            .and_then(|m| m.stacks.iter().find(|s| s.name == a.entry.name))
            .map(|s| -> anyhow::Result<Value> {
                let path = dir.join(&s.template);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("`{}` is not JSON", path.display()))
            })
            .transpose()?;
        let new: Value = serde_json::from_str(&a.body)?;
        let changes = diff::diff_templates(old.as_ref(), Some(&new));
        let status = match (&old, changes.is_empty()) {
            (None, _) => PlanStatus::Create,
            (Some(_), true) => PlanStatus::NoChanges,
            (Some(_), false) => PlanStatus::Update,
        };
        plans.push(StackPlan {
            status,
            changes,
            ..StackPlan::new(a)
        });
    }
    deploy::mark_renames(&mut plans);
    Ok(plans)
}

impl DeployArgs {
    /// These flags, with the spec's `deploy` settings where a flag is not given.
    fn or_spec(&self, spec: &crate::spec::Deploy) -> DeployArgs {
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

/// The spec's `deploy` settings (defaults when the spec has none).
fn spec_deploy(checked: &Checked) -> crate::spec::Deploy {
    checked
        .model
        .as_ref()
        .map(|m| m.deploy.clone())
        .unwrap_or_default()
}

/// Every `--import` names a resource of a stack being deployed.
fn check_imports(d: &DeployArgs, artifacts: &[Artifact]) -> anyhow::Result<()> {
    for id in &d.import {
        let known = artifacts
            .iter()
            .any(|a| deploy::template_has_resource(&a.body, id));
        if !known {
            anyhow::bail!(
                "`--import {id}`: no stack of the spec has a resource with this logical id; \
                 the plan names them (e.g. `IdentityExampleCom`)"
            );
        }
    }
    Ok(())
}

fn options(keep: deploy::Keep, d: &DeployArgs, timing: Timing) -> deploy::Options {
    let mut o = deploy::Options::new(keep, timing);
    o.role_arn = d.role_arn.clone();
    o.concurrency = usize::from(d.concurrency);
    o.busy_wait = std::time::Duration::from_secs(d.wait_busy.saturating_mul(60));
    o.revert_drift = d.revert_drift;
    o.import.clone_from(&d.import);
    o
}

type Regions = BTreeMap<String, deploy::Region<SdkStackApi, S3TemplateStore>>;

/// One value per region of the artifacts, made by `make` from the region's name.
async fn per_region<T>(
    artifacts: &[Artifact],
    make: impl AsyncFn(&str) -> T,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for a in artifacts {
        if !out.contains_key(&a.entry.region) {
            out.insert(a.entry.region.clone(), make(&a.entry.region).await);
        }
    }
    out
}

/// One connection per region of the artifacts.
async fn connect_all(artifacts: &[Artifact], aws: &AwsArgs, d: &DeployArgs) -> Regions {
    per_region(artifacts, async |r| {
        let c = connection(r, aws);
        deploy::Region {
            api: SdkStackApi::connect(&c).await,
            store: S3TemplateStore::connect(&c, d.template_bucket.clone()).await,
        }
    })
    .await
}

/// Tests against a local emulator poll (and back off) fast: `MAILINFRA_POLL_MS`.
fn poll_override() -> Option<std::time::Duration> {
    std::env::var("MAILINFRA_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
}

fn timing() -> Timing {
    poll_override().map_or_else(Timing::default, Timing::fast)
}

/// Draws progress: a spinner per stack on a terminal, one line per event otherwise; always on stderr.
struct Reporter {
    bars: Option<(
        indicatif::MultiProgress,
        std::sync::Mutex<BTreeMap<String, indicatif::ProgressBar>>,
    )>,
}

impl Reporter {
    fn new() -> Reporter {
        let tty = std::io::stderr().is_terminal();
        Reporter {
            bars: tty.then(|| (indicatif::MultiProgress::new(), Default::default())),
        }
    }

    fn report(&self, p: Progress) {
        let line = match &p {
            Progress::StackStarted { stack, region, .. } => format!("{stack} ({region}): applying"),
            Progress::Event { stack, event } => {
                let reason = event
                    .reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                format!(
                    "{stack}  {}  {}  {}{reason}",
                    event.logical_id, event.resource_type, event.status
                )
            }
            Progress::StackFinished { stack, status } => format!("{stack}: {status}"),
            Progress::Warning { stack, message } => format!("{stack}: warning: {message}"),
        };
        let Some((multi, bars)) = &self.bars else {
            eprintln!("{line}");
            return;
        };
        let Ok(mut bars) = bars.lock() else {
            eprintln!("{line}");
            return;
        };
        match p {
            Progress::StackStarted { stack, region, .. } => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} [{elapsed}] {wide_msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{stack} ({region})"));
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bars.insert(stack, bar);
            }
            Progress::Event { stack, event } => {
                let msg = format!("{} {}", event.logical_id, event.status);
                match bars.get(&stack) {
                    Some(bar) => {
                        // Failures stay on screen; the rest only updates the spinner.
                        if event.status.ends_with("_FAILED") {
                            bar.println(&line);
                        }
                        bar.set_message(msg);
                    }
                    None => multi.println(&line).unwrap_or_default(),
                }
            }
            Progress::StackFinished { stack, status } => match bars.remove(&stack) {
                Some(bar) => bar.finish_with_message(status),
                None => multi.println(&line).unwrap_or_default(),
            },
            Progress::Warning { .. } => multi.println(&line).unwrap_or_default(),
        }
    }
}

fn connection(region: &str, aws: &AwsArgs) -> Connection {
    Connection {
        region: region.to_string(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        retry_backoff: poll_override(),
    }
}

async fn connect(region: &str, aws: &AwsArgs) -> SdkStackApi {
    SdkStackApi::connect(&connection(region, aws)).await
}

/// `apply --continue-rollback`: every stack of the build in UPDATE_ROLLBACK_FAILED.
async fn rollback(
    cli: &Cli,
    artifacts: &[Artifact],
    aws: &AwsArgs,
    d: &DeployArgs,
    skip: &[String],
    opts: &deploy::Options,
) -> anyhow::Result<i32> {
    let regions = connect_all(artifacts, aws, d).await;
    let reporter = Reporter::new();
    let progress = |p: Progress| reporter.report(p);
    let mut outcomes = Vec::new();
    for a in artifacts {
        let region = regions
            .get(&a.entry.region)
            .context("no connection to the region")?;
        outcomes.push(
            deploy::continue_rollback(
                &region.api,
                &a.entry.name,
                &a.entry.region,
                skip,
                opts,
                &progress,
            )
            .await,
        );
    }
    print!(
        "{}",
        render::outcomes(
            &outcomes,
            use_color(cli.color, std::io::stdout().is_terminal())
        )
    );
    Ok(outcome_code(&outcomes))
}

fn outcome_code(outcomes: &[deploy::StackOutcome]) -> i32 {
    use deploy::OutcomeKind as K;
    if outcomes
        .iter()
        .any(|o| o.kind == K::Failed || o.kind == K::NotStarted)
    {
        exit::FAILURE
    } else if outcomes.iter().any(|o| o.kind == K::Unknown) {
        exit::UNKNOWN
    } else {
        exit::SUCCESS
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    cli: &Cli,
    artifacts: &[Artifact],
    aws: &AwsArgs,
    d: &DeployArgs,
    yes: bool,
    allow_destroy: &[String],
    planned: Option<Vec<StackPlan>>,
    opts: &deploy::Options,
    journal: &crate::journal::Journal,
) -> anyhow::Result<i32> {
    // Decided before anything is created: a CI job without `--yes` must not leave change sets behind.
    if !yes && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: no terminal to ask on; pass `--yes` to apply in CI"
        );
    }
    let regions = connect_all(artifacts, aws, d).await;
    let region = |r: &str| regions.get(r).context("no connection to the region");
    let plans = match planned {
        Some(plans) => {
            for p in &plans {
                if let Err(why) = deploy::still_current(&region(&p.region)?.api, p).await {
                    eprintln!("error: the plan is stale: {why}; plan again");
                    return Ok(exit::REFUSED);
                }
            }
            plans
        }
        None => {
            let mut plans = deploy::plan_all(&regions, artifacts, opts).await?;
            preflight(&mut plans, artifacts, aws).await;
            plans
        }
    };
    let color = use_color(cli.color, std::io::stdout().is_terminal());
    print!("{}", render::human(&plans, color));
    if !plans.iter().any(StackPlan::has_changes) {
        println!("Nothing to apply.");
        return Ok(exit::SUCCESS);
    }
    let discard_all = async || {
        for p in &plans {
            if let Ok(r) = region(&p.region) {
                deploy::discard(&r.api, p).await;
            }
        }
    };
    if let Some(why) = refusal(&plans, allow_destroy, &opts.import) {
        discard_all().await;
        eprint!("{why}");
        return Ok(exit::REFUSED);
    }
    if !yes {
        print!("Apply these changes? Only `yes` is accepted: ");
        std::io::stdout().flush().ok();
        // Read on a thread of its own so that Ctrl-C at the prompt is a "no".
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            tx.send(std::io::stdin().read_line(&mut answer).map(|_| answer))
                .ok();
        });
        let answer = tokio::select! {
            answer = rx => answer
                .context("cannot read the answer")?
                .context("cannot read the answer")?,
            () = opts.interrupt.raised() => String::new(),
        };
        if answer.trim() != "yes" {
            discard_all().await;
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(if opts.interrupt.is_raised() {
                exit::INTERRUPTED
            } else {
                exit::FAILURE
            });
        }
    }
    let reporter = Reporter::new();
    let progress = |p: Progress| {
        journal_progress(journal, &p);
        reporter.report(p);
    };
    let outcomes =
        deploy::apply_all(&regions, artifacts, &plans, allow_destroy, opts, &progress).await;
    for o in &outcomes {
        journal
            .write(crate::journal::Record {
                status: o.status.clone(),
                outcome: serde_json::to_value(o.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
                detail: o.detail.clone(),
                ..crate::journal::Record::new(crate::journal::Step::Finished)
                    .stack(&o.stack, &o.region)
            })
            .ok();
    }
    print!("{}", render::outcomes(&outcomes, color));
    let code = outcome_code(&outcomes);
    if opts.interrupt.is_raised() {
        eprintln!(
            "Interrupted: stacks that had started were followed to their end (above); the rest did not start. \
             Run `mailinfra apply` again to finish."
        );
        return Ok(exit::INTERRUPTED);
    }
    if code == exit::SUCCESS {
        println!("Apply complete.");
    }
    Ok(code)
}

/// Why an apply must not run these plans, as the text to print: the first
/// guard some change fails, each such change on a line, then what to do.
fn refusal(plans: &[StackPlan], allow_destroy: &[String], import: &[String]) -> Option<String> {
    use crate::diff::{Action, ResourceChange};
    fn text(
        header: &str,
        found: &[(&str, &ResourceChange)],
        line: impl Fn(&ResourceChange) -> String,
        advice: &str,
    ) -> Option<String> {
        if found.is_empty() {
            return None;
        }
        let mut out = format!("error: refusing to apply: {header}\n");
        for (stack, c) in found {
            out.push_str(&format!("  {stack}: {}\n", line(c)));
        }
        out.push_str(advice);
        out.push('\n');
        Some(out)
    }
    let unnamed = deploy::unnamed_imports(plans, import);
    let taken = deploy::changes_where(plans, |c| c.exists_outside.is_some());
    let renamed = deploy::changes_where(plans, |c| c.renamed_from.is_some());
    let destroyed = deploy::unallowed_destruction(plans, allow_destroy);
    let flags: Vec<String> = destroyed
        .iter()
        .map(|(_, c)| format!("--allow-destroy {}", c.logical_id))
        .collect();
    text(
        "CloudFormation would also import resources you did not name \
         (it imports every existing named resource of a stack it imports into):",
        &unnamed,
        |c| format!("{} ({})", c.logical_id, c.resource_type),
        "Name each with `--import LOGICAL_ID` if it is meant to be managed here, or remove it first.",
    )
    .or_else(|| {
        text(
            "resources the plan adds already exist outside any stack; \
             CloudFormation would fail to create them in the middle of the apply and roll the stack back:",
            &taken,
            |c| {
                format!(
                    "{} ({}) is {}",
                    c.logical_id,
                    c.resource_type,
                    c.exists_outside.as_deref().unwrap_or_default()
                )
            },
            "mailinfra never adopts a resource silently. For each: to manage it here as it is, apply \
             again with `--import LOGICAL_ID` (CloudFormation imports it, then the apply sets it up as \
             the spec says); if nothing uses it, delete it instead (`aws sesv2 delete-email-identity \
             --email-identity NAME --region REGION`: its verification and DKIM set-up go with it).",
        )
    })
    .or_else(|| {
        text(
            "resources move to a new logical id under the same name in AWS:",
            &renamed,
            |c| {
                format!(
                    "{} ({}) replaces {} (same {})",
                    c.logical_id,
                    c.resource_type,
                    c.renamed_from.as_deref().unwrap_or_default(),
                    c.physical_name.as_deref().unwrap_or("name")
                )
            },
            "CloudFormation creates the new resource before it deletes the old one, so the name is \
             still taken and the apply fails half-way (for DNS records it can end with neither). Apply \
             it in two steps: first without the element (its removal), then with it under its new place.",
        )
    })
    .or_else(|| {
        text(
            "the plan deletes or replaces stateful resources that may hold mail, keys or history:",
            &destroyed,
            |c| {
                let what = if c.action == Action::Remove {
                    "removed from the stack (retained in AWS, but no longer managed)"
                } else {
                    "replaced (a new, empty resource takes its place)"
                };
                format!("{} ({}) would be {what}", c.logical_id, c.resource_type)
            },
            &format!("If this is intended, apply again with {}", flags.join(" ")),
        )
    })
}

/// Records in the journal what an apply starts and how each stack settles.
fn journal_progress(journal: &crate::journal::Journal, p: &Progress) {
    use crate::journal::{Record, Step};
    let record = match p {
        Progress::StackStarted {
            stack,
            region,
            operation,
            stack_arn,
        } => Record {
            operation: Some(operation.clone()),
            stack_arn: Some(stack_arn.clone()),
            ..Record::new(Step::Executing).stack(stack, region)
        },
        Progress::StackFinished { stack, status } => Record {
            stack: Some(stack.clone()),
            status: Some(status.clone()),
            ..Record::new(Step::Settled)
        },
        Progress::Event { .. } | Progress::Warning { .. } => return,
    };
    if let Err(e) = journal.write(record) {
        eprintln!("warning: {e:#}");
    }
}

/// Ctrl-C and SIGTERM, each registered once, so that a signal arriving
/// between two waits is not lost.
struct Signals {
    #[cfg(unix)]
    both: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                both: signal(SignalKind::interrupt())
                    .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next one.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.both {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        tokio::signal::ctrl_c().await.ok();
    }
}

/// Ctrl-C and SIGTERM (what CI runners send when a job is cancelled) are
/// handled alike. The first raises `interrupt`: no new stack starts, no planned
/// change set is executed, and `running` says what happens to the rest. The
/// second stops at once, after `last_words` (journal, lock file).
fn watch_interrupts(
    interrupt: deploy::Interrupt,
    running: &'static str,
    last_words: impl FnOnce() + Send + 'static,
) {
    let mut signals = Signals::new();
    tokio::spawn(async move {
        signals.next().await;
        interrupt.raise();
        eprintln!(
            "Interrupt received: no new stack starts and no planned change set is executed; {running}. \
             Interrupt again to stop at once."
        );
        signals.next().await;
        last_words();
        eprintln!(
            "Two interrupts received: stopped without waiting. Operations already started go on in \
             CloudFormation; run `mailinfra status` to see where they are, and `mailinfra apply` once they settled."
        );
        std::process::exit(exit::INTERRUPTED);
    });
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
