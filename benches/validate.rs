//! `validate` of a 10,000-domain spec: load, schema, resolve and check.
//! `cargo bench --bench validate` prints the median of several runs; under
//! `cargo test` (no `--bench` argument) it runs once on a small spec as a smoke test.

use std::time::{Duration, Instant};

use mailinfra::load::Document;
use mailinfra::pipeline::{self, Judge};
use mailinfra::specgen::domains_spec;

fn validate_once(text: &str) -> Duration {
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
    elapsed
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let n = if bench { 10_000 } else { 200 };
    let text = domains_spec(n);
    let runs = if bench { 7 } else { 1 };
    let mut times: Vec<Duration> = (0..runs).map(|_| validate_once(&text)).collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "validate: {n} domains, {} bytes: median {:.1} ms over {runs} run(s)",
        text.len(),
        median.as_secs_f64() * 1000.0
    );
}
