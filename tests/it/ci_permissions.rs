//! The IAM policies of the CI recipe (`docs/ci/iam-plan-policy.json`,
//! `docs/ci/iam-apply-policy.json`) grant every AWS operation the code calls:
//! the operations are read from the source of `src/aws`, so a new call that
//! no policy grants fails here, not in someone's pipeline.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common;

/// The AWS adapters and the IAM service prefix of the client each calls.
/// Every file of `src/aws` that sends a request must be listed.
const ADAPTERS: &[(&str, &str)] = &[
    ("cloudformation_sdk.rs", "cloudformation"),
    ("ses.rs", "ses"),
    ("kms.rs", "kms"),
    ("s3.rs", "s3"),
    ("identity.rs", "sts"),
];

/// Expressions that are an SDK client: the method called right after one is
/// an operation (`self.client.describe_stacks()`, `self.s3\n.put_object()`).
const CLIENTS: &[&str] = &[".client", "self.s3", "self.sts", "Client::from_conf(sts)"];

/// `describe_stacks` → `DescribeStacks`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The operations called in `code`, as snake-case method names.
fn operations(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for client in CLIENTS {
        let mut from = 0;
        while let Some(i) = code[from..].find(client) {
            let rest = &code[from + i + client.len()..];
            from += i + client.len();
            if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let Some(call) = rest.trim_start().strip_prefix('.') else {
                continue;
            };
            let name: String = call
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && call[name.len()..].starts_with('(') {
                found.insert(name);
            }
        }
    }
    found
}

/// `service:Operation` for every operation the shipped code of `src/aws` calls.
fn called() -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for (file, service) in ADAPTERS {
        let text = std::fs::read_to_string(common::root().join("src/aws").join(file)).unwrap();
        // The shipped part: test modules sit at the end of each file.
        let shipped = text
            .split("\n#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(&text);
        let ops = operations(shipped);
        assert!(!ops.is_empty(), "{file}: no AWS operation found");
        for op in ops {
            let service = if op == "get_caller_identity" {
                "sts"
            } else {
                service
            };
            actions.insert(format!("{service}:{}", pascal(&op)));
        }
    }
    actions
}

/// The actions a policy document allows (every statement is an `Allow`).
fn granted(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::root().join("docs/ci").join(file)).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(doc["Version"], "2012-10-17", "{file}");
    let mut out = BTreeSet::new();
    for st in doc["Statement"].as_array().expect("statements") {
        assert_eq!(st["Effect"], "Allow", "{file}: {st}");
        assert!(
            st["Resource"].is_string() || st["Resource"].is_array(),
            "{file}: {st}"
        );
        for a in st["Action"].as_array().expect("an action list") {
            out.insert(a.as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn every_adapter_that_calls_aws_is_scanned() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(common::root().join("src/aws")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let shipped = text
            .split("\n#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(&text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if shipped.contains(".send()") && !name.starts_with("fake") {
            files.push(name);
        }
    }
    for f in &files {
        assert!(
            ADAPTERS.iter().any(|(a, _)| a == f),
            "src/aws/{f} calls AWS: add it to ADAPTERS with its service"
        );
    }
}

#[test]
fn the_apply_policy_grants_every_operation_the_code_calls() {
    let calls = called();
    for needed in [
        "cloudformation:DescribeStacks",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "s3:PutObject",
        "sts:GetCallerIdentity",
        "ses:GetEmailIdentity",
        "kms:GetKeyPolicy",
    ] {
        assert!(
            calls.contains(needed),
            "the scan missed {needed}: {calls:?}"
        );
    }
    let apply = granted("iam-apply-policy.json");
    let missing: Vec<&String> = calls.iter().filter(|a| !apply.contains(*a)).collect();
    assert!(
        missing.is_empty(),
        "docs/ci/iam-apply-policy.json does not grant {missing:?}"
    );
    let unused: Vec<&String> = apply
        .iter()
        .filter(|a| !calls.contains(*a))
        .filter(|a| !["iam:PassRole", "s3:GetObject"].contains(&a.as_str()))
        .collect();
    assert!(unused.is_empty(), "granted but never called: {unused:?}");
}

/// The plan role reads, makes and removes change sets (and deletes an empty
/// stack a failed first create left), passes the deploy role, and can run
/// `status` and `check --live`; it can never execute, cancel or roll back.
#[test]
fn the_plan_policy_plans_and_never_executes() {
    let plan = granted("iam-plan-policy.json");
    let apply = granted("iam-apply-policy.json");
    assert!(
        plan.is_subset(&apply),
        "apply plans first: it needs all of the plan role"
    );
    for needed in [
        "sts:GetCallerIdentity",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DeleteChangeSet",
        "cloudformation:ListChangeSets",
        "cloudformation:DescribeStacks",
        // The project's stacks the spec no longer produces are deletions in the plan.
        "cloudformation:ListStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:GetTemplate",
        "cloudformation:ListStackResources",
        "cloudformation:DeleteStack",
        "cloudformation:UpdateTerminationProtection",
        "ses:GetEmailIdentity",
        "ses:ListEmailIdentities",
        "s3:PutObject",
        "iam:PassRole",
    ] {
        assert!(plan.contains(needed), "the plan role lacks {needed}");
    }
    for never in [
        "cloudformation:ExecuteChangeSet",
        "cloudformation:CancelUpdateStack",
        "cloudformation:ContinueUpdateRollback",
    ] {
        assert!(!plan.contains(never), "the plan role may {never}");
    }
}

#[test]
fn the_scanner_reads_chained_and_inline_calls() {
    let ops = operations(
        "let a = self.client.describe_stacks().send();\nlet b = self\n    .client\n    .get_template()\n    .send();\nself.s3\n  .put_object()\nlet c = self.client_id.other();\naws_sdk_sts::Client::from_conf(sts)\n    .get_caller_identity()\n",
    );
    let want: BTreeSet<String> = [
        "describe_stacks",
        "get_template",
        "put_object",
        "get_caller_identity",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(ops, want);
    assert_eq!(
        pascal("describe_stack_resource_drifts"),
        "DescribeStackResourceDrifts"
    );
}
