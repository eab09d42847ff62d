//! Whether SES may write received mail where classic receipt rules send it:
//! a bucket the spec does not declare gets no bucket policy from mailinfra,
//! so a warning (MI4010) names the bucket and prints the statement to add.
//! Customer managed keys are the key lints' (MI4008, `check::keys`), one
//! warning per use of a key.
//!
//! SES writes to S3 as the service principal `ses.amazonaws.com`, allowed by
//! the bucket policy and scoped by `aws:SourceAccount` and `aws:SourceArn` (the
//! receipt rule) (SES Developer Guide, "Giving permissions to Amazon SES for
//! email receiving"). Without it `CreateReceiptRule` fails with
//! `InvalidS3ConfigurationException` and the stack rolls back. Mail Manager's `write_to_s3` writes with the action's IAM
//! role instead (Mail Manager API, `S3Action.RoleArn`), which the generated
//! role grants, so it needs no bucket policy in the account.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::diag::{Code, Diagnostic, suggest};
use crate::model::Model;
use crate::model::receiving::Classic;
use crate::spec::ReceiptAction;
use crate::values::partition_of_region;

/// The receipt rule's `aws:SourceArn`, with the account left to fill in.
fn rule_arn(m: &Model, c: &Classic, set: &str, rule: &str) -> String {
    format!(
        "arn:{}:ses:{}:ACCOUNT_ID:receipt-rule-set/{}-{set}:receipt-rule/{rule}",
        partition_of_region(&c.region),
        c.region,
        m.project
    )
}

fn condition(sources: &[String]) -> serde_json::Value {
    let arns = match sources {
        [one] => json!(one),
        many => json!(many),
    };
    json!({
        "StringEquals": { "aws:SourceAccount": "ACCOUNT_ID" },
        "ArnLike": { "aws:SourceArn": arns }
    })
}

/// What SES writes to one bucket: where first, which rules, under which prefixes.
#[derive(Default)]
struct Uses {
    first: String,
    sources: Vec<String>,
    prefixes: BTreeSet<String>,
}

impl Uses {
    fn add(&mut self, ptr: &str, source: &str, prefix: Option<&str>) {
        if self.first.is_empty() {
            self.first = ptr.to_string();
        }
        if !self.sources.iter().any(|s| s == source) {
            self.sources.push(source.to_string());
        }
        self.prefixes.insert(prefix.unwrap_or_default().to_string());
    }
}

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(c) = &m.receiving else { return };
    let declared: Vec<&str> = c.buckets.iter().map(|b| b.name.as_str()).collect();
    let mut undeclared: BTreeMap<&str, Uses> = BTreeMap::new();
    for rs in &c.rule_sets {
        for (i, rule) in rs.rules.iter().enumerate() {
            for (k, a) in rule.actions.iter().enumerate() {
                let ReceiptAction::S3(s) = a else { continue };
                let ptr = format!("{}/rules/{i}/actions/{k}/s3", rs.ptr);
                let source = rule_arn(m, c, &rs.name, &rule.name);
                let bucket = s.bucket.as_str();
                // A near miss of a declared name is already an error (MI2001).
                if !declared.contains(&bucket)
                    && suggest(bucket, declared.iter().copied()).is_none()
                {
                    undeclared.entry(bucket).or_default().add(
                        &format!("{ptr}/bucket"),
                        &source,
                        s.prefix.as_deref(),
                    );
                }
            }
        }
    }
    for (bucket, uses) in undeclared {
        out.push(bucket_policy(c, bucket, &uses));
    }
}

fn bucket_policy(c: &Classic, bucket: &str, uses: &Uses) -> Diagnostic {
    // One prefix: only objects under it; several: the whole bucket.
    let prefix = match uses.prefixes.iter().collect::<Vec<_>>()[..] {
        [p] => p.as_str(),
        _ => "",
    };
    let statement = json!({
        "Sid": "AllowSesPuts",
        "Effect": "Allow",
        "Principal": { "Service": "ses.amazonaws.com" },
        "Action": "s3:PutObject",
        "Resource": format!("arn:{}:s3:::{bucket}/{prefix}*", partition_of_region(&c.region)),
        "Condition": condition(&uses.sources),
    });
    Diagnostic::error(
        Code::MI4010,
        format!("the bucket `{bucket}` takes received mail only if its bucket policy lets SES write"),
    )
    .path(&uses.first)
    .help(format!(
        "mailinfra manages no policy for a bucket the spec does not declare, and the receipt rule fails to deploy (`InvalidS3ConfigurationException`) until SES may write: add this statement to the policy of `{bucket}`, with your account id for ACCOUNT_ID: {statement}; or declare the bucket under `receiving.buckets` (mailinfra then creates `<project>-<name>-<account>-<region>` with that policy)"
    ))
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;

    fn warnings(receiving: &str) -> Vec<crate::diag::Diagnostic> {
        let m = crate::compile::sending::tests::model(&format!(
            "version: 1\nproject: p\nregions: {{ primary: us-east-1 }}\ndns: {{ example.com: external }}\nreceiving:\n{receiving}"
        ));
        let mut out = Vec::new();
        super::check(&m, &mut out);
        assert!(out.iter().all(|d| d.code == Code::MI4010));
        out
    }

    #[test]
    fn one_warning_per_undeclared_bucket_with_every_rule_that_writes_to_it() {
        let out = warnings(
            "  rule_sets:\n    in:\n      rules:\n\
             \x20       - { name: a, actions: [ { s3: { bucket: shared-mail, prefix: a/ } } ] }\n\
             \x20       - { name: b, actions: [ { s3: { bucket: shared-mail, prefix: b/ } } ] }\n",
        );
        assert_eq!(out.len(), 1, "{out:?}");
        let help = out[0].help.as_deref().unwrap();
        assert!(
            help.contains(r#""Resource":"arn:aws:s3:::shared-mail/*""#),
            "{help}"
        );
        assert!(
            help.contains(r#""aws:SourceArn":["arn:aws:ses:us-east-1:ACCOUNT_ID:receipt-rule-set/p-in:receipt-rule/a","arn:aws:ses:us-east-1:ACCOUNT_ID:receipt-rule-set/p-in:receipt-rule/b"]"#),
            "{help}"
        );
        assert_eq!(
            out[0].path,
            "/receiving/rule_sets/in/rules/0/actions/0/s3/bucket"
        );
    }

    #[test]
    fn declared_buckets_need_nothing_more_and_keys_are_left_to_the_key_lints() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let out = warnings(&format!(
            "  buckets: {{ mail: {{ kms_key: \"{key}\" }} }}\n  rule_sets:\n    in:\n      rules:\n\
             \x20       - {{ name: a, actions: [ {{ s3: {{ bucket: mail, kms_key: \"{key}\" }} }} ] }}\n",
        ));
        assert!(out.is_empty(), "{out:?}");
    }
}
