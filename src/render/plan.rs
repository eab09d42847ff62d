//! Plans for people (human), pull requests (markdown) and machines (JSON).
//!
//! Input: stack plans. Output: strings; the CLI decides where they go. The JSON
//! shape is stable (`format_version` 1) and documented in docs/plan-format.md.

use std::fmt::Write as _;

use serde_json::json;

use super::paint::Paint;
use crate::deploy::{PlanStatus, StackPlan};
use crate::diff::{Action, PropertyValues, Replacement, ResourceChange};

/// The longest value a plan shows on one line; longer ones end in `…`.
pub const VALUE_WIDTH: usize = 60;

/// A property value as one short line: strings as they are, a list of
/// scalars joined (`10 a.example, 20 b.example`), intrinsics as `${Ref}`,
/// anything else as compact JSON; key material masked (see
/// [`super::mask`]) and cut at [`VALUE_WIDTH`] characters.
pub fn compact(v: Option<&serde_json::Value>) -> String {
    cut(&full_line(v), 0)
}

/// A value on one line, masked, at any length.
fn full_line(v: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    let text = match v {
        None => return "(none)".into(),
        Some(Value::String(s)) if s.is_empty() => "\"\"".into(),
        Some(Value::Array(a)) if a.iter().all(|x| !x.is_object() && !x.is_array()) => a
            .iter()
            .map(crate::diff::one_line)
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => crate::diff::one_line(other),
    };
    super::mask::Masker::default()
        .text(&text)
        .replace(['\n', '\r'], " ")
}

/// [`VALUE_WIDTH`] characters of `text` from character `from`, with `…`
/// where something was left out.
fn cut(text: &str, from: usize) -> String {
    let total = text.chars().count();
    if total <= VALUE_WIDTH && from == 0 {
        return text.to_string();
    }
    let lead = if from > 0 { "…" } else { "" };
    let room = VALUE_WIDTH - 1 - usize::from(from > 0);
    let part: String = text.chars().skip(from).take(room).collect();
    let tail = if from + room < total { "…" } else { "" };
    format!("{lead}{part}{tail}")
}

/// `Property: old → new` (or `Property: changed (masked)` for a secret).
/// Two long values that begin alike are both shown from a little before
/// where they differ, so the difference is on screen.
pub fn value_change(v: &PropertyValues) -> String {
    if v.masked {
        return format!("{}: changed (masked)", v.property);
    }
    let (a, b) = value_texts(v);
    format!("{}: {a} → {b}", v.property)
}

/// The old and new values as [`value_change`] shows them.
fn value_texts(v: &PropertyValues) -> (String, String) {
    let (a, b) = (full_line(v.before.as_ref()), full_line(v.after.as_ref()));
    let same = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let from = if same + 12 > VALUE_WIDTH {
        same - 12
    } else {
        0
    };
    (cut(&a, from), cut(&b, from))
}

/// Totals over a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub add: usize,
    pub modify: usize,
    pub replace: usize,
    pub remove: usize,
    pub destructive: usize,
    pub unchanged_stacks: usize,
    /// Changes that broaden IAM permissions.
    pub iam_broadening: usize,
    /// Changes to DNS records mail depends on.
    pub mail_dns: usize,
    /// Resources to add that already exist outside any stack.
    pub exists_outside: usize,
    /// Resources added under a new logical id with the name of one removed.
    pub renamed: usize,
    /// Existing resources brought under a stack (`--import`).
    pub import: usize,
}

pub fn totals(plans: &[StackPlan]) -> Totals {
    let mut t = Totals::default();
    for p in plans {
        if !p.has_changes() {
            t.unchanged_stacks += 1;
        }
        for c in &p.changes {
            match (c.action, c.replacement) {
                (Action::Import, _) => t.import += 1,
                (Action::Add, _) => t.add += 1,
                (Action::Remove, _) => t.remove += 1,
                (Action::Modify, Replacement::Never) => t.modify += 1,
                (Action::Modify, _) => t.replace += 1,
            }
            if c.destructive() {
                t.destructive += 1;
            }
            if !c.broadens.is_empty() {
                t.iam_broadening += 1;
            }
            if c.mail_dns.is_some() {
                t.mail_dns += 1;
            }
            if c.exists_outside.is_some() {
                t.exists_outside += 1;
            }
            if c.renamed_from.is_some() {
                t.renamed += 1;
            }
        }
    }
    t
}

/// "N to import, " when the plan imports anything.
fn imports(t: &Totals) -> String {
    if t.import > 0 {
        format!("{} to import, ", t.import)
    } else {
        String::new()
    }
}

fn symbol(c: &ResourceChange) -> &'static str {
    match (c.action, c.replacement) {
        (Action::Import, _) => "<=",
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
        PlanStatus::Delete => "delete (no longer in the spec)",
    }
}

/// The plan for people: each stack with its changes, then the totals and
/// what the reviewer must look at.
pub fn human(plans: &[StackPlan], color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    for p in plans {
        human_stack(&mut out, p, &paint);
        out.push('\n');
    }
    human_summary(&mut out, plans, &paint);
    out
}

/// One stack: its header, notes, and a line per change.
fn human_stack(out: &mut String, p: &StackPlan, painter: &Paint) {
    let paint = |code: &str, s: &str| painter.wrap(code, s);
    let _ = writeln!(
        out,
        "{}  {}  {}",
        paint("1", &p.stack),
        p.region,
        status_word(p.status)
    );
    if let Some(why) = &p.deferred {
        let _ = writeln!(out, "  (planned after its dependencies: {why})");
    }
    for n in &p.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    for w in &p.waiting {
        let _ = writeln!(
            out,
            "  {} {}  {}  {}",
            paint("36", "..."),
            w.logical_id,
            w.resource_type,
            paint("36", &format!("WAITS: {}", w.reason()))
        );
    }
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
            Action::Add | Action::Import => "32",
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
        if let Some(kind) = &c.mail_dns {
            let _ = write!(line, "  {}", paint("1;33", &format!("MAIL DNS ({kind})")));
        }
        if let Some(what) = &c.exists_outside {
            let _ = write!(
                line,
                "  {}",
                paint("1;31", &format!("!! EXISTS OUTSIDE THE STACK: {what}"))
            );
        }
        if let Some(from) = &c.renamed_from {
            let _ = write!(
                line,
                "  {}",
                paint("1;31", &format!("!! RENAMED FROM {from}"))
            );
        }
        if let Some(drift) = &c.drift {
            let _ = write!(
                line,
                "  {}",
                paint("1;33", &format!("REVERTS DRIFT ({drift})"))
            );
        }
        if c.blocked.is_some() {
            let _ = write!(line, "  {}", paint("1;31", "!! NOT POSSIBLE"));
        }
        let _ = writeln!(out, "{}", line.trim_end());
        for v in &c.values {
            let _ = writeln!(out, "        {}", value_change(v));
        }
        if let Some(why) = &c.blocked {
            let _ = writeln!(out, "        {}", paint("1;31", &format!("!! {why}")));
        }
        for g in &c.broadens {
            let _ = writeln!(
                out,
                "        {}",
                paint("1;31", &format!("!! BROADENS IAM: {g}"))
            );
        }
    }
}

/// The totals, and a line for each kind of change a reviewer must look at.
fn human_summary(out: &mut String, plans: &[StackPlan], painter: &Paint) {
    let paint = |code: &str, s: &str| painter.wrap(code, s);
    let t = totals(plans);
    let _ = writeln!(
        out,
        "Plan: {}{} to add, {} to change, {} to replace, {} to remove ({} of {} stacks unchanged)",
        imports(&t),
        t.add,
        t.modify,
        t.replace,
        t.remove,
        t.unchanged_stacks,
        plans.len()
    );
    // What the reviewer must look at, loudest in red; a line only when it applies.
    let warnings: [(usize, Option<&str>, &str); 5] = [
        (
            t.destructive,
            Some("1;31"),
            "change(s) delete or replace a stateful resource (marked !!)",
        ),
        (
            t.iam_broadening,
            Some("1;31"),
            "change(s) broaden IAM permissions (marked !! BROADENS IAM): review who can now do what",
        ),
        (
            t.mail_dns,
            None,
            "change(s) touch DNS records mail depends on (marked MAIL DNS): a mistake bounces or fails authentication",
        ),
        (
            t.renamed,
            Some("1;31"),
            "resource(s) move to a new logical id under the same name (marked !! RENAMED FROM): CloudFormation would create each before deleting the old one and fail; apply refuses",
        ),
        (
            t.exists_outside,
            Some("1;31"),
            "resource(s) to add already exist outside any stack (marked !! EXISTS OUTSIDE THE STACK): apply refuses until each is imported or deleted",
        ),
    ];
    for (n, code, what) in warnings.into_iter().filter(|(n, _, _)| *n > 0) {
        let line = format!("{n} {what}");
        let line = match code {
            Some(c) => paint(c, &line),
            None => line,
        };
        let _ = writeln!(out, "{line}");
    }
    let waiting: usize = plans.iter().map(|p| p.waiting.len()).sum();
    if waiting > 0 {
        let _ = writeln!(
            out,
            "{}",
            paint(
                "36",
                &format!(
                    "{waiting} resource(s) wait for an SES identity to be verified (marked WAITS): apply creates \
                     the rest, waits for the verification (`--wait-verified MINUTES`), then creates them"
                )
            )
        );
    }
}

pub fn json(plans: &[StackPlan], mode: &str) -> String {
    let t = totals(plans);
    let doc = json!({
        "format_version": 1,
        "mode": mode,
        "summary": {
            "add": t.add, "modify": t.modify, "replace": t.replace, "remove": t.remove,
            "destructive": t.destructive, "unchanged_stacks": t.unchanged_stacks,
            "iam_broadening": t.iam_broadening, "mail_dns": t.mail_dns,
            "exists_outside": t.exists_outside, "renamed": t.renamed, "import": t.import,
            "waiting": plans.iter().map(|p| p.waiting.len()).sum::<usize>(),
        },
        "stacks": plans,
    });
    crate::template::render_value(&doc)
}

/// A GitHub alert block (`> [!KIND]`) saying `n what`, when `n` is not zero.
fn alert(out: &mut String, kind: &str, n: usize, what: &str) {
    if n > 0 {
        let _ = writeln!(out, "> [!{kind}]\n> {n} {what}\n");
    }
}

/// A pull-request comment: a summary table and one collapsible section per changed stack.
pub fn markdown(plans: &[StackPlan]) -> String {
    let t = totals(plans);
    let mut out = String::from("### mailinfra plan\n\n");
    let _ = writeln!(
        out,
        "**{}{} to add, {} to change, {} to replace, {} to remove** ({} of {} stacks unchanged)\n",
        imports(&t),
        t.add,
        t.modify,
        t.replace,
        t.remove,
        t.unchanged_stacks,
        plans.len()
    );
    alert(
        &mut out,
        "CAUTION",
        t.destructive,
        "change(s) delete or replace a stateful resource.",
    );
    if t.iam_broadening > 0 {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {} change(s) broaden IAM permissions:",
            t.iam_broadening
        );
        for p in plans {
            for c in p.changes.iter().filter(|c| !c.broadens.is_empty()) {
                let _ = writeln!(
                    out,
                    "> - `{}` in `{}`: {}",
                    c.logical_id,
                    p.stack,
                    c.broadens
                        .iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        out.push('\n');
    }
    alert(
        &mut out,
        "IMPORTANT",
        t.mail_dns,
        "change(s) touch DNS records mail depends on (MX, SPF, DKIM, DMARC).",
    );
    alert(
        &mut out,
        "CAUTION",
        t.renamed,
        "resource(s) move to a new logical id under the same name: apply refuses (CloudFormation would fail to create them).",
    );
    alert(
        &mut out,
        "CAUTION",
        t.exists_outside,
        "resource(s) to add already exist outside any stack: apply refuses until each is imported or deleted.",
    );
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
    let waiting: Vec<String> = plans
        .iter()
        .flat_map(|p| p.waiting.iter().map(move |w| (p, w)))
        .map(|(p, w)| format!("> `{}` in `{}` {}", w.logical_id, p.stack, w.reason()))
        .collect();
    if !waiting.is_empty() {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> Held back until their identity is verified; `apply` waits for it and creates them:\n{}",
            waiting.join("  \n")
        );
    }
    for p in plans.iter().filter(|p| !p.changes.is_empty()) {
        markdown_stack(&mut out, p);
    }
    out
}

/// The properties cell: each changed property, with its old and new
/// values where the templates have them (`TTL`: `300` → `3600`), one per line.
fn markdown_properties(c: &ResourceChange) -> String {
    let code = |s: &str| format!("`{}`", s.replace('`', "'").replace('|', "\\|"));
    c.properties
        .iter()
        .map(|p| match c.values.iter().find(|v| &v.property == p) {
            Some(v) if v.masked => format!("{}: changed (masked)", code(p)),
            Some(v) => {
                let (a, b) = value_texts(v);
                format!("{}: {} → {}", code(p), code(&a), code(&b))
            }
            None => p.clone(),
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// One changed stack as a collapsible section with a table of its changes.
fn markdown_stack(out: &mut String, p: &StackPlan) {
    let _ = writeln!(
        out,
        "\n<details><summary><code>{}</code> ({})</summary>\n",
        p.stack,
        status_word(p.status)
    );
    if let Some(why) = &p.deferred {
        let _ = writeln!(out, "Planned after its dependencies: {why}.\n");
    }
    for n in &p.notes {
        let _ = writeln!(out, "Note: {n}.\n");
    }
    out.push_str(
        "| | logical id | type | properties | replacement | notes |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for c in &p.changes {
        let mut mark = if c.destructive() {
            " :warning: stateful".to_string()
        } else {
            String::new()
        };
        if !c.broadens.is_empty() {
            mark.push_str(" :rotating_light: IAM broadened");
        }
        if let Some(kind) = &c.mail_dns {
            let _ = write!(mark, " :email: {kind}");
        }
        if let Some(drift) = &c.drift {
            let _ = write!(mark, " :leftwards_arrow_with_hook: reverts drift ({drift})");
        }
        if c.exists_outside.is_some() {
            mark.push_str(" :no_entry: exists outside the stack");
        }
        if let Some(from) = &c.renamed_from {
            let _ = write!(mark, " :no_entry: renamed from {from}");
        }
        if let Some(why) = &c.blocked {
            let _ = write!(
                mark,
                " :no_entry: not possible: {}",
                why.replace('|', "\\|")
            );
        }
        let replacement = match c.replacement {
            Replacement::Always => "yes",
            Replacement::Conditional => "maybe",
            Replacement::Never => "",
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | `{}` | {} | {replacement} | {} |",
            symbol(c),
            c.logical_id,
            c.resource_type,
            markdown_properties(c),
            mark.trim_start()
        );
    }
    out.push_str("\n</details>\n");
}
