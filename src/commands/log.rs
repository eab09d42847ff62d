//! `--debug` and `MAILINFRA_LOG`: the AWS SDK's request-level log (each
//! operation, attempt, retry and the reason) on stderr, for a person who
//! needs to see why a call fails. Off unless asked for.
//!
//! Credentials are never written: the request signer's log (which holds
//! canonical requests) is always off, nothing above `debug` is ever enabled
//! (the SDK's `trace` level prints whole requests and responses), and every
//! line goes through [`redact`] on its way out, which masks access key ids,
//! the values of credential headers and fields, and the credentials of the
//! environment itself.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What `--debug` turns on: mailinfra and the AWS SDK at `debug`, the
/// rest (HTTP and TLS internals) at `warn`.
pub(crate) const DEBUG_FILTER: &str = "warn,mailinfra=debug,aws_config=debug,aws_runtime=debug,\
aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_sdk_cloudformation=debug,\
aws_sdk_s3=debug,aws_sdk_sesv2=debug,aws_sdk_sts=debug,aws_sdk_kms=debug";

/// The filter: `MAILINFRA_LOG` (an env-filter directive such as `debug` or
/// `aws_smithy_runtime=debug`) when set, else [`DEBUG_FILTER`] with
/// `--debug`, else nothing. The signer is off whatever was asked.
pub(crate) fn filter(debug: bool, env: Option<&str>) -> Option<EnvFilter> {
    let directives = match env.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => v.to_string(),
        None if debug => DEBUG_FILTER.to_string(),
        None => return None,
    };
    let parsed = EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!(
            "warning: `MAILINFRA_LOG={directives}` is not a log filter ({e}); logging `debug`"
        );
        EnvFilter::new(DEBUG_FILTER)
    });
    let off = "aws_sigv4=off".parse().ok();
    Some(match off {
        Some(d) => parsed.add_directive(d),
        None => parsed,
    })
}

/// Starts the log on stderr when asked for (see [`filter`]).
pub(crate) fn init(debug: bool) {
    let env = std::env::var("MAILINFRA_LOG").ok();
    let Some(filter) = filter(debug, env.as_deref()) else {
        return;
    };
    let secrets: Vec<String> = [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok())
    .filter(|v| v.len() >= 8)
    .collect();
    let writer = move || Redacting {
        secrets: secrets.clone(),
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true);
    tracing_subscriber::registry()
        .with(LevelFilter::DEBUG)
        .with(filter)
        .with(layer)
        .try_init()
        .ok();
}

/// Stderr, with every write passed through [`redact`]. The formatter
/// writes each event whole, so a secret is never split across writes.
struct Redacting {
    secrets: Vec<String>,
}

impl std::io::Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf), &self.secrets);
        std::io::stderr().lock().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Names whose value is a credential, wherever a log line shows one
/// (`name: value`, `name=value`, `"name": "value"`).
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "secret_access_key",
    "session_token",
    "aws_secret_access_key",
    "aws_session_token",
    "secretaccesskey",
    "sessiontoken",
    "accesstoken",
    "access_token",
];

const MASK: &str = "** redacted **";

/// `line` with credentials masked: the `secrets` given, access key ids
/// (`AKIA…`, `ASIA…`), and the value after any of [`SECRET_NAMES`].
pub(crate) fn redact(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), MASK);
    }
    out = key_ids(&out);
    let lower = out.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for name in SECRET_NAMES {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let mut at = from + i + name.len();
            let bytes = lower.as_bytes();
            while at < bytes.len() && matches!(bytes[at], b'"' | b'\'' | b':' | b'=' | b' ') {
                at += 1;
            }
            let end = lower[at..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ')'))
                .map_or(lower.len(), |e| at + e);
            if end > at {
                cuts.push((at, end));
            }
            from = end.max(from + i + name.len());
        }
    }
    cuts.sort_unstable();
    for (start, end) in cuts.into_iter().rev() {
        if out
            .get(start..end)
            .is_some_and(|v| v != MASK && !MASK.contains(v))
        {
            out.replace_range(start..end, MASK);
        }
    }
    out
}

/// Access key ids: `AKIA` or `ASIA` and 16 upper-case letters or digits.
fn key_ids(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let id = (s[i..].starts_with("AKIA") || s[i..].starts_with("ASIA"))
            && b.len() >= i + 20
            && b[i + 4..i + 20]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if id {
            out.push_str(MASK);
            i += 20;
        } else {
            let ch = s[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_is_off_unless_asked_and_the_signer_never_logs() {
        assert!(filter(false, None).is_none());
        assert!(filter(false, Some("  ")).is_none());
        let on = filter(true, None).unwrap().to_string();
        assert!(on.contains("aws_smithy_runtime=debug"), "{on}");
        assert!(on.contains("aws_sigv4=off"), "{on}");
        let env = filter(false, Some("trace")).unwrap().to_string();
        assert!(env.contains("aws_sigv4=off"), "{env}");
    }

    #[test]
    fn credentials_are_masked_in_every_form() {
        let secrets = vec!["wJalrXUtnFEMI/K7MDENG".to_string()];
        for (line, hidden) in [
            ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
            ("x-amz-security-token: IQoJb3JpZ2lu end", "IQoJb3JpZ2lu"),
            (
                "authorization=AWS4-HMAC-SHA256,Credential",
                "AWS4-HMAC-SHA256",
            ),
            (r#"{"accessToken": "eyJhbGciOi"}"#, "eyJhbGciOi"),
            ("secret wJalrXUtnFEMI/K7MDENG here", "wJalrXUtnFEMI/K7MDENG"),
            ("session_token=abc123 next", "abc123"),
        ] {
            let shown = redact(line, &secrets);
            assert!(!shown.contains(hidden), "{line} -> {shown}");
            assert!(shown.contains(MASK), "{shown}");
        }
        assert_eq!(
            redact("beginning attempt #1", &secrets),
            "beginning attempt #1"
        );
    }
}
