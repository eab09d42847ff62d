//! Rules on names and references-by-ARN that CloudFormation would reject only
//! at deploy time: physical-name patterns and lengths, ARN partitions.

use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::values;

/// `ArchiveName` is `<project>-<name>`: 1–64 characters, `^[a-zA-Z0-9][a-zA-Z0-9_-]*[a-zA-Z0-9]$`
/// (AWS::SES::MailManagerArchive schema).
pub(super) fn archive_names(m: &Model, out: &mut Vec<Diagnostic>) {
    for a in &m.archives {
        let full = format!("{}-{}", m.project, a.name);
        let why = values::cfn_name_problem(&a.name, 64, "_-").or_else(|| {
            values::cfn_name_problem(&full, 64, "_-")
                .map(|why| format!("the archive is named `{full}` in AWS: {why}"))
        });
        if let Some(why) = why {
            out.push(
                Diagnostic::error(Code::MI3008, format!("`{}` cannot name an archive", a.name))
                    .key_path(&a.ptr)
                    .help(format!(
                        "{why}; archive names use letters, digits, `_` and `-`"
                    )),
            );
        }
    }
}

/// A KMS key must be in the partition of the region the archive is deployed to.
pub(super) fn arn_partitions(m: &Model, out: &mut Vec<Diagnostic>) {
    for a in &m.archives {
        let Some(key) = &a.kms_key else { continue };
        if let Some(why) = values::arn_partition_problem(key, &m.primary) {
            out.push(
                Diagnostic::error(
                    Code::MI3007,
                    format!("the KMS key of `{}` is in another partition", a.name),
                )
                .path(format!("{}/kms_key", a.ptr))
                .help(why),
            );
        }
    }
}
