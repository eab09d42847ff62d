//! Secrets: references to AWS Secrets Manager secrets (a name or an ARN, and
//! a JSON key inside the secret), telling key material apart from such a
//! reference, and the PEM blocks a trust store may hold.
//!
//! Every reason returned here describes the value without repeating it: the
//! value may be a secret pasted where a reference belongs, and diagnostics end
//! up in terminals and CI logs.

/// Most characters in a secret name (the `Name` of `AWS::SecretsManager::Secret`
/// has `maxLength` 512 in the CloudFormation resource schema).
const MAX_NAME: usize = 512;

/// The characters of a secret name besides ASCII letters and digits: "The
/// secret name can contain ASCII letters, numbers, and the following
/// characters: /_+=.@-" (Secrets Manager `CreateSecret`, `Name`).
const NAME_EXTRA: &str = "/_+=.@-";

/// A run of base64 characters at least this long is taken for key material:
/// the shortest RSA key SES accepts for BYODKIM (1024 bits) is over 800
/// characters of base64, and no secret name or ARN segment is made of one
/// unbroken run of mixed-case letters and digits this long.
const BASE64_RUN: usize = 64;

/// A validated reference to a Secrets Manager secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecretRef {
    /// The secret's name or ARN, as written.
    pub(crate) id: String,
    /// The key inside a JSON secret, when the value is one field of it.
    pub(crate) json_key: Option<String>,
}

impl SecretRef {
    /// A reference to the secret `id` (a name or an ARN) and, optionally, one
    /// key of its JSON value; the reason when either is not usable.
    pub(crate) fn parse(id: &str, json_key: Option<&str>) -> Result<SecretRef, String> {
        if let Some(why) = secret_id_problem(id) {
            return Err(why);
        }
        if let Some(why) = json_key.and_then(json_key_problem) {
            return Err(why);
        }
        Ok(SecretRef {
            id: id.to_string(),
            json_key: json_key.map(str::to_string),
        })
    }

    /// The CloudFormation dynamic reference that resolves to the secret's
    /// value at deploy time:
    /// `{{resolve:secretsmanager:secret-id:SecretString:json-key}}` (AWS
    /// CloudFormation User Guide, "Get a secret or secret value from Secrets
    /// Manager"). [`SecretRef::parse`] has ruled out `:` in the JSON key and
    /// anything but the name characters in the id, so neither can end the
    /// reference early or add a segment.
    pub(crate) fn dynamic_reference(&self) -> String {
        let key = self
            .json_key
            .as_ref()
            .map(|k| format!(":{k}"))
            .unwrap_or_default();
        format!(
            "{{{{resolve:secretsmanager:{}:SecretString{key}}}}}",
            self.id
        )
    }
}

/// Whether `text` looks like key material rather than a name: a PEM header,
/// the words `PRIVATE KEY`, or a long unbroken run of base64.
pub(crate) fn looks_like_key_material(text: &str) -> bool {
    text.contains("-----BEGIN") || text.contains("PRIVATE KEY") || long_base64_run(text).is_some()
}

/// The byte range of the first run of base64 characters (`A-Z a-z 0-9 + /`,
/// `=` padding) at least [`BASE64_RUN`] long that mixes upper case, lower
/// case and digits, as key material does.
pub(crate) fn long_base64_run(text: &str) -> Option<std::ops::Range<usize>> {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        let mixed = run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_digit);
        if run.len() >= BASE64_RUN && mixed {
            return Some(start..i);
        }
    }
    None
}

/// Why `text` is not a usable secret id (a name or an ARN), if it is not.
pub(crate) fn secret_id_problem(text: &str) -> Option<String> {
    if text.starts_with("arn:") {
        return secret_arn_problem(text);
    }
    if looks_like_key_material(text) {
        return Some(key_material());
    }
    name_problem(text)
}

/// Why `text` is not a secret ARN,
/// `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`, if it is
/// not. Secrets Manager ends every secret's ARN with a hyphen and six random
/// characters after the name (`CreateSecret`, `Name`).
pub(crate) fn secret_arn_problem(text: &str) -> Option<String> {
    if looks_like_key_material(text) {
        return Some(key_material());
    }
    let form = "a secret ARN looks like `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf`";
    let parts: Vec<&str> = text.splitn(7, ':').collect();
    let [arn, partition, service, region, account, kind, name] = parts[..] else {
        return Some(form.into());
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if arn != "arn"
        || !["aws", "aws-cn", "aws-us-gov", "aws-eusc"].contains(&partition)
        || service != "secretsmanager"
        || !region_ok
        || !account_ok
        || kind != "secret"
    {
        return Some(form.into());
    }
    if let Some(why) = name_problem(name) {
        return Some(why);
    }
    let suffix_ok = name.len() > 7
        && name.as_bytes()[name.len() - 7] == b'-'
        && name[name.len() - 6..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric());
    if !suffix_ok {
        return Some("a secret ARN ends with the secret's name, a hyphen and the six characters Secrets Manager adds (`…:secret:NAME-AbCdEf`); copy the whole ARN from the secret's details".into());
    }
    None
}

/// Why `name` is not a Secrets Manager secret name, if it is not.
fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 {
        return Some("the secret name is empty".into());
    }
    if len > MAX_NAME {
        return Some(format!(
            "the secret name is {len} characters long; Secrets Manager allows at most {MAX_NAME}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || NAME_EXTRA.contains(*c)))
    {
        return Some(format!(
            "the secret name holds {}; only ASCII letters, digits and `/_+=.@-` are allowed",
            describe_char(c)
        ));
    }
    None
}

/// Why `key` cannot be the JSON key of a dynamic reference, if it cannot:
/// "This segment must not include the colon character (`:`)" (Secrets Manager
/// User Guide, "Get an AWS Secrets Manager secret in an AWS CloudFormation
/// resource"); braces would end the reference, and a final backslash makes it
/// unresolvable. Keys are kept to letters, digits and `_-.+=@/`.
pub(crate) fn json_key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("the JSON key is empty".into());
    }
    if looks_like_key_material(key) {
        return Some(key_material());
    }
    let len = key.chars().count();
    if len > 256 {
        return Some(format!(
            "the JSON key is {len} characters long; keep it to 256"
        ));
    }
    key.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.+=@/".contains(*c)))
        .map(|c| {
            format!(
                "the JSON key holds {}; a dynamic reference takes only letters, digits and `_-.+=@/` there",
                describe_char(c)
            )
        })
}

fn key_material() -> String {
    "it holds key material (a PEM block or a long base64 value), not a secret's name or ARN".into()
}

/// A character for a message: printable ones in backticks, the others by name.
fn describe_char(c: char) -> String {
    match c {
        '\n' => "a line break".into(),
        '\r' => "a carriage return".into(),
        '\t' => "a tab".into(),
        ' ' => "a space".into(),
        '`' => "a backtick".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// One PEM block: its label (`CERTIFICATE`, `X509 CRL`, `PRIVATE KEY`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub(crate) label: String,
}

/// The PEM blocks of `text` (RFC 7468 encapsulation boundaries), or why it is
/// not made of PEM blocks only: text outside a block, a block that is not
/// closed or closed with another label.
pub(crate) fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        let begin = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"));
        let end = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"));
        match (&open, begin, end) {
            (None, Some(label), _) => open = Some(label.to_string()),
            (None, None, _) => {
                return Err("it holds text outside PEM blocks".into());
            }
            (Some(label), _, Some(closing)) if closing == label => {
                blocks.push(PemBlock {
                    label: label.clone(),
                });
                open = None;
            }
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err("a PEM block is not closed by an END line of its own label".into());
            }
            (Some(_), None, None) => {}
        }
    }
    if open.is_some() {
        return Err("a PEM block has no END line".into());
    }
    if blocks.is_empty() {
        return Err("it holds no PEM block".into());
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";

    #[test]
    fn names_and_arns() {
        assert_eq!(secret_id_problem("acme/prod/dkim-key"), None);
        assert_eq!(secret_id_problem("a+b=c.d@e_f-g"), None);
        assert_eq!(
            secret_id_problem(
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/relay-AbCdEf"
            ),
            None
        );
        assert_eq!(
            secret_id_problem(
                "arn:aws-eusc:secretsmanager:eusc-de-east-1:111122223333:secret:x-AbCdEf"
            ),
            None
        );
        assert!(secret_id_problem("").unwrap().contains("empty"));
        assert!(
            secret_id_problem(&"a".repeat(513))
                .unwrap()
                .contains("at most 512")
        );
        assert_eq!(secret_id_problem(&"a".repeat(512)), None);
        // An ARN without the six characters Secrets Manager appends.
        assert!(
            secret_id_problem("arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/relay")
                .unwrap()
                .contains("six characters")
        );
        for bad in [
            "arn:aws:kms:us-east-1:111122223333:secret:x-AbCdEf",
            "arn:aws:secretsmanager:us-east-1:1234:secret:x-AbCdEf",
            "arn:aws:secretsmanager::111122223333:secret:x-AbCdEf",
            "arn:aws:secretsmanager:us-east-1:111122223333:key:x-AbCdEf",
            "arn:gcp:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf",
        ] {
            assert!(secret_id_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn hostile_ids_are_refused_without_repeating_them() {
        for (bad, what) in [
            ("a}}b", "`}`"),
            ("a:b", "`:`"),
            ("a\nb", "a line break"),
            ("a b", "a space"),
            ("x{{resolve:ssm:p}}", "`{`"),
            ("pass`word", "a backtick"),
            (
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:a}}b-AbCdEf",
                "`}`",
            ),
        ] {
            let why = secret_id_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(why.contains(what), "{bad:?}: {why}");
            assert!(!why.contains(bad), "{why}");
        }
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----");
        for bad in [pem.as_str(), KEY_BODY, "my PRIVATE KEY"] {
            let why = secret_id_problem(bad).unwrap();
            assert!(why.contains("key material"), "{why}");
            assert!(!why.contains(KEY_BODY), "{why}");
        }
    }

    #[test]
    fn json_keys_cannot_break_the_dynamic_reference() {
        assert_eq!(json_key_problem("private_key"), None);
        for bad in ["a:b", "a}}", "a\\", "a b", "a\nb", ""] {
            assert!(json_key_problem(bad).is_some(), "{bad:?}");
        }
        assert!(json_key_problem(KEY_BODY).unwrap().contains("key material"));
    }

    #[test]
    fn dynamic_references() {
        let r = SecretRef::parse("acme/dkim", Some("private")).unwrap();
        assert_eq!(
            r.dynamic_reference(),
            "{{resolve:secretsmanager:acme/dkim:SecretString:private}}"
        );
        let r = SecretRef::parse("acme/dkim", None).unwrap();
        assert_eq!(
            r.dynamic_reference(),
            "{{resolve:secretsmanager:acme/dkim:SecretString}}"
        );
        assert!(SecretRef::parse("a}}b", None).is_err());
        assert!(SecretRef::parse("ok", Some("a:b")).is_err());
    }

    #[test]
    fn key_material_is_told_from_names() {
        assert!(long_base64_run(KEY_BODY).is_some());
        assert!(looks_like_key_material(&format!("x {KEY_BODY} y")));
        // Long names and paths are not key material.
        assert!(!looks_like_key_material(
            "acme/production/mailinfra/identities/example.com/dkim-private-key"
        ));
        assert!(!looks_like_key_material(&"a".repeat(100)));
        assert!(!looks_like_key_material("AbCdEf0123"));
    }

    #[test]
    fn pem_blocks_are_read_strictly() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let two = format!("{cert}\n{cert}");
        let labels: Vec<String> = pem_blocks(&two)
            .unwrap()
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["CERTIFICATE", "CERTIFICATE"]);
        let key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";
        assert_eq!(pem_blocks(key).unwrap()[0].label, "PRIVATE KEY");
        assert!(pem_blocks("MIIB").is_err());
        assert!(pem_blocks("").is_err());
        assert!(pem_blocks("-----BEGIN CERTIFICATE-----\nMIIB\n").is_err());
        assert!(
            pem_blocks("-----BEGIN CERTIFICATE-----\nMIIB\n-----END PRIVATE KEY-----").is_err()
        );
        assert!(pem_blocks(&format!("{cert}trailing text")).is_err());
    }
}
