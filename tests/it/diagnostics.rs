//! The invalid-spec corpus and hostile inputs: every case gets its intended
//! diagnostic (the first error), a valid position, exit code 1, and stays under
//! 100 MB; rendered human and JSON output is snapshotted. How fast hostile
//! inputs are rejected is measured by `benches/validate.rs`, not asserted here.

use crate::common;

use std::path::{Path, PathBuf};

use mailinfra::pipeline::{self, Checked, Judge};
use mailinfra::render::diagnostics::{self as diag, Format, Source};

fn fixtures() -> Vec<PathBuf> {
    let dir = common::root().join("tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The code a fixture declares in its first line: `# expect: MI1101`.
fn expected_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("fixture is UTF-8");
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: CODE`", path.display()))
        .trim()
        .to_string()
}

fn render(c: &Checked, format: Format) -> String {
    let src = Source {
        file: &c.file,
        text: c.text.as_deref(),
    };
    diag::render(&c.diagnostics, &src, format, false)
}

/// The first error, or the first diagnostic when there is no error.
fn first_code(c: &Checked) -> &'static str {
    c.diagnostics
        .iter()
        .find(|d| d.is_error())
        .or(c.diagnostics.first())
        .map_or("none", |d| d.code.as_str())
}

#[test]
fn invalid_corpus() {
    let files = fixtures();
    assert!(files.len() >= 60, "only {} invalid fixtures", files.len());
    let settings = common::snapshot_settings("diagnostics");
    let root = common::root();
    let mut mismatches = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&root).expect("under root");
        let want = expected_code(&path);
        assert!(
            mailinfra::codes::lookup(&want).is_some(),
            "{}: `{want}` is not a registered code",
            rel.display()
        );
        let checked = pipeline::check_file(rel, Judge::default());
        let human = render(&checked, Format::Human);
        if first_code(&checked) != want {
            mismatches.push(format!(
                "{}: expected {want} first, got:\n{human}",
                rel.display()
            ));
            continue;
        }
        let lines = checked.text.as_deref().map_or(0, |t| t.lines().count()) as u32;
        for d in &checked.diagnostics {
            let span = d.span.expect("every spec diagnostic has a position");
            assert!(
                span.start.line >= 1 && span.start.line <= lines.max(1) && span.start.col >= 1,
                "{}: {} at {:?} outside the file",
                rel.display(),
                d.code,
                span
            );
            assert!(
                d.help.is_some(),
                "{}: {} has no help",
                rel.display(),
                d.code
            );
            assert!(
                !d.message.ends_with('.')
                    && d.message.chars().next().is_some_and(|c| !c.is_uppercase()),
                "{}: message style: {}",
                rel.display(),
                d.message
            );
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
        let json = render(&checked, Format::Json);
        settings.bind(|| {
            insta::assert_snapshot!(format!("{stem}.human"), human);
            insta::assert_snapshot!(format!("{stem}.json"), json);
        });
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Runs the CLI on `path` and returns (exit code, stderr, peak resident memory
/// in KiB). The peak is that of the `mailinfra` child alone (`ru_maxrss` of
/// Python's `RUSAGE_CHILDREN`, read through its `resource` module so that no
/// unsafe code is needed here), so tests running in this process beside it do
/// not count.
fn validate(path: &Path) -> (Option<i32>, String, u64) {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        p = subprocess.run(sys.argv[1:], capture_output=True)\n\
        sys.stderr.buffer.write(p.stderr)\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
        sys.exit(p.returncode)\n";
    let out = std::process::Command::new(common::venv_python())
        .arg("-c")
        .arg(MEASURE)
        .arg(env!("CARGO_BIN_EXE_mailinfra"))
        .args(["validate", "-f", &path.display().to_string()])
        .env("NO_COLOR", "1")
        .current_dir(common::root())
        .output()
        .expect("python runs");
    let peak_kib = common::text(&out.stdout).trim().parse().unwrap_or(u64::MAX);
    (out.status.code(), common::text(&out.stderr), peak_kib)
}

/// Runs the pipeline in process and asserts one diagnostic with `code`, and
/// the CLI's exit code 1 with that code, within 100 MB.
fn assert_rejected(path: &Path, code: &str, needle: &str) {
    let checked = pipeline::check_file(path, Judge::default());
    assert!(checked.has_errors(), "{}: no error", path.display());
    assert_eq!(
        checked.diagnostics.len(),
        1,
        "{}: {:?}",
        path.display(),
        checked.diagnostics
    );
    let d = &checked.diagnostics[0];
    assert_eq!(d.code, code, "{}: {d:?}", path.display());
    let text = format!("{} {}", d.message, d.help.clone().unwrap_or_default());
    assert!(text.contains(needle), "{text}");
    let (status, stderr, peak_kib) = validate(path);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains(code), "{stderr}");
    assert!(
        peak_kib < 100 * 1024,
        "{}: peak memory {peak_kib} KiB",
        path.display()
    );
}

#[test]
fn encodings_and_odd_bytes() {
    let dir = common::scratch();
    let spec = "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\n";
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    // Invalid UTF-8 on line 3: the offset is named.
    let mut bad = b"version: 1\nproject: demo\nregions: \xff\xfe\n".to_vec();
    assert_rejected(&write("bad-utf8.yaml", &bad), "MI1003", "byte offset 34");
    bad.clear();
    assert_rejected(
        &write("nul.yaml", b"version: 1\nproject: de\0mo\n"),
        "MI1003",
        "byte offset 22",
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(spec.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_rejected(&write("utf16.yaml", &utf16), "MI1003", "UTF-16");
    // A BOM and CRLF line ends are accepted, and positions stay right.
    let bom_crlf = format!("\u{feff}{}", spec.replace('\n', "\r\n")) + "  tertiary: x\r\n";
    let checked = pipeline::check_file(&write("bom.yaml", bom_crlf.as_bytes()), Judge::default());
    assert_eq!(checked.diagnostics.len(), 1, "{:?}", checked.diagnostics);
    let d = &checked.diagnostics[0];
    assert_eq!(d.code, "MI1101");
    assert_eq!(d.span.map(|s| (s.start.line, s.start.col)), Some((5, 3)));
    let human = render(&checked, Format::Human);
    assert!(!human.contains('\r'), "{human:?}");
    // Tabs for indentation.
    assert_rejected(
        &write("tabs.yaml", b"version: 1\nregions:\n\tprimary: eu-west-1\n"),
        "MI1004",
        "tabs",
    );
}

#[test]
fn files_that_are_not_specs() {
    let dir = common::scratch();
    // Over the size cap: the message names the cap.
    let big = dir.path().join("big.yaml");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(mailinfra::load::MAX_FILE_BYTES + 1)
        .expect("grow");
    assert_rejected(&big, "MI1002", "10 MiB");
    // A directory, a FIFO, a device, a missing file.
    assert_rejected(dir.path(), "MI1001", "is a directory");
    let fifo = dir.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    assert_rejected(&fifo, "MI1001", "FIFO");
    assert_rejected(Path::new("/dev/zero"), "MI1001", "not a regular file");
    assert_rejected(&dir.path().join("missing.yaml"), "MI1001", "does not exist");
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = common::scratch();
    let p = dir.path().join("secret.yaml");
    std::fs::write(
        &p,
        "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\n",
    )
    .expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root reads any file whatever its mode: then the spec is simply valid.
    let root_reads = std::fs::read(&p).is_ok();
    let checked = pipeline::check_file(&p, Judge::default());
    if root_reads {
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    } else {
        assert_rejected(&p, "MI1001", "permission denied");
    }
}

#[test]
fn hostile_structures() {
    let dir = common::scratch();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    // Ten levels of ten aliases each: 10^10 nodes if expanded.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    assert_rejected(&write("bomb.yaml", bomb), "MI1009", "alias");
    // Thousands deep, in flow and in block style.
    let flow = format!("tags: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    assert_rejected(&write("flow.yaml", flow), "MI1010", "nest");
    let mut block = String::new();
    for i in 0..3000 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    assert_rejected(&write("block.yaml", block), "MI1010", "nest");
    let seqs = (0..3000)
        .map(|i| format!("{}- ", " ".repeat(i * 2)))
        .collect::<Vec<_>>()
        .join("\n")
        + "x\n";
    assert_rejected(&write("seqs.yaml", seqs), "MI1010", "nest");
    // Duplicate keys deep inside: both lines named.
    let dup = write(
        "dup.yaml",
        "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\nidentities:\n  a.com:\n    dkim: easy\n    dkim: none\n".into(),
    );
    let checked = pipeline::check_file(&dup, Judge::default());
    let d = &checked.diagnostics[0];
    assert_eq!(d.code, "MI1008");
    assert_eq!(d.span.map(|s| s.start.line), Some(8));
    assert_eq!(d.related[0].0.start.line, 7);
    assert!(render(&checked, Format::Human).contains("7 |     dkim: easy\n  |     ----"));
}

/// Every shape of document just under the node bound (a mapping weighed as
/// `MAPPING_WEIGHT` nodes) validates within 100 MB, and one node more is
/// refused: the bound the loader documents holds, whatever the shape.
#[test]
fn documents_at_the_node_bound_validate_within_100_mb() {
    use mailinfra::load::{MAPPING_WEIGHT, MAX_NODES};
    let dir = common::scratch();
    // The header (root and `regions` mappings, 3 keys, 3 values) and the
    // key of the list or map that follows.
    let header = "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\n";
    let room = MAX_NODES - (2 * MAPPING_WEIGHT + 7) - 100;
    let repeat = |unit: &str, weight: usize| unit.repeat(room / weight);
    let cases: Vec<(&str, String)> = vec![
        // Long strings, as many as the file-size cap allows.
        (
            "strings",
            format!(
                "{header}tags:\n{}",
                repeat("  - abcdefghijklmnopqrstuvwxyzabcdef\n", 1)
            ),
        ),
        (
            "numbers",
            format!("{header}tags: [{}0]\n", repeat("12345678,", 1)),
        ),
        (
            "booleans",
            format!("{header}tags: [{}true]\n", repeat("true,", 1)),
        ),
        (
            "empty lists",
            format!("{header}tags: [{}[]]\n", repeat("[],", 1)),
        ),
        (
            "empty mappings",
            format!("{header}tags: [{}{{}}]\n", repeat("{},", MAPPING_WEIGHT)),
        ),
        (
            "nested mappings",
            format!(
                "{header}tags:\n{}",
                repeat("  - {a: {b: x}}\n", 2 * MAPPING_WEIGHT + 3)
            ),
        ),
        // A valid spec: one large mapping goes through every stage.
        ("a large valid mapping", {
            let mut t = format!("{header}tags:\n");
            for i in 0..room / 2 {
                t.push_str(&format!("  k{i:07}: v\n"));
            }
            t
        }),
        ("domains with their own settings", {
            let mut t = format!("{header}identities:\n");
            for i in 0..room / (3 * MAPPING_WEIGHT + 8) {
                t.push_str(&format!(
                    "  d{i}.zone.example:\n    mail_from: bounce.d{i}.zone.example\n    dmarc: {{ policy: reject, rua: mailto:dmarc@zone.example }}\n"
                ));
            }
            t
        }),
    ];
    for (name, text) in cases {
        let path = dir.path().join("bound.yaml");
        std::fs::write(&path, &text).expect("write");
        let (status, stderr, peak_kib) = validate(&path);
        assert!(matches!(status, Some(0 | 1)), "{name}: {stderr}");
        assert!(
            !stderr.contains("MI1009"),
            "{name}: under the bound, refused: {stderr}"
        );
        assert!(peak_kib < 100 * 1024, "{name}: peak memory {peak_kib} KiB");
    }
    let over = dir.path().join("over.yaml");
    std::fs::write(
        &over,
        format!("{header}tags: [{}x]\n", "x,".repeat(MAX_NODES)),
    )
    .expect("write");
    assert_rejected(&over, "MI1009", "nodes");
}

#[test]
fn all_diagnostics_at_once_sorted() {
    let checked = pipeline::check_file(
        Path::new("tests/fixtures/invalid/001-syntax-unclosed-quote.yaml"),
        Judge::default(),
    );
    assert_eq!(checked.diagnostics.len(), 1);
    let dir = common::scratch();
    let p = dir.path().join("many.yaml");
    std::fs::write(
        &p,
        "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\n  secundary: x\nidentities:\n  a.com:\n    dkim: eazy\ntagz: {}\n",
    )
    .expect("write");
    let checked = pipeline::check_file(&p, Judge::default());
    let lines: Vec<u32> = checked
        .diagnostics
        .iter()
        .map(|d| d.span.map_or(0, |s| s.start.line))
        .collect();
    assert_eq!(lines, vec![5, 8, 9], "{:?}", checked.diagnostics);
}

#[test]
fn github_annotations_point_at_the_right_lines() {
    let dir = common::scratch();
    let p = dir.path().join("broken.yaml");
    std::fs::write(
        &p,
        "version: 1\nproject: demo\nregions:\n  primary: us-east-7\ndns:\n  example.com: external\nidentities:\n  example.com:\n    dkim: eazy\n",
    )
    .expect("write");
    let out = common::run(
        &[
            "validate",
            "--format",
            "github",
            "-f",
            &p.display().to_string(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = common::text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The region typo is found beside the schema error (it does not depend on it).
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "::error file={},line=4,col=12,endColumn=21,title=MI3001::",
            p.display()
        )),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "::error file={},line=9,col=11,endColumn=15,title=MI1104::",
            p.display()
        )),
        "{stdout}"
    );
    // Once the schema passes, the semantic error is annotated at its line.
    std::fs::write(
        &p,
        "version: 1\nproject: demo\nregions:\n  primary: us-east-7\n",
    )
    .expect("write");
    let out = common::run(
        &[
            "validate",
            "--format",
            "github",
            "-f",
            &p.display().to_string(),
        ],
        dir.path(),
    );
    assert!(
        common::text(&out.stdout).contains(",line=4,col=12,"),
        "{}",
        common::text(&out.stdout)
    );
}

#[test]
fn allow_comments_silence_warnings_only() {
    use mailinfra::diag::{Diagnostic, Severity};
    use mailinfra::load::Document;
    let text = "version: 1\nproject: demo\nregions:\n  primary: eu-west-1\ntags:  # mailinfra: allow MI1013\n  team: mail\n# mailinfra: allow MI1013\nidentities: {}\n";
    let doc = Document::parse("t.yaml", text.to_string()).expect("parses");
    assert_eq!(doc.allows.len(), 2);
    assert_eq!(doc.allows[0].line, 5);
    assert_eq!(doc.allows[1].line, 8);
    // MI1013 is a warning: silenced on the comment's line, in the node the
    // line opens, and on the line after a comment that stands alone.
    let mk = |path: &str| Diagnostic::error(mailinfra::diag::Code::MI1013, "w").path(path);
    let warnings = vec![
        mk("/tags"),
        mk("/tags/team"),
        mk("/identities"),
        mk("/project"),
    ];
    let kept = pipeline::filter_allowed(warnings, &doc);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].path, "/project");
    // Errors are never silenced.
    let mut err = mk("/tags");
    err.severity = Severity::Error;
    assert_eq!(pipeline::filter_allowed(vec![err], &doc).len(), 1);
}

#[test]
fn deny_warnings_turns_warnings_into_errors() {
    let path = Path::new("tests/fixtures/invalid/078-allow-unknown-code.yaml");
    let lenient = pipeline::check_file(path, Judge::default());
    assert!(!lenient.has_errors() && lenient.model.is_some());
    let strict = pipeline::check_file(
        path,
        Judge {
            deny_warnings: true,
        },
    );
    assert!(strict.has_errors() && strict.model.is_none());
    let out = common::run(
        &[
            "--deny-warnings",
            "validate",
            "-f",
            &path.display().to_string(),
        ],
        &common::root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = common::run(
        &["validate", "-f", &path.display().to_string()],
        &common::root(),
    );
    assert_eq!(out.status.code(), Some(0));
}
