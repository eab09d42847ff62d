//! `build` at N = 100, 1,000 and 10,000 tenant domains in two regions: wall
//! time and peak memory (VmHWM, reset between sizes through
//! `/proc/self/clear_refs`). Run with `cargo bench --bench build`.

use std::time::Instant;

use mailinfra::pipeline::{self, Judge};
use mailinfra::{build, generate, load};

/// Peak resident set size in MiB, if the kernel tells.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = match std::env::var("MAILINFRA_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![100, 1_000, 10_000],
    };
    println!(
        "{:>8}  {:>7}  {:>9}  {:>9}  {:>10}",
        "domains", "stacks", "wall ms", "peak MiB", "bytes"
    );
    for n in sizes {
        let text = generate::isv_spec(n, true);
        let dir = tempfile::tempdir()?;
        reset_peak();
        let start = Instant::now();
        let doc = load::Document::parse("isv.yaml", text).map_err(|d| anyhow::anyhow!("{d:?}"))?;
        let checked = pipeline::check_document(doc, Judge::default());
        let model = checked.model.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the generated spec has errors: {:?}", checked.diagnostics)
        })?;
        let built = pipeline::build(model, &checked.spec_hash, None)?;
        build::write(dir.path(), &built.manifest, &built.artifacts)?;
        std::fs::write(dir.path().join("isv.lock"), built.placement.render())?;
        let wall = start.elapsed();
        let bytes: usize = built.artifacts.iter().map(|a| a.body.len()).sum();
        println!(
            "{n:>8}  {:>7}  {:>9.0}  {:>9.1}  {bytes:>10}",
            built.artifacts.len(),
            wall.as_secs_f64() * 1000.0,
            peak_mib().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
