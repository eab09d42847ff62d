//! `check --dns` results for people and tools: a table with one line per
//! needed record (what it needs, what is published, the verdict, and SES's
//! own status when it was read), or the same as JSON. Long values (a DKIM
//! key) are shortened in the table only; JSON has them whole.

use serde_json::json;

use super::paint::Paint;
use super::table::{Cell, Table};
use crate::dns::conform::{Finding, Status};

/// The widest a value is shown in the table.
const WIDE: usize = 60;

fn short(s: &str) -> String {
    if s.chars().count() <= WIDE {
        return s.to_string();
    }
    let mut out: String = s.chars().take(WIDE - 1).collect();
    out.push('…');
    out
}

fn style(s: Status) -> Option<&'static str> {
    match s {
        Status::Ok => Some("32"),
        Status::Unknown => Some("2"),
        Status::LookupFailed => Some("33"),
        _ => Some("1;31"),
    }
}

/// The table, and a closing line that counts the verdicts.
pub(crate) fn table(findings: &[Finding], paint: Paint) -> String {
    let with_ses = findings.iter().any(|f| f.ses.is_some());
    let mut t = if with_ses {
        Table::new(["NAME", "TYPE", "STATUS", "SES", "NEEDED", "PUBLISHED"])
    } else {
        Table::new(["NAME", "TYPE", "STATUS", "NEEDED", "PUBLISHED"])
    };
    for f in findings {
        let lines = f.needed.values.len().max(f.published.len()).max(1);
        for i in 0..lines {
            let first = |s: String| Cell::from(if i == 0 { s } else { String::new() });
            let mut row = vec![
                first(f.needed.name.clone()),
                first(f.needed.rtype.to_string()),
                if i == 0 {
                    Cell::painted(f.status.as_str(), style(f.status))
                } else {
                    Cell::from("")
                },
            ];
            if with_ses {
                row.push(first(f.ses.clone().unwrap_or_else(|| "-".into())));
            }
            let value = |v: Option<&String>| Cell::from(v.map(|v| short(v)).unwrap_or_default());
            row.push(value(f.needed.values.get(i)));
            row.push(match (i, f.published.get(i)) {
                (0, None) => Cell::from("-"),
                (_, v) => value(v),
            });
            t.row(row);
        }
    }
    let mut out = t.render(paint);
    let count = |s: &[Status]| findings.iter().filter(|f| s.contains(&f.status)).count();
    let ok = count(&[Status::Ok]);
    let unknown = count(&[Status::Unknown]);
    let failed = count(&[Status::LookupFailed]);
    let wrong = findings.len() - ok - unknown - failed;
    out.push_str(&format!(
        "\n{} record(s): {ok} ok, {wrong} wrong, {failed} not resolved, {unknown} not checkable offline\n",
        findings.len()
    ));
    out
}

/// `{"records": [...]}`: one object per needed record.
pub(crate) fn json(findings: &[Finding]) -> serde_json::Value {
    let records: Vec<_> = findings
        .iter()
        .map(|f| {
            json!({
                "zone": f.needed.zone,
                "published_by": if f.needed.deployed { "route53" } else { "external" },
                "name": f.needed.name,
                "type": f.needed.rtype,
                "purpose": f.needed.purpose,
                "region": f.needed.region,
                "path": f.needed.owner,
                "status": f.status.key(),
                "detail": f.detail,
                "needed": f.needed.values,
                "published": f.published,
                "ses_status": f.ses,
            })
        })
        .collect();
    json!({ "records": records })
}
