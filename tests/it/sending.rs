//! The sending side end to end: fixtures, `mailinfra dns`, the custom-resource
//! Lambda's own tests, and plan/apply of a two-region spec against moto. Every
//! valid fixture is built, snapshotted and cfn-linted by `tests/it/templates.rs`.

use crate::common;

use std::path::PathBuf;

use crate::common::{root, run, scratch, snapshot_settings, text};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures").join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("-sending"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn valid_sending_fixtures_validate() {
    let files = fixtures("valid");
    assert!(files.len() >= 3);
    for f in files {
        let out = run(&["-f", f.to_str().unwrap(), "validate"], &root());
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            text(&out.stderr)
        );
    }
}

#[test]
fn invalid_sending_fixtures_report_their_code() {
    let files = fixtures("invalid");
    assert!(files.len() >= 10);
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let code = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: CODE`", f.display()))
            .trim()
            .to_string();
        let out = run(&["-f", f.to_str().unwrap(), "validate"], &root());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", f.display());
        assert!(
            err.contains(&format!("error[{code}]")),
            "{}: expected {code}, got:\n{err}",
            f.display()
        );
    }
}

#[test]
fn two_region_build_orders_and_replicates() {
    let dir = scratch();
    let f = root().join("tests/fixtures/valid/100-sending-two-regions.yaml");
    let out = run(
        &[
            "-f",
            f.to_str().unwrap(),
            "build",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &root(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = |n: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(n)).unwrap()).unwrap()
    };
    let m = read("manifest.json");
    assert_eq!(m["stacks"][0]["name"], "nutrition-us-east-1-sending");
    assert_eq!(
        m["stacks"][1]["depends_on"][0],
        "nutrition-us-east-1-sending"
    );
    assert_eq!(m["stacks"][0]["capabilities"][0], "CAPABILITY_NAMED_IAM");
    let p = read("nutrition-us-east-1-sending.template.json");
    let s = read("nutrition-us-west-2-sending.template.json");
    let r = &p["Resources"];
    assert_eq!(r["GlobalEndpoint"]["Type"], "AWS::SES::MultiRegionEndpoint");
    assert_eq!(
        r["GlobalEndpoint"]["Properties"]["Details"]["RouteDetails"][0]["Region"],
        "us-west-2"
    );
    assert_eq!(
        r["DeedPolicyNutritionCo"]["Type"],
        "Custom::SesIdentityPolicy"
    );
    assert_eq!(
        s["Resources"]["IdentityNutritionCo"]["Properties"]["Origin"],
        "AWS_SES_US_EAST_1"
    );
    // Independent replica: its own identity and DKIM records in the secondary.
    assert_eq!(
        s["Resources"]["IdentityNewsNutritionCo"]["Type"],
        "AWS::SES::EmailIdentity"
    );
    assert!(s["Resources"]["DkimNewsNutritionCo1"].is_object());
    // No DKIM records for a DEED replica.
    assert!(s["Resources"]["DkimNutritionCo1"].is_null());
    // Least privilege: never "*" unless written.
    let policy = &r["RoleWebSender"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_ne!(policy["Resource"], "*");
    assert_eq!(policy["Action"][0], "ses:SendEmail");
    assert!(r["InstanceProfileWebSender"].is_object());
    // Configuration sets and templates exist in both regions.
    for t in [&p, &s] {
        assert!(t["Resources"]["ConfigurationSetDefault"].is_object());
        assert!(t["Resources"]["EventDestinationDefaultToSns"].is_object());
        assert!(t["Resources"]["TemplateWelcome"].is_object());
    }
}

/// Builds `spec` and reads the template of stack `name`.
fn built_template(spec: &str, name: &str) -> serde_json::Value {
    let dir = scratch();
    let f = dir.path().join("mailinfra.yaml");
    std::fs::write(&f, spec).unwrap();
    let out_dir = dir.path().join("out");
    let out = run(
        &[
            "-f",
            f.to_str().unwrap(),
            "build",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &root(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(out_dir.join(format!("{name}.template.json"))).unwrap();
    serde_json::from_str(&body).unwrap()
}

/// SES takes one identity-policy call per second: a stack's policies are
/// created (and deleted) one after another.
#[test]
fn identity_policies_of_a_stack_run_one_after_another() {
    let t = built_template(
        "version: 1\nproject: p\nregions: { primary: us-east-1, secondary: us-west-2 }\ndns:\n  example.com: external\nidentities:\n  a.example.com: {}\n  b.example.com: {}\n  c.example.com: {}\n",
        "p-us-east-1-sending",
    );
    let r = &t["Resources"];
    let ids = [
        "DeedPolicyAExampleCom",
        "DeedPolicyBExampleCom",
        "DeedPolicyCExampleCom",
    ];
    for id in ids {
        assert_eq!(r[id]["Type"], "Custom::SesIdentityPolicy", "{id}");
    }
    assert!(r[ids[0]].get("DependsOn").is_none());
    assert_eq!(r[ids[1]]["DependsOn"], serde_json::json!([ids[0]]));
    assert_eq!(r[ids[2]]["DependsOn"], serde_json::json!([ids[1]]));
}

/// The global endpoint's `EndpointId` (for SendEmail) is read by a custom
/// resource into an output; its function may read that endpoint and no other.
#[test]
fn global_endpoint_id_is_an_output_read_with_least_privilege() {
    let t = built_template(
        "version: 1\nproject: p\nregions: { primary: us-east-1, secondary: us-west-2 }\nglobal_endpoint: { name: p-global }\n",
        "p-us-east-1-sending",
    );
    let r = &t["Resources"];
    let lookup = &r["GlobalEndpointIdLookup"];
    assert_eq!(lookup["Type"], "Custom::SesEndpointId");
    assert_eq!(
        lookup["Properties"]["EndpointName"],
        serde_json::json!({ "Ref": "GlobalEndpoint" })
    );
    assert_eq!(
        lookup["Properties"]["Routes"],
        serde_json::json!(["us-west-2"])
    );
    assert_eq!(
        t["Outputs"]["GlobalEndpointId"]["Value"],
        serde_json::json!({ "Fn::GetAtt": ["GlobalEndpointIdLookup", "EndpointId"] })
    );
    let statements =
        r["SesCustomResourceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
    let ses: Vec<_> = statements
        .iter()
        .filter(|s| s.to_string().contains("ses:"))
        .collect();
    assert_eq!(ses.len(), 1, "{statements:?}");
    assert_eq!(ses[0]["Action"], "ses:GetMultiRegionEndpoint");
    assert_eq!(
        ses[0]["Resource"],
        serde_json::json!([{ "Fn::Sub": "arn:${AWS::Partition}:ses:us-east-1:${AWS::AccountId}:multi-region-endpoint/p-global" }])
    );
}

#[test]
fn dns_lists_every_record_in_three_formats() {
    let f = root().join("tests/fixtures/valid/100-sending-two-regions.yaml");
    let f = f.to_str().unwrap();
    let table = run(&["-f", f, "dns"], &root());
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    snapshot_settings("sending").bind(|| insta::assert_snapshot!("dns-table", table));
    assert!(table.contains("you (external)"));
    assert!(table.contains("10 feedback-smtp.us-west-2.amazonses.com"));

    let zone = text(&run(&["-f", f, "dns", "--format", "zone"], &root()).stdout);
    assert!(zone.contains("$ORIGIN partner.example."));
    assert!(zone.contains("_dmarc.nutrition.co.\t300\tIN\tTXT\t\"v=DMARC1; p=quarantine;"));

    let json: serde_json::Value =
        serde_json::from_slice(&run(&["-f", f, "dns", "--format", "json"], &root()).stdout)
            .unwrap();
    let records = json["records"].as_array().unwrap();
    // 3 DKIM (nutrition.co) + 3 + 3 (news, independent) + 3 (partner)
    // + (MX + SPF) x 2 MAIL FROM domains x 2 regions + DMARC
    assert_eq!(records.len(), 21);
    // Each region's MAIL FROM domain has one MX value: its own feedback endpoint.
    let mx = |name: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["type"] == "MX" && r["name"] == name)
            .flat_map(|r| r["values"].as_array().unwrap().clone())
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        mx("bounce.nutrition.co"),
        ["10 feedback-smtp.us-east-1.amazonses.com"]
    );
    assert_eq!(
        mx("us-west-2.bounce.nutrition.co"),
        ["10 feedback-smtp.us-west-2.amazonses.com"]
    );
    assert_eq!(
        mx("bounce-west.news.nutrition.co"),
        ["10 feedback-smtp.us-west-2.amazonses.com"]
    );
    assert!(records.iter().any(|r| r["placeholder"] == true));
    assert!(
        records
            .iter()
            .all(|r| r["name"].as_str().is_some() && r["ttl"] == 300)
    );
}

/// Serves a zone file with dnslib's DNS server on a loopback port, asks it for
/// the TXT record `name` over UDP, and returns the strings of each answer.
const RESOLVE_TXT: &str = r#"
import json, sys
from dnslib import RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

records = RR.fromZone(sys.stdin.read())

class Zone(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        for rr in records:
            if rr.rname == request.q.qname and rr.rtype == request.q.qtype:
                reply.add_answer(rr)
        return reply

server = DNSServer(Zone(), port=0, address="127.0.0.1", logger=DNSLogger("-request,-reply,-truncated,-data,-send,-recv", prefix=False))
server.start_thread()
try:
    port = server.server.server_address[1]
    answer = DNSRecord.parse(DNSRecord.question(sys.argv[1], "TXT").send("127.0.0.1", port, timeout=5))
finally:
    server.stop()
print(json.dumps([[s.decode() for s in rr.rdata.data] for rr in answer.rr]))
"#;

/// A 2048-bit BYODKIM key is a TXT record of strings of at most 255
/// characters, in the compiled record set and in the zone file; a real DNS
/// server (dnslib's, which refuses a longer string) serves that zone file and
/// resolves the record back to the whole key.
#[test]
fn a_long_dkim_key_is_split_into_strings_that_resolve_to_the_whole_key() {
    let f = root().join("tests/fixtures/valid/101-sending-byodkim-tenants.yaml");
    let spec = std::fs::read_to_string(&f).unwrap();
    let key = spec
        .lines()
        .find_map(|l| l.trim().strip_prefix("public_key: "))
        .unwrap()
        .to_string();
    assert!(key.len() > 255, "the fixture's key is 2048 bits");
    let want = format!("p={key}");

    let out = scratch();
    let o = run(
        &[
            "-f",
            f.to_str().unwrap(),
            "build",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &root(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("isv-eu-west-1-sending.template.json")).unwrap(),
    )
    .unwrap();
    let value = t["Resources"]["ByodkimIsvIo"]["Properties"]["ResourceRecords"][0]
        .as_str()
        .unwrap()
        .to_string();
    let strings: Vec<&str> = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .split("\" \"")
        .collect();
    assert_eq!(strings.len(), 2, "{value}");
    assert!(strings.iter().all(|s| s.len() <= 255), "{value}");
    assert_eq!(strings.concat(), want);

    let zone = run(
        &["-f", f.to_str().unwrap(), "dns", "--format", "zone"],
        &root(),
    );
    assert!(zone.status.success(), "{}", text(&zone.stderr));
    let mut child = std::process::Command::new(common::venv_python())
        .args(["-c", RESOLVE_TXT, "s1._domainkey.isv.io"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&zone.stdout).unwrap();
    }
    let resolved = child.wait_with_output().unwrap();
    assert!(resolved.status.success(), "{}", text(&resolved.stderr));
    let answers: Vec<Vec<String>> =
        serde_json::from_str(text(&resolved.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(answers.len(), 1, "one TXT record");
    assert!(answers[0].len() > 1 && answers[0].iter().all(|s| s.len() <= 255));
    assert_eq!(answers[0].concat(), want);
}

/// The handler's tests stub botocore clients built from the real SES service
/// models, so they run with the Python of `.venv` (botocore comes with moto).
#[test]
fn custom_resource_lambda_unit_tests() {
    let out = std::process::Command::new(common::venv_python())
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "src/compile/lambda",
            "-v",
        ])
        .current_dir(root())
        // It runs in the source tree: leave no __pycache__ there.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Ran 28 tests"), "{err}");
}

/// Plan and apply of a two-region spec (MAIL FROM, DMARC, two configuration
/// sets with event destinations, a template, an EC2 and a cross-account role,
/// Route 53 records) against the moto server.
///
/// moto has no CloudFormation model for `AWS::SES::EmailIdentity`, so a
/// `Fn::GetAtt` on its DKIM tokens fails there; and `Custom::` resources would
/// need moto to run the Lambda in Docker. This spec therefore uses `dkim: none`,
/// no DEED replica and no global endpoint (its id is read by a custom
/// resource); they are covered by the template and Lambda tests.
#[test]
fn two_region_plan_and_apply_against_moto() {
    // Unique per run: the server may be shared with earlier runs.
    let project = format!("sende2e-{}", std::process::id());
    let zone = common::boto3(&format!(
        "print(client('route53').create_hosted_zone(Name='sending-e2e.com', CallerReference='{project}')['HostedZone']['Id'].split('/')[-1])"
    ));
    let dir = scratch();
    let spec = format!(
        r#"version: 1
project: {project}
regions: {{ primary: us-east-1, secondary: us-west-2 }}
dns:
  sending-e2e.com: {{ route53_zone_id: {zone} }}
identities:
  sending-e2e.com:
    dkim: none
    mail_from: bounce.sending-e2e.com
    dmarc: {{ policy: reject, rua: "mailto:dmarc@sending-e2e.com" }}
    configuration_set: default
  noreply@sending-e2e.com: {{ configuration_set: marketing }}
configuration_sets:
  default:
    tls: require
    suppress: [bounce, complaint]
    events:
      to-sns: {{ types: [bounce, complaint], sns: "arn:aws:sns:{{region}}:123456789012:mail-events" }}
  marketing:
    events:
      bus: {{ types: [send], eventbridge: "arn:aws:events:{{region}}:123456789012:event-bus/default" }}
templates:
  welcome: {{ subject: "Hi {{{{name}}}}", text: "Hello" }}
iam:
  roles:
    web-sender: {{ trust: {{ service: ec2 }}, allow: [send], identities: [sending-e2e.com] }}
    partner: {{ trust: {{ account: "210987654321" }}, allow: [send_raw] }}
"#
    );
    std::fs::write(dir.path().join("mailinfra.yaml"), spec).unwrap();
    let cli = |args: &[&str]| common::run_aws(args, dir.path());
    let plan = cli(&["plan", "--format", "json"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let text_plan = plan.to_string();
    assert!(text_plan.contains(&format!("{project}-us-east-1-sending")));
    assert!(text_plan.contains(&format!("{project}-us-west-2-sending")));
    let apply = cli(&["apply", "--yes"]);
    let err = text(&apply.stderr);
    assert!(apply.status.success(), "{err}\n{}", text(&apply.stdout));
    let primary = err.find(&format!("{project}-us-east-1-sending: CREATE_COMPLETE"));
    let secondary = err.find(&format!("{project}-us-west-2-sending: CREATE_COMPLETE"));
    assert!(primary.is_some() && secondary.is_some(), "{err}");
    assert!(
        primary < secondary,
        "the primary stack deploys first:\n{err}"
    );
}

/// A two-region DEED spec planned against moto, where the parent identity
/// exists but is not verified (moto creates identities unverified): the
/// parent's replication policy and the replica wait for the verification,
/// named in the plan, and no change set tries to create them.
#[test]
fn an_unverified_parent_holds_the_replica_and_its_policy_back() {
    let project = format!("deede2e-{}", std::process::id());
    let domain = format!("{project}.com");
    common::boto3(&format!(
        "client('sesv2').create_email_identity(EmailIdentity='{domain}')"
    ));
    let dir = scratch();
    let spec = format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1, secondary: us-west-2 }}\ndns:\n  {domain}: external\nidentities:\n  {domain}: {{ replication: deed }}\n"
    );
    std::fs::write(dir.path().join("mailinfra.yaml"), spec).unwrap();
    let plan = common::run_aws(&["plan", "--format", "json"], dir.path());
    let err = text(&plan.stderr);
    assert!(plan.status.success(), "{err}\n{}", text(&plan.stdout));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let stacks = plan["stacks"].as_array().unwrap();
    let stack = |region: &str| {
        stacks
            .iter()
            .find(|s| s["stack"] == format!("{project}-{region}-sending"))
            .unwrap_or_else(|| panic!("no {region} sending stack: {plan}"))
    };
    let waiting_types = |s: &serde_json::Value| -> Vec<String> {
        s["waiting"]
            .as_array()
            .map(|w| {
                w.iter()
                    .map(|w| w["resource_type"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let primary = stack("us-east-1");
    let secondary = stack("us-west-2");
    assert!(
        waiting_types(primary).contains(&"Custom::SesIdentityPolicy".to_string()),
        "{primary}"
    );
    assert!(
        waiting_types(secondary).contains(&"Custom::SesReplicaIdentity".to_string()),
        "{secondary}"
    );
    for s in [primary, secondary] {
        for w in s["waiting"].as_array().unwrap() {
            assert_eq!(w["identity"], domain.as_str());
            assert_eq!(w["region"], "us-east-1");
        }
        let held: Vec<&str> = s["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["resource_type"].as_str())
            .filter(|t| {
                t.starts_with("Custom::SesIdentityPolicy")
                    || t.starts_with("Custom::SesReplicaIdentity")
            })
            .collect();
        assert!(held.is_empty(), "nothing tries to create them: {s}");
    }
    let total = waiting_types(primary).len() + waiting_types(secondary).len();
    assert_eq!(plan["summary"]["waiting"].as_u64(), Some(total as u64));
    // The human plan names what each waits for.
    let human = common::run_aws(&["plan"], dir.path());
    let out = text(&human.stdout);
    assert!(
        out.contains(&format!("waits for {domain} to be verified in us-east-1")),
        "{out}"
    );
}
