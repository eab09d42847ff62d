//! IAM at any size: every generated policy within IAM's limits (split into
//! managed policies where needed, or rejected at validate with MI3114),
//! grants that name what the spec names and no wildcard it did not write,
//! and cross-account trust with the conditions the spec writes.

use crate::common;

use std::collections::BTreeSet;

use crate::specs::isv_spec_with_role;
use mailinfra::iam;
use mailinfra::pipeline::{self, Built, Checked, Judge};
use serde_json::Value;

fn checked(text: String) -> Checked {
    let doc = mailinfra::load::Document::parse("iam.yaml", text).expect("parses");
    pipeline::check_document(doc, Judge::default())
}

fn build(text: String) -> Built {
    let c = checked(text);
    let model = c
        .model
        .as_ref()
        .unwrap_or_else(|| panic!("the spec has errors: {:?}", c.diagnostics));
    pipeline::build(model, &c.spec_hash, None).expect("builds")
}

fn templates(built: &Built) -> Vec<(String, Value)> {
    built
        .artifacts
        .iter()
        .map(|a| {
            (
                a.entry.name.clone(),
                serde_json::from_str(&a.body).expect("JSON"),
            )
        })
        .collect()
}

/// Every role of every stack within IAM's limits, and no identity wildcard
/// (the specs here never write one for an identity).
fn assert_iam_within_limits(built: &Built) {
    for (name, t) in templates(built) {
        let resources = t["Resources"].as_object().expect("resources");
        for (role, sizes) in iam::role_sizes(resources) {
            assert_eq!(sizes.problem(), None, "{name}: {role}: {sizes:?}");
        }
        let body = serde_json::to_string(&t).unwrap();
        assert!(
            !body.contains(":identity/*"),
            "{name}: an identity wildcard"
        );
    }
}

/// Every `Fn::Sub` ARN a role is granted, across its inline and managed policies.
fn granted(resources: &serde_json::Map<String, Value>, role: &str) -> BTreeSet<String> {
    let mut docs: Vec<&Value> = Vec::new();
    let p = &resources[role]["Properties"];
    for x in p["Policies"].as_array().into_iter().flatten() {
        docs.push(&x["PolicyDocument"]);
    }
    for r in p["ManagedPolicyArns"].as_array().into_iter().flatten() {
        let id = r["Ref"].as_str().expect("a Ref to a managed policy");
        docs.push(&resources[id]["Properties"]["PolicyDocument"]);
    }
    let mut out = BTreeSet::new();
    for d in docs {
        for s in d["Statement"].as_array().unwrap() {
            for r in s["Resource"].as_array().into_iter().flatten() {
                if let Some(arn) = r["Fn::Sub"].as_str() {
                    out.insert(arn.to_string());
                }
            }
        }
    }
    out
}

fn arn(region: &str, identity: &str) -> String {
    format!("arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/{identity}")
}

#[test]
fn a_hundred_domains_in_two_regions_split_the_role_into_managed_policies() {
    let built = build(isv_spec_with_role(100, true, ""));
    assert_iam_within_limits(&built);
    let all = templates(&built);
    let (_, primary) = all
        .iter()
        .find(|(n, _)| n == "isv-us-east-1-sending")
        .expect("the primary stack");
    let resources = primary["Resources"].as_object().unwrap();
    let role = &resources["RoleEveryone"]["Properties"];
    let managed = role["ManagedPolicyArns"]
        .as_array()
        .expect("managed policies");
    assert!(!managed.is_empty() && managed.len() <= 10);
    // Every identity, in both regions, exactly as the spec names them.
    let names = granted(resources, "RoleEveryone");
    for i in 0..100 {
        let d = crate::specs::tenant(i);
        for region in ["us-east-1", "eu-west-1"] {
            assert!(names.contains(&arn(region, &d)), "{d} in {region}");
        }
    }
    assert!(names.contains(&arn("eu-west-1", "isv.io")));
    let dir = common::scratch();
    let path = dir.path().join("primary.json");
    std::fs::write(&path, serde_json::to_string_pretty(primary).unwrap()).unwrap();
    common::cfn_lint(&[(path, "us-east-1".into())]);
}

#[test]
fn a_role_beyond_iam_limits_fails_validation_naming_it() {
    let c = checked(isv_spec_with_role(1_000, true, ""));
    let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let d = errors[0];
    assert_eq!(d.code, "MI3114");
    assert!(d.message.contains("`everyone`"), "{}", d.message);
    assert!(d.message.contains("71,680"), "{}", d.message);
    assert!(d.span.is_some());
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("identities: \"*\""),
        "{:?}",
        d.help
    );
    // `validate` says so, at the role's place in the file, and exits 1.
    let dir = common::scratch();
    let text = isv_spec_with_role(1_000, true, "");
    std::fs::write(dir.path().join("mailinfra.yaml"), &text).unwrap();
    let out = common::run(&["validate"], dir.path());
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = text
        .lines()
        .position(|l| l.starts_with("    everyone:"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("mailinfra.yaml:{line}:5: error[MI3114]")),
        "{stderr}"
    );
    // Written out by the user, `"*"` is theirs: the same topology builds.
    let built = build(isv_spec_with_role(1_000, true, "\"*\""));
    assert_iam_within_limits(&built);
    // A list the role can hold builds too.
    let built = build(isv_spec_with_role(
        1_000,
        true,
        "[isv.io, t00000.mail.isv.io, c00001.customers.test]",
    ));
    assert_iam_within_limits(&built);
}

/// Each shard's helper role is granted every identity its custom resources
/// act on, by name, and nothing else; at 1,000 replicated domains the
/// secondary side needs several shards for it.
#[test]
fn helper_roles_name_every_identity_of_their_shard_and_only_those() {
    let built = build(isv_spec_with_role(1_000, true, "\"*\""));
    let mut shards = 0;
    for (name, t) in templates(&built) {
        let resources = t["Resources"].as_object().unwrap();
        if !resources.contains_key("SesCustomResourceRole") {
            continue;
        }
        shards += 1;
        let region = if name.starts_with("isv-us-east-1") {
            "us-east-1"
        } else {
            "eu-west-1"
        };
        let mut expected = BTreeSet::new();
        for r in resources.values() {
            let p = &r["Properties"];
            match r["Type"].as_str() {
                Some("Custom::SesReplicaIdentity") => {
                    let d = p["Identity"].as_str().unwrap();
                    expected.insert(arn(region, d));
                    expected.insert(arn("us-east-1", d));
                }
                Some("Custom::SesIdentityPolicy") => {
                    let id = p["Identity"]["Ref"].as_str().unwrap();
                    let d = resources[id]["Properties"]["EmailIdentity"]
                        .as_str()
                        .unwrap();
                    expected.insert(arn(region, d));
                }
                _ => {}
            }
        }
        assert_eq!(
            granted(resources, "SesCustomResourceRole"),
            expected,
            "{name}"
        );
    }
    let secondary = built
        .artifacts
        .iter()
        .filter(|a| a.entry.name.starts_with("isv-eu-west-1-sending"))
        .count();
    assert!(secondary >= 3, "{secondary} secondary stacks");
    assert!(shards >= secondary);
    assert_iam_within_limits(&built);
}

#[test]
fn mail_manager_send_and_bounce_roles_name_the_identities_of_the_spec() {
    let spec = common::root().join("tests/fixtures/valid/301-department-controls.yaml");
    let built = build(std::fs::read_to_string(spec).unwrap());
    assert_iam_within_limits(&built);
    let all = templates(&built);
    let (_, mm) = all
        .iter()
        .find(|(n, _)| n.ends_with("-mail-manager"))
        .expect("a Mail Manager stack");
    let resources = mm["Resources"].as_object().unwrap();
    let send = granted(resources, "RuleSetFinanceRule0Action1Role");
    assert_eq!(send, [arn("${AWS::Region}", "nutrition.co")].into());
    let bounce = granted(resources, "RuleSetFinanceRule3Action0Role");
    assert_eq!(
        bounce,
        [
            arn("${AWS::Region}", "postmaster@nutrition.co"),
            arn("${AWS::Region}", "nutrition.co")
        ]
        .into()
    );
    // `identities: "*"` written on the action is the user's wildcard.
    let text = std::fs::read_to_string(
        common::root().join("tests/fixtures/valid/301-department-controls.yaml"),
    )
    .unwrap()
    .replacen(
        "- send_to_internet: {}",
        "- send_to_internet: { identities: \"*\" }",
        1,
    );
    let built = build(text);
    let all = templates(&built);
    let (_, mm) = all
        .iter()
        .find(|(n, _)| n.ends_with("-mail-manager"))
        .unwrap();
    let p = &mm["Resources"]["RuleSetFinanceRule0Action1Role"]["Properties"];
    assert_eq!(
        p["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"],
        "*"
    );
}

#[test]
fn account_trust_carries_its_conditions_and_warns_without_any() {
    let spec = common::root().join("tests/fixtures/valid/100-sending-two-regions.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let built = build(text.clone());
    let all = templates(&built);
    let (_, primary) = all
        .iter()
        .find(|(n, _)| n.ends_with("us-east-1-sending"))
        .unwrap();
    let trust = &primary["Resources"]["RolePartnerApp"]["Properties"]["AssumeRolePolicyDocument"];
    let st = &trust["Statement"][0];
    assert_eq!(
        st["Condition"]["StringEquals"]["sts:ExternalId"],
        "nutrition-partner-42"
    );
    assert_eq!(
        st["Condition"]["ArnLike"]["aws:PrincipalArn"],
        serde_json::json!(["arn:aws:iam::210987654321:role/mailer"])
    );
    assert_eq!(
        st["Principal"]["AWS"]["Fn::Sub"],
        "arn:${AWS::Partition}:iam::210987654321:root"
    );
    // The same role without conditions: a warning at the account, and it still builds.
    let bare = text.replace(
        ", external_id: nutrition-partner-42, principals: [\"arn:aws:iam::210987654321:role/mailer\"]",
        "",
    );
    assert_ne!(bare, text);
    let c = checked(bare);
    // (The spec's documentation ARNs and names are MI4011, tested with its fixtures.)
    let codes: Vec<&str> = c
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .filter(|c| *c != "MI4011")
        .collect();
    assert_eq!(codes, ["MI4006"], "{:?}", c.diagnostics);
    assert!(!c.has_errors());
    // Hundreds of principals outgrow a trust policy's 2,048 characters.
    let many: Vec<String> = (0..60)
        .map(|i| format!("\"arn:aws:iam::210987654321:role/app-{i:03}\""))
        .collect();
    let long = text.replace(
        "principals: [\"arn:aws:iam::210987654321:role/mailer\"]",
        &format!("principals: [{}]", many.join(", ")),
    );
    let c = checked(long);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "MI3114")
        .expect("the trust policy is too long");
    assert!(
        d.message.contains("trust policy of the role `partner-app`"),
        "{}",
        d.message
    );
    assert!(d.message.contains("2,048"), "{}", d.message);
}
