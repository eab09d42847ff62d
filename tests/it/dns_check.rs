//! `mailinfra check --dns` end to end: a local authoritative DNS server
//! (dnslib's, `dns_server.py`) serves known answers, and the CLI resolves
//! every record of a spec through it (`--dns-server`) and reports each
//! finding: published and right, missing, another value, two SPF records, two
//! DMARC records, a CNAME where a TXT is needed, a zone that does not exist,
//! a server that fails, and records known only after deploy.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::{self, mailinfra, scratch, text};

/// The server script, run with the Python of `.venv` (it has dnslib).
const SERVER: &str = include_str!("dns_server.py");

/// A running server; stopped (its stdin closed, then killed) when dropped.
struct DnsServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl DnsServer {
    fn start(zone: &str, servfail: &[&str]) -> DnsServer {
        let dir = scratch();
        let file = dir.path().join("zone.db");
        std::fs::write(&file, zone).unwrap();
        let mut child = Command::new(common::venv_python())
            .arg("-c")
            .arg(SERVER)
            .arg(&file)
            .args(servfail)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the DNS server did not start: {line:?}")
        });
        DnsServer {
            child,
            port,
            _dir: dir,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SPEC: &str = r#"version: 1
project: dnscheck
regions: { primary: us-east-1 }
dns:
  good.example: external
  bad.example: external
  cname.example: external
  gone.example: external
  flaky.example: external
identities:
  good.example:
    dkim: byodkim
    byodkim:
      selector: s1
      private_key: { secret: "good/dkim" }
      public_key: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx
    mail_from: bounce.good.example
    dmarc: { policy: quarantine, rua: "mailto:d@good.example" }
  bad.example:
    mail_from: bounce.bad.example
    dmarc: { policy: reject }
  cname.example:
    mail_from: bounce.cname.example
    dmarc: { policy: none }
  gone.example:
    mail_from: bounce.gone.example
    dmarc: { policy: none }
  flaky.example:
    mail_from: bounce.flaky.example
    dmarc: { policy: none }
"#;

const ZONE: &str = r#"
good.example. 300 IN SOA ns.good.example. admin.good.example. 1 3600 600 86400 300
s1._domainkey.good.example. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEF" "AAOCAQ8AMIIBCgKCAQEAx"
bounce.good.example. 300 IN MX 10 feedback-smtp.us-east-1.amazonses.com.
bounce.good.example. 300 IN TXT "v=spf1 include:amazon" "ses.com ~all"
_dmarc.good.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@good.example"
bad.example. 300 IN SOA ns.bad.example. admin.bad.example. 1 3600 600 86400 300
bounce.bad.example. 300 IN MX 20 feedback-smtp.us-east-1.amazonses.com.
bounce.bad.example. 300 IN TXT "v=spf1 include:amazonses.com ~all"
bounce.bad.example. 300 IN TXT "v=spf1 mx -all"
_dmarc.bad.example. 300 IN TXT "v=DMARC1; p=reject"
_dmarc.bad.example. 300 IN TXT "v=DMARC1; p=none"
cname.example. 300 IN SOA ns.cname.example. admin.cname.example. 1 3600 600 86400 300
bounce.cname.example. 300 IN TXT "v=spf1 include:amazonses.com ~all"
_dmarc.cname.example. 300 IN CNAME dmarc.vendor.test.
flaky.example. 300 IN SOA ns.flaky.example. admin.flaky.example. 1 3600 600 86400 300
"#;

fn check_dns(server: &DnsServer, dir: &std::path::Path, format: &str) -> std::process::Output {
    let spec = dir.join("mailinfra.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    mailinfra()
        .args([
            "-f",
            spec.to_str().unwrap(),
            "check",
            "--dns",
            "--format",
            format,
        ])
        .args(["--dns-server", &server.addr()])
        .current_dir(dir)
        .output()
        .expect("mailinfra runs")
}

#[test]
fn every_finding_type_end_to_end_through_the_cli() {
    let server = DnsServer::start(ZONE, &["flaky.example"]);
    let dir = scratch();
    let o = check_dns(&server, dir.path(), "json");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let records = doc["dns"]["records"].as_array().unwrap();
    let status = |name: &str, rtype: &str| -> String {
        records
            .iter()
            .find(|r| r["name"] == name && r["type"] == rtype)
            .unwrap_or_else(|| panic!("no record {name} {rtype}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("s1._domainkey.good.example", "TXT"), "ok");
    assert_eq!(status("bounce.good.example", "MX"), "ok");
    assert_eq!(status("bounce.good.example", "TXT"), "ok");
    assert_eq!(status("_dmarc.good.example", "TXT"), "ok");
    assert_eq!(status("bounce.bad.example", "MX"), "differs");
    assert_eq!(status("bounce.bad.example", "TXT"), "duplicate_spf");
    assert_eq!(status("_dmarc.bad.example", "TXT"), "duplicate_dmarc");
    assert_eq!(status("bounce.cname.example", "MX"), "missing");
    assert_eq!(status("bounce.cname.example", "TXT"), "ok");
    assert_eq!(status("_dmarc.cname.example", "TXT"), "cname");
    assert_eq!(status("bounce.gone.example", "MX"), "no_zone");
    assert_eq!(status("bounce.flaky.example", "MX"), "lookup_failed");
    // Easy DKIM tokens are known only after deploy.
    let unknown = records.iter().filter(|r| r["status"] == "unknown").count();
    assert_eq!(unknown, 12, "three CNAMEs of each Easy DKIM identity");
    // The joined strings of the key record are shown as published.
    let key = records
        .iter()
        .find(|r| r["name"] == "s1._domainkey.good.example")
        .unwrap();
    assert_eq!(
        key["published"][0],
        "\"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEF\" \"AAOCAQ8AMIIBCgKCAQEAx\""
    );

    let diags = doc["diagnostics"].as_array().unwrap();
    let codes = |code: &str| -> Vec<String> {
        diags
            .iter()
            .filter(|d| d["code"] == code)
            .map(|d| d["message"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        codes("MI5012"),
        ["MX record `bounce.cname.example` (custom MAIL FROM) is not published"]
    );
    assert_eq!(
        codes("MI5013"),
        [
            "MX record `bounce.bad.example` (custom MAIL FROM) is `20 feedback-smtp.us-east-1.amazonses.com`, not the value the spec needs"
        ]
    );
    assert_eq!(codes("MI5014").len(), 1, "{diags:#?}");
    assert_eq!(codes("MI5015").len(), 1, "{diags:#?}");
    assert_eq!(
        codes("MI5016"),
        [
            "`_dmarc.cname.example` is a CNAME to `dmarc.vendor.test`, which has no matching TXT, where a TXT record is needed (DMARC)"
        ]
    );
    assert_eq!(
        codes("MI5017"),
        ["zone `gone.example` does not exist in DNS (NXDOMAIN), so none of its records resolve"]
    );
    // Every record of the failing zone: its MX, SPF and DMARC.
    assert_eq!(codes("MI5018").len(), 3, "{diags:#?}");
    assert!(codes("MI5018")[0].starts_with("cannot look up"));
    // One note for the three Easy DKIM records of each identity.
    let notes = codes("MI5019");
    assert_eq!(notes.len(), 4, "{notes:#?}");
    assert!(
        notes[0].starts_with("3 records (Easy DKIM 1 of 3, Easy DKIM 2 of 3, Easy DKIM 3 of 3) cannot be checked offline"),
        "{notes:#?}"
    );
    // Each finding is placed at the spec element that needs the record.
    let spf = diags.iter().find(|d| d["code"] == "MI5014").unwrap();
    assert_eq!(spf["path"], "/identities/bad.example/mail_from");
    assert!(spf["line"].as_u64().is_some());
}

/// The table names each record's verdict; a spec whose records are all
/// published (or not checkable offline) passes.
#[test]
fn the_table_shows_each_record_and_a_good_zone_passes() {
    let server = DnsServer::start(ZONE, &[]);
    let dir = scratch();
    let o = check_dns(&server, dir.path(), "human");
    let table = text(&o.stdout);
    assert!(table.starts_with("NAME "), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("bounce.bad.example")
            && l.contains(" MX ")
            && l.contains("differs")),
        "{table}"
    );
    assert!(table.contains("record(s): "), "{table}");
    let err = text(&o.stderr);
    assert!(err.contains("error[MI5014]"), "{err}");

    let only_good = "version: 1\nproject: good\nregions: { primary: us-east-1 }\ndns: { good.example: external }\n\
        identities:\n  good.example:\n    dkim: byodkim\n    byodkim: { selector: s1, private_key: { secret: \"good/dkim\" }, public_key: MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx }\n    \
        mail_from: bounce.good.example\n    dmarc: { policy: quarantine, rua: \"mailto:d@good.example\" }\n";
    let spec = dir.path().join("good.yaml");
    std::fs::write(&spec, only_good).unwrap();
    let o = mailinfra()
        .args(["-f", spec.to_str().unwrap(), "check", "--dns"])
        .env("MAILINFRA_DNS_SERVER", server.addr())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let table = text(&o.stdout);
    assert!(table.contains("4 record(s): 4 ok, 0 wrong"), "{table}");
    assert!(text(&o.stderr).contains("valid, DNS checked"));
}

#[test]
fn a_dns_server_that_is_not_an_address_is_a_usage_error() {
    let o = mailinfra()
        .args(["check", "--dns", "--dns-server", "ns1.example.com"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(64), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is not IP[:PORT]"));
}
