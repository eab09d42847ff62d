//! The CI recipes in `docs/ci/` and the README's commands are real: the
//! workflow is YAML that mailinfra's own loader reads, uses OIDC, and every
//! `mailinfra …` command in it, in the generic recipe and in the README parses
//! with the actual command line.

use crate::common;

use clap::Parser as _;
use mailinfra::commands::args::{Cli, Command};
use serde_json::Value;

/// The `mailinfra` invocations in a shell script, as argument lists (without
/// the program name). `cargo run -q --` counts as `mailinfra`.
fn invocations(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let line = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        for part in line.split(['|', ';', '&']) {
            let part = part.trim();
            let rest = part
                .strip_prefix("mailinfra ")
                .or_else(|| part.strip_prefix("cargo run -q -- "));
            let Some(rest) = rest else { continue };
            let args: Vec<String> = rest
                .split_whitespace()
                .take_while(|w| !w.starts_with(['>', '<']) && !w.starts_with("2>"))
                .map(|w| w.trim_matches(['"', '\'']).to_string())
                .collect();
            found.push(args);
        }
    }
    found
}

/// The bodies of the ```sh blocks of a Markdown file.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```sh") => current = Some(String::new()),
            Some(body) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    blocks
}

fn check_parses(source: &str, args: &[String]) -> Cli {
    let argv = std::iter::once("mailinfra".to_string()).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => panic!(
            "{source}: `mailinfra {}` does not parse:\n{e}",
            args.join(" ")
        ),
    }
}

fn workflow() -> Value {
    let path = common::root().join("docs/ci/github-actions.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    match mailinfra::load::Document::parse("github-actions.yml", text) {
        Ok(doc) => doc.json,
        Err(d) => panic!("the workflow is not valid YAML: {d:?}"),
    }
}

#[test]
fn workflow_validates_plans_on_pull_requests_and_applies_on_merge_with_oidc() {
    let wf = workflow();
    let jobs = wf["jobs"].as_object().expect("jobs");
    // Committed templates are checked with `build --check`, and their diff
    // against the base branch goes into the plan comment.
    let text = std::fs::read_to_string(common::root().join("docs/ci/github-actions.yml"))
        .expect("workflow");
    assert!(
        text.contains("mailinfra build --check --out templates"),
        "{text}"
    );
    assert!(
        text.contains("templates.diff") && text.contains("Template diff"),
        "{text}"
    );
    let mut commands = Vec::new();
    for (name, job) in jobs {
        let steps = job["steps"].as_array().expect("steps");
        for step in steps {
            if let Some(run) = step["run"].as_str() {
                for args in invocations(run) {
                    let cli = check_parses(&format!("job `{name}`"), &args);
                    commands.push((name.clone(), args.join(" "), cli));
                }
            }
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses.starts_with("aws-actions/configure-aws-credentials") {
                let with = &step["with"];
                assert!(
                    with["role-to-assume"].is_string(),
                    "job `{name}`: no OIDC role"
                );
                assert!(
                    with.get("aws-access-key-id").is_none(),
                    "job `{name}`: stored keys"
                );
                assert_eq!(
                    job["permissions"]["id-token"], "write",
                    "job `{name}`: OIDC needs `id-token: write`"
                );
            }
        }
    }
    let has = |job: &str, pred: &dyn Fn(&Cli) -> bool| {
        commands.iter().any(|(j, _, cli)| j == job && pred(cli))
    };
    assert!(has("plan", &|c| matches!(
        c.command,
        Command::Validate {
            format: mailinfra::render::diagnostics::Format::Github
        }
    )));
    assert!(has("plan", &|c| matches!(c.command, Command::Build { .. })));
    assert!(has("plan", &|c| matches!(
        c.command,
        Command::Plan {
            format: mailinfra::commands::args::PlanFormat::Markdown,
            offline: false,
            ..
        }
    )));
    assert!(has("apply", &|c| matches!(
        c.command,
        Command::Apply { yes: true, .. }
    )));
    assert!(!has("plan", &|c| matches!(
        c.command,
        Command::Apply { .. }
    )));
    let apply_if = jobs["apply"]["if"].as_str().unwrap_or_default();
    assert!(apply_if.contains("refs/heads/main"), "{apply_if}");
    let plan = serde_json::to_string(&jobs["plan"]).unwrap();
    // One comment, found by its hidden marker: updated, or created the first time.
    let comment = step(&jobs["plan"], "Comment the plan");
    assert!(
        comment["uses"]
            .as_str()
            .unwrap_or_default()
            .starts_with("actions/github-script@"),
        "{comment}"
    );
    let script = comment["with"]["script"].as_str().unwrap();
    for needed in [
        "<!-- mailinfra-plan -->",
        "updateComment",
        "createComment",
        "paginate",
    ] {
        assert!(
            script.contains(needed),
            "the comment script lacks {needed}:\n{script}"
        );
    }
    // Only 0 and 2 are successes of `plan --detailed-exitcode`: 5 (AWS failed) fails the job.
    assert!(
        plan.contains(r#"[ \"$code\" -ne 0 ] && [ \"$code\" -ne 2 ]"#),
        "{plan}"
    );
    // The journal survives a failed or cancelled apply, for `mailinfra status`.
    let steps = jobs["apply"]["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["if"] == "always()" && s["with"]["path"] == ".mailinfra-journal.jsonl"),
        "the apply job does not keep its journal"
    );
    // mailinfra.lock changes placement: it triggers the workflow too.
    let paths = serde_json::to_string(&wf["on"]["pull_request"]["paths"]).unwrap();
    assert!(paths.contains("mailinfra.lock"), "{paths}");
}

/// The step of `job` named `name`.
fn step<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step `{name}`"))
}

/// Both jobs install the pinned version, built once and then restored from
/// a cache keyed on that version: the tag this crate's version names.
#[test]
fn both_jobs_install_the_pinned_version_from_a_cache() {
    let wf = workflow();
    let version = wf["env"]["MAILINFRA_VERSION"]
        .as_str()
        .expect("MAILINFRA_VERSION");
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    for name in ["plan", "apply"] {
        let job = &wf["jobs"][name];
        let cache = step(job, "Restore mailinfra");
        assert!(
            cache["uses"]
                .as_str()
                .unwrap()
                .starts_with("actions/cache@"),
            "{name}"
        );
        assert_eq!(cache["with"]["path"], "~/.cargo/bin/mailinfra", "{name}");
        let key = cache["with"]["key"].as_str().unwrap();
        assert!(
            key.contains("env.MAILINFRA_VERSION") && key.contains("runner.os"),
            "{name}: {key}"
        );
        let install = step(job, "Install mailinfra");
        let run = install["run"].as_str().unwrap();
        assert!(
            run.contains("cargo install --locked --git"),
            "{name}: {run}"
        );
        assert!(
            run.contains("--tag \"$MAILINFRA_VERSION\""),
            "{name}: {run}"
        );
        let hit = "steps.mailinfra-cache.outputs.cache-hit != 'true'";
        assert_eq!(install["if"], hit, "{name}: built only on a cache miss");
        let steps = job["steps"].as_array().unwrap();
        let at = |pred: &dyn Fn(&Value) -> bool| steps.iter().position(pred).unwrap();
        let cache_at = at(&|s| s["name"] == "Restore mailinfra");
        let install_at = at(&|s| s["name"] == "Install mailinfra");
        let first_use = at(&|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("mailinfra validate"))
        });
        assert!(
            cache_at < install_at && install_at < first_use,
            "{name}: order"
        );
    }
}

/// The plan job fails when `build` changed `mailinfra.lock`: a plan is only
/// reviewed for a placement the branch has committed.
#[test]
fn the_plan_job_checks_that_the_lock_file_is_committed() {
    let wf = workflow();
    let job = &wf["jobs"]["plan"];
    let check = step(job, "Check that mailinfra.lock is committed");
    let run = check["run"].as_str().unwrap();
    assert!(
        run.contains("git status --porcelain -- mailinfra.lock"),
        "{run}"
    );
    assert!(run.contains("exit 1"), "{run}");
    let steps = job["steps"].as_array().unwrap();
    let pos = |n: &str| steps.iter().position(|s| s["name"] == n).unwrap();
    assert!(pos("Build") < pos("Check that mailinfra.lock is committed"));
    assert!(pos("Check that mailinfra.lock is committed") < pos("Plan"));
    // The check is real shell: a tree where `build` wrote a new lock fails it.
    let dir = common::scratch();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            common::text(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(dir.path().join("mailinfra.yaml"), "x\n").unwrap();
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "x",
    ]);
    let script = |d: &std::path::Path| {
        std::process::Command::new("bash")
            .args(["-c", run])
            .current_dir(d)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(script(dir.path()), Some(0), "nothing changed");
    std::fs::write(dir.path().join("mailinfra.lock"), "{}\n").unwrap();
    assert_eq!(
        script(dir.path()),
        Some(1),
        "an uncommitted lock fails the job"
    );
}

#[test]
fn every_documented_command_parses() {
    for file in ["docs/ci/generic.md", "README.md"] {
        let text = std::fs::read_to_string(common::root().join(file)).unwrap();
        let mut n = 0;
        for block in shell_blocks(&text) {
            for args in invocations(&block) {
                check_parses(file, &args);
                n += 1;
            }
        }
        assert!(n >= 4, "{file}: only {n} mailinfra commands found");
    }
}

#[test]
fn the_extractor_finds_commands_and_drops_redirections() {
    let found = invocations(
        "set +e\nmailinfra plan --format markdown \\\n  --detailed-exitcode > plan.md\ncode=$?\ncargo run -q -- init --blueprint x && mailinfra validate # check\n",
    );
    assert_eq!(
        found,
        vec![
            vec!["plan", "--format", "markdown", "--detailed-exitcode"],
            vec!["init", "--blueprint", "x"],
            vec!["validate"],
        ]
    );
    let argv = ["mailinfra", "plan", "--no-such-flag"];
    assert!(Cli::try_parse_from(argv).is_err());
}

/// The README's first set-up command, the main job, runs as written (with
/// its `/tmp/` paths moved into a scratch directory) on a machine without AWS
/// credentials, off a terminal: every value `init` needs is on its line.
#[test]
fn the_readme_main_job_runs_as_written() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let setup = &readme[readme.find("## Set up").expect("a Set up section")..];
    let block = shell_blocks(setup)
        .into_iter()
        .next()
        .expect("a first command");
    let dir = common::scratch();
    let scratch = format!("{}/", dir.path().display());
    let line = block.trim().replace("/tmp/", &scratch);
    let steps = invocations(&line);
    assert_eq!(steps.len(), 2, "init, then plan --offline: {line}");
    for args in steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::run(&args, dir.path());
        assert!(
            out.status.success(),
            "`mailinfra {}` failed: {}",
            args.join(" "),
            common::text(&out.stderr)
        );
    }
}
