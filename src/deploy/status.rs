//! What `mailinfra status` reports: where every stack of the spec stands now, next to what
//! the last apply recorded in its journal — the command to run after an apply
//! was interrupted, timed out or lost its credentials.

use serde::Serialize;

use crate::deploy::journal::{Record, Step};

/// One stack: its live state and the last apply's last word on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackStatus {
    pub stack: String,
    pub region: String,
    /// CloudFormation's status; `None` when the stack does not exist.
    pub status: Option<String>,
    pub last_updated: Option<String>,
    /// Why the stack could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the last apply recorded for this stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_apply: Option<String>,
    /// The global endpoint's id (the stack's `GlobalEndpointId` output), which
    /// applications pass to SESv2 `SendEmail` as `EndpointId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_endpoint_id: Option<String>,
}

impl StackStatus {
    pub fn busy(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| crate::aws::StackStatus::parse(s).is_busy())
    }
}

/// The last apply as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastApply {
    pub id: String,
    pub started: String,
    /// `ended: OUTCOME (why)`, `interrupted`, `abandoned` (interrupted
    /// twice) or `no end recorded` (killed, or still running).
    pub ended: String,
}

/// An earlier apply that was killed while CloudFormation worked on its stacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unsettled {
    pub apply: String,
    pub started: String,
    /// The stacks it began executing and recorded no end for.
    pub stacks: Vec<String>,
}

/// Applies before the last one that began executing a stack and never
/// recorded an end for it nor for themselves: killed while CloudFormation
/// worked.
pub fn unsettled(records: &[Record]) -> Vec<Unsettled> {
    let last = crate::deploy::journal::last_apply(records)
        .first()
        .map(|r| r.apply.clone());
    let mut order: Vec<String> = Vec::new();
    for r in records {
        if r.step == Step::Started && !order.contains(&r.apply) {
            order.push(r.apply.clone());
        }
    }
    let mut found = Vec::new();
    for id in order.into_iter().filter(|id| Some(id) != last.as_ref()) {
        let mine: Vec<&Record> = records.iter().filter(|r| r.apply == id).collect();
        if mine
            .iter()
            .any(|r| r.step == Step::Ended || r.step == Step::Abandoned)
        {
            continue;
        }
        let mut open: Vec<String> = Vec::new();
        for r in &mine {
            let Some(stack) = &r.stack else { continue };
            match r.step {
                Step::Executing if !open.contains(stack) => open.push(stack.clone()),
                Step::Settled | Step::Finished => open.retain(|s| s != stack),
                _ => {}
            }
        }
        if !open.is_empty() {
            let started = mine.first().map(|r| r.time.clone()).unwrap_or_default();
            found.push(Unsettled {
                apply: id,
                started,
                stacks: open,
            });
        }
    }
    found
}

/// Summarises the last apply's records: the apply, and per stack its last word.
pub fn summarise(records: &[Record]) -> (Option<LastApply>, Vec<(String, String)>) {
    let Some(first) = records.first() else {
        return (None, Vec::new());
    };
    let end = records.iter().rev().find(|r| r.step == Step::Ended);
    let ended = if records.iter().any(|r| r.step == Step::Abandoned) {
        "abandoned (interrupted twice: it stopped watching)".to_string()
    } else if records.iter().any(|r| r.step == Step::Interrupted) {
        "interrupted".to_string()
    } else if let Some(end) = end {
        let outcome = end.outcome.as_deref().unwrap_or("?").replace('_', " ");
        match &end.detail {
            Some(d) => format!("ended: {outcome} ({d})"),
            None => format!("ended: {outcome}"),
        }
    } else if records.iter().any(|r| r.step == Step::Finished) {
        "finished".to_string()
    } else {
        "no end recorded (killed, or still running)".to_string()
    };
    let mut words: Vec<(String, String)> = Vec::new();
    for r in records {
        let Some(stack) = &r.stack else { continue };
        let word = match r.step {
            Step::Executing => format!(
                "executing {} (no end recorded)",
                r.operation.as_deref().unwrap_or("a change set")
            ),
            Step::Settled => format!("settled in {}", r.status.as_deref().unwrap_or("?")),
            Step::Finished => {
                let outcome = r.outcome.as_deref().unwrap_or("?").replace('_', " ");
                match &r.detail {
                    Some(d) => format!("{outcome}: {d}"),
                    None => outcome,
                }
            }
            _ => continue,
        };
        match words.iter_mut().find(|(s, _)| s == stack) {
            Some(entry) => entry.1 = word,
            None => words.push((stack.clone(), word)),
        }
    }
    (
        Some(LastApply {
            id: first.apply.clone(),
            started: first.time.clone(),
            ended,
        }),
        words,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::status::{human, json};

    fn rec(step: Step, stack: Option<&str>) -> Record {
        Record {
            time: "2026-11-29T10:00:00Z".into(),
            apply: "a1".into(),
            stack: stack.map(str::to_string),
            ..Record::new(step)
        }
    }

    #[test]
    fn an_interrupted_apply_shows_what_each_stack_got_to() {
        let records = vec![
            rec(Step::Started, None),
            Record {
                operation: Some("arn:cs/1".into()),
                ..rec(Step::Executing, Some("s1"))
            },
            Record {
                operation: Some("arn:cs/2".into()),
                ..rec(Step::Executing, Some("s2"))
            },
            rec(Step::Interrupted, None),
            Record {
                status: Some("UPDATE_COMPLETE".into()),
                ..rec(Step::Settled, Some("s1"))
            },
        ];
        let (last, words) = summarise(&records);
        let last = last.unwrap();
        assert_eq!(last.ended, "interrupted");
        assert_eq!(
            words,
            [
                ("s1".to_string(), "settled in UPDATE_COMPLETE".to_string()),
                (
                    "s2".to_string(),
                    "executing arn:cs/2 (no end recorded)".to_string()
                ),
            ]
        );
        let stacks = vec![
            StackStatus {
                stack: "s2".into(),
                region: "us-east-1".into(),
                status: Some("UPDATE_IN_PROGRESS".into()),
                last_updated: Some("2026-11-29T10:00:05Z".into()),
                error: None,
                last_apply: Some(words[1].1.clone()),
                global_endpoint_id: None,
            },
            StackStatus {
                stack: "s3".into(),
                region: "us-east-1".into(),
                status: None,
                last_updated: None,
                error: None,
                last_apply: None,
                global_endpoint_id: None,
            },
        ];
        let text = human(Some(&last), &[], &stacks);
        assert!(text.starts_with("Last apply: a1 started 2026-11-29T10:00:00Z, interrupted."));
        assert!(text.contains("s3     us-east-1  not created"), "{text}");
        assert!(
            text.contains("1 stack(s) are still being changed"),
            "{text}"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&json(Some(&last), &[], &stacks)).unwrap();
        assert_eq!(doc["stacks"][0]["status"], "UPDATE_IN_PROGRESS");
        assert_eq!(doc["last_apply"]["ended"], "interrupted");
    }

    #[test]
    fn every_end_is_told_apart_from_a_kill() {
        let ended = |outcome: &str, detail: Option<&str>| Record {
            outcome: Some(outcome.into()),
            detail: detail.map(str::to_string),
            ..rec(Step::Ended, None)
        };
        let (last, _) = summarise(&[
            rec(Step::Started, None),
            ended("refused", Some("refusing to apply: …")),
        ]);
        assert_eq!(last.unwrap().ended, "ended: refused (refusing to apply: …)");
        let (last, _) = summarise(&[rec(Step::Started, None), ended("no_changes", None)]);
        assert_eq!(last.unwrap().ended, "ended: no changes");
    }

    #[test]
    fn a_killed_apply_stays_visible_after_a_later_one() {
        let mut killed = vec![
            rec(Step::Started, None),
            Record {
                operation: Some("arn:cs/1".into()),
                ..rec(Step::Executing, Some("s1"))
            },
            Record {
                operation: Some("arn:cs/2".into()),
                ..rec(Step::Executing, Some("s2"))
            },
            rec(Step::Settled, Some("s1")),
        ];
        let later = |id: &str| {
            [rec(Step::Started, None), rec(Step::Ended, None)].map(|r| Record {
                apply: id.into(),
                ..r
            })
        };
        killed.extend(later("a2"));
        let found = unsettled(&killed);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].apply.as_str(), found[0].stacks.as_slice()),
            ("a1", &["s2".to_string()][..])
        );
        // One that ended, or the last apply itself, is not reported.
        assert!(unsettled(&later("a3")).is_empty());
        assert!(unsettled(&killed[..4]).is_empty());
        let text = crate::render::status::human(None, &found, &[]);
        assert!(text.contains("An earlier apply, a1"), "{text}");
        assert!(text.contains("worked on s2"), "{text}");
    }

    #[test]
    fn a_killed_apply_has_no_end() {
        let (last, _) = summarise(&[rec(Step::Started, None)]);
        assert!(last.unwrap().ended.starts_with("no end recorded"));
        assert_eq!(summarise(&[]), (None, Vec::new()));
    }
}
