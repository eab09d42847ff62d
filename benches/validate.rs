//! `validate` of a 10,000-domain spec: load, schema, resolve and check.
//! `cargo bench --bench validate` prints the median of several runs; under
//! `cargo test` (no `--bench` argument) it runs once on a small spec as a smoke test.

use std::time::{Duration, Instant};

use mailinfra::load::Document;
use mailinfra::pipeline::{self, Judge};
use mailinfra::specgen::domains_spec;

/// On-CPU time of this thread (Linux `/proc/thread-self/schedstat`), so a busy
/// machine does not inflate the figure; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn validate_once(text: &str) -> (Duration, Option<Duration>) {
    let cpu = cpu_time();
    let started = Instant::now();
    let doc = Document::parse("bench.yaml", text.to_string()).expect("generated spec parses");
    let checked = pipeline::check_document(doc, Judge::default());
    let elapsed = started.elapsed();
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        &checked.diagnostics[..1]
    );
    assert!(checked.model.is_some());
    let cpu = cpu.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a));
    (elapsed, cpu)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench { 10_000 } else { 30 };
    let text = domains_spec(n);
    let runs = if bench { 7 } else { 1 };
    let results: Vec<(Duration, Option<Duration>)> =
        (0..runs).map(|_| validate_once(&text)).collect();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied()
    };
    let wall = median(results.iter().map(|r| r.0).collect()).unwrap_or_default();
    let cpu = median(results.iter().filter_map(|r| r.1).collect());
    println!(
        "validate: {n} domains, {} bytes: median {:.1} ms wall, {} CPU, over {runs} run(s)",
        text.len(),
        wall.as_secs_f64() * 1000.0,
        cpu.map_or("unknown".into(), |c| format!(
            "{:.1} ms",
            c.as_secs_f64() * 1000.0
        ))
    );
}
