//! The outcome of an apply: a table of stacks, then for each stack that did
//! not succeed its root cause and what to do next.

use std::fmt::Write as _;

use super::paint::Paint;
use super::table::{Cell, Table};
use crate::deploy::{OutcomeKind, StackOutcome};

fn outcome_word(k: OutcomeKind) -> &'static str {
    match k {
        OutcomeKind::Applied => "applied",
        OutcomeKind::NoChanges => "no changes",
        OutcomeKind::Failed => "FAILED",
        OutcomeKind::Unknown => "UNKNOWN",
        OutcomeKind::NotStarted => "not started",
    }
}

/// The per-stack outcome of an apply: a table, then for each stack that did not
/// succeed its root cause and what to do next.
pub fn outcomes(outcomes: &[StackOutcome], color: bool) -> String {
    let painter = Paint { on: color };
    let mut out = String::from("\n");
    let mut t = Table::new(["stack", "region", "outcome", "status"]).min_width(2, 11);
    for o in outcomes {
        let style = match o.kind {
            OutcomeKind::Failed | OutcomeKind::Unknown => Some("1;31"),
            OutcomeKind::Applied => Some("32"),
            _ => None,
        };
        t.row([
            o.stack.as_str().into(),
            o.region.as_str().into(),
            Cell::painted(outcome_word(o.kind), style),
            o.status.as_deref().unwrap_or("-").into(),
        ]);
    }
    out.push_str(&t.render(painter));
    for o in outcomes {
        if let Some((_, id)) = o
            .outputs
            .iter()
            .find(|(k, _)| k == crate::compile::sending::GLOBAL_ENDPOINT_ID_OUTPUT)
        {
            let _ = writeln!(
                out,
                "\n{}: global endpoint id {id} (pass it to SendEmail as EndpointId)",
                o.stack
            );
        }
    }
    for o in outcomes {
        if o.ok() && o.warnings.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} ({}): {}",
            o.stack,
            o.region,
            outcome_word(o.kind)
        );
        if let Some(d) = &o.detail {
            let _ = writeln!(out, "  {d}");
        }
        if let Some(rc) = &o.root_cause {
            let _ = writeln!(
                out,
                "  root cause: {} ({}) {}: {}",
                rc.logical_id, rc.resource_type, rc.status, rc.reason
            );
        }
        for w in &o.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        if let Some(h) = &o.hint {
            let _ = writeln!(out, "  next: {h}");
        }
    }
    let applied = outcomes
        .iter()
        .filter(|o| o.kind == OutcomeKind::Applied)
        .count();
    let unchanged = outcomes
        .iter()
        .filter(|o| o.kind == OutcomeKind::NoChanges)
        .count();
    let bad = outcomes.len() - applied - unchanged;
    if bad > 0 {
        let _ = writeln!(
            out,
            "\n{applied} stack(s) applied, {unchanged} unchanged, {bad} not applied. Applied stacks stay applied; \
             once the cause is fixed, `mailinfra apply` finishes the rest (applied stacks are no-ops)."
        );
    }
    out
}
