//! Build: compiled stacks → files on disk.
//!
//! Writes one `<stack>.template.json` per stack and `manifest.json` (format
//! version, spec hash, and per stack: region, order, dependencies, template
//! hash, size, resource count, capabilities). Files are written atomically and
//! their bytes depend on the spec alone. Templates a previous build listed but
//! this one does not are removed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::compile::{CompiledStack, StackSet, Wire};
use crate::placement::{HARD, Load};
use crate::template;

pub const MANIFEST: &str = "manifest.json";
pub const MANIFEST_FORMAT: u32 = 1;
/// Largest template CloudFormation accepts inline; bigger ones go through S3.
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    pub project: String,
    pub spec_sha256: String,
    pub stacks: Vec<StackEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StackEntry {
    pub name: String,
    pub region: String,
    pub concern: String,
    /// File name of the template, relative to the manifest.
    pub template: String,
    pub sha256: String,
    pub bytes: usize,
    pub resources: usize,
    pub depends_on: Vec<String>,
    /// Template parameters to fill from other stacks' outputs (each producer is
    /// also in `depends_on`).
    #[serde(default)]
    pub parameters: Vec<Wire>,
    #[serde(default)]
    pub outputs: usize,
    pub capabilities: Vec<String>,
    /// Whether the template is too large to send inline and must be uploaded to S3.
    pub needs_upload: bool,
}

/// "Pass output `output` of stack `stack` as parameter `name`" (the deployer's name for a [`Wire`]).
pub type ParamSource = Wire;

/// One stack's rendered template and manifest entry.
pub struct Artifact {
    pub entry: StackEntry,
    pub body: String,
}

/// Renders every stack: the bytes that `build` writes and `plan` sends.
pub fn render(set: &StackSet, project: &str, spec_hash: &str) -> (Manifest, Vec<Artifact>) {
    let artifacts: Vec<Artifact> = set.stacks.iter().map(artifact).collect();
    (manifest(project, spec_hash, &artifacts), artifacts)
}

/// [`render`], dropping each compiled template once it is rendered (a large
/// topology then never holds all its templates twice).
pub fn render_owned(set: StackSet, project: &str, spec_hash: &str) -> (Manifest, Vec<Artifact>) {
    let artifacts: Vec<Artifact> = set.stacks.into_iter().map(|s| artifact(&s)).collect();
    (manifest(project, spec_hash, &artifacts), artifacts)
}

fn manifest(project: &str, spec_hash: &str, artifacts: &[Artifact]) -> Manifest {
    Manifest {
        format_version: MANIFEST_FORMAT,
        project: project.to_string(),
        spec_sha256: spec_hash.to_string(),
        stacks: artifacts.iter().map(|a| a.entry.clone()).collect(),
    }
}

fn artifact(s: &CompiledStack) -> Artifact {
    let body = s.template.render();
    Artifact {
        entry: StackEntry {
            name: s.name.clone(),
            region: s.region.clone(),
            concern: s.concern.as_str().to_string(),
            template: format!("{}.template.json", s.name),
            sha256: crate::hash::sha256_hex(body.as_bytes()),
            bytes: body.len(),
            resources: s.template.resources.len(),
            depends_on: s.depends_on.clone(),
            parameters: s.parameters.clone(),
            outputs: s.template.outputs.len(),
            capabilities: s.template.capabilities(),
            needs_upload: body.len() > INLINE_TEMPLATE_LIMIT,
        },
        body,
    }
}

/// Checks every rendered stack against CloudFormation's hard limits; the
/// error names the stack and the limit.
pub fn check_limits(artifacts: &[Artifact]) -> Result<(), String> {
    for a in artifacts {
        let e = &a.entry;
        let load = Load {
            resources: e.resources,
            outputs: e.outputs,
            dynamic_refs: a.body.matches("{{resolve:").count(),
            bytes: a.body.len(),
            grant_chars: 0,
        };
        if let Some(why) = load.exceeds(e.parameters.len(), &HARD) {
            return Err(format!(
                "the stack `{}` would hold {why}; its shared resources or the elements the lock file keeps in it grew too large (see `mailinfra explain MI3113`)",
                e.name
            ));
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file with an
/// unpredictable name, created exclusively (`O_EXCL`, so a planted link is
/// never followed) in the same directory, flushed to disk, then renamed over
/// `path` (which replaces a link at `path`, never what it points to).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        // On disk before the rename makes it visible: a crash leaves the old file or the new one.
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write `{}`", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// `manifest.json` as `write` puts it on disk (and `compare` expects it).
fn manifest_text(manifest: &Manifest) -> anyhow::Result<String> {
    Ok(template::render_value(&serde_json::to_value(manifest)?))
}

/// How a build directory differs from what the spec compiles to.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    /// The file is there with other bytes: a unified diff, old to new.
    Changed { file: String, diff: String },
    /// The build would write this file; it is not there.
    Missing(String),
    /// A template the build would not write any more.
    Extra(String),
}

/// A unified diff of `old` → `new` for `file`, with three lines of context.
pub fn unified_diff(file: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
}

/// Compares the build in `dir` with what `write` would put there (the
/// `--check` of a snapshot workflow); nothing is written.
pub fn compare(
    dir: &Path,
    manifest: &Manifest,
    artifacts: &[Artifact],
) -> anyhow::Result<Vec<Stale>> {
    let manifest_text = manifest_text(manifest)?;
    let expected = artifacts
        .iter()
        .map(|a| (a.entry.template.as_str(), a.body.as_str()))
        .chain([(MANIFEST, manifest_text.as_str())]);
    let mut found = Vec::new();
    for (file, want) in expected {
        match std::fs::read_to_string(dir.join(file)) {
            Ok(have) if have == want => {}
            Ok(have) => found.push(Stale::Changed {
                file: file.to_string(),
                diff: unified_diff(file, &have, want),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                found.push(Stale::Missing(file.to_string()));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read `{}`", dir.join(file).display()));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".template.json"))
            .filter(|n| !artifacts.iter().any(|a| &a.entry.template == n))
            .collect();
        extra.sort();
        found.extend(extra.into_iter().map(Stale::Extra));
    }
    Ok(found)
}

/// Reads the manifest of a previous build, if there is one.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let m: Manifest = serde_json::from_str(&text).with_context(|| {
                format!(
                    "`{}` is not a mailinfra manifest; delete it and build again",
                    path.display()
                )
            })?;
            if m.format_version != MANIFEST_FORMAT {
                anyhow::bail!(
                    "`{}` has manifest format {}, this mailinfra writes {MANIFEST_FORMAT}; build again",
                    path.display(),
                    m.format_version
                );
            }
            Ok(Some(m))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Writes templates and manifest into `dir`; returns the written paths.
pub fn write(
    dir: &Path,
    manifest: &Manifest,
    artifacts: &[Artifact],
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let previous = read_manifest(dir).ok().flatten();
    let mut written = Vec::new();
    for a in artifacts {
        let path = dir.join(&a.entry.template);
        // Unchanged files are left alone so their modification times mean something.
        if std::fs::read(&path).ok().as_deref() != Some(a.body.as_bytes()) {
            write_atomic(&path, a.body.as_bytes())?;
        }
        written.push(path);
    }
    if let Some(prev) = previous {
        for old in prev.stacks {
            if !manifest.stacks.iter().any(|s| s.template == old.template)
                && !old.template.contains('/')
            {
                let _ = std::fs::remove_file(dir.join(&old.template));
            }
        }
    }
    let path = dir.join(MANIFEST);
    write_atomic(&path, manifest_text(manifest)?.as_bytes())?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_every_difference() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = |name: &str, body: &str| Artifact {
            entry: StackEntry {
                name: name.into(),
                region: "us-east-1".into(),
                concern: "sending".into(),
                template: format!("{name}.template.json"),
                sha256: String::new(),
                bytes: body.len(),
                resources: 1,
                depends_on: Vec::new(),
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: body.into(),
        };
        let before = [
            artifact("a", "{\n  \"x\": 1\n}\n"),
            artifact("gone", "{}\n"),
        ];
        let m = manifest("p", "h", &before);
        write(dir.path(), &m, &before).unwrap();
        assert_eq!(compare(dir.path(), &m, &before).unwrap(), []);
        let after = [artifact("a", "{\n  \"x\": 2\n}\n"), artifact("new", "{}\n")];
        let m = manifest("p", "h", &after);
        let found = compare(dir.path(), &m, &after).unwrap();
        let Stale::Changed { file, diff } = &found[0] else {
            panic!("{found:?}")
        };
        assert_eq!(file, "a.template.json");
        assert!(diff.contains("-  \"x\": 1\n+  \"x\": 2"), "{diff}");
        assert!(found.contains(&Stale::Missing("new.template.json".into())));
        assert!(matches!(&found[2], Stale::Changed { file, .. } if file == MANIFEST));
        assert_eq!(
            found.last(),
            Some(&Stale::Extra("gone.template.json".into()))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "keep me").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let target = out.join(MANIFEST);
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        // The names a writer with predictable temporary names would have used.
        for n in [
            format!(".{MANIFEST}.tmp-{}", std::process::id()),
            format!(".{MANIFEST}.tmp"),
        ] {
            std::os::unix::fs::symlink(&outside, out.join(n)).unwrap();
        }
        write_atomic(&target, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
        assert!(
            !std::fs::symlink_metadata(&target)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
        let left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert_eq!(
            left,
            [format!(".{MANIFEST}.tmp")],
            "no temporary file of ours is left"
        );
    }
}
