//! `mailinfra dns`: every DNS record the topology needs, for people and tools.
//!
//! Input: the model's records ([`crate::dns::records`]) and, optionally, values
//! read from the deployed stacks' outputs. Output: a table, a BIND zone-file
//! fragment or JSON. Values known only after deploy (Easy DKIM tokens) are shown
//! as `<dkim-token-N>` placeholders until they can be read from the stacks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::dns::{Record, Text, output_key, records};
use crate::model::{Model, ZoneKind};

/// Deployed values by `(region, output key)`.
pub type Live = BTreeMap<(String, String), String>;

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

fn resolve(t: &Text, region: &str, live: &Live, placeholder: &mut bool) -> String {
    match t {
        Text::Literal(s) => s.clone(),
        Text::Deferred {
            logical_id,
            attribute,
            placeholder: p,
        } => match live.get(&(region.to_string(), output_key(logical_id, attribute))) {
            Some(v) => v.trim_end_matches('.').to_string(),
            None => {
                *placeholder = true;
                p.clone()
            }
        },
    }
}

pub fn rows(model: &Model, live: &Live) -> Vec<Row> {
    records(model)
        .iter()
        .map(|r: &Record| {
            let zone = &model.zones[r.zone];
            let mut placeholder = false;
            let name = resolve(&r.name, &r.region, live, &mut placeholder);
            let values = r
                .values
                .iter()
                .map(|v| resolve(v, &r.region, live, &mut placeholder))
                .collect();
            Row {
                zone: zone.apex.clone(),
                deployed: matches!(zone.kind, ZoneKind::Route53 { .. }),
                name,
                rtype: r.rtype,
                ttl: r.ttl,
                values,
                placeholder,
                purpose: r.purpose.clone(),
                region: r.region.clone(),
            }
        })
        .collect()
}

/// The (region, stack) pairs whose outputs hold deferred values.
pub fn live_sources(model: &Model) -> Vec<String> {
    let mut regions: Vec<String> = records(model)
        .iter()
        .filter(|r| {
            std::iter::once(&r.name)
                .chain(&r.values)
                .any(|t| matches!(t, Text::Deferred { .. }))
        })
        .map(|r| r.region.clone())
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

pub fn table(rows: &[Row]) -> String {
    let header = [
        "ZONE",
        "NAME",
        "TYPE",
        "TTL",
        "VALUE",
        "PURPOSE",
        "PUBLISHED BY",
    ];
    let mut lines: Vec<[String; 7]> = Vec::new();
    for r in rows {
        for (i, v) in r.values.iter().enumerate() {
            let first = i == 0;
            lines.push([
                if first { r.zone.clone() } else { String::new() },
                if first { r.name.clone() } else { String::new() },
                if first {
                    r.rtype.to_string()
                } else {
                    String::new()
                },
                if first {
                    r.ttl.to_string()
                } else {
                    String::new()
                },
                v.clone(),
                if first {
                    r.purpose.clone()
                } else {
                    String::new()
                },
                if !first {
                    String::new()
                } else if r.deployed {
                    "mailinfra (Route 53)".into()
                } else {
                    "you (external)".into()
                },
            ]);
        }
    }
    let mut width = header.map(str::len);
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&header.map(String::from));
    for l in &lines {
        line(l);
    }
    if rows.iter().any(|r| r.placeholder) {
        out.push_str("\n<dkim-token-N>: known after deploy; `mailinfra dns --live` reads them from the deployed stacks\n");
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
                let _ = writeln!(out, "; placeholder: the DKIM token is known after deploy");
            }
            for v in &r.values {
                let value = match r.rtype {
                    "CNAME" => fqdn(v),
                    "MX" => match v.split_once(' ') {
                        Some((pri, host)) => format!("{pri} {}", fqdn(host)),
                        None => v.clone(),
                    },
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

#[cfg(test)]
mod live_tests {
    use super::*;

    #[test]
    fn live_values_replace_placeholders() {
        let m = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\nidentities: { example.com: {} }\n",
        );
        assert_eq!(live_sources(&m), vec!["us-east-1".to_string()]);
        let mut live = Live::new();
        for n in 1..=3 {
            live.insert(
                (
                    "us-east-1".into(),
                    format!("IdentityExampleComDkimDNSTokenName{n}"),
                ),
                format!("tok{n}._domainkey.example.com"),
            );
            live.insert(
                (
                    "us-east-1".into(),
                    format!("IdentityExampleComDkimDNSTokenValue{n}"),
                ),
                format!("tok{n}.dkim.amazonses.com"),
            );
        }
        let offline = rows(&m, &Live::new());
        assert!(offline.iter().all(|r| r.placeholder));
        let rows = rows(&m, &live);
        assert!(rows.iter().all(|r| !r.placeholder));
        assert_eq!(rows[0].name, "tok1._domainkey.example.com");
        assert_eq!(rows[2].values, vec!["tok3.dkim.amazonses.com".to_string()]);
    }
}
