//! `mailinfra status` for people (a table of stacks, then what to do) and
//! machines (JSON, `format_version` 1, documented in docs/plan-format.md).

use std::fmt::Write as _;

use super::paint::Paint;
use super::table::Table;
use crate::deploy::status::{LastApply, StackStatus, Unsettled};

pub fn human(last: Option<&LastApply>, unsettled: &[Unsettled], stacks: &[StackStatus]) -> String {
    let mut out = String::new();
    match last {
        Some(l) => {
            let _ = writeln!(
                out,
                "Last apply: {} started {}, {}.\n",
                l.id, l.started, l.ended
            );
        }
        None => out.push_str("No apply recorded in this workspace.\n\n"),
    }
    for u in unsettled {
        let _ = writeln!(
            out,
            "An earlier apply, {} (started {}), was stopped while CloudFormation worked on {}: \
             it recorded no end; check those stacks below before you apply again.\n",
            u.apply,
            u.started,
            u.stacks.join(", ")
        );
    }
    let mut t =
        Table::new(["stack", "region", "status", "last updated", "last apply"]).min_width(3, 20);
    for s in stacks {
        let status = match (&s.status, &s.error) {
            (_, Some(_)) => "unreadable",
            (Some(st), None) => st.as_str(),
            (None, None) => "not created",
        };
        t.row([
            s.stack.as_str().into(),
            s.region.as_str().into(),
            status.into(),
            s.last_updated.as_deref().unwrap_or("-").into(),
            s.last_apply.as_deref().unwrap_or("-").into(),
        ]);
    }
    out.push_str(&t.render(Paint { on: false }));
    for s in stacks {
        if let Some(e) = &s.error {
            let _ = writeln!(out, "\n{}: cannot read it: {e}", s.stack);
        }
        if let Some(id) = &s.global_endpoint_id {
            let _ = writeln!(
                out,
                "\n{}: global endpoint id {id} (pass it to SendEmail as EndpointId)",
                s.stack
            );
        }
    }
    let busy = stacks.iter().filter(|s| s.busy()).count();
    if busy > 0 {
        let _ = writeln!(
            out,
            "\n{busy} stack(s) are still being changed by CloudFormation: wait for them to settle, then run `mailinfra apply`."
        );
    }
    out
}

pub fn json(last: Option<&LastApply>, unsettled: &[Unsettled], stacks: &[StackStatus]) -> String {
    let doc = serde_json::json!({
        "format_version": 1,
        "last_apply": last,
        "unsettled": unsettled,
        "stacks": stacks,
    });
    crate::template::render_value(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The global endpoint's id is shown where applications' owners look for
    /// it, and is in the JSON.
    #[test]
    fn the_global_endpoint_id_is_shown_and_in_the_json() {
        let s = StackStatus {
            stack: "p-us-east-1-sending".into(),
            region: "us-east-1".into(),
            status: Some("CREATE_COMPLETE".into()),
            last_updated: None,
            error: None,
            last_apply: None,
            global_endpoint_id: Some("abcd1234.efg".into()),
        };
        let text = human(None, &[], std::slice::from_ref(&s));
        assert!(
            text.contains("global endpoint id abcd1234.efg (pass it to SendEmail as EndpointId)"),
            "{text}"
        );
        assert!(json(None, &[], &[s]).contains("\"global_endpoint_id\": \"abcd1234.efg\""));
    }
}
