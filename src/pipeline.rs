//! Pipeline: the one place that knows the order of the stages.
//!
//! load → schema → resolve → check → compile. A later stage runs only when the
//! earlier ones produced no errors; warnings flow through. The result carries
//! everything the CLI needs to render diagnostics once, at the edge.

use std::path::Path;

use crate::compile::{self, StackSet};
use crate::diag::{self, Code, Diagnostic, Severity};
use crate::model::{self, Model};
use crate::placement::Lock;
use crate::{build, check, codes, compiled_check, load, schema};

/// The front end's result: a model when the spec has no errors, and every diagnostic.
pub struct Checked {
    pub file: String,
    /// The source text, when it could be read (for snippets).
    pub text: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    pub model: Option<Model>,
    /// SHA-256 of the spec file's bytes, hex.
    pub spec_hash: String,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Options that change how diagnostics are judged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Judge {
    /// Turn every warning into an error.
    pub deny_warnings: bool,
}

/// Runs load, schema, resolve and check on the spec at `path`.
pub fn check_file(path: &Path, judge: Judge) -> Checked {
    let file = path.display().to_string();
    match load::load(path) {
        Err((text, diagnostics)) => finish(
            Checked {
                file,
                text,
                diagnostics,
                model: None,
                spec_hash: String::new(),
            },
            judge,
        ),
        Ok(doc) => check_document(doc, judge),
    }
}

/// Runs schema, resolve and check on a loaded document.
pub fn check_document(mut doc: load::Document, judge: Judge) -> Checked {
    let spec_hash = crate::hash::sha256_hex(doc.text.as_bytes());
    let mut out = Checked {
        file: doc.file.clone(),
        text: None,
        diagnostics: Vec::new(),
        model: None,
        spec_hash,
    };
    match schema::check(&doc) {
        Err(diags) => {
            out.diagnostics = diags;
            // The document's JSON is not needed again: the salvage takes it.
            let json = std::mem::take(&mut doc.json);
            out.diagnostics
                .extend(independent_findings(json, &out.diagnostics));
        }
        Ok(spec) => {
            // Each form is let go once the next is made: a large spec is
            // never held three times over.
            let placeholders = check::placeholders::scan(&doc.json);
            doc.json = serde_json::Value::Null;
            let model = model::resolve(&spec);
            drop(spec);
            out.diagnostics = check::check(&model);
            out.diagnostics.extend(placeholders);
            if !model.sending.overrides.is_empty() {
                // Overrides are checked against the compiled templates: a spec
                // that does not compile is said so, never passed unchecked.
                match compile::compile(&model) {
                    Ok(set) => out
                        .diagnostics
                        .extend(compiled_check::compiled(&model, &set)),
                    Err(e) => out.diagnostics.push(
                        Diagnostic::error(
                            Code::MI3113,
                            format!(
                                "the spec does not compile, so its overrides cannot be checked: {e}"
                            ),
                        )
                        .path("/overrides"),
                    ),
                }
            }
            out.model = Some(model);
        }
    }
    diag::locate(&mut out.diagnostics, &doc);
    out.diagnostics = filter_allowed(std::mem::take(&mut out.diagnostics), &doc);
    out.text = Some(doc.text);
    finish(out, judge)
}

/// What the later stages find in a spec that fails the schema, in the parts
/// that do not depend on what fails: the failing parts are removed
/// ([`schema::salvage`]) and the rest is checked. Kept are the findings that
/// are neither in, inside nor around a removed part, and no reference
/// findings (`MI2xxx`: what they refer to may be what was removed), so a
/// region typo is reported beside a schema error elsewhere in the file.
fn independent_findings(json: serde_json::Value, found: &[Diagnostic]) -> Vec<Diagnostic> {
    let Some((spec, pruned)) = schema::salvage(json) else {
        return Vec::new();
    };
    let model = model::resolve(&spec);
    let related = |path: &str| {
        pruned.iter().any(|p| {
            p == path
                || p.strip_prefix(path).is_some_and(|r| r.starts_with('/'))
                || path
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    };
    check::check(&model)
        .into_iter()
        .filter(|d| !d.code.as_str().starts_with("MI2") && !related(&d.path))
        .filter(|d| !found.iter().any(|f| f.code == d.code && f.path == d.path))
        .collect()
}

/// Adds diagnostics found after the check (the live checks): placed in the
/// source by their spec pointers, and sorted in with the others.
pub fn add_found(checked: &mut Checked, mut found: Vec<Diagnostic>) {
    if let Some(text) = &checked.text
        && let Ok(doc) = load::Document::parse(&checked.file, text.clone())
    {
        diag::locate(&mut found, &doc);
    }
    checked.diagnostics.extend(found);
    diag::sort(&mut checked.diagnostics);
}

/// Drops the warnings and infos that a `# mailinfra: allow CODE` comment
/// silences, and reports allow comments that cannot apply (MI1013). A comment
/// covers diagnostics that start on its line and those located in the node
/// whose key (or list item) starts on its line, nested nodes included. Errors
/// are never silenced.
pub fn filter_allowed(mut diags: Vec<Diagnostic>, doc: &load::Document) -> Vec<Diagnostic> {
    if doc.allows.is_empty() {
        return diags;
    }
    let mut problems = Vec::new();
    let mut scopes: Vec<(u32, &[String])> = Vec::new();
    for allow in &doc.allows {
        for code in &allow.codes {
            let problem = match codes::lookup(code) {
                None => Some((
                    format!("`{code}` is not a mailinfra diagnostic code"),
                    "name a code as `mailinfra explain` knows it, e.g. `MI4001`".to_string(),
                )),
                Some(c) if c.severity == Severity::Error => Some((
                    format!("`{code}` is an error and cannot be silenced"),
                    "fix what the error reports; only warnings and infos can be allowed"
                        .to_string(),
                )),
                Some(_) => None,
            };
            if let Some((message, help)) = problem {
                problems.push(
                    Diagnostic::error(Code::MI1013, message)
                        .at(allow.span)
                        .help(help),
                );
            }
        }
        if allow.codes.is_empty() {
            problems.push(
                Diagnostic::error(Code::MI1013, "the allow comment names no code")
                    .at(allow.span)
                    .help(format!(
                        "write `# {} CODE`, e.g. `# {} MI4001`",
                        load::ALLOW_MARKER,
                        load::ALLOW_MARKER
                    )),
            );
        }
        let ptrs = doc
            .allow_scopes
            .get(&allow.line)
            .map_or(&[][..], Vec::as_slice);
        scopes.push((allow.line, ptrs));
    }
    diags.retain(|d| {
        if d.is_error() {
            return true;
        }
        !doc.allows.iter().zip(&scopes).any(|(allow, (line, ptrs))| {
            allow.codes.iter().any(|c| c == d.code.as_str())
                && (d.span.is_some_and(|s| s.start.line == *line)
                    || ptrs.iter().any(|p| {
                        d.path == *p
                            || d.path
                                .strip_prefix(p)
                                .is_some_and(|rest| rest.starts_with('/'))
                    }))
        })
    });
    diags.extend(problems);
    diags
}

fn finish(mut c: Checked, judge: Judge) -> Checked {
    if judge.deny_warnings {
        for d in &mut c.diagnostics {
            if d.severity == Severity::Warning {
                d.severity = Severity::Error;
            }
        }
    }
    diag::sort(&mut c.diagnostics);
    if c.has_errors() {
        c.model = None;
    }
    c
}

/// Compiles a checked model with a fresh placement.
pub fn compile(model: &Model) -> anyhow::Result<StackSet> {
    compile_placed(model, None)
}

/// Compiles a checked model, keeping the placement the lock records.
pub fn compile_placed(model: &Model, lock: Option<&Lock>) -> anyhow::Result<StackSet> {
    Ok(compile::compile_placed(model, lock)?)
}

/// What `build` produces: the manifest, the rendered templates and the placement.
pub struct Built {
    pub manifest: build::Manifest,
    pub artifacts: Vec<build::Artifact>,
    pub placement: Lock,
}

/// Compiles, renders and checks every stack against CloudFormation's limits.
pub fn build(model: &Model, spec_hash: &str, lock: Option<&Lock>) -> anyhow::Result<Built> {
    let mut set = compile_placed(model, lock)?;
    let placement = std::mem::take(&mut set.placement);
    let (manifest, artifacts) = build::render_owned(set, &model.project, spec_hash);
    build::check_limits(&artifacts).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Built {
        manifest,
        artifacts,
        placement,
    })
}
