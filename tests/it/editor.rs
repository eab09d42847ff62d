//! The schema modeline `init` writes works in a real editor client, offline:
//! yaml-language-server (installed into `.node/` by scripts/test), driven over
//! stdio, reports a schema error in a spec `init` wrote and nothing in a valid one.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::common;

/// `$MAILINFRA_YAML_LS` (scripts/test sets it), else the copy in `.node/`.
/// Without either the test fails: the modeline is never left unchecked silently.
fn server() -> PathBuf {
    let p = std::env::var_os("MAILINFRA_YAML_LS").map_or_else(
        || common::root().join(".node/node_modules/yaml-language-server/bin/yaml-language-server"),
        PathBuf::from,
    );
    assert!(
        p.is_file(),
        "yaml-language-server not found at {}; run the tests with scripts/test (it installs it into .node)",
        p.display()
    );
    p
}

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Lsp {
    fn start() -> Lsp {
        let mut child = Command::new("node")
            .arg(server())
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Lsp {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, msg: serde_json::Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> serde_json::Value {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server exited"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The diagnostics the server publishes for `uri` after opening it,
    /// answering any request the server makes on the way.
    fn diagnostics(&mut self, uri: &str) -> Vec<serde_json::Value> {
        loop {
            let m = self.receive();
            if let (Some(id), Some(_)) = (m.get("id"), m.get("method")) {
                self.send(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": null}));
                continue;
            }
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

fn open_and_diagnose(spec: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(spec).unwrap();
    let mut lsp = Lsp::start();
    let root = spec.parent().unwrap();
    lsp.send(serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "processId": null, "rootUri": uri(root), "capabilities": {} }
    }));
    loop {
        let m = lsp.receive();
        if m["id"] == 1 {
            break;
        }
    }
    lsp.send(serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let doc = uri(spec);
    lsp.send(serde_json::json!({
        "jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": { "textDocument": { "uri": doc, "languageId": "yaml", "version": 1, "text": text } }
    }));
    lsp.diagnostics(&doc)
}

#[test]
fn the_modeline_init_writes_gives_schema_diagnostics_offline() {
    let dir = common::scratch();
    let o = common::run(
        &[
            "init",
            "--blueprint",
            "identity-basics",
            "--set",
            "project=acme",
            "--set",
            "domain=mail.acme.test",
            "--set",
            "zone_id=Z04471931ABCDEFGH",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let spec = dir.path().join("mailinfra.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=./mailinfra.schema.json\n"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mailinfra.schema.json")).unwrap(),
        mailinfra::schema::schema_text()
    );
    // `schema --out` writes the same file for a spec `init` did not start.
    let other = dir.path().join("other.schema.json");
    let o = common::run(&["schema", "--out", other.to_str().unwrap()], dir.path());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        mailinfra::schema::schema_text()
    );
    let valid = open_and_diagnose(&spec);
    assert!(valid.is_empty(), "{valid:?}");
    std::fs::write(
        &spec,
        text.replace("version: 1", "version: 1\nretenion: 1 year"),
    )
    .unwrap();
    let invalid = open_and_diagnose(&spec);
    assert!(
        invalid
            .iter()
            .any(|d| d["message"].as_str().unwrap_or("").contains("retenion")),
        "{invalid:?}"
    );
}
