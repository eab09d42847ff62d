//! Secrets end to end: key material pasted into a spec is refused and never
//! printed (human, JSON or GitHub output), hostile secret references never
//! reach a template, and generated ingress passwords are encrypted with a KMS
//! key whose policy lets Mail Manager decrypt them.

use crate::common;

/// The body lines of a private key, as someone might paste it.
const KEY_LINES: [&str; 3] = [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
];

fn pem() -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
        KEY_LINES.join("\n")
    )
}

/// A spec with the key pasted into every field that takes a secret or a
/// certificate, in every YAML form.
fn leaky_spec() -> String {
    let block: String = pem().lines().map(|l| format!("        {l}\n")).collect();
    let ca_block: String = pem().lines().map(|l| format!("          {l}\n")).collect();
    let escaped = pem().replace('\n', "\\n");
    let one_line = KEY_LINES.concat();
    format!(
        r#"version: 1
project: p
regions: {{ primary: us-east-1 }}
dns: {{ example.com: external, example.org: external, example.net: external }}
identities:
  example.com:
    dkim: byodkim
    byodkim:
      selector: s1
      private_key: |
{block}  example.org:
    dkim: byodkim
    byodkim: {{ selector: s1, private_key: {{ secret: "{escaped}" }} }}
  example.net:
    dkim: byodkim
    byodkim: {{ selector: s1, private_key: {{ secret: acme/dkim, json_key: "{one_line}" }} }}
mail_manager:
  relays:
    exchange: {{ host: mail.example.com, port: 587, secret: "{one_line}" }}
  traffic_policies:
    tp: {{ default: deny, statements: [ {{ deny: [ {{ tls: {{ below: "1.2" }} }} ] }}, {{ allow: [ {{ recipient: {{ ends_with: "@example.com" }} }} ] }} ] }}
  rule_sets:
    rs: {{ rules: [ {{ name: drop, actions: [ {{ drop: true }} ] }} ] }}
  ingress:
    apps: {{ type: auth, password: "{one_line}", traffic_policy: tp, rule_set: rs, tls: required }}
    smtp: {{ type: auth, password: {{ secret: "{escaped}" }}, traffic_policy: tp, rule_set: rs, tls: required }}
    partners:
      type: mtls
      traffic_policy: tp
      rule_set: rs
      tls: required
      trust_store:
        ca: |
{ca_block}"#
    )
}

/// The spec with the plain `password` (a schema error, which stops before
/// the checks) replaced, so that every other field is judged.
fn leaky_spec_past_the_schema() -> String {
    leaky_spec().replace(
        &format!("password: \"{}\"", KEY_LINES.concat()),
        "password: generate",
    )
}

#[test]
fn validate_never_prints_a_pasted_private_key() {
    let dir = common::scratch();
    let spec = dir.path().join("mailinfra.yaml");
    for (text, code) in [
        (leaky_spec(), "MI1104"),
        (leaky_spec_past_the_schema(), "MI3104"),
    ] {
        std::fs::write(&spec, text).unwrap();
        for format in ["human", "json", "github"] {
            let o = common::run(
                &["-f", spec.to_str().unwrap(), "validate", "--format", format],
                dir.path(),
            );
            assert!(!o.status.success(), "{format}: the spec is refused");
            let all = common::text(&o.stdout) + &common::text(&o.stderr);
            for line in KEY_LINES {
                // Any 16 characters of the key would be a leak, not only the whole line.
                for piece in line.as_bytes().chunks(16) {
                    let piece = std::str::from_utf8(piece).unwrap();
                    assert!(
                        !all.contains(piece),
                        "{format}: `{piece}` of the key is printed:\n{all}"
                    );
                }
            }
            assert!(all.contains(code), "{format}: {all}");
        }
    }
}

#[test]
fn every_secret_field_refuses_the_key_after_the_schema() {
    // Past the schema, every field is judged: each refuses the key.
    let dir = common::scratch();
    let spec = dir.path().join("mailinfra.yaml");
    std::fs::write(&spec, leaky_spec_past_the_schema()).unwrap();
    let o = common::run(
        &["-f", spec.to_str().unwrap(), "validate", "--format", "json"],
        dir.path(),
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut got: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("MI3104", "/identities/example.com/byodkim/private_key"),
        (
            "MI3104",
            "/identities/example.net/byodkim/private_key/json_key",
        ),
        (
            "MI3104",
            "/identities/example.org/byodkim/private_key/secret",
        ),
        ("MI3104", "/mail_manager/ingress/partners/trust_store/ca"),
        ("MI3104", "/mail_manager/ingress/smtp/password/secret"),
        ("MI3104", "/mail_manager/relays/exchange/secret"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(c, p)| (c.to_string(), p.to_string()))
        .collect();
    assert_eq!(got, want, "{}", common::text(&o.stdout));
}

#[test]
fn hostile_secret_references_never_reach_a_template() {
    for hostile in [
        "acme/dkim}}{{resolve:ssm:other",
        "acme:dkim",
        "acme/dkim\\nX",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:x}}-AbCdEf",
    ] {
        let dir = common::scratch();
        let spec = dir.path().join("mailinfra.yaml");
        std::fs::write(
            &spec,
            format!(
                "version: 1\nproject: p\nregions: {{ primary: us-east-1 }}\ndns: {{ example.com: external }}\nidentities:\n  example.com:\n    dkim: byodkim\n    byodkim: {{ selector: s1, private_key: {{ secret: \"{hostile}\", json_key: \"k\" }} }}\n"
            ),
        )
        .unwrap();
        let out = dir.path().join("out");
        let o = common::run(
            &[
                "-f",
                spec.to_str().unwrap(),
                "build",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        let all = common::text(&o.stdout) + &common::text(&o.stderr);
        assert!(!o.status.success(), "{hostile}: built:\n{all}");
        assert!(all.contains("MI3324"), "{hostile}: {all}");
        assert!(!out.exists(), "{hostile}: templates were written");
    }
}

fn build(spec: &str) -> serde_json::Value {
    let dir = common::scratch();
    let f = dir.path().join("mailinfra.yaml");
    std::fs::write(&f, spec).unwrap();
    let out = dir.path().join("out");
    let o = common::run(
        &[
            "-f",
            f.to_str().unwrap(),
            "build",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let t = std::fs::read_to_string(out.join("p-us-east-1-mail-manager.template.json")).unwrap();
    serde_json::from_str(&t).unwrap()
}

fn auth_spec(password: &str) -> String {
    format!(
        r#"version: 1
project: p
regions: {{ primary: us-east-1 }}
dns: {{ example.com: {{ route53_zone_id: Z0123456789ABCDEFGHIJ }} }}
mail_manager:
  traffic_policies:
    tp: {{ default: deny, statements: [ {{ deny: [ {{ tls: {{ below: "1.2" }} }} ] }}, {{ allow: [ {{ recipient: {{ ends_with: "@example.com" }} }} ] }} ] }}
  rule_sets:
    rs: {{ rules: [ {{ name: drop, actions: [ {{ drop: true }} ] }} ] }}
  ingress:
    a: {{ type: auth, password: {password}, traffic_policy: tp, rule_set: rs, tls: required }}
    b: {{ type: auth, password: {password}, traffic_policy: tp, rule_set: rs, tls: required }}
"#
    )
}

#[test]
fn generated_ingress_passwords_are_encrypted_with_a_key_ses_may_use() {
    let t = build(&auth_spec("generate"));
    let r = &t["Resources"];
    let key = &r["GeneratedSecretsKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["UpdateReplacePolicy"], "Retain");
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    let ses = statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "ses.amazonaws.com")
        .expect("a statement for SES");
    assert_eq!(ses["Action"], "kms:Decrypt");
    let c = &ses["Condition"];
    assert_eq!(
        c["StringEquals"]["kms:ViaService"]["Fn::Sub"],
        "secretsmanager.${AWS::Region}.amazonaws.com"
    );
    assert_eq!(
        c["StringEquals"]["aws:SourceAccount"]["Ref"],
        "AWS::AccountId"
    );
    assert!(
        c["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .ends_with(":mailmanager-ingress-point/*")
    );
    assert_eq!(
        r["GeneratedSecretsKeyAlias"]["Properties"]["TargetKeyId"]["Ref"],
        "GeneratedSecretsKey"
    );
    // One key for both endpoints' passwords.
    for secret in ["IngressAPassword", "IngressBPassword"] {
        assert_eq!(
            r[secret]["Properties"]["KmsKeyId"],
            serde_json::json!({ "Fn::GetAtt": ["GeneratedSecretsKey", "Arn"] })
        );
    }
    let keys = r
        .as_object()
        .unwrap()
        .values()
        .filter(|v| v["Type"] == "AWS::KMS::Key")
        .count();
    assert_eq!(keys, 1);
}

#[test]
fn a_generated_password_with_your_key_uses_it_and_adds_no_key() {
    let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let t = build(&auth_spec(&format!(
        "{{ generate: {{ kms_key: \"{arn}\" }} }}"
    )));
    let r = &t["Resources"];
    assert!(r.get("GeneratedSecretsKey").is_none());
    assert_eq!(r["IngressAPassword"]["Properties"]["KmsKeyId"], arn);
    assert_eq!(
        r["IngressAPasswordPolicy"]["Type"],
        "AWS::SecretsManager::ResourcePolicy"
    );
}
