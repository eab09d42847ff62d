//! The apply journal: an append-only record, next to the spec, of what each
//! apply did — when it started, which change set it executed on which stack,
//! how each stack settled, and whether it was interrupted.
//!
//! One JSON object per line, written and flushed to disk (`fsync`) before the
//! step it records goes on, so an apply that is interrupted, killed or loses
//! its credentials can still be accounted for: `mailinfra status` reads the
//! last apply's records next to the stacks' live state. A line cut short by a
//! crash is skipped when reading; the file may be deleted at any time (it
//! records, it does not decide).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The journal's file name, next to the spec.
pub const FILE: &str = ".mailinfra-journal.jsonl";

/// What a record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// An apply started (`detail`: where its plan came from).
    Started,
    /// A stack's change set (`operation`) is about to be executed.
    Executing,
    /// A stack reached a final status (`status`).
    Settled,
    /// A stack's outcome in this apply (`outcome`, `detail`).
    Finished,
    /// The user interrupted: no new stack starts.
    Interrupted,
    /// Interrupted twice: the apply stopped watching at once; stacks may
    /// still be changing in CloudFormation.
    Abandoned,
    /// How the apply as a whole ended (`outcome`: `applied`, `no_changes`,
    /// `refused`, `declined`, `failed`, `unknown`, `interrupted` or `error`;
    /// `detail`: why). Every apply that started writes one, whatever stopped it.
    Ended,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC.
    pub time: String,
    /// The apply's id (its plan id).
    pub apply: String,
    pub step: Step,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_arn: Option<String>,
    /// The change set executed (its ARN), or the operation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Record {
    pub fn new(step: Step) -> Record {
        Record {
            time: String::new(),
            apply: String::new(),
            step,
            stack: None,
            region: None,
            stack_arn: None,
            operation: None,
            status: None,
            outcome: None,
            detail: None,
        }
    }

    pub fn stack(mut self, stack: &str, region: &str) -> Record {
        self.stack = Some(stack.to_string());
        self.region = Some(region.to_string());
        self
    }
}

/// The journal of one apply, open for appending.
pub struct Journal {
    path: PathBuf,
    apply: String,
    file: Mutex<std::fs::File>,
}

/// Where the journal of the spec at `spec` lives.
pub fn path_for(spec: &Path) -> PathBuf {
    crate::deploy::workspace_lock::beside(spec, FILE)
}

fn now() -> String {
    crate::aws::rfc3339(std::time::SystemTime::now())
}

impl Journal {
    /// Opens (or creates) the journal next to `spec` for the apply `apply`.
    /// An apply that cannot keep its journal does not start.
    pub fn open(spec: &Path, apply: &str) -> anyhow::Result<Journal> {
        let path = path_for(spec);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open the apply journal `{}`; check that the directory is writable",
                    path.display()
                )
            })?;
        Ok(Journal {
            path,
            apply: apply.to_string(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record and flushes it to disk.
    pub fn write(&self, mut record: Record) -> anyhow::Result<()> {
        record.time = now();
        record.apply.clone_from(&self.apply);
        let mut line = serde_json::to_string(&record)?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal is poisoned"))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot write the apply journal `{}`", self.path.display()))
    }
}

impl Journal {
    /// Records what an apply starts and how each stack settles; a record that
    /// cannot be written is a warning (the apply goes on).
    pub fn record_progress(&self, p: &crate::deploy::Progress) {
        use crate::deploy::Progress;
        let record = match p {
            Progress::StackStarted {
                stack,
                region,
                operation,
                stack_arn,
            } => Record {
                operation: Some(operation.clone()),
                stack_arn: Some(stack_arn.clone()),
                ..Record::new(Step::Executing).stack(stack, region)
            },
            Progress::StackFinished { stack, status } => Record {
                stack: Some(stack.clone()),
                status: Some(status.clone()),
                ..Record::new(Step::Settled)
            },
            Progress::Event { .. } | Progress::Warning { .. } => return,
        };
        if let Err(e) = self.write(record) {
            eprintln!("warning: {e:#}");
        }
    }
}

/// Every readable record of the journal next to `spec`, oldest first (none if
/// there is no journal). Lines that do not parse — cut short by a crash — are skipped.
pub fn read(spec: &Path) -> anyhow::Result<Vec<Record>> {
    let path = path_for(spec);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read `{}`", path.display()));
        }
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The records of the newest apply.
pub fn last_apply(records: &[Record]) -> Vec<Record> {
    let Some(id) = records
        .iter()
        .rev()
        .find(|r| r.step == Step::Started)
        .map(|r| r.apply.clone())
    else {
        return Vec::new();
    };
    records.iter().filter(|r| r.apply == id).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_append_and_read_back_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        let first = Journal::open(&spec, "a1").unwrap();
        first.write(Record::new(Step::Started)).unwrap();
        first
            .write(Record {
                operation: Some("arn:cs".into()),
                ..Record::new(Step::Executing).stack("s1", "us-east-1")
            })
            .unwrap();
        drop(first);
        // A crash mid-write leaves half a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path_for(&spec))
            .unwrap();
        f.write_all(b"{\"time\":\"2026-").unwrap();
        f.write_all(b"\n").unwrap();
        let second = Journal::open(&spec, "b2").unwrap();
        second.write(Record::new(Step::Started)).unwrap();
        second.write(Record::new(Step::Interrupted)).unwrap();

        let all = read(&spec).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[1].operation.as_deref(), Some("arn:cs"));
        assert_eq!(all[1].stack.as_deref(), Some("s1"));
        assert!(all[0].time.ends_with('Z') && all[0].time.starts_with("20"));
        let last = last_apply(&all);
        assert_eq!(
            last.iter().map(|r| r.step).collect::<Vec<_>>(),
            [Step::Started, Step::Interrupted]
        );
        assert!(last.iter().all(|r| r.apply == "b2"));
    }

    #[test]
    fn no_journal_is_no_records() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("mailinfra.yaml")).unwrap().is_empty());
        assert!(last_apply(&[]).is_empty());
    }
}
