//! Whether SES may write received mail where classic receipt rules send it:
//! a bucket the spec does not declare gets no bucket policy from mailinfra,
//! and a customer managed KMS key's policy is never mailinfra's. For each, a
//! warning (MI4010) names the resource and prints the policy statement to add.
//!
//! SES writes to S3 as the service principal `ses.amazonaws.com`, allowed by
//! the bucket policy and scoped by `aws:SourceAccount` and `aws:SourceArn` (the
//! receipt rule); with a customer managed key it also needs
//! `kms:GenerateDataKey*` in the key's policy (SES Developer Guide, "Giving
//! permissions to Amazon SES for email receiving"). Without them
//! `CreateReceiptRule` fails with `InvalidS3ConfigurationException` and the
//! stack rolls back. Mail Manager's `write_to_s3` writes with the action's IAM
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

/// Whether a key is an AWS managed key (`alias/aws/…`), whose policy AWS
/// writes: SES may use `aws/ses` as it is, and no other can be edited.
fn aws_managed_key(key: &str) -> bool {
    key.starts_with("alias/aws/") || key.contains(":alias/aws/")
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
    let mut keyed: BTreeMap<&str, Uses> = BTreeMap::new();
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
                if declared.contains(&bucket) {
                    keyed.entry(bucket).or_default().add(&ptr, &source, None);
                }
                if let Some(key) = s.kms_key.as_deref().filter(|k| !aws_managed_key(k)) {
                    out.push(key_policy(key, &[source], &format!("{ptr}/kms_key"), false));
                }
            }
        }
    }
    for (bucket, uses) in undeclared {
        out.push(bucket_policy(c, bucket, &uses));
    }
    for b in &c.buckets {
        let (Some(key), Some(uses)) = (b.kms_key.as_deref(), keyed.get(b.name.as_str())) else {
            continue;
        };
        if !aws_managed_key(key) {
            out.push(
                key_policy(key, &uses.sources, &format!("{}/kms_key", b.ptr), true)
                    .related_path(&uses.first, "SES writes to the bucket here"),
            );
        }
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

fn key_policy(key: &str, sources: &[String], ptr: &str, bucket_default: bool) -> Diagnostic {
    // For a bucket's default SSE-KMS encryption SES also reads back the data key.
    let actions = if bucket_default {
        json!(["kms:Decrypt", "kms:GenerateDataKey*"])
    } else {
        json!(["kms:GenerateDataKey*"])
    };
    let statement = json!({
        "Sid": "AllowSesToEncryptReceivedMail",
        "Effect": "Allow",
        "Principal": { "Service": "ses.amazonaws.com" },
        "Action": actions,
        "Resource": "*",
        "Condition": condition(sources),
    });
    let (what, instead) = if bucket_default {
        (
            "the bucket's default encryption key",
            "or leave out the bucket's `kms_key` (S3-managed keys)",
        )
    } else {
        (
            "the key the receipt rule encrypts mail with",
            "or use `alias/aws/ses`",
        )
    };
    Diagnostic::error(
        Code::MI4010,
        format!("the key `{key}` ({what}) works only if its key policy lets SES use it"),
    )
    .path(ptr)
    .help(format!(
        "mailinfra does not manage the policy of a customer managed key: add this statement to the key policy, with your account id for ACCOUNT_ID: {statement}; {instead}"
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
    fn declared_buckets_and_aws_managed_keys_need_nothing_more() {
        let out = warnings(
            "  buckets: { mail: {} }\n  rule_sets:\n    in:\n      rules:\n\
             \x20       - { name: a, actions: [ { s3: { bucket: mail, kms_key: \"arn:aws:kms:us-east-1:111122223333:alias/aws/ses\" } } ] }\n",
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_bucket_default_key_is_reported_once_at_the_bucket() {
        let out = warnings(
            "  buckets: { mail: { kms_key: \"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\" } }\n  rule_sets:\n    in:\n      rules:\n\
             \x20       - { name: a, actions: [ { s3: { bucket: mail } } ] }\n\
             \x20       - { name: b, actions: [ { s3: { bucket: mail } } ] }\n",
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].path, "/receiving/buckets/mail/kms_key");
        let help = out[0].help.as_deref().unwrap();
        assert!(
            help.contains(r#"["kms:Decrypt","kms:GenerateDataKey*"]"#),
            "{help}"
        );
    }
}
