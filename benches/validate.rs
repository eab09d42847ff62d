//! `validate` of a 10,000-domain spec: load, schema, resolve and check; and how
//! fast hostile inputs (an alias bomb, nesting thousands deep) are rejected.
//! `cargo bench --bench validate` prints the median of several runs; under
//! `cargo test` (no `--bench` argument) each case runs once, the spec a small
//! one, as a smoke test. The tests check that hostile inputs are rejected with
//! the right diagnostic (`tests/it/diagnostics.rs`); their speed is measured here.

use std::time::{Duration, Instant};

use mailinfra::diag::Diagnostic;
use mailinfra::load::Document;
use mailinfra::pipeline::{self, Judge};

#[path = "../tests/support/specs.rs"]
mod specs;
use specs::domains_spec;

/// On-CPU time of this thread (Linux `/proc/thread-self/schedstat`), so a busy
/// machine does not inflate the figure; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Load and check `text` once: its diagnostics (a document that does not load
/// has no model, only those), wall and CPU time.
fn check_once(text: &str) -> (Vec<Diagnostic>, Duration, Option<Duration>) {
    let cpu = cpu_time();
    let started = Instant::now();
    let diagnostics = match Document::parse("bench.yaml", text.to_string()) {
        Err(diagnostics) => diagnostics,
        Ok(doc) => {
            let checked = pipeline::check_document(doc, Judge::default());
            assert_eq!(checked.model.is_some(), checked.diagnostics.is_empty());
            checked.diagnostics
        }
    };
    let elapsed = started.elapsed();
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    (diagnostics, elapsed, cpu)
}

/// Runs `case` `runs` times and prints the median wall and CPU time.
fn measure(label: &str, runs: usize, mut case: impl FnMut() -> (Duration, Option<Duration>)) {
    let results: Vec<(Duration, Option<Duration>)> = (0..runs).map(|_| case()).collect();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied()
    };
    let wall = median(results.iter().map(|r| r.0).collect()).unwrap_or_default();
    let cpu = median(results.iter().filter_map(|r| r.1).collect());
    println!(
        "{label}: median {:.1} ms wall, {} CPU, over {runs} run(s)",
        wall.as_secs_f64() * 1000.0,
        cpu.map_or("unknown".into(), |c| format!(
            "{:.1} ms",
            c.as_secs_f64() * 1000.0
        ))
    );
}

/// Inputs built to exhaust a parser, and the code each is rejected with.
fn hostile() -> Vec<(&'static str, String, &'static str)> {
    // Ten levels of ten aliases each: 10^10 nodes if expanded.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let flow = format!("tags: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let block: String = (0..3000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let seqs = (0..3000)
        .map(|i| format!("{}- ", " ".repeat(i * 2)))
        .collect::<Vec<_>>()
        .join("\n")
        + "x\n";
    vec![
        ("alias bomb (10^10 nodes expanded)", bomb, "MI1009"),
        ("flow sequences 5,000 deep", flow, "MI1010"),
        ("block mappings 3,000 deep", block, "MI1010"),
        ("block sequences 3,000 deep", seqs, "MI1010"),
    ]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench { 10_000 } else { 30 };
    let text = domains_spec(n);
    let runs = if bench { 7 } else { 1 };
    measure(
        &format!("validate: {n} domains, {} bytes", text.len()),
        runs,
        || {
            let (diagnostics, wall, cpu) = check_once(&text);
            assert!(diagnostics.is_empty(), "{:?}", &diagnostics[..1]);
            (wall, cpu)
        },
    );
    for (name, text, code) in hostile() {
        measure(
            &format!("reject: {name}, {} bytes", text.len()),
            runs,
            || {
                let (diagnostics, wall, cpu) = check_once(&text);
                let first = diagnostics.iter().find(|d| d.is_error());
                assert_eq!(
                    first.map(|d| d.code.as_str()),
                    Some(code),
                    "{name}: {diagnostics:?}"
                );
                (wall, cpu)
            },
        );
    }
}
