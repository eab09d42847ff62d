//! Key policies, judged: does a KMS key policy (the JSON `kms:GetKeyPolicy`
//! returns) let the principal that uses a key perform the actions it needs,
//! under the conditions SES sends?
//!
//! Input: the policy text, who uses the key ([`Grantee`]), the actions and the
//! condition values ([`Context`]). Output: the actions the policy does not
//! allow. An `Allow` statement counts when its principal, action and
//! conditions match; a `Deny` statement refuses when they match for sure.
//! Conditions mailinfra cannot evaluate (keys it does not model, operators it
//! does not know) count as holding for an `Allow` and not holding for a
//! `Deny`: an unclear policy is never reported as refusing.

use serde_json::Value;

use crate::model::keys::{Context, Grantee};

/// Who the key's account and partition are, for matching principals.
pub struct Owner<'a> {
    pub partition: &'a str,
    pub account: &'a str,
}

/// Three-valued truth for conditions mailinfra may not be able to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    Unknown,
}

/// The actions of `actions` the policy does not allow `grantee`, or why the
/// policy cannot be read.
pub fn refused(
    policy: &str,
    grantee: Grantee,
    owner: &Owner<'_>,
    actions: &[&str],
    context: &[(String, Context)],
) -> Result<Vec<String>, String> {
    let doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err("the key policy has no `Statement`".into()),
    };
    let mut out = Vec::new();
    for action in actions {
        let mut allowed = false;
        let mut denied = false;
        for st in &statements {
            if !principal_matches(st, grantee, owner) || !action_matches(st, action) {
                continue;
            }
            let holds = conditions(st.get("Condition"), context);
            match st.get("Effect").and_then(Value::as_str) {
                Some("Allow") if holds != Truth::No => allowed = true,
                Some("Deny") if holds == Truth::Yes => denied = true,
                _ => {}
            }
        }
        if !allowed || denied {
            out.push((*action).to_string());
        }
    }
    Ok(out)
}

/// Strings of a policy element that is a string or a list of strings.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn principal_matches(st: &Value, grantee: Grantee, owner: &Owner<'_>) -> bool {
    let Some(p) = st.get("Principal") else {
        return false;
    };
    if p.as_str() == Some("*") {
        return true;
    }
    let aws = strings(p.get("AWS"));
    if aws.contains(&"*") {
        return true;
    }
    match grantee {
        Grantee::Ses => strings(p.get("Service")).contains(&"ses.amazonaws.com"),
        Grantee::AccountRoles => {
            let root = format!("arn:{}:iam::{}:root", owner.partition, owner.account);
            aws.iter().any(|a| *a == root || *a == owner.account)
        }
    }
}

fn action_matches(st: &Value, action: &str) -> bool {
    if let Some(not) = st.get("NotAction") {
        return !strings(Some(not)).iter().any(|p| glob(p, action, true));
    }
    strings(st.get("Action"))
        .iter()
        .any(|p| glob(p, action, true))
}

/// IAM's `*` and `?` wildcards; actions compare case-insensitively.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative matching with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Whether every condition of a statement holds.
fn conditions(block: Option<&Value>, context: &[(String, Context)]) -> Truth {
    let Some(Value::Object(ops)) = block else {
        return Truth::Yes;
    };
    let mut all = Truth::Yes;
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            return Truth::Unknown;
        };
        for (key, values) in keys {
            let values: Vec<String> = match values {
                Value::Array(a) => a.iter().map(scalar_text).collect(),
                v => vec![scalar_text(v)],
            };
            let found = context
                .iter()
                .find(|(k, _)| *k == key.to_lowercase())
                .map(|(_, v)| v);
            match condition(op, found, &values) {
                Truth::No => return Truth::No,
                Truth::Unknown => all = Truth::Unknown,
                Truth::Yes => {}
            }
        }
    }
    all
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One condition operator over one key.
fn condition(op: &str, found: Option<&Context>, values: &[String]) -> Truth {
    let op = op
        .strip_prefix("ForAnyValue:")
        .or_else(|| op.strip_prefix("ForAllValues:"))
        .unwrap_or(op);
    let (op, if_exists) = match op.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let truth = |b: bool| if b { Truth::Yes } else { Truth::No };
    match (op, found) {
        ("Null", Some(Context::Absent)) => truth(values.iter().any(|v| v == "true")),
        ("Null", Some(_)) => truth(values.iter().any(|v| v == "false")),
        (_, None) => Truth::Unknown,
        (_, Some(Context::Absent)) => truth(if_exists),
        (_, Some(Context::Present)) => Truth::Unknown,
        ("StringEquals" | "ArnEquals", Some(Context::Exact(v))) => {
            truth(values.iter().any(|x| x == v))
        }
        ("StringEqualsIgnoreCase", Some(Context::Exact(v))) => {
            truth(values.iter().any(|x| x.eq_ignore_ascii_case(v)))
        }
        ("StringLike" | "ArnLike", Some(Context::Exact(v))) => {
            truth(values.iter().any(|x| glob(x, v, false)))
        }
        ("StringNotEquals" | "ArnNotEquals", Some(Context::Exact(v))) => {
            truth(values.iter().all(|x| x != v))
        }
        ("StringLike" | "ArnLike", Some(Context::Prefix(p))) => {
            if values.iter().any(|x| covers(x, p)) {
                Truth::Yes
            } else if values.iter().any(|x| x.starts_with(p.as_str())) {
                // A pattern naming one resource: it may be the right one.
                Truth::Unknown
            } else {
                Truth::No
            }
        }
        ("StringEquals" | "ArnEquals", Some(Context::Prefix(p))) => {
            if values.iter().any(|x| x.starts_with(p.as_str())) {
                Truth::Unknown
            } else {
                Truth::No
            }
        }
        _ => Truth::Unknown,
    }
}

/// Whether the wildcard pattern matches every value that starts with `prefix`.
fn covers(pattern: &str, prefix: &str) -> bool {
    let Some(star) = pattern.find('*') else {
        return false;
    };
    glob(&pattern[..star], &prefix[..prefix.len().min(star)], false)
        && prefix.len() >= star
        && pattern[star..].chars().all(|c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keys::Purpose;

    const OWNER: Owner<'static> = Owner {
        partition: "aws",
        account: "111122223333",
    };

    fn judge(policy: Value, purpose: Purpose) -> Vec<String> {
        let (grantee, actions) = purpose.needs();
        let context = purpose.context("aws", "us-east-1", "111122223333");
        refused(&policy.to_string(), grantee, &OWNER, actions, &context).unwrap()
    }

    fn root() -> Value {
        serde_json::json!({ "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::111122223333:root" }, "Action": "kms:*", "Resource": "*" })
    }

    #[test]
    fn the_documented_ingress_statement_allows_ses() {
        let policy = serde_json::json!({ "Statement": [root(), {
            "Effect": "Allow", "Principal": { "Service": "ses.amazonaws.com" }, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {
                "StringEquals": { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "aws:SourceAccount": "111122223333" },
                "ArnLike": { "aws:SourceArn": "arn:aws:ses:us-east-1:111122223333:mailmanager-ingress-point/*" }
            }
        }]});
        assert!(judge(policy, Purpose::IngressSecret).is_empty());
    }

    #[test]
    fn the_default_key_policy_does_not_allow_ses() {
        let policy = serde_json::json!({ "Statement": [root()] });
        assert_eq!(
            judge(policy.clone(), Purpose::IngressSecret),
            ["kms:Decrypt"]
        );
        // ... but lets the account's roles use the key.
        assert!(judge(policy, Purpose::BucketByRole).is_empty());
    }

    #[test]
    fn wrong_conditions_and_denials_refuse() {
        let other_region = serde_json::json!({ "Statement": [{
            "Effect": "Allow", "Principal": { "Service": ["ses.amazonaws.com"] }, "Action": ["kms:Decrypt"], "Resource": "*",
            "Condition": { "StringEquals": { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } }
        }]});
        assert_eq!(judge(other_region, Purpose::IngressSecret), ["kms:Decrypt"]);
        let relay_only = serde_json::json!({ "Statement": [{
            "Effect": "Allow", "Principal": { "Service": "ses.amazonaws.com" }, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": { "ArnLike": { "aws:SourceArn": "arn:aws:ses:us-east-1:111122223333:mailmanager-smtp-relay/*" } }
        }]});
        assert_eq!(judge(relay_only, Purpose::IngressSecret), ["kms:Decrypt"]);
        let denied = serde_json::json!({ "Statement": [
            { "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*" },
            { "Effect": "Deny", "Principal": { "Service": "ses.amazonaws.com" }, "Action": "kms:GenerateDataKey*", "Resource": "*" }
        ]});
        assert_eq!(judge(denied, Purpose::Archive), ["kms:GenerateDataKey"]);
    }

    #[test]
    fn archive_statements_must_not_use_source_conditions() {
        // Archiving sends no `aws:SourceAccount`: a statement that requires it never holds.
        let policy = serde_json::json!({ "Statement": [{
            "Effect": "Allow", "Principal": { "Service": "ses.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*",
            "Condition": { "StringEquals": { "aws:SourceAccount": "111122223333" } }
        }]});
        assert_eq!(judge(policy.clone(), Purpose::Archive).len(), 3);
        let mut plain = policy;
        plain["Statement"][0]
            .as_object_mut()
            .unwrap()
            .remove("Condition");
        assert!(judge(plain, Purpose::Archive).is_empty());
    }

    #[test]
    fn receipt_rule_statements_with_the_documented_context_allow() {
        let policy = serde_json::json!({ "Statement": {
            "Effect": "Allow", "Principal": { "Service": "ses.amazonaws.com" }, "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {
                "Null": { "kms:EncryptionContext:aws:ses:rule-name": "false", "kms:EncryptionContext:aws:ses:message-id": "false" },
                "StringEquals": { "kms:EncryptionContext:aws:ses:source-account": "111122223333" }
            }
        }});
        assert!(judge(policy, Purpose::ReceiptS3).is_empty());
    }

    #[test]
    fn unknown_conditions_count_as_holding_for_allow_only() {
        let policy = serde_json::json!({ "Statement": [
            { "Effect": "Allow", "Principal": { "Service": "ses.amazonaws.com" }, "Action": "kms:Decrypt", "Resource": "*",
              "Condition": { "IpAddress": { "aws:SourceIp": "10.0.0.0/8" } } },
            { "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
              "Condition": { "Bool": { "aws:SecureTransport": "false" } } }
        ]});
        assert!(judge(policy, Purpose::TrustStore).is_empty());
        assert!(refused("not json", Grantee::Ses, &OWNER, &["kms:Decrypt"], &[]).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("kms:GenerateDataKey*", "kms:GenerateDataKey", true));
        assert!(glob("kms:*", "KMS:Decrypt", true));
        assert!(!glob("kms:Encrypt", "kms:Decrypt", true));
        assert!(glob("a*b*c", "axxbyyc", false));
        assert!(!glob("a*b", "axxbyyc", false));
        assert!(covers(
            "arn:aws:ses:us-east-1:1:mailmanager-ingress-point/*",
            "arn:aws:ses:us-east-1:1:mailmanager-ingress-point/"
        ));
        assert!(covers(
            "arn:aws:ses:*",
            "arn:aws:ses:us-east-1:1:mailmanager-ingress-point/"
        ));
        assert!(!covers(
            "arn:aws:ses:us-east-1:1:mailmanager-smtp-relay/*",
            "arn:aws:ses:us-east-1:1:mailmanager-ingress-point/"
        ));
    }
}
