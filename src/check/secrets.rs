//! Checks, secrets and keys: every field that refers to a secret (BYODKIM
//! private keys, ingress passwords, relay credentials) holds a usable secret
//! name or ARN and never the secret itself; trust stores hold certificates and
//! revocation lists, never a private key; and every key or secret of yours
//! that SES must use gets a lint saying what its policy must allow, because
//! that cannot be seen offline (`check --live` reads the key policies).
//!
//! No diagnostic here repeats the value it judges: a value in a secret field
//! may be the secret.

use crate::diag::{Code, Diagnostic};
use crate::model::{Dkim, Model};
use crate::spec::IngressPassword;
use crate::values::{self, looks_like_key_material, pem_blocks};

/// Every secret and key rule, in order.
pub(crate) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    byodkim_keys(m, out);
    ingress_secrets(m, out);
    relay_secrets(m, out);
    trust_stores(m, out);
    super::keys::check(m, out);
}

/// Key material where a secret reference belongs: MI3104, without the value.
fn pasted(what: &str, ptr: String) -> Diagnostic {
    Diagnostic::error(
        Code::MI3104,
        format!("{what} holds key material where a secret reference belongs"),
    )
    .path(ptr)
    .help("store the value in AWS Secrets Manager and write the secret's name or ARN here; the value was not copied anywhere, but treat it as exposed if the spec was shared")
}

/// A reference that is not a usable secret name or ARN: MI3324.
fn unusable(what: &str, ptr: String, why: String) -> Diagnostic {
    Diagnostic::error(
        Code::MI3324,
        format!("{what} is not a usable secret reference"),
    )
    .path(ptr)
    .help(why)
}

fn byodkim_keys(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in &m.identities {
        let Dkim::Byodkim {
            private_key: Some(k),
            ptr,
            ..
        } = &id.dkim
        else {
            continue;
        };
        let what = format!("the BYODKIM private key reference of `{}`", id.domain);
        let at = format!("{ptr}/private_key");
        if looks_like_key_material(&k.secret) {
            out.push(pasted(&what, format!("{at}/secret")));
        } else if let Some(why) = values::secret_id_problem(&k.secret) {
            out.push(unusable(&what, format!("{at}/secret"), why));
        }
        if let Some(j) = &k.json_key {
            if looks_like_key_material(j) {
                out.push(pasted(&what, format!("{at}/json_key")));
            } else if let Some(why) = values::json_key_problem(j) {
                out.push(unusable(&what, format!("{at}/json_key"), why));
            }
        }
    }
}

/// A secret ARN Mail Manager is given (an ingress password, relay credentials).
fn arn_field(what: &str, arn: &str, ptr: String, out: &mut Vec<Diagnostic>) {
    if looks_like_key_material(arn) {
        out.push(pasted(what, ptr));
    } else if let Some(why) = values::secret_arn_problem(arn) {
        out.push(unusable(what, ptr, why));
    }
}

fn ingress_secrets(m: &Model, out: &mut Vec<Diagnostic>) {
    for i in &m.mail_manager.ingress {
        if let Some(IngressPassword::Secret(s)) = &i.spec.password {
            let what = format!("the password secret of the ingress `{}`", i.name);
            arn_field(&what, &s.secret, format!("{}/password/secret", i.ptr), out);
        }
    }
}

fn relay_secrets(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.mail_manager.relays {
        if let Some(s) = &r.secret {
            let what = format!("the credentials secret of the relay `{}`", r.name);
            arn_field(&what, s, format!("{}/secret", r.ptr), out);
        }
    }
}

/// Trust stores take `CERTIFICATE` blocks (`ca`) and `X509 CRL` blocks
/// (`crl`) only. A private key block is an inline secret (MI3104); anything
/// else is MI3325. Neither is repeated in the diagnostic.
fn trust_stores(m: &Model, out: &mut Vec<Diagnostic>) {
    for i in &m.mail_manager.ingress {
        let Some(ts) = &i.spec.trust_store else {
            continue;
        };
        let fields = [
            ("ca", Some(&ts.ca), "CERTIFICATE"),
            ("crl", ts.crl.as_ref(), "X509 CRL"),
        ];
        for (field, text, label) in fields {
            let Some(text) = text else { continue };
            let ptr = format!("{}/trust_store/{field}", i.ptr);
            let private = text.contains("PRIVATE KEY");
            let blocks = pem_blocks(text);
            if private {
                out.push(
                    Diagnostic::error(
                        Code::MI3104,
                        format!("the trust store `{field}` of the ingress `{}` holds a private key", i.name),
                    )
                    .path(ptr)
                    .help(format!("a trust store holds only the CA's public certificates (`{label}` blocks): remove the private key block, and treat the key as exposed if the spec was shared")),
                );
                continue;
            }
            let why = match &blocks {
                Err(why) => Some(why.clone()),
                Ok(b) => b
                    .iter()
                    .find(|b| b.label != label)
                    .map(|b| format!("it holds a `{}` block", b.label)),
            };
            if let Some(why) = why {
                out.push(
                    Diagnostic::error(
                        Code::MI3325,
                        format!("the trust store `{field}` of the ingress `{}` is not a bundle of `{label}` blocks", i.name),
                    )
                    .path(ptr)
                    .help(format!("{why}; `{field}` takes PEM `{label}` blocks only")),
                );
            }
        }
    }
}
