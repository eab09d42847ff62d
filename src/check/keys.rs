//! Lints, keys and secrets of yours that SES must use: whether their policies
//! let it is not visible offline, so each use is a warning saying what the
//! policy must allow (MI4008 for KMS keys, MI4009 for secrets).
//! `check --live` reads the key policies (MI5007); secrets' policies are not
//! read.

use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::model::keys::key_uses;
use crate::spec::IngressPassword;

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for u in key_uses(m) {
        out.push(
            Diagnostic::error(
                Code::MI4008,
                format!(
                    "the KMS key of {} must let SES use it, which cannot be checked offline",
                    u.what
                ),
            )
            .path(u.ptr)
            .help(format!(
                "in the key policy, {}; run `mailinfra check --live` to read the policy",
                u.purpose.statement()
            )),
        );
    }
    for i in &m.mail_manager.ingress {
        if let Some(IngressPassword::Secret(_)) = &i.spec.password {
            out.push(secret_lint(
                &format!("the password secret of the ingress `{}`", i.name),
                format!("{}/password/secret", i.ptr),
                // SES developer guide, "Permission policies for Mail Manager",
                // ingress endpoint: both policies are required.
                "it must be encrypted with a customer managed key (not `aws/secretsmanager`) whose policy allows `ses.amazonaws.com` `kms:Decrypt` through `secretsmanager.REGION.amazonaws.com`, and its resource policy must allow `ses.amazonaws.com` `secretsmanager:GetSecretValue` for `arn:aws:ses:REGION:ACCOUNT:mailmanager-ingress-point/*`; or write `password: generate` and mailinfra creates both",
            ));
        }
    }
    for r in &m.mail_manager.relays {
        if r.secret.is_some() {
            out.push(secret_lint(
                &format!("the credentials secret of the relay `{}`", r.name),
                format!("{}/secret", r.ptr),
                // Same page, SMTP relay.
                "its resource policy must allow `ses.amazonaws.com` `secretsmanager:GetSecretValue` and `secretsmanager:DescribeSecret` for `arn:aws:ses:REGION:ACCOUNT:mailmanager-smtp-relay/*`, and a customer managed key encrypting it must allow `ses.amazonaws.com` `kms:Decrypt` and `kms:DescribeKey` through `secretsmanager.REGION.amazonaws.com`",
            ));
        }
    }
}

fn secret_lint(what: &str, ptr: String, help: &str) -> Diagnostic {
    Diagnostic::error(
        Code::MI4009,
        format!("{what} must let SES read it, which mailinfra cannot check"),
    )
    .path(ptr)
    .help(help)
}
