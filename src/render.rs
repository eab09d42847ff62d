//! Render: plans as text for people (human) and machines (JSON).
//!
//! Input: stack plans. Output: strings; the CLI decides where they go. The JSON
//! shape is stable (`format_version` 1) and documented in the README.

use std::fmt::Write as _;

use serde_json::json;

use crate::deploy::{PlanStatus, StackPlan};
use crate::diff::{Action, Replacement, ResourceChange};

/// Totals over a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub add: usize,
    pub modify: usize,
    pub replace: usize,
    pub remove: usize,
    pub destructive: usize,
    pub unchanged_stacks: usize,
}

pub fn totals(plans: &[StackPlan]) -> Totals {
    let mut t = Totals::default();
    for p in plans {
        if !p.has_changes() {
            t.unchanged_stacks += 1;
        }
        for c in &p.changes {
            match (c.action, c.replacement) {
                (Action::Add, _) => t.add += 1,
                (Action::Remove, _) => t.remove += 1,
                (Action::Modify, Replacement::Never) => t.modify += 1,
                (Action::Modify, _) => t.replace += 1,
            }
            if c.destructive() {
                t.destructive += 1;
            }
        }
    }
    t
}

fn symbol(c: &ResourceChange) -> &'static str {
    match (c.action, c.replacement) {
        (Action::Add, _) => "+",
        (Action::Remove, _) => "-",
        (Action::Modify, Replacement::Never) => "~",
        (Action::Modify, _) => "-/+",
    }
}

fn status_word(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Create => "create",
        PlanStatus::Update => "update",
        PlanStatus::NoChanges => "no changes",
    }
}

pub fn human(plans: &[StackPlan], color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for p in plans {
        let _ = writeln!(
            out,
            "{}  {}  {}",
            paint("1", &p.stack),
            p.region,
            status_word(p.status)
        );
        let width = p
            .changes
            .iter()
            .map(|c| c.logical_id.len())
            .max()
            .unwrap_or(0);
        let twidth = p
            .changes
            .iter()
            .map(|c| c.resource_type.len())
            .max()
            .unwrap_or(0);
        for c in &p.changes {
            let sym = symbol(c);
            let code = match c.action {
                Action::Add => "32",
                Action::Remove => "31",
                Action::Modify if c.replacement != Replacement::Never => "35",
                Action::Modify => "33",
            };
            let mut line = format!(
                "  {:>3} {:<width$}  {:<twidth$}",
                paint(code, sym),
                c.logical_id,
                c.resource_type
            );
            if !c.properties.is_empty() {
                let _ = write!(line, "  ({})", c.properties.join(", "));
            }
            match c.replacement {
                Replacement::Always => line.push_str("  replaces"),
                Replacement::Conditional => line.push_str("  may replace"),
                Replacement::Never => {}
            }
            if c.destructive() {
                let what = if c.action == Action::Remove {
                    "DELETES"
                } else {
                    "REPLACES"
                };
                let _ = write!(
                    line,
                    "  {}",
                    paint("1;31", &format!("!! {what} A STATEFUL RESOURCE"))
                );
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out.push('\n');
    }
    let t = totals(plans);
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to change, {} to replace, {} to remove ({} of {} stacks unchanged)",
        t.add,
        t.modify,
        t.replace,
        t.remove,
        t.unchanged_stacks,
        plans.len()
    );
    if t.destructive > 0 {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "1;31",
                &format!(
                    "{} change(s) delete or replace a stateful resource (marked !!)",
                    t.destructive
                )
            )
        );
    }
    out
}

pub fn json(plans: &[StackPlan], mode: &str) -> String {
    let t = totals(plans);
    let doc = json!({
        "format_version": 1,
        "mode": mode,
        "summary": {
            "add": t.add, "modify": t.modify, "replace": t.replace, "remove": t.remove,
            "destructive": t.destructive, "unchanged_stacks": t.unchanged_stacks,
        },
        "stacks": plans,
    });
    crate::template::render_value(&doc)
}

/// A pull-request comment: a summary table and one collapsible section per changed stack.
pub fn markdown(plans: &[StackPlan]) -> String {
    let t = totals(plans);
    let mut out = String::from("### mailinfra plan\n\n");
    let _ = writeln!(
        out,
        "**{} to add, {} to change, {} to replace, {} to remove** ({} of {} stacks unchanged)\n",
        t.add,
        t.modify,
        t.replace,
        t.remove,
        t.unchanged_stacks,
        plans.len()
    );
    if t.destructive > 0 {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> {} change(s) delete or replace a stateful resource.\n",
            t.destructive
        );
    }
    out.push_str("| stack | region | status | changes |\n| --- | --- | --- | --- |\n");
    for p in plans {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            p.stack,
            p.region,
            status_word(p.status),
            p.changes.len()
        );
    }
    for p in plans.iter().filter(|p| !p.changes.is_empty()) {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> ({})</summary>\n",
            p.stack,
            status_word(p.status)
        );
        out.push_str(
            "| | logical id | type | properties | replacement |\n| --- | --- | --- | --- | --- |\n",
        );
        for c in &p.changes {
            let mark = if c.destructive() {
                " :warning: stateful"
            } else {
                ""
            };
            let replacement = match c.replacement {
                Replacement::Always => "yes",
                Replacement::Conditional => "maybe",
                Replacement::Never => "",
            };
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` | {} | {replacement}{mark} |",
                symbol(c),
                c.logical_id,
                c.resource_type,
                c.properties.join(", ")
            );
        }
        out.push_str("\n</details>\n");
    }
    out
}
