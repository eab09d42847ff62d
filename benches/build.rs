//! `build` at N = 100, 1,000 and 10,000 tenant domains in two regions: wall
//! time and peak memory (VmHWM, reset between sizes through
//! `/proc/self/clear_refs`). Run with `cargo bench --bench build`.

use std::time::Instant;

use mailinfra::pipeline::{self, Judge};
use mailinfra::{build, load};

#[path = "../tests/support/specs.rs"]
mod specs;

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
        let text = specs::isv_spec(n, true);
        let dir = tempfile::tempdir()?;
        reset_peak();
        let start = Instant::now();
        let doc = load::Document::parse("isv.yaml", text).map_err(|d| anyhow::anyhow!("{d:?}"))?;
        let t_load = start.elapsed();
        let checked = pipeline::check_document(doc, Judge::default());
        let t_check = start.elapsed();
        let model = checked.model.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the generated spec has errors: {:?}", checked.diagnostics)
        })?;
        let built = pipeline::build(model, &checked.spec_hash, None)?;
        let t_build = start.elapsed();
        build::write(dir.path(), &built.manifest, &built.artifacts)?;
        std::fs::write(dir.path().join("isv.lock"), built.placement.render())?;
        let wall = start.elapsed();
        let bytes: usize = built.artifacts.iter().map(|a| a.body.len()).sum();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{n:>8}  {:>7}  {:>9.0}  {:>9.1}  {bytes:>10}  {:.0}, {:.0}, {:.0}, {:.0}",
            built.artifacts.len(),
            ms(wall),
            peak_mib().unwrap_or(f64::NAN),
            ms(t_load),
            ms(t_check - t_load),
            ms(t_build - t_check),
            ms(wall - t_build),
        );
    }
    Ok(())
}
