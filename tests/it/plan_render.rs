//! Snapshots of the plan renderings (human, markdown, JSON) and the apply
//! outcome table, from plans built in code: every mark a reviewer relies on
//! (replacement, stateful destruction, IAM broadening, mail DNS, drift,
//! resources that exist outside the stack, renames, deferred stacks, notes) appears in them.

use crate::common;

use mailinfra::build::{Artifact, StackEntry};
use mailinfra::deploy::{PlanStatus, StackPlan};
use mailinfra::diff::{self, Action, Replacement, ResourceChange};
use serde_json::json;

fn artifact(name: &str, region: &str) -> Artifact {
    Artifact {
        entry: StackEntry {
            name: name.into(),
            region: region.into(),
            concern: "sending".into(),
            template: format!("{name}.template.json"),
            sha256: "0".repeat(64),
            bytes: 0,
            resources: 0,
            depends_on: Vec::new(),
            parameters: Vec::new(),
            outputs: 0,
            capabilities: Vec::new(),
            needs_upload: false,
        },
        body: String::new(),
    }
}

fn plans() -> Vec<StackPlan> {
    let old = json!({"Resources": {
        "RoleWebSender": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "send", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com"}]}}]}},
        "RecordMxExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "example.com", "Type": "MX", "ResourceRecords": ["10 inbound-smtp.us-east-1.amazonaws.com"]}},
        "ArchiveLegal": {"Type": "AWS::SES::MailManagerArchive", "Properties": {}},
    }});
    let new = json!({"Resources": {
        "RoleWebSender": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "send", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"}]}}]}},
        "RecordMxExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "example.com", "Type": "MX", "ResourceRecords": ["10 abc.mail-manager-smtp.us-east-1.amazonaws.com"]}},
        "ConfigSetDefault": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "default"}},
    }});
    let mut changes = diff::diff_templates(Some(&old), Some(&new));
    let mut ingress = ResourceChange::new(
        "IngressInbound",
        "AWS::SES::MailManagerIngressPoint",
        Action::Modify,
        Replacement::Conditional,
        vec!["Type".into()],
    );
    ingress.properties = vec!["Type".into()];
    changes.push(ingress);
    // Found by a drift-aware change set and by the pre-flight read.
    let mut drifted = ResourceChange::new(
        "ConfigSetMarketing",
        "AWS::SES::ConfigurationSet",
        Action::Modify,
        Replacement::Never,
        vec!["SendingOptions".into()],
    );
    drifted.drift = Some("MODIFIED".into());
    changes.push(drifted);
    let mut taken = ResourceChange::new(
        "IdentityExampleCom",
        "AWS::SES::EmailIdentity",
        Action::Add,
        Replacement::Never,
        Vec::new(),
    );
    taken.exists_outside = Some("SES identity `example.com` in us-east-1 (verified)".into());
    changes.push(taken);
    let mut renamed = ResourceChange::new(
        "TemplateWelcome",
        "AWS::SES::Template",
        Action::Add,
        Replacement::Never,
        Vec::new(),
    );
    renamed.renamed_from = Some("`TemplateWelcomeV1`".into());
    changes.push(renamed);
    changes.push(ResourceChange::new(
        "IdentityLegacyExampleCom",
        "AWS::SES::EmailIdentity",
        Action::Import,
        Replacement::Never,
        Vec::new(),
    ));
    changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    vec![
        StackPlan {
            status: PlanStatus::Update,
            changes,
            change_set_arn: Some("arn:aws:cloudformation:us-east-1:123456789012:changeSet/mailinfra-0123456789abcdef/1".into()),
            stack_arn: Some("arn:aws:cloudformation:us-east-1:123456789012:stack/demo-us-east-1-sending/1".into()),
            last_updated: Some("2026-01-01T00:00:00Z".into()),
            notes: vec!["deleted the empty stack a failed first create left (ROLLBACK_COMPLETE)".into()],
            ..StackPlan::new(&artifact("demo-us-east-1-sending", "us-east-1"))
        },
        StackPlan {
            status: PlanStatus::Create,
            changes: diff::diff_templates(None, Some(&json!({"Resources": {"ConfigSetDefault": {"Type": "AWS::SES::ConfigurationSet"}}}))),
            parameters: vec![],
            deferred: Some("waits for output `ARecord` of `demo-us-east-1-mail-manager`, known once that stack is applied".into()),
            ..StackPlan::new(&artifact("demo-eu-west-1-sending", "eu-west-1"))
        },
        StackPlan {
            status: PlanStatus::NoChanges,
            ..StackPlan::new(&artifact("demo-us-east-1-mail-manager", "us-east-1"))
        },
    ]
}

#[test]
fn plan_renderings() {
    let plans = plans();
    let settings = common::snapshot_settings("plan");
    settings.bind(|| {
        insta::assert_snapshot!("human", mailinfra::render::human(&plans, false));
        insta::assert_snapshot!("markdown", mailinfra::render::markdown(&plans));
        insta::assert_snapshot!("json", mailinfra::render::json(&plans, "online"));
    });
    let md = mailinfra::render::markdown(&plans);
    assert!(md.contains("`ses:SendRawEmail on * (wildcard)`"), "{md}");
    assert!(md.contains(":email: MX"), "{md}");
}

#[test]
fn outcome_table() {
    use mailinfra::deploy::{OutcomeKind, RootCause, StackOutcome};
    let o = |stack: &str, kind: OutcomeKind, status: Option<&str>| StackOutcome {
        stack: stack.into(),
        region: "us-east-1".into(),
        kind,
        status: status.map(str::to_string),
        detail: None,
        root_cause: None,
        hint: None,
        warnings: Vec::new(),
        outputs: Vec::new(),
    };
    let outcomes = vec![
        o("demo-us-east-1-mail-manager", OutcomeKind::Applied, Some("UPDATE_COMPLETE")),
        StackOutcome {
            detail: Some("ended in UPDATE_ROLLBACK_COMPLETE".into()),
            root_cause: Some(RootCause {
                logical_id: "RuleSetInbound".into(),
                resource_type: "AWS::SES::MailManagerRuleSet".into(),
                status: "UPDATE_FAILED".into(),
                reason: "Invalid relay id (Service: MailManager, Status Code: 400)".into(),
            }),
            hint: Some("`demo-us-east-1-sending` is back as it was before this apply; fix the cause and run `mailinfra apply` again".into()),
            ..o("demo-us-east-1-sending", OutcomeKind::Failed, Some("UPDATE_ROLLBACK_COMPLETE"))
        },
        StackOutcome {
            detail: Some("it depends on `demo-us-east-1-sending`, which did not succeed".into()),
            ..o("demo-eu-west-1-sending", OutcomeKind::NotStarted, None)
        },
        o("demo-us-east-1-receiving", OutcomeKind::NoChanges, Some("UPDATE_COMPLETE")),
    ];
    let text = mailinfra::render::outcomes(&outcomes, false);
    common::snapshot_settings("plan").bind(|| insta::assert_snapshot!("outcomes", text));
    assert!(text.contains(
        "root cause: RuleSetInbound (AWS::SES::MailManagerRuleSet) UPDATE_FAILED: Invalid relay id"
    ));
}

/// Every field the JSON plan and the plan file carry is documented in
/// docs/plan-format.md: a new field fails this test until it is described.
#[test]
fn every_json_field_is_documented() {
    fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut plans = plans();
    plans[0].parameters = vec![("IngressARecord".into(), "a.example".into())];
    let doc = std::fs::read_to_string(common::root().join("docs/plan-format.md")).unwrap();
    let mut found = std::collections::BTreeSet::new();
    keys(
        &serde_json::from_str(&mailinfra::render::json(&plans, "online")).unwrap(),
        &mut found,
    );
    keys(
        &serde_json::from_str(&mailinfra::deploy::PlanFile::new("0", plans).render()).unwrap(),
        &mut found,
    );
    let missing: Vec<&String> = found
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")) && !doc.contains(&format!(".{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/plan-format.md: {missing:?}"
    );
}

/// A DMARC policy tightened and a TTL raised: the plan shows each old and
/// new value, in every rendering; a long value is cut with `…`, and a
/// secret's values never appear.
#[test]
fn value_changes_show_old_and_new() {
    let long = format!(
        "v=spf1 {} -all",
        "include:spf.example.net ".repeat(6).trim_end()
    );
    let old = json!({"Resources": {
        "RecordDmarcExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "_dmarc.example.com", "Type": "TXT", "TTL": "300",
            "ResourceRecords": ["\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\""]}},
        "RecordSpfExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "example.com", "Type": "TXT", "TTL": "300", "ResourceRecords": ["\"v=spf1 -all\""]}},
        "IngressInbound": {"Type": "AWS::SES::MailManagerIngressPoint", "Properties": {
            "Type": "AUTH", "IngressPointConfiguration": {"SmtpPassword": "old-hunter2-password"}}},
    }});
    let new = json!({"Resources": {
        "RecordDmarcExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "_dmarc.example.com", "Type": "TXT", "TTL": "3600",
            "ResourceRecords": ["\"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\""]}},
        "RecordSpfExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "example.com", "Type": "TXT", "TTL": "300", "ResourceRecords": [format!("\"{long}\"")]}},
        "IngressInbound": {"Type": "AWS::SES::MailManagerIngressPoint", "Properties": {
            "Type": "AUTH", "IngressPointConfiguration": {"SmtpPassword": "new-hunter2-password"}}},
    }});
    let plans = vec![StackPlan {
        status: PlanStatus::Update,
        changes: diff::diff_templates(Some(&old), Some(&new)),
        ..StackPlan::new(&artifact("demo-us-east-1-sending", "us-east-1"))
    }];
    let human = mailinfra::render::human(&plans, false);
    let markdown = mailinfra::render::markdown(&plans);
    let json = mailinfra::render::json(&plans, "online");
    common::snapshot_settings("plan").bind(|| {
        insta::assert_snapshot!("values-human", human);
        insta::assert_snapshot!("values-markdown", markdown);
        insta::assert_snapshot!("values-json", json);
    });
    assert!(
        human.contains(
            "ResourceRecords: \"v=DMARC1; p=none; rua=mailto:dmarc@example.com\" → \"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\""
        ),
        "{human}"
    );
    assert!(human.contains("TTL: 300 → 3600"), "{human}");
    assert!(
        human.contains("IngressPointConfiguration: changed (masked)"),
        "{human}"
    );
    assert!(human.contains('…'), "the long SPF value is cut: {human}");
    assert!(markdown.contains("`TTL`: `300` → `3600`"), "{markdown}");
    for text in [&human, &markdown, &json] {
        assert!(!text.contains("hunter2"), "a secret is shown:\n{text}");
    }
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let dmarc = &doc["stacks"][0]["changes"][1];
    assert_eq!(dmarc["logical_id"], "RecordDmarcExampleCom");
    let ttl = dmarc["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["property"] == "TTL")
        .unwrap();
    assert_eq!(
        (&ttl["before"], &ttl["after"]),
        (&json!("300"), &json!("3600"))
    );
}
