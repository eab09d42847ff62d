//! A local HTTP endpoint that answers like AWS for the cases the moto server
//! cannot make: STS `GetCallerIdentity` with a chosen answer (an identity,
//! `ExpiredToken`, a 500), every other call with a 503. It counts the
//! requests of each kind, so a test asserts how many attempts the binary
//! made instead of how long it took.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What STS answers.
#[derive(Clone, Copy)]
pub(crate) enum Sts {
    /// Account 123456789012, a user.
    Identity,
    /// HTTP 403 with this error code, e.g. `ExpiredToken`.
    Error(&'static str),
    /// HTTP 500, an internal failure (transient).
    Broken,
}

pub(crate) struct LocalAws {
    pub(crate) url: String,
    sts: Arc<AtomicUsize>,
    other: Arc<AtomicUsize>,
}

impl LocalAws {
    /// `GetCallerIdentity` requests seen.
    pub(crate) fn sts_calls(&self) -> usize {
        self.sts.load(Ordering::SeqCst)
    }

    /// Requests of any other operation seen.
    pub(crate) fn other_calls(&self) -> usize {
        self.other.load(Ordering::SeqCst)
    }
}

/// Starts the endpoint on a free loopback port; it lives as long as the test process.
pub(crate) fn start(sts: Sts) -> LocalAws {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (sts_n, other_n) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, o) = (sts_n.clone(), other_n.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (s, o) = (s.clone(), o.clone());
            std::thread::spawn(move || serve(conn, sts, &s, &o));
        }
    });
    LocalAws {
        url,
        sts: sts_n,
        other: other_n,
    }
}

/// Answers the requests of one connection until the client closes it.
fn serve(mut conn: TcpStream, sts: Sts, sts_n: &AtomicUsize, other_n: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    while let Some(request) = read_request(&mut conn) {
        let response = if request.contains("Action=GetCallerIdentity") {
            sts_n.fetch_add(1, Ordering::SeqCst);
            sts_answer(sts)
        } else {
            other_n.fetch_add(1, Ordering::SeqCst);
            http(503, "")
        };
        if conn.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 request, headers and body, as text; `None` at the end of the stream.
pub(crate) fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&data).into_owned());
            }
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// STS's answer, in its query protocol's XML.
pub(crate) fn sts_answer(sts: Sts) -> String {
    match sts {
        Sts::Identity => http(
            200,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        ),
        Sts::Error(code) => http(
            403,
            &format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
                 <Code>{code}</Code><Message>The security token included in the request is expired</Message></Error>\
                 <RequestId>1</RequestId></ErrorResponse>"
            ),
        ),
        Sts::Broken => http(
            500,
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>oops</Message></Error></ErrorResponse>",
        ),
    }
}
