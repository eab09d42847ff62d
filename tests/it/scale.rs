//! Topologies of any size: shards within every CloudFormation limit, a
//! dependency DAG with wired parameters, and placement that never moves.

use crate::common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::specs::{isv_spec, isv_spec_with, tenant};
use mailinfra::build::{Artifact, Manifest};
use mailinfra::pipeline::{self, Built, Judge};
use mailinfra::placement::{HARD, Lock};
use proptest::prelude::*;
use serde_json::Value;

fn build(text: String, lock: Option<&Lock>) -> Built {
    let doc = mailinfra::load::Document::parse("isv.yaml", text).expect("parses");
    let checked = pipeline::check_document(doc, Judge::default());
    let model = checked
        .model
        .as_ref()
        .unwrap_or_else(|| panic!("the generated spec has errors: {:?}", checked.diagnostics));
    pipeline::build(model, &checked.spec_hash, lock).expect("builds")
}

fn parse(a: &Artifact) -> Value {
    serde_json::from_str(&a.body).expect("template is JSON")
}

/// Every stack within every hard limit, counted on the rendered template, and
/// every IAM role within IAM's limits, granted no identity wildcard.
fn assert_within_limits(built: &Built) {
    for a in &built.artifacts {
        let t = parse(a);
        let count = |k: &str| t.get(k).and_then(Value::as_object).map_or(0, |m| m.len());
        let name = &a.entry.name;
        let resources = t["Resources"].as_object().expect("resources");
        for (role, sizes) in mailinfra::iam::role_sizes(resources) {
            assert_eq!(sizes.problem(), None, "{name}: {role}");
        }
        assert!(!a.body.contains(":identity/*"), "{name}: identity wildcard");
        assert!(count("Resources") <= HARD.resources, "{name}: resources");
        assert!(count("Outputs") <= HARD.outputs, "{name}: outputs");
        assert!(count("Parameters") <= HARD.parameters, "{name}: parameters");
        assert!(
            a.body.matches("{{resolve:").count() <= HARD.dynamic_refs,
            "{name}: dynamic references"
        );
        assert!(a.body.len() <= HARD.bytes, "{name}: bytes");
        assert_eq!(a.entry.bytes, a.body.len());
        assert_eq!(a.entry.needs_upload, a.body.len() > 51_200, "{name}");
        assert!(name.len() <= 128, "{name}: stack name");
    }
}

/// The manifest's order is a topological order of an acyclic graph, every
/// parameter names an output of its producer, and every reference a template
/// makes resolves inside it.
fn assert_dag(m: &Manifest, artifacts: &[Artifact]) {
    let position: HashMap<&str, usize> = m
        .stacks
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let templates: HashMap<&str, Value> = artifacts
        .iter()
        .map(|a| (a.entry.name.as_str(), parse(a)))
        .collect();
    for (i, s) in m.stacks.iter().enumerate() {
        for d in &s.depends_on {
            let j = position[d.as_str()];
            assert!(j < i, "{} is deployed before its dependency {d}", s.name);
        }
        let t = &templates[s.name.as_str()];
        let params: BTreeSet<&str> = t
            .get("Parameters")
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let wired: BTreeSet<&str> = s.parameters.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(params, wired, "{}: every parameter is wired", s.name);
        for w in &s.parameters {
            assert!(
                s.depends_on.contains(&w.stack),
                "{}: {} not in depends_on",
                s.name,
                w.stack
            );
            let producer = &templates[w.stack.as_str()];
            assert!(
                producer["Outputs"].get(&w.output).is_some(),
                "{}: parameter {} reads the missing output {} of {}",
                s.name,
                w.name,
                w.output,
                w.stack
            );
        }
        // Every Ref / GetAtt names a resource or parameter of the same template.
        let resources = t["Resources"].as_object().expect("resources");
        let mut stack = vec![t.clone()];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("Ref") {
                        assert!(
                            r.starts_with("AWS::")
                                || resources.contains_key(r)
                                || params.contains(r.as_str()),
                            "{}: dangling Ref {r}",
                            s.name
                        );
                    }
                    if let Some(Value::Array(a)) = o.get("Fn::GetAtt") {
                        let id = a[0].as_str().unwrap_or("");
                        assert!(
                            resources.contains_key(id),
                            "{}: dangling GetAtt {id}",
                            s.name
                        );
                    }
                    stack.extend(o.into_iter().map(|(_, x)| x));
                }
                Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
    }
}

/// Logical id → stack, per region.
fn placement_of(built: &Built) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for a in &built.artifacts {
        for id in parse(a)["Resources"].as_object().expect("resources").keys() {
            let helper = id == "SesCustomResourceFunction"
                || id.ends_with("SesCustomResourceRole")
                    && (id == "SesCustomResourceRole" || id.starts_with("Policy"));
            if !helper {
                let prev = out.insert((a.entry.region.clone(), id.clone()), a.entry.name.clone());
                assert!(prev.is_none(), "{id} in two stacks of {}", a.entry.region);
            }
        }
    }
    out
}

fn bodies(built: &Built) -> BTreeMap<String, &str> {
    built
        .artifacts
        .iter()
        .map(|a| (a.entry.name.clone(), a.body.as_str()))
        .collect()
}

#[test]
fn ten_thousand_domains_in_two_regions() {
    let n = 10_000;
    let built = build(isv_spec(n, true), None);
    assert_within_limits(&built);
    assert_dag(&built.manifest, &built.artifacts);
    let regions: BTreeSet<&str> = built
        .artifacts
        .iter()
        .map(|a| a.entry.region.as_str())
        .collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"].into());
    assert!(
        built.artifacts.len() > 100,
        "{} stacks",
        built.artifacts.len()
    );
    // Shards of the secondary wait for the primary shards holding their parents.
    let secondary = built
        .manifest
        .stacks
        .iter()
        .find(|s| s.name == "isv-eu-west-1-sending-01")
        .expect("a secondary shard");
    assert!(
        secondary
            .depends_on
            .iter()
            .any(|d| d.starts_with("isv-us-east-1-sending"))
    );
    // Shards beyond the first read the configuration set from shard 0.
    let shard = built
        .manifest
        .stacks
        .iter()
        .find(|s| s.name == "isv-us-east-1-sending-03")
        .expect("a primary shard");
    assert_eq!(shard.parameters.len(), 1, "{:?}", shard.parameters);
    assert_eq!(shard.parameters[0].stack, "isv-us-east-1-sending");

    // cfn-lint, once, over a sample: both shards 0, and some shards of each region.
    let dir = common::scratch();
    let mut sample = Vec::new();
    for (i, a) in built.artifacts.iter().enumerate() {
        if i % 37 == 0 || a.entry.name.ends_with("-sending") || a.entry.name.ends_with("-01") {
            let path = dir.path().join(&a.entry.template);
            std::fs::write(&path, &a.body).expect("writes");
            sample.push((path, a.entry.region.clone()));
        }
    }
    assert!(sample.len() >= 8);
    common::cfn_lint(&sample);

    // Adding one domain changes exactly one shard per region, and nothing moves.
    let before = placement_of(&built);
    let mut more = crate::specs::tenants(n);
    more.push(tenant(n));
    let grown = build(isv_spec_with(&more, true), Some(&built.placement));
    let changed: Vec<String> = changed_stacks(&built, &grown);
    assert_eq!(changed.len(), 2, "{changed:?}");
    let after = placement_of(&grown);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k:?} moved");
    }
}

fn changed_stacks(a: &Built, b: &Built) -> Vec<String> {
    let (x, y) = (bodies(a), bodies(b));
    let names: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    names
        .into_iter()
        .filter(|n| x.get(*n) != y.get(*n))
        .cloned()
        .collect()
}

#[test]
fn a_shared_part_beyond_the_limits_is_an_error_naming_the_stack() {
    // 510 templates in the shared part of the primary's shard 0.
    let mut text = isv_spec(4, false);
    text.push_str("templates:\n");
    for i in 0..510 {
        text.push_str(&format!("  t{i}: {{ subject: \"s\", text: \"t\" }}\n"));
    }
    let doc = mailinfra::load::Document::parse("isv.yaml", text).expect("parses");
    let checked = pipeline::check_document(doc, Judge::default());
    let model = checked.model.expect("valid");
    let err = pipeline::build(&model, "", None)
        .err()
        .expect("too large")
        .to_string();
    assert!(err.contains("`isv-us-east-1-sending`"), "{err}");
    assert!(err.contains("resources (limit 500)"), "{err}");
    assert!(err.contains("MI3113"), "{err}");
}

/// `validate` checks overrides against the compiled templates; a spec that
/// does not compile says so (MI3113) instead of passing them unchecked.
#[test]
fn overrides_of_a_spec_that_does_not_compile_are_not_passed_unchecked() {
    let mut text = isv_spec(4, false);
    text.push_str("templates:\n");
    for i in 0..510 {
        text.push_str(&format!("  t{i}: {{ subject: \"s\", text: \"t\" }}\n"));
    }
    text.push_str("overrides:\n  ConfigurationSetTenants:\n    properties:\n      TrackingOptions: { HttpsPolicy: REQUIRE }\n");
    let doc = mailinfra::load::Document::parse("isv.yaml", text).expect("parses");
    let checked = pipeline::check_document(doc, Judge::default());
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == "MI3113")
        .unwrap_or_else(|| panic!("no MI3113: {:?}", checked.diagnostics));
    assert!(d.is_error(), "{d:?}");
    assert!(d.message.contains("overrides cannot be checked"), "{d:?}");
    assert!(d.message.contains("resources (limit 500)"), "{d:?}");
}

#[test]
fn build_writes_the_lock_and_plan_refuses_a_stale_one() {
    let dir = common::scratch();
    let spec = dir.path().join("mailinfra.yaml");
    std::fs::write(&spec, isv_spec(200, false)).expect("writes");
    let out = common::run(&["build", "--out", "out"], dir.path());
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let stdout = common::text(&out.stdout);
    assert!(
        stdout.contains("isv-us-east-1-sending-01  us-east-1"),
        "{stdout}"
    );
    assert!(stdout.contains("after isv-us-east-1-sending"), "{stdout}");
    let lock: Lock = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("mailinfra.lock")).expect("lock written"),
    )
    .expect("lock parses");
    assert!(lock.stacks.contains_key("isv-us-east-1-sending-01"));
    // A new domain not yet in the lock: plan refuses before talking to AWS.
    std::fs::write(&spec, isv_spec(201, false)).expect("writes");
    let out = common::run(&["plan", "--offline", "--build-dir", "out"], dir.path());
    assert!(!out.status.success());
    assert!(
        common::text(&out.stderr).contains("run `mailinfra build` and commit"),
        "{}",
        common::text(&out.stderr)
    );
    // Build records it; the lock grows by one line.
    let out = common::run(&["build", "--out", "out"], dir.path());
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let text = std::fs::read_to_string(dir.path().join("mailinfra.lock")).expect("lock");
    assert!(text.contains(&format!("\"identity:{}\"", tenant(200))));
    let out = common::run(&["plan", "--offline", "--build-dir", "out"], dir.path());
    assert!(out.status.success(), "{}", common::text(&out.stderr));
}

#[test]
fn a_topology_that_fits_one_stack_needs_no_lock() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), isv_spec(10, true)).expect("writes");
    let out = common::run(&["build", "--out", "out"], dir.path());
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(!dir.path().join("mailinfra.lock").exists());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random insertions and deletions: no other element moves, no logical id
    /// changes, and exactly the stacks holding the changed domains differ.
    #[test]
    fn placement_is_stable(
        removed in proptest::collection::btree_set(0usize..400, 0..6),
        added in proptest::collection::btree_set(400usize..2000, 0..6),
        positions in proptest::collection::vec(0usize..400, 6),
    ) {
        let base: Vec<String> = (0..400).map(tenant).collect();
        let first = build(isv_spec_with(&base, true), None);
        let mut next: Vec<String> = base
            .iter()
            .enumerate()
            .filter(|(i, _)| !removed.contains(i))
            .map(|(_, d)| d.clone())
            .collect();
        for (a, p) in added.iter().zip(&positions) {
            let at = (*p).min(next.len());
            next.insert(at, tenant(*a));
        }
        let second = build(isv_spec_with(&next, true), Some(&first.placement));
        assert_within_limits(&second);
        assert_dag(&second.manifest, &second.artifacts);
        let before = placement_of(&first);
        let after = placement_of(&second);
        let touched: BTreeSet<String> = removed.iter().map(|i| tenant(*i)).chain(added.iter().map(|i| tenant(*i))).collect();
        let pascal = |d: &str| mailinfra::ids::pascal(d);
        let touched_ids: Vec<String> = touched.iter().map(|d| pascal(d)).collect();
        let mut expected: BTreeSet<String> = BTreeSet::new();
        for ((region, id), stack) in &before {
            let mine = touched_ids.iter().any(|t| id.ends_with(t.as_str()) || id.trim_end_matches(char::is_numeric).ends_with(t.as_str()));
            if mine {
                expected.insert(stack.clone());
            } else {
                prop_assert_eq!(after.get(&(region.clone(), id.clone())), Some(stack), "{} moved", id);
            }
        }
        for ((region, id), stack) in &after {
            let mine = touched_ids.iter().any(|t| id.ends_with(t.as_str()) || id.trim_end_matches(char::is_numeric).ends_with(t.as_str()));
            if mine {
                expected.insert(stack.clone());
            } else {
                prop_assert!(before.contains_key(&(region.clone(), id.clone())), "{} appeared", id);
            }
        }
        let changed: BTreeSet<String> = changed_stacks(&first, &second).into_iter().collect();
        prop_assert_eq!(changed, expected);
    }
}

/// The generators make specs that check clean, of the size asked for.
#[test]
fn generated_specs_are_valid() {
    let check = |text: String| {
        let doc = mailinfra::load::Document::parse("gen.yaml", text).expect("parses");
        mailinfra::pipeline::check_document(doc, mailinfra::pipeline::Judge::default())
    };
    for two in [false, true] {
        let checked = check(isv_spec(6, two));
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let model = checked.model.expect("a model");
        assert_eq!(model.identities.len(), 7);
        assert_eq!(model.secondary.is_some(), two);
    }
    let checked = check(crate::specs::domains_spec(30));
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    assert_eq!(checked.model.map(|m| m.identities.len()), Some(30));
}
