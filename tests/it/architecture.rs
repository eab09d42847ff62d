//! The layout's promises, checked on the source: data flows one way (no
//! import circle between the top-level modules, and the edges the
//! architecture forbids are absent), no file in `src/` is over 1,000 lines and
//! no function over 120. Test code (`#[cfg(test)]` modules, which sit at the
//! end of their files) is not counted: a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common;

/// Edges that must not exist, as (from, to, why).
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("load", "deploy", "the front end works offline"),
    ("schema", "deploy", "the front end works offline"),
    ("spec", "deploy", "the front end works offline"),
    ("model", "deploy", "the front end works offline"),
    ("check", "deploy", "the front end works offline"),
    ("load", "aws", "the front end works offline"),
    ("schema", "aws", "the front end works offline"),
    ("spec", "aws", "the front end works offline"),
    ("model", "aws", "the front end works offline"),
    ("check", "aws", "the front end works offline"),
    (
        "compile",
        "check",
        "checks run before compile; compile is pure",
    ),
    (
        "check",
        "compile",
        "checks see the model; a check of compiled templates is a stage after compile",
    ),
    ("compile", "deploy", "compile is pure"),
    ("compile", "aws", "compile is pure"),
    ("aws", "deploy", "adapters sit below the deployer"),
    ("aws", "commands", "adapters sit below the deployer"),
    (
        "render",
        "commands",
        "rendering receives data, it decides nothing",
    ),
    (
        "render",
        "aws",
        "rendering receives data, it decides nothing",
    ),
    (
        "deploy",
        "commands",
        "the deployer is driven, it does not drive",
    ),
    ("deploy", "cli", "the deployer is driven, it does not drive"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/deploy/plan.rs` → `deploy`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The file without its test modules.
fn shipped(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find("\n#[cfg(test)]\n") {
        let at = from + i;
        let next = text[at + "\n#[cfg(test)]\n".len()..]
            .lines()
            .next()
            .unwrap_or("");
        if next.contains("mod ") && next.trim_end().ends_with('{') {
            return &text[..at];
        }
        from = at + 1;
    }
    text
}

/// Code without its comment lines (doc links name modules without importing them).
fn code_only(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names as `crate::NAME`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    // `use crate::{a, b}` names several at once.
    for group in code.split("use crate::{").skip(1) {
        let inner = group.split('}').next().unwrap_or("");
        for part in inner.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Top-level module → the top-level modules its shipped code imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = common::root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(
            imports(&code_only(shipped(&text)))
                .into_iter()
                .filter(|d| *d != module),
        );
    }
    graph
}

/// A circle through `start`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_import_circle_between_top_level_modules() {
    let graph = graph();
    assert!(graph.contains_key("deploy") && graph.contains_key("compile"));
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn forbidden_edges_are_absent() {
    let graph = graph();
    let found: Vec<String> = FORBIDDEN
        .iter()
        .filter(|(from, to, _)| graph.get(*from).is_some_and(|d| d.contains(*to)))
        .map(|(from, to, why)| format!("{from} imports {to}: {why}"))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_circle_finder_finds_circles() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circle(&g, "a").unwrap(), ["a", "b", "c", "a"]);
    assert!(circle(&g, "d").is_none());
    assert_eq!(
        imports("use crate::{deploy, aws::X};\nlet x = crate::render::human();"),
        BTreeSet::from(["aws".into(), "deploy".into(), "render".into()])
    );
}

/// Functions over `limit` lines in shipped code, as `file:line name (n lines)`.
fn long_functions(limit: usize) -> Vec<String> {
    let src = common::root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = shipped(&text).lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let signature = trimmed
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("async ")
                .trim_start_matches("const ");
            let Some(rest) = signature.strip_prefix("fn ") else {
                continue;
            };
            let close = format!("{indent}}}");
            let Some(end) = lines[i + 1..].iter().position(|l| *l == close) else {
                continue;
            };
            let n = end + 2;
            if n > limit {
                let name: String = rest
                    .chars()
                    .take_while(|c| *c != '(' && *c != '<')
                    .collect();
                found.push(format!(
                    "{}:{} {name} ({n} lines)",
                    file.strip_prefix(common::root()).unwrap().display(),
                    i + 1
                ));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_function_over_120_lines() {
    let long = long_functions(120);
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
    // The measure itself measures: plenty of functions are over 20 lines.
    assert!(long_functions(20).len() > 20);
}

#[test]
fn no_source_file_over_1000_lines() {
    let src = common::root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 1000).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

/// Where shipped code formats an error with `Debug` (or the SDK's
/// `DisplayErrorContext`, which appends the `Debug` form): the user would
/// read `DispatchFailure { … }`. Errors are shown by walking their causes
/// (`aws::error::causes`).
fn debug_formatted_errors(text: &str) -> Vec<String> {
    const NAMES: &[&str] = &["e", "err", "error", "source", "cause", "why"];
    let mut found = Vec::new();
    for (n, line) in code_only(shipped(text)).lines().enumerate() {
        let mut bad = line.contains("DisplayErrorContext");
        for name in NAMES {
            bad |=
                line.contains(&format!("{{{name}:?}}")) || line.contains(&format!("{{{name}:#?}}"));
            if line.contains("{:?}") || line.contains("{:#?}") {
                bad |= line.contains(&format!(", {name})")) || line.contains(&format!(", {name},"));
            }
        }
        if bad {
            found.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    found
}

#[test]
fn no_error_reaches_the_user_in_its_debug_form() {
    let src = common::root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for hit in debug_formatted_errors(&text) {
            found.push(format!("{}:{hit}", f.display()));
        }
    }
    assert!(
        found.is_empty(),
        "errors formatted with Debug:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_debug_format_finder_finds_them() {
    let hits = debug_formatted_errors(
        "fn a() {\n    format!(\"{}\", DisplayErrorContext(e));\n    format!(\"x {e:?}\");\n    format!(\"{:?}\", err);\n    format!(\"{e:#}\");\n}\n",
    );
    assert_eq!(hits.len(), 3, "{hits:?}");
}
