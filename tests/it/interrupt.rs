//! Ctrl-C and SIGTERM through the real binary: its signal handling, exit code,
//! journal and lock file. The AWS endpoint is a local listener that accepts
//! connections and answers only when the test says so, which holds the apply
//! in its first CloudFormation call for as long as the test needs.

use crate::{common, local_aws};

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use mailinfra::exit;

const SPEC: &str = "version: 1\nproject: sig\nregions: { primary: us-east-1 }\nmail_manager:\n  archives:\n    journal: { retention: 1 year }\n";

/// A listener that holds every connection open without answering while
/// `hold` is set, and answers every request with a 503 once it is cleared.
struct Endpoint {
    port: u16,
    first: mpsc::Receiver<()>,
    hold: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

fn endpoint() -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, first) = mpsc::channel();
    let hold = Arc::new(AtomicBool::new(true));
    let held = Arc::new(Mutex::new(Vec::new()));
    let (h, kept) = (hold.clone(), held.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (tx, h, kept) = (tx.clone(), h.clone(), kept.clone());
            std::thread::spawn(move || serve(conn, &tx, &h, &kept));
        }
    });
    Endpoint {
        port,
        first,
        hold,
        held,
    }
}

/// One connection: who the caller is (STS, asked before anything else) is
/// answered at once; the first other call is held (or, once released,
/// answered with a 503).
fn serve(
    mut conn: TcpStream,
    first: &mpsc::Sender<()>,
    hold: &AtomicBool,
    held: &Mutex<Vec<TcpStream>>,
) {
    while let Some(request) = local_aws::read_request(&mut conn) {
        if request.contains("Action=GetCallerIdentity") {
            let answer = local_aws::sts_answer(local_aws::Sts::Identity);
            if conn.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        first.send(()).ok();
        if hold.load(Ordering::SeqCst) {
            held.lock().unwrap().push(conn);
            return;
        }
        let _ = conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
}

fn start_apply(dir: &std::path::Path, port: u16) -> Child {
    let mut c = common::mailinfra();
    c.args(["apply", "--yes"])
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MAILINFRA_POLL_MS", "20")
        .env("MAILINFRA_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("mailinfra starts")
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Waits for the child's exit code. `limit` is a guard against a hang (the
/// endpoint holds calls forever), not a time budget: it is far above what an
/// exit takes, even on a loaded machine.
fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("mailinfra did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

fn journal_steps(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(".mailinfra-journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// SIGTERM (what CI sends), then Ctrl-C: the first keeps the apply waiting for
/// the call in flight, the second stops it at once with exit code 130; the
/// journal says so and no lock file is left.
#[test]
fn a_second_signal_stops_at_once_and_leaves_no_lock() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), SPEC).unwrap();
    let ep = endpoint();
    let mut child = start_apply(dir.path(), ep.port);
    ep.first
        .recv_timeout(Duration::from_secs(60))
        .expect("the apply reaches the endpoint");
    assert!(dir.path().join(".mailinfra-apply.lock").exists());
    signal(&child, "-TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal must not stop the apply at once"
    );
    signal(&child, "-INT");
    let code = wait(&mut child, Duration::from_secs(120));
    let err = stderr(&mut child);
    assert_eq!(code, Some(exit::INTERRUPTED), "{err}");
    assert!(
        err.contains("Interrupt received: no new stack starts"),
        "{err}"
    );
    assert!(err.contains("Two interrupts received"), "{err}");
    assert!(err.contains("mailinfra status"), "{err}");
    assert!(
        !dir.path().join(".mailinfra-apply.lock").exists(),
        "lock left behind"
    );
    assert_eq!(
        journal_steps(dir.path()),
        ["started", "interrupted", "abandoned"]
    );
    drop(ep.held);
}

/// One SIGTERM while planning: the call in flight ends (here with errors), no
/// stack starts, and the apply exits 130 on its own with the reason.
#[test]
fn one_signal_ends_the_apply_after_the_call_in_flight() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), SPEC).unwrap();
    let ep = endpoint();
    let mut child = start_apply(dir.path(), ep.port);
    ep.first
        .recv_timeout(Duration::from_secs(60))
        .expect("the apply reaches the endpoint");
    signal(&child, "-TERM");
    std::thread::sleep(Duration::from_millis(300));
    // Let the endpoint answer: the held call fails, the retries get 503s.
    ep.hold.store(false, Ordering::SeqCst);
    ep.held.lock().unwrap().clear();
    let code = wait(&mut child, Duration::from_secs(120));
    let err = stderr(&mut child);
    assert_eq!(code, Some(exit::INTERRUPTED), "{err}");
    assert!(err.contains("Interrupt received"), "{err}");
    assert!(
        err.contains("interrupted; the change sets this plan made were removed"),
        "{err}"
    );
    assert!(!err.contains("Two interrupts"), "{err}");
    assert!(
        !dir.path().join(".mailinfra-apply.lock").exists(),
        "lock left behind"
    );
    // An interrupted apply still records its end: status tells it from a kill.
    assert_eq!(
        journal_steps(dir.path()),
        ["started", "interrupted", "ended"]
    );
}
