//! The KMS keys of yours that the topology hands to SES, and what SES (or the
//! roles it runs actions as) needs from each key's policy. Used by the lints
//! (which cannot read a key policy offline) and by `check --live` (which
//! reads it and judges it against [`KeyUse::needs`]).
//!
//! The requirements are AWS's, as documented; each carries its source.

use crate::spec::{IngressPassword, ReceiptAction, RuleAction};

use super::Model;

/// Who must be allowed to use the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grantee {
    /// The SES service principal, `ses.amazonaws.com`.
    Ses,
    /// An IAM role of the account (a Mail Manager action role): the key
    /// policy must let the account's IAM policies grant access, or name the role.
    AccountRoles,
}

/// What a key is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Encrypts the generated SMTP password of `auth` ingress endpoints.
    IngressSecret,
    /// Encrypts a Mail Manager archive.
    Archive,
    /// Encrypts the contents of an `mtls` trust store.
    TrustStore,
    /// Encrypts mail a classic receipt rule's S3 action stores.
    ReceiptS3,
    /// Default encryption of a receiving bucket that SES writes to.
    BucketBySes,
    /// Default encryption of a receiving bucket, or the key of a `write_to_s3`
    /// action, used by the role the action runs as.
    BucketByRole,
}

/// A condition value SES sends with its KMS request, for judging a key
/// policy's conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    /// The exact value.
    Exact(String),
    /// A value that starts with this (an ARN whose resource id is not known).
    Prefix(String),
    /// The key is present (an encryption context entry whose value varies).
    Present,
    /// SES does not send the key.
    Absent,
}

/// One use of one of your keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUse {
    /// The key's ARN (key or alias) as written.
    pub key: String,
    /// Spec pointer of the field that names it.
    pub ptr: String,
    /// What uses it, for messages: "the archive `legal`".
    pub what: String,
    pub purpose: Purpose,
}

impl Purpose {
    /// Who must be allowed, and which actions.
    pub fn needs(self) -> (Grantee, &'static [&'static str]) {
        match self {
            // SES developer guide, "Permission policies for Mail Manager":
            // ingress endpoint CMK key policy.
            Purpose::IngressSecret => (Grantee::Ses, &["kms:Decrypt"]),
            // Same page, "Archiving encryption at rest with KMS CMK".
            Purpose::Archive => (
                Grantee::Ses,
                &["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            ),
            // Not documented for trust stores: reading encrypted contents
            // back needs decryption at least.
            Purpose::TrustStore => (Grantee::Ses, &["kms:Decrypt"]),
            // AWS KMS developer guide, "How Amazon SES uses AWS KMS".
            Purpose::ReceiptS3 => (Grantee::Ses, &["kms:Encrypt", "kms:GenerateDataKey"]),
            // Amazon S3 user guide, SSE-KMS: uploading an object encrypted
            // with a KMS key needs `kms:GenerateDataKey` on the key.
            Purpose::BucketBySes => (Grantee::Ses, &["kms:GenerateDataKey"]),
            Purpose::BucketByRole => (Grantee::AccountRoles, &["kms:GenerateDataKey"]),
        }
    }

    /// The condition values SES sends, given the key's partition, region and account.
    pub fn context(self, partition: &str, region: &str, account: &str) -> Vec<(String, Context)> {
        let exact = |k: &str, v: String| (k.to_string(), Context::Exact(v));
        match self {
            Purpose::IngressSecret => vec![
                exact(
                    "kms:viaservice",
                    format!("secretsmanager.{region}.amazonaws.com"),
                ),
                exact("aws:sourceaccount", account.to_string()),
                (
                    "aws:sourcearn".into(),
                    Context::Prefix(format!(
                        "arn:{partition}:ses:{region}:{account}:mailmanager-ingress-point/"
                    )),
                ),
            ],
            Purpose::ReceiptS3 => vec![
                exact(
                    "kms:encryptioncontext:aws:ses:source-account",
                    account.to_string(),
                ),
                (
                    "kms:encryptioncontext:aws:ses:rule-name".into(),
                    Context::Present,
                ),
                (
                    "kms:encryptioncontext:aws:ses:message-id".into(),
                    Context::Present,
                ),
            ],
            Purpose::BucketBySes | Purpose::BucketByRole => {
                vec![exact(
                    "kms:viaservice",
                    format!("s3.{region}.amazonaws.com"),
                )]
            }
            // "Archiving doesn't support confused deputy condition keys"
            // (SES developer guide, "Permission policies for Mail Manager").
            Purpose::Archive => [
                "aws:sourcearn",
                "aws:sourceaccount",
                "aws:sourceorgid",
                "aws:sourceorgpaths",
            ]
            .iter()
            .map(|k| (k.to_string(), Context::Absent))
            .collect(),
            Purpose::TrustStore => Vec::new(),
        }
    }

    /// The key policy statement to add, in words, for help text.
    pub fn statement(self) -> &'static str {
        match self {
            Purpose::IngressSecret => {
                "allow `ses.amazonaws.com` `kms:Decrypt` with `kms:ViaService` = `secretsmanager.REGION.amazonaws.com`, `aws:SourceAccount` = your account and `aws:SourceArn` like `arn:aws:ses:REGION:ACCOUNT:mailmanager-ingress-point/*`"
            }
            Purpose::Archive => {
                "allow `ses.amazonaws.com` `kms:Decrypt`, `kms:GenerateDataKey*` and `kms:DescribeKey` (archiving supports no `aws:SourceArn`/`aws:SourceAccount` condition); the identity that deploys also needs these actions through `kms:ViaService` = `ses.REGION.amazonaws.com`"
            }
            Purpose::TrustStore => {
                "SES documents no key policy for trust store keys; allow `ses.amazonaws.com` at least `kms:Decrypt`, and test the endpoint before relying on it"
            }
            Purpose::ReceiptS3 => {
                "allow `ses.amazonaws.com` `kms:Encrypt` and `kms:GenerateDataKey*` on the condition that `kms:EncryptionContext:aws:ses:source-account` is your account and `kms:EncryptionContext:aws:ses:rule-name` and `…:message-id` are present (or use `alias/aws/ses`)"
            }
            Purpose::BucketBySes => {
                "SES writes the objects with the bucket's default encryption: allow `ses.amazonaws.com` `kms:GenerateDataKey`"
            }
            Purpose::BucketByRole => {
                "the role the action runs as writes the objects: keep the default key policy statement that lets the account's IAM policies grant access (`arn:aws:iam::ACCOUNT:root`), or name the role, for `kms:GenerateDataKey`"
            }
        }
    }
}

/// Whether `key` is an AWS managed key's alias (`alias/aws/…`): its policy is
/// AWS's, and SES may use `aws/ses` without further steps.
pub(crate) fn is_aws_managed(key: &str) -> bool {
    key.contains(":alias/aws/")
}

/// Every use of a key of yours, in spec order.
pub(crate) fn key_uses(m: &Model) -> Vec<KeyUse> {
    let mut out = Vec::new();
    let mut push = |key: &str, ptr: String, what: String, purpose| {
        if !is_aws_managed(key) {
            out.push(KeyUse {
                key: key.to_string(),
                ptr,
                what,
                purpose,
            });
        }
    };
    for a in &m.archives {
        if let Some(k) = &a.kms_key {
            let what = format!("the archive `{}`", a.name);
            push(k, format!("{}/kms_key", a.ptr), what, Purpose::Archive);
        }
    }
    for i in &m.mail_manager.ingress {
        if let Some(IngressPassword::GenerateWithKey(g)) = &i.spec.password {
            let what = format!("the generated password of the ingress `{}`", i.name);
            let ptr = format!("{}/password/generate/kms_key", i.ptr);
            push(&g.generate.kms_key, ptr, what, Purpose::IngressSecret);
        }
        if let Some(k) = i.spec.trust_store.as_ref().and_then(|t| t.kms_key.as_ref()) {
            let what = format!("the trust store of the ingress `{}`", i.name);
            let ptr = format!("{}/trust_store/kms_key", i.ptr);
            push(k, ptr, what, Purpose::TrustStore);
        }
    }
    for rs in &m.mail_manager.rule_sets {
        for (n, rule) in rs.rules.iter().enumerate() {
            for (k, a) in rule.actions.iter().enumerate() {
                if let RuleAction::WriteToS3(x) = a
                    && let Some(key) = x.kms_key.as_ref().filter(|k| k.starts_with("arn:"))
                {
                    let what = format!("the `write_to_s3` action of the rule `{}`", rule.name);
                    let ptr = format!("{}/rules/{n}/actions/{k}/write_to_s3/kms_key", rs.ptr);
                    push(key, ptr, what, Purpose::BucketByRole);
                }
            }
        }
    }
    classic_uses(m, &mut push);
    out
}

fn classic_uses(m: &Model, push: &mut impl FnMut(&str, String, String, Purpose)) {
    let Some(c) = &m.receiving else { return };
    let mut ses_writes = std::collections::BTreeSet::new();
    for rs in &c.rule_sets {
        for (n, rule) in rs.rules.iter().enumerate() {
            for (k, a) in rule.actions.iter().enumerate() {
                let ReceiptAction::S3(s) = a else { continue };
                ses_writes.insert(s.bucket.clone());
                if let Some(key) = &s.kms_key {
                    let what = format!("the S3 action of the receipt rule `{}`", rule.name);
                    let ptr = format!("{}/rules/{n}/actions/{k}/s3/kms_key", rs.ptr);
                    push(key, ptr, what, Purpose::ReceiptS3);
                }
            }
        }
    }
    let role_writes: std::collections::BTreeSet<&str> = m
        .mail_manager
        .rule_sets
        .iter()
        .flat_map(|rs| rs.rules.iter().flat_map(|r| r.actions.iter()))
        .filter_map(|a| match a {
            RuleAction::WriteToS3(x) => Some(x.bucket.as_str()),
            _ => None,
        })
        .collect();
    for b in &c.buckets {
        let Some(key) = &b.kms_key else { continue };
        let ptr = format!("{}/kms_key", b.ptr);
        let what = format!("the bucket `{}`", b.name);
        if ses_writes.contains(&b.name) {
            push(key, ptr.clone(), what.clone(), Purpose::BucketBySes);
        }
        if role_writes.contains(b.name.as_str()) {
            push(key, ptr, what, Purpose::BucketByRole);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_managed_keys_need_nothing() {
        assert!(is_aws_managed(
            "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"
        ));
        assert!(!is_aws_managed(
            "arn:aws:kms:us-east-1:111122223333:alias/acme"
        ));
    }

    #[test]
    fn ingress_context_names_secrets_manager_and_the_ingress_points() {
        let c = Purpose::IngressSecret.context("aws", "eu-west-1", "111122223333");
        assert!(c.contains(&(
            "kms:viaservice".into(),
            Context::Exact("secretsmanager.eu-west-1.amazonaws.com".into())
        )));
        assert!(c.contains(&(
            "aws:sourcearn".into(),
            Context::Prefix("arn:aws:ses:eu-west-1:111122223333:mailmanager-ingress-point/".into())
        )));
    }
}
