//! Receiving side end to end: invalid fixtures report their codes, the
//! EchoSpoofing pattern is reported with its code, and the gateway flow plans and
//! applies against moto. Every valid fixture is built, snapshotted and
//! cfn-linted by `tests/it/templates.rs`.

use crate::common;

use std::path::PathBuf;

fn fixtures(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join("tests/fixtures").join(dir))
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn echospoofing_is_reported_and_promotable() {
    let f = common::root().join("tests/fixtures/invalid/300-echospoofing.yaml");
    let o = common::run(&["-f", f.to_str().unwrap(), "validate"], &common::root());
    let text = common::text(&o.stdout) + &common::text(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("warning[MI4001]"), "{text}");
    assert!(text.contains("sender_ip"), "{text}");
    let o = common::run(
        &["-f", f.to_str().unwrap(), "--deny-warnings", "validate"],
        &common::root(),
    );
    assert!(!o.status.success());
    assert!(
        common::text(&o.stderr).contains("error[MI4001]")
            || common::text(&o.stdout).contains("error[MI4001]")
    );
}

/// The expected code of an invalid fixture: its first line is `# expect: CODE`.
fn expected_code(f: &std::path::Path) -> String {
    let src = std::fs::read_to_string(f).unwrap();
    src.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: CODE`", f.display()))
        .trim()
        .to_string()
}

#[test]
fn invalid_receiving_fixtures_report_their_code() {
    let files = fixtures("invalid", "3");
    assert!(files.len() >= 20);
    let mut codes = std::collections::BTreeSet::new();
    for f in files {
        let code = expected_code(&f);
        let o = common::run(&["-f", f.to_str().unwrap(), "validate"], &common::root());
        let err = common::text(&o.stderr) + &common::text(&o.stdout);
        // Lints (MI4xxx) are warnings or notes: the spec stays valid.
        let (severity, status) = if code == "MI4012" || code == "MI4005" {
            ("info", Some(0))
        } else if code.starts_with("MI4") {
            ("warning", Some(0))
        } else {
            ("error", Some(1))
        };
        assert_eq!(o.status.code(), status, "{}: {err}", f.display());
        assert!(
            err.contains(&format!("{severity}[{code}]")),
            "{}: expected {code}, got:\n{err}",
            f.display()
        );
        codes.insert(code);
    }
    // Every receiving check code (MI3300–MI3326) has its fixture.
    for n in 3300..=3322 {
        assert!(codes.contains(&format!("MI{n}")), "no fixture for MI{n}");
    }
}

fn build(f: &std::path::Path, out: &std::path::Path) -> serde_json::Value {
    let o = common::run(
        &[
            "-f",
            f.to_str().unwrap(),
            "build",
            "--out",
            out.to_str().unwrap(),
        ],
        &common::root(),
    );
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap()
}

fn read_json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn classic_receiving_compiles_rules_buckets_topics_and_mx() {
    let dir = common::scratch();
    let f = common::root().join("tests/fixtures/valid/305-classic-receiving.yaml");
    let m = build(&f, dir.path());
    let names: Vec<&str> = m["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["iot-us-east-1-receiving"]);
    let t = read_json(&dir.path().join("iot-us-east-1-receiving.template.json"));
    let r = &t["Resources"];
    // Buckets are retained, expire, and let only SES from this account's rules write.
    let b = &r["BucketAttachments"];
    assert_eq!(b["DeletionPolicy"], "Retain");
    assert_eq!(b["UpdateReplacePolicy"], "Retain");
    assert_eq!(
        b["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"],
        30
    );
    let st = &r["BucketAttachmentsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"], "ses.amazonaws.com");
    assert_eq!(st["Action"], "s3:PutObject");
    assert!(st["Condition"]["StringEquals"]["aws:SourceAccount"].is_object());
    assert!(
        st["Condition"]["ArnLike"]["aws:SourceArn"][0]["Fn::Sub"]
            .as_str()
            .unwrap()
            .ends_with("receipt-rule-set/iot-inbound:receipt-rule/devices")
    );
    assert_eq!(
        r["TopicSmsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"],
        "sns:Publish"
    );
    // Rules keep their order through `After`, and wait for the access they need.
    let devices = &r["ReceiptRuleInboundDevices"];
    assert!(devices["Properties"].get("After").is_none());
    let rule = &devices["Properties"]["Rule"];
    assert_eq!(rule["TlsPolicy"], "Require");
    assert_eq!(rule["ScanEnabled"], true);
    assert_eq!(rule["Actions"][0]["S3Action"]["ObjectKeyPrefix"], "iot/");
    assert_eq!(rule["Actions"][2]["StopAction"]["Scope"], "RuleSet");
    let deps = devices["DependsOn"].as_array().unwrap();
    assert!(deps.contains(&serde_json::json!("BucketAttachmentsPolicy")));
    assert!(deps.contains(&serde_json::json!("ReceiptRuleInboundDevicesLambda1")));
    assert!(deps.contains(&serde_json::json!("TopicReceivedPolicy")));
    let sms = &r["ReceiptRuleInboundEmailToSms"]["Properties"];
    assert_eq!(sms["After"], "devices");
    assert_eq!(
        sms["Rule"]["Actions"][2]["LambdaAction"]["InvocationType"],
        "RequestResponse"
    );
    let keep = &r["ReceiptRuleInboundKeepTheRest"]["Properties"]["Rule"]["Actions"][0]["S3Action"];
    assert_eq!(
        keep["KmsKeyArn"],
        "arn:aws:kms:us-east-1:111122223333:alias/aws/ses"
    );
    let unknown = &r["ReceiptRuleInboundRejectUnknown"]["Properties"]["Rule"];
    assert_eq!(unknown["Enabled"], false);
    assert_eq!(unknown["ScanEnabled"], false);
    assert_eq!(
        unknown["Actions"][0]["BounceAction"]["SmtpReplyCode"],
        "550"
    );
    let perm = &r["ReceiptRuleInboundDevicesLambda1"]["Properties"];
    assert_eq!(perm["Principal"], "ses.amazonaws.com");
    assert_eq!(perm["Action"], "lambda:InvokeFunction");
    // Activation by the custom resource, after every rule of the set.
    let active = &r["ActiveReceiptRuleSet"];
    assert_eq!(active["Type"], "Custom::SesActiveReceiptRuleSet");
    assert_eq!(active["DependsOn"].as_array().unwrap().len(), 4);
    // It may take over only from the rule set the spec names.
    assert_eq!(active["Properties"]["Replaces"], "legacy-inbound");
    let role = &r["ReceiptRuleSetActivatorRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        [1];
    assert_eq!(
        role["Action"],
        serde_json::json!([
            "ses:SetActiveReceiptRuleSet",
            "ses:DescribeActiveReceiptRuleSet"
        ])
    );
    // The receiving stack deploys its own MX record.
    let mx = &r["MxIotExample"]["Properties"];
    assert_eq!(
        mx["ResourceRecords"][0],
        "10 inbound-smtp.us-east-1.amazonaws.com"
    );
}

/// Two Mail Manager regions with `mx:`: one simple MX record set per domain,
/// in the first region's stack, holding both regions' endpoints at their
/// preferences (the second region's name wired in from its stack, which
/// deploys first); lint clean in both regions.
#[test]
fn two_region_inbound_is_one_mx_record_set_with_failover() {
    let dir = common::scratch();
    let f = common::root().join("tests/fixtures/valid/306-inbound-two-regions.yaml");
    let m = build(&f, dir.path());
    let stacks = m["stacks"].as_array().unwrap();
    let names: Vec<&str> = stacks.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["acme-us-west-2-mail-manager", "acme-us-east-1-mail-manager"]
    );
    assert_eq!(
        stacks[1]["parameters"],
        serde_json::json!([
            { "name": "IngressInboundARecordUsWest2", "output": "IngressInboundARecord", "stack": "acme-us-west-2-mail-manager" },
            { "name": "IngressSupportARecordUsWest2", "output": "IngressSupportARecord", "stack": "acme-us-west-2-mail-manager" }
        ])
    );
    assert_eq!(
        stacks[1]["depends_on"],
        serde_json::json!(["acme-us-west-2-mail-manager"])
    );
    let east = read_json(&dir.path().join("acme-us-east-1-mail-manager.template.json"));
    let west = read_json(&dir.path().join("acme-us-west-2-mail-manager.template.json"));
    let records = |t: &serde_json::Value| -> Vec<String> {
        t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::Route53::RecordSet")
            .map(|(id, _)| id.clone())
            .collect()
    };
    assert_eq!(records(&east), ["MxAcmeExample", "MxSupportAcmeExample"]);
    assert!(records(&west).is_empty());
    let join =
        |prefix: &str, v: serde_json::Value| serde_json::json!({ "Fn::Join": ["", [prefix, v]] });
    let mx = &east["Resources"]["MxAcmeExample"]["Properties"];
    assert!(mx.get("SetIdentifier").is_none() && mx.get("Weight").is_none());
    assert_eq!(
        mx["ResourceRecords"],
        serde_json::json!([
            join(
                "10 ",
                serde_json::json!({ "Fn::GetAtt": ["IngressInbound", "ARecord"] })
            ),
            join(
                "20 ",
                serde_json::json!({ "Ref": "IngressInboundARecordUsWest2" })
            ),
        ])
    );
    let support = &east["Resources"]["MxSupportAcmeExample"]["Properties"]["ResourceRecords"];
    assert_eq!(support[0]["Fn::Join"][1][0], "5 ");
    assert_eq!(support[1]["Fn::Join"][1][0], "5 ");
    assert_eq!(
        east["Parameters"]["IngressInboundARecordUsWest2"]["Type"],
        "String"
    );
    assert_eq!(
        west["Outputs"]["IngressInboundARecord"]["Value"],
        serde_json::json!({ "Fn::GetAtt": ["IngressInbound", "ARecord"] })
    );
    common::cfn_lint(&[
        (
            dir.path().join("acme-us-east-1-mail-manager.template.json"),
            "us-east-1".to_string(),
        ),
        (
            dir.path().join("acme-us-west-2-mail-manager.template.json"),
            "us-west-2".to_string(),
        ),
    ]);

    // From one region to two, the record set stays where it was, under its
    // logical id: its values change in place.
    let one = std::fs::read_to_string(&f)
        .unwrap()
        .replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1]")
        .replace(", mx_priority: { us-east-1: 5, us-west-2: 5 }", "");
    let single = common::scratch();
    std::fs::write(single.path().join("mailinfra.yaml"), one).unwrap();
    build(
        &single.path().join("mailinfra.yaml"),
        &single.path().join("out"),
    );
    let before = read_json(
        &single
            .path()
            .join("out/acme-us-east-1-mail-manager.template.json"),
    );
    let changes = mailinfra::diff::diff_templates(Some(&before), Some(&east));
    let mx_change = changes
        .iter()
        .find(|c| c.logical_id == "MxAcmeExample")
        .expect("the record set changes");
    assert_eq!(mx_change.action, mailinfra::diff::Action::Modify);
    assert_eq!(mx_change.replacement, mailinfra::diff::Replacement::Never);
    assert_eq!(
        before["Resources"]["MxAcmeExample"]["Properties"]["ResourceRecords"][0],
        mx["ResourceRecords"][0]
    );
}

#[test]
fn generated_ingress_secret_is_readable_by_mail_manager() {
    let dir = common::scratch();
    let f = common::root().join("tests/fixtures/valid/304-third-party-relay.yaml");
    build(&f, dir.path());
    let t = read_json(&dir.path().join("acme-us-east-1-mail-manager.template.json"));
    let r = &t["Resources"];
    let p = &r["IngressAppsPasswordPolicy"];
    assert_eq!(p["Type"], "AWS::SecretsManager::ResourcePolicy");
    assert_eq!(p["Properties"]["SecretId"]["Ref"], "IngressAppsPassword");
    let st = &p["Properties"]["ResourcePolicy"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"], "ses.amazonaws.com");
    assert_eq!(st["Action"], "secretsmanager:GetSecretValue");
    assert!(
        st["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .ends_with(":mailmanager-ingress-point/*")
    );
    assert_eq!(
        r["IngressApps"]["DependsOn"],
        serde_json::json!(["IngressAppsPasswordPolicy"])
    );
}

/// The handler's tests stub a botocore client built from the real SES service
/// model, so they run with the Python of `.venv` (botocore comes with moto).
#[test]
fn activation_lambda_unit_tests() {
    let out = std::process::Command::new(common::venv_python())
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "src/compile/lambda/receiving",
            "-v",
        ])
        .current_dir(common::root())
        // It runs in the source tree: leave no __pycache__ there.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let err = common::text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Ran 14 tests"), "{err}");
}

#[test]
fn archive_kms_key_change_plans_a_replacement_that_is_not_possible() {
    let dir = common::scratch();
    let src = std::fs::read_to_string(
        common::root().join("tests/fixtures/valid/300-gateway-workspace-m365.yaml"),
    )
    .unwrap();
    let spec = dir.path().join("mailinfra.yaml");
    std::fs::write(&spec, &src).unwrap();
    assert!(common::run(&["build"], dir.path()).status.success());
    let changed = src.replace(
        "key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "key/0000aaaa-12ab-34cd-56ef-1234567890ab",
    );
    assert_ne!(changed, src);
    std::fs::write(&spec, changed).unwrap();
    let o = common::run(&["plan", "--offline", "--format", "json"], dir.path());
    // A new key replaces the archive, and CloudFormation cannot replace it
    // under its own name: exit 3, with the way out.
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("ArchiveName `nutrition-journal`"), "{err}");
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["summary"]["replace"], 1, "{plan}");
    assert_eq!(plan["summary"]["destructive"], 1, "{plan}");
    let mm = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == "nutrition-us-east-1-mail-manager")
        .unwrap();
    let change = &mm["changes"][0];
    assert_eq!(change["logical_id"], "ArchiveJournal");
    assert_eq!(change["replacement"], "always");
    assert_eq!(change["properties"][0], "KmsKeyArn");
    assert!(
        change["blocked"]
            .as_str()
            .is_some_and(|b| b.contains("custom name")),
        "{change}"
    );
}

/// The gateway flow of scenario 3 (open ingress, relays to Google Workspace and
/// Microsoft 365 with MAIL FROM preserved, an archive), plus classic receiving
/// with a bucket, a topic and its MX record, planned and applied against moto.
///
/// moto skips the `AWS::SES::MailManager*` types and fails a `Fn::GetAtt` on
/// them (with `mx:` on the ingress, moto rejects the change set: "Fn::GetAtt
/// references undefined resource IngressInbound"), so the ingress endpoint here
/// publishes no MX record (its value is a `GetAtt` on the ingress `ARecord`);
/// that record is covered by the template tests. The classic rule set is not activated: the activation custom resource
/// would need moto to run its Lambda in Docker (the handler has its own tests).
#[test]
fn gateway_plan_and_apply_against_moto() {
    let project = format!("gw{}", std::process::id());
    let domain = format!("{project}.example");
    let zone = common::boto3(&format!(
        "for i in range(2000):\n  z=client('route53').create_hosted_zone(Name='{domain}',CallerReference='{project}-%d'%i)['HostedZone']['Id'].split('/')[-1]\n  if z.startswith('Z'):\n    print(z); break"
    ));
    assert!(zone.starts_with('Z'), "no hosted zone created: {zone}");
    let spec = format!(
        r#"version: 1
project: {project}
regions: {{ primary: us-east-1 }}
dns:
  {domain}: {{ route53_zone_id: {zone} }}
mail_manager:
  archives:
    journal: {{ retention: permanent, kms_key: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" }}
  relays:
    workspace: {{ preset: google_workspace }}
    m365: {{ preset: microsoft_365, tenant: {domain} }}
  traffic_policies:
    inbound:
      default: deny
      statements:
        - deny: [ {{ tls: {{ below: "1.2" }} }} ]
        - allow: [ {{ recipient: {{ ends_with: "@{domain}" }} }} ]
  rule_sets:
    gateway:
      rules:
        - name: archive-everything
          actions: [ {{ archive: journal }} ]
        - name: to-workspace
          when: [ {{ recipient: {{ ends_with: "@{domain}" }} }} ]
          actions: [ {{ relay: {{ to: workspace, mail_from: preserve }} }} ]
        - name: to-m365
          when: [ {{ recipient: {{ ends_with: "@sales.{domain}" }} }} ]
          actions: [ {{ relay: {{ to: m365, mail_from: preserve }} }} ]
  ingress:
    inbound: {{ type: open, traffic_policy: inbound, rule_set: gateway }}
receiving:
  mx: [inbound.{domain}]
  buckets:
    mail: {{ expire_after_days: 7 }}
  topics:
    received: {{}}
  rule_sets:
    inbound:
      active: false
      rules:
        - name: keep
          actions: [ {{ s3: {{ bucket: mail, prefix: in/, topic: received }} }} ]
"#
    );
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), spec).unwrap();
    let cli = |args: &[&str]| common::run_aws(args, dir.path());
    let plan = cli(&["plan", "--format", "json"]);
    assert!(plan.status.success(), "{}", common::text(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let stacks: Vec<&str> = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stack"].as_str().unwrap())
        .collect();
    let receiving = format!("{project}-us-east-1-receiving");
    let mm = format!("{project}-us-east-1-mail-manager");
    assert_eq!(stacks, [receiving.as_str(), mm.as_str()], "{plan}");
    let apply = cli(&["apply", "--yes"]);
    let err = common::text(&apply.stderr);
    assert!(
        apply.status.success(),
        "{err}\n{}",
        common::text(&apply.stdout)
    );
    let first = err.find(&format!("{receiving}: CREATE_COMPLETE"));
    let second = err.find(&format!("{mm}: CREATE_COMPLETE"));
    assert!(first.is_some() && second.is_some(), "{err}");
    assert!(first < second, "the receiving stack deploys first:\n{err}");
    let mx = common::boto3(&format!(
        "rs = client('route53').list_resource_record_sets(HostedZoneId='{zone}')['ResourceRecordSets']\n\
         print([r['ResourceRecords'][0]['Value'] for r in rs if r['Type'] == 'MX'][0])"
    ));
    assert_eq!(mx, "10 inbound-smtp.us-east-1.amazonaws.com");
    let bucket = common::boto3(&format!(
        "print([b['Name'] for b in client('s3').list_buckets()['Buckets'] if b['Name'].startswith('{project}-mail-')][0])"
    ));
    assert!(bucket.ends_with("-us-east-1"), "{bucket}");
    // Nothing changed: a second plan is empty.
    let again = cli(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.status.code(),
        Some(mailinfra::exit::SUCCESS),
        "{}\n{}",
        common::text(&again.stdout),
        common::text(&again.stderr)
    );
}
