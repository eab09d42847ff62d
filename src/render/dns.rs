//! DNS records for people and tools: a table, a BIND zone-file fragment, or
//! JSON. Values known only after deploy stay placeholders (`<dkim-token-N>`,
//! `<a-record-of-ingress-…>`). TXT values are the quoted strings of at most
//! 255 octets Route 53 takes (see [`crate::dns::txt`]); the zone file writes
//! them with zone-file escapes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use super::paint::Paint;
use super::table::{Cell, Table};

/// One record with its values resolved as far as possible.
pub struct Row {
    pub zone: String,
    pub deployed: bool,
    pub name: String,
    pub rtype: &'static str,
    pub ttl: u32,
    pub values: Vec<String>,
    /// Whether a value is still a placeholder.
    pub placeholder: bool,
    pub purpose: String,
    pub region: String,
}

/// The records as a table, one line per value.
pub fn table(rows: &[Row]) -> String {
    let mut t = Table::new([
        "ZONE",
        "NAME",
        "TYPE",
        "TTL",
        "VALUE",
        "PURPOSE",
        "PUBLISHED BY",
    ]);
    for r in rows {
        for (i, v) in r.values.iter().enumerate() {
            // The record's own columns on its first value only.
            let first = |s: String| Cell::from(if i == 0 { s } else { String::new() });
            let by = if r.deployed {
                "mailinfra (Route 53)"
            } else {
                "you (external)"
            };
            t.row([
                first(r.zone.clone()),
                first(r.name.clone()),
                first(r.rtype.to_string()),
                first(r.ttl.to_string()),
                Cell::from(v.as_str()),
                first(r.purpose.clone()),
                first(by.to_string()),
            ]);
        }
    }
    let mut out = t.render(Paint { on: false });
    if rows.iter().any(|r| r.placeholder) {
        out.push_str("\n<…>: known after deploy (DKIM tokens, ingress endpoints); `mailinfra dns --live` reads them from the deployed stacks\n");
    }
    out
}

fn fqdn(s: &str) -> String {
    if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// A BIND zone-file fragment, one `$ORIGIN` section per zone.
pub fn zone_file(rows: &[Row]) -> String {
    let mut by_zone: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_zone.entry(&r.zone).or_default().push(r);
    }
    let mut out = String::new();
    for (zone, rows) in by_zone {
        let how = if rows.first().is_some_and(|r| r.deployed) {
            "deployed by mailinfra to Route 53"
        } else {
            "external: publish these yourself"
        };
        let _ = writeln!(out, "; {zone} ({how})\n$ORIGIN {}", fqdn(zone));
        for r in rows {
            if r.placeholder {
                let _ = writeln!(
                    out,
                    "; placeholder: known after deploy (`mailinfra dns --live`)"
                );
            }
            for v in &r.values {
                let value = match r.rtype {
                    "CNAME" => fqdn(v),
                    "MX" => match v.split_once(' ') {
                        Some((pri, host)) => format!("{pri} {}", fqdn(host)),
                        None => v.clone(),
                    },
                    // The strings Route 53 takes, with zone-file escapes.
                    "TXT" => crate::dns::txt::zone_value(v),
                    _ => v.clone(),
                };
                let _ = writeln!(
                    out,
                    "{}\t{}\tIN\t{}\t{value}\t; {}",
                    fqdn(&r.name),
                    r.ttl,
                    r.rtype,
                    r.purpose
                );
            }
        }
        out.push('\n');
    }
    out
}

pub fn json(rows: &[Row]) -> String {
    let v: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "zone": r.zone,
                "published_by": if r.deployed { "route53" } else { "external" },
                "name": r.name,
                "type": r.rtype,
                "ttl": r.ttl,
                "values": r.values,
                "placeholder": r.placeholder,
                "purpose": r.purpose,
                "region": r.region,
            })
        })
        .collect();
    crate::template::render_value(&json!({ "records": v }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_file_qualifies_names() {
        let rows = vec![Row {
            zone: "example.com".into(),
            deployed: false,
            name: "bounce.example.com".into(),
            rtype: "MX",
            ttl: 300,
            values: vec!["10 feedback-smtp.us-east-1.amazonses.com".into()],
            placeholder: false,
            purpose: "custom MAIL FROM".into(),
            region: "us-east-1".into(),
        }];
        let z = zone_file(&rows);
        assert!(z.contains("$ORIGIN example.com."));
        assert!(z.contains(
            "bounce.example.com.\t300\tIN\tMX\t10 feedback-smtp.us-east-1.amazonses.com.\t; custom MAIL FROM"
        ));
    }
}
