//! End to end through the real AWS SDK against a CloudFormation-compatible
//! server (`moto_server`, started by scripts/test): apply creates the stacks, a
//! second plan is empty, an edited spec plans a modification, and apply carries it out.
//!
//! moto does not implement the SES resource types (it skips them), so these
//! tests check the deployer's plumbing and the Route 53 records; the SES
//! templates themselves are checked by cfn-lint in `tests/it/templates.rs`.

use crate::common;

use std::path::Path;

use mailinfra::exit;

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    common::run_aws(args, dir)
}

fn spec(project: &str, zone_id: &str, policy: &str) -> String {
    format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\ndns:\n  {project}.example: {{ route53_zone_id: {zone_id} }}\n\
         identities:\n  {project}.example:\n    dkim: none\n    mail_from: bounce.{project}.example\n    dmarc: {{ policy: {policy}, rua: \"mailto:d@{project}.example\" }}\n\
         mail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n"
    )
}

fn dmarc_value(zone_id: &str, project: &str) -> String {
    common::boto3(&format!(
        "rs = client('route53').list_resource_record_sets(HostedZoneId='{zone_id}')['ResourceRecordSets']\n\
         print([r['ResourceRecords'][0]['Value'] for r in rs if r['Name'].rstrip('.') == '_dmarc.{project}.example'][0])"
    ))
}

#[test]
fn apply_replan_modify_apply() {
    // Unique per run: the server may be shared with earlier runs.
    let project = &format!("e2e-{}", std::process::id());
    let zone_id = common::boto3(&format!(
        "print(client('route53').create_hosted_zone(Name='{project}.example', CallerReference='{project}')['HostedZone']['Id'].split('/')[-1])"
    ));
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec(project, &zone_id, "none"),
    )
    .unwrap();

    // A speculative plan shows the creation and leaves nothing behind.
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stdout)
            .contains(&format!("{project}-us-east-1-sending  us-east-1  create"))
    );
    let live = common::boto3(&format!(
        "print(sorted(s['StackStatus'] for s in client('cloudformation').list_stacks()['StackSummaries'] if s['StackName'].startswith('{project}-') and s['StackStatus'] != 'DELETE_COMPLETE'))"
    ));
    assert_eq!(live, "[]", "a speculative plan left stacks behind");

    // apply creates both stacks.
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}\n{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stderr).contains(&format!("{project}-us-east-1-sending: CREATE_COMPLETE"))
    );
    let status = common::boto3(&format!(
        "print(client('cloudformation').describe_stacks(StackName='{project}-us-east-1-mail-manager')['Stacks'][0]['StackStatus'])"
    ));
    assert_eq!(status, "CREATE_COMPLETE");
    assert_eq!(
        dmarc_value(&zone_id, project),
        format!("\"v=DMARC1; p=none; rua=mailto:d@{project}.example\"")
    );

    // Nothing changed: exit 0 with --detailed-exitcode.
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}\n{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(common::text(&o.stdout).contains("(2 of 2 stacks unchanged)"));

    // An edited spec plans exactly one modification.
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec(project, &zone_id, "reject"),
    )
    .unwrap();
    let o = cli(
        dir.path(),
        &["plan", "--detailed-exitcode", "--format", "json"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{}",
        common::text(&o.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["summary"]["modify"], 1, "{plan}");
    assert_eq!(plan["summary"]["add"], 0);
    let sending = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == format!("{project}-us-east-1-sending").as_str())
        .unwrap();
    assert_eq!(sending["status"], "update");
    assert_eq!(
        sending["changes"][0]["logical_id"],
        mailinfra::ids::record("Dmarc", &format!("{project}.example"))
    );
    assert_eq!(sending["changes"][0]["action"], "modify");

    // apply carries it out, and the record really changed.
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stderr).contains(&format!("{project}-us-east-1-sending: UPDATE_COMPLETE"))
    );
    assert_eq!(
        dmarc_value(&zone_id, project),
        format!("\"v=DMARC1; p=reject; rua=mailto:d@{project}.example\"")
    );
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
}

#[test]
fn apply_refuses_without_confirmation_when_not_on_a_terminal() {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec("e2e-confirm", "Z1D633PJN98FT9", "none"),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply"]);
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(
        common::text(&o.stderr).contains("pass `--yes`"),
        "{}",
        common::text(&o.stderr)
    );
}

#[test]
fn removing_an_archive_is_refused_unless_allowed_by_name() {
    let project = &format!("e2e-destroy-{}", std::process::id());
    let dir = common::scratch();
    let two = format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\nmail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n    legal: {{ retention: permanent }}\n"
    );
    std::fs::write(dir.path().join("mailinfra.yaml"), &two).unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );

    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        two.replace("    legal: { retention: permanent }\n", ""),
    )
    .unwrap();
    let o = cli(dir.path(), &["plan", "--format", "markdown"]);
    let md = common::text(&o.stdout);
    assert!(
        md.contains(
            "| `-` | `ArchiveLegal` | `AWS::SES::MailManagerArchive` |  |  | :warning: stateful |"
        ),
        "{md}"
    );

    // A saved plan edited to hide the destruction (the flag cleared, the
    // checksum recomputed) is still refused: the gates read the change set.
    let o = cli(dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let path = dir.path().join("plan.json");
    let file =
        mailinfra::deploy::PlanFile::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut stacks = file.stacks;
    for c in stacks.iter_mut().flat_map(|p| p.changes.iter_mut()) {
        c.stateful = false;
    }
    let edited = mailinfra::deploy::PlanFile::new(&file.spec_sha256, stacks);
    std::fs::write(&path, edited.render()).unwrap();
    let o = cli(dir.path(), &["apply", "plan.json"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::REFUSED), "{err}");
    assert!(
        err.contains("ArchiveLegal (AWS::SES::MailManagerArchive) would be removed from the stack"),
        "{err}"
    );
    // Refused, the reviewed change sets stay: the same plan applies once allowed.
    let o = cli(
        dir.path(),
        &["apply", "plan.json", "--allow-destroy", "ArchiveJournal"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::REFUSED),
        "{}",
        common::text(&o.stderr)
    );

    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::REFUSED),
        "{}",
        common::text(&o.stderr)
    );
    let err = common::text(&o.stderr);
    assert!(
        err.contains("ArchiveLegal (AWS::SES::MailManagerArchive) would be removed from the stack"),
        "{err}"
    );
    assert!(
        err.contains("apply again with --allow-destroy ArchiveLegal"),
        "{err}"
    );

    // Naming another resource does not help; naming this one does.
    let o = cli(
        dir.path(),
        &["apply", "--yes", "--allow-destroy", "ArchiveJournal"],
    );
    assert_eq!(o.status.code(), Some(exit::REFUSED));
    // The saved plan's change sets were kept through every refusal above.
    let o = cli(
        dir.path(),
        &["apply", "plan.json", "--allow-destroy", "ArchiveLegal"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_when_stale() {
    let project = &format!("e2e-planfile-{}", std::process::id());
    let dir = common::scratch();
    let v1 = format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\nmail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n"
    );
    std::fs::write(dir.path().join("mailinfra.yaml"), &v1).unwrap();
    let o = cli(dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(file["format_version"], 2);
    assert!(
        file["stacks"][0]["change_set_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:cloudformation:")
    );

    // The spec changed after planning: refused.
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        v1.replace("1 year", "2 years"),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply", "plan.json", "--yes"]);
    assert_eq!(o.status.code(), Some(exit::REFUSED));
    assert!(
        common::text(&o.stderr).contains("the spec changed since it was planned"),
        "{}",
        common::text(&o.stderr)
    );

    // A damaged copy of the plan (cut short, or with one stack edited out) is refused.
    let text = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    std::fs::write(dir.path().join("cut.json"), &text[..text.len() / 2]).unwrap();
    std::fs::write(
        dir.path().join("edited.json"),
        text.replace("\"status\": \"create\"", "\"status\": \"no_changes\""),
    )
    .unwrap();
    std::fs::write(dir.path().join("mailinfra.yaml"), &v1).unwrap();
    for (file, why) in [
        ("cut.json", "it is not a mailinfra plan file"),
        ("edited.json", "its checksum does not match"),
    ] {
        let o = cli(dir.path(), &["apply", file, "--yes"]);
        assert_eq!(o.status.code(), Some(exit::REFUSED), "{file}");
        let err = common::text(&o.stderr);
        assert!(err.contains(why), "{file}: {err}");
    }

    // Back to the planned spec: exactly the planned change set runs.
    std::fs::write(dir.path().join("mailinfra.yaml"), &v1).unwrap();
    let o = cli(dir.path(), &["apply", "plan.json", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(common::text(&o.stderr).contains(&format!(
        "{project}-us-east-1-mail-manager: CREATE_COMPLETE"
    )));

    // `status` shows the live stack next to the journal of that apply.
    let o = cli(dir.path(), &["status", "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["last_apply"]["ended"], "ended: applied");
    assert_eq!(status["stacks"][0]["status"], "CREATE_COMPLETE");
    assert_eq!(status["stacks"][0]["last_apply"], "applied");
    let o = cli(dir.path(), &["status"]);
    assert!(
        common::text(&o.stdout).contains(&format!(
            "{project}-us-east-1-mail-manager  us-east-1  CREATE_COMPLETE"
        )),
        "{}",
        common::text(&o.stdout)
    );

    // A plan of an update, overtaken by another apply: the stack was updated since.
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        v1.replace("1 year", "2 years"),
    )
    .unwrap();
    let o = cli(dir.path(), &["plan", "--out", "old.json"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(dir.path(), &["apply", "old.json", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::REFUSED),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stderr).contains("plan again"),
        "{}",
        common::text(&o.stderr)
    );
}

/// A hosted zone with an id that starts with `Z` (moto's ids are random; the
/// schema wants real-looking ones).
fn zone_for(name: &str) -> String {
    common::boto3(&format!(
        "c = client('route53')\nfor i in range(2000):\n  z = c.create_hosted_zone(Name='{name}', CallerReference='{name}-%d' % i)['HostedZone']['Id'].split('/')[-1]\n  if z.startswith('Z'):\n    print(z); break\n"
    ))
}

/// Three stacks: the primary sending stack, the secondary one that depends on it,
/// and an independent Mail Manager stack. The primary fails (its hosted zone does
/// not exist): the independent stack is applied, the dependent one never starts,
/// and the outcome table says so. After the fix, a re-run finishes the rest, in
/// dependency order, leaving the applied stack alone.
#[test]
fn multi_stack_partial_failure_and_resume() {
    let project = &format!("e2e-multi-{}", std::process::id());
    let spec = |zone: &str| {
        format!(
            "version: 1\nproject: {project}\nregions: {{ primary: us-east-1, secondary: us-west-2 }}\n\
             dns:\n  {project}.example: {{ route53_zone_id: {zone} }}\n\
             identities:\n  {project}.example:\n    dkim: none\n    dmarc: {{ policy: none, rua: \"mailto:d@{project}.example\" }}\n\
             mail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n"
        )
    };
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), spec("ZNOSUCHZONE0001")).unwrap();
    let primary = format!("{project}-us-east-1-sending");
    let secondary = format!("{project}-us-west-2-sending");
    let mm = format!("{project}-us-east-1-mail-manager");

    let o = cli(dir.path(), &["apply", "--yes", "--concurrency", "2"]);
    let (out, err) = (common::text(&o.stdout), common::text(&o.stderr));
    assert_eq!(o.status.code(), Some(exit::FAILED), "{out}\n{err}");
    // A row of the outcome table: stack, region, outcome.
    let row = |out: &str, stack: &str, word: &str| {
        out.lines()
            .any(|l| l.starts_with(stack) && l.split_whitespace().nth(2) == Some(word))
    };
    assert!(row(&out, &primary, "FAILED"), "{out}");
    assert!(row(&out, &mm, "applied"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&secondary) && l.contains("not started")),
        "{out}"
    );
    assert!(
        out.contains(&format!("it depends on `{primary}`, which did not succeed")),
        "{out}"
    );
    assert!(out.contains("No hosted zone found"), "{out}");
    assert!(
        out.contains("1 stack(s) applied, 0 unchanged, 2 not applied"),
        "{out}"
    );
    // Nothing half-made is left: the never-executed change set and its empty stack are gone.
    let live = common::boto3(&format!(
        "print(sorted((s['StackName'], s['StackStatus']) for r in ['us-east-1', 'us-west-2'] for s in client('cloudformation', r).list_stacks()['StackSummaries'] if s['StackName'].startswith('{project}-') and s['StackStatus'] != 'DELETE_COMPLETE'))"
    ));
    assert_eq!(live, format!("[('{mm}', 'CREATE_COMPLETE')]"));
    assert!(!dir.path().join(".mailinfra-apply.lock").exists());

    // Fixed: the re-run finishes the rest, primary before secondary.
    let zone = zone_for(&format!("{project}.example"));
    std::fs::write(dir.path().join("mailinfra.yaml"), spec(&zone)).unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    let (out, err) = (common::text(&o.stdout), common::text(&o.stderr));
    assert_eq!(o.status.code(), Some(exit::SUCCESS), "{out}\n{err}");
    assert!(row(&out, &mm, "no"), "{out}");
    assert!(
        row(&out, &primary, "applied") && row(&out, &secondary, "applied"),
        "{out}"
    );
    let p = err.find(&format!("{primary}: CREATE_COMPLETE"));
    let s = err.find(&format!("{secondary}: CREATE_COMPLETE"));
    assert!(p.is_some() && s.is_some() && p < s, "{err}");
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
}

/// A second apply in the same workspace waits for nobody: it is refused while
/// the lock is held, and a lock left by a dead process is taken over.
#[test]
fn a_held_workspace_lock_refuses_a_second_apply() {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec("e2e-lock", "Z1D633PJN98FT9", "none"),
    )
    .unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    // Held by this (live) test process, with the OS lock an apply takes.
    let held = dir.path().join(".mailinfra-apply.lock");
    std::fs::write(
        &held,
        format!("pid={}\nhost={host}\nstarted=0\n", std::process::id()),
    )
    .unwrap();
    let holder = std::fs::File::open(&held).unwrap();
    holder.try_lock().unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(exit::FAILED));
    let err = common::text(&o.stderr);
    assert!(
        err.contains("another mailinfra apply runs in this workspace")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(
        dir.path().join(".mailinfra-apply.lock").exists(),
        "someone else's lock stays"
    );
}

/// The spec's `deploy` settings reach the stacks: the service role is the one
/// CloudFormation runs as, and `termination_protection: false` means apply
/// does not try to turn it on (moto cannot, so a try shows as a warning).
#[test]
fn the_specs_deploy_settings_are_used() {
    let project = format!("dep{}", std::process::id());
    let role = "arn:aws:iam::123456789012:role/mailinfra-cfn";
    let dir = common::scratch();
    let base = format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\nmail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n"
    );
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        format!("{base}deploy:\n  role_arn: {role}\n  termination_protection: false\n"),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::SUCCESS), "{err}");
    assert!(!err.contains("termination protection stays off"), "{err}");
    let used = common::boto3(&format!(
        "print(client('cloudformation').describe_stacks(StackName='{project}-us-east-1-mail-manager')['Stacks'][0].get('RoleARN'))"
    ));
    assert_eq!(used.trim(), role);

    // Without the setting, apply turns protection on for a new stack.
    let other = common::scratch();
    std::fs::write(
        other.path().join("mailinfra.yaml"),
        base.replace(&project, &format!("{project}b")),
    )
    .unwrap();
    let o = cli(other.path(), &["apply", "--yes"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::SUCCESS), "{err}");
    assert!(err.contains("termination protection stays off"), "{err}");
}

/// A 2048-bit BYODKIM key goes through CloudFormation into the hosted zone as
/// one TXT record of strings of at most 255 characters that join to the key.
#[test]
fn a_long_dkim_key_lands_in_route53_as_strings_that_join_to_the_key() {
    let project = &format!("e2e-dkim-{}", std::process::id());
    let zone = zone_for(&format!("{project}.example"));
    let key = format!(
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}IDAQAB",
        "q".repeat(342)
    );
    let secret = common::boto3(&format!(
        "print(client('secretsmanager').create_secret(Name='{project}/dkim', SecretString='-----BEGIN PRIVATE KEY-----')['ARN'])"
    ));
    assert!(secret.starts_with("arn:"), "{secret}");
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        format!(
            "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\n\
             dns:\n  {project}.example: {{ route53_zone_id: {zone} }}\n\
             identities:\n  {project}.example:\n    dkim: byodkim\n    byodkim:\n      selector: s1\n      \
             private_key: {{ secret: \"{project}/dkim\" }}\n      public_key: {key}\n"
        ),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}\n{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    let strings = common::boto3(&format!(
        "import re\n\
         rs = client('route53').list_resource_record_sets(HostedZoneId='{zone}')['ResourceRecordSets']\n\
         v = [r['ResourceRecords'] for r in rs if r['Type'] == 'TXT' and r['Name'].rstrip('.') == 's1._domainkey.{project}.example'][0]\n\
         assert len(v) == 1, v\n\
         print(json.dumps(re.findall(r'\"((?:[^\"\\\\]|\\\\.)*)\"', v[0]['Value'])))"
    ));
    let strings: Vec<String> = serde_json::from_str(&strings).unwrap();
    assert_eq!(strings.len(), 2, "{strings:?}");
    assert!(strings.iter().all(|s| s.len() <= 255), "{strings:?}");
    assert_eq!(strings.concat(), format!("p={key}"));
}

fn stack_exists(stack: &str) -> bool {
    common::boto3(&format!(
        "s = client('cloudformation').list_stacks()['StackSummaries']\n\
         print(any(x['StackName'] == '{stack}' and x['StackStatus'] != 'DELETE_COMPLETE' for x in s))"
    )) == "True"
}

/// Removing the whole `mail_manager` block: its stack is a deletion in the
/// plan, refused while termination protection is on and until its archive is
/// named, then deleted; `destroy` removes the rest behind the same gates.
#[test]
fn a_stack_the_spec_no_longer_produces_is_planned_and_deleted_behind_the_gates() {
    let project = &format!("e2e-retire-{}", std::process::id());
    let zone = zone_for(&format!("{project}.example"));
    let dir = common::scratch();
    let file = dir.path().join("mailinfra.yaml");
    let full = spec(project, &zone, "none");
    std::fs::write(&file, &full).unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let mail_manager = format!("{project}-us-east-1-mail-manager");
    let sending = format!("{project}-us-east-1-sending");
    assert!(stack_exists(&mail_manager));

    let without = full[..full.find("mail_manager:").unwrap()].to_string();
    std::fs::write(&file, &without).unwrap();
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    let plan = common::text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{plan}{}",
        common::text(&o.stderr)
    );
    assert!(
        plan.contains(&mail_manager) && plan.contains("delete (no longer in the spec)"),
        "{plan}"
    );
    assert!(plan.contains("ArchiveJournal"), "{plan}");

    // moto has no termination protection (UpdateTerminationProtection is not
    // implemented): that gate is tested against the fake in `deploy::retired`.
    let o = cli(dir.path(), &["apply", "--yes"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::REFUSED), "{err}");
    assert!(err.contains("--allow-destroy ArchiveJournal"), "{err}");

    // A saved plan carries the deletion; applying it deletes exactly that stack.
    let o = cli(dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(
        dir.path(),
        &["apply", "plan.json", "--allow-destroy", "ArchiveJournal"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(!stack_exists(&mail_manager));
    assert!(stack_exists(&sending));
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stdout)
    );

    // destroy: confirmation required off a terminal; stateful resources named.
    let o = cli(dir.path(), &["destroy"]);
    assert_eq!(
        o.status.code(),
        Some(exit::USAGE),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(dir.path(), &["destroy", "--yes"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::REFUSED), "{err}");
    let identity = err
        .split_whitespace()
        .find(|w| w.starts_with("Identity"))
        .unwrap_or_else(|| panic!("the identity is named: {err}"))
        .to_string();
    assert!(stack_exists(&sending));
    let o = cli(
        dir.path(),
        &["destroy", "--yes", "--allow-destroy", &identity],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(!stack_exists(&sending));
    let o = cli(dir.path(), &["destroy", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(common::text(&o.stdout).contains("nothing to destroy"));
}
