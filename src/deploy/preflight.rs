//! Pre-flight reads: resources a plan adds that already exist outside any
//! stack — today SES email identities, made by hand, in the console or by
//! another tool. CloudFormation cannot create them: the apply would fail in the
//! middle, roll the stack back and perhaps take other new resources with it.
//! Found ones are marked on their change (`exists_outside`) for every
//! rendering, and apply refuses them. mailinfra never adopts a resource
//! silently: the owner deletes it or imports it into the stack.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::aws::ses::{MailApi, existing_identities};
use crate::build::Artifact;
use crate::deploy::StackPlan;
use crate::diff::Action;

pub const IDENTITY: &str = "AWS::SES::EmailIdentity";

/// Whether any plan adds an SES identity (only then is SES asked).
pub fn adds_identities(plans: &[StackPlan]) -> bool {
    plans.iter().any(|p| {
        p.changes
            .iter()
            .any(|c| c.action == Action::Add && c.resource_type == IDENTITY)
    })
}

/// `(logical id, identity)` of every SES identity `plan` adds, read from the
/// template body it deploys.
pub fn added_identities(plan: &StackPlan, body: &str) -> Vec<(String, String)> {
    let adds: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Add && c.resource_type == IDENTITY)
        .map(|c| c.logical_id.as_str())
        .collect();
    if adds.is_empty() {
        return Vec::new();
    }
    let Ok(template) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    adds.into_iter()
        .filter_map(|id| {
            let name = template["Resources"][id]["Properties"]["EmailIdentity"].as_str()?;
            Some((id.to_string(), name.to_string()))
        })
        .collect()
}

/// Reads, region by region, whether the identities the plans add exist in
/// SES already, and marks those changes. Returns how many were marked. (The
/// listing is retried inside the SDK client.)
pub async fn mark_existing<M: MailApi>(
    plans: &mut [StackPlan],
    artifacts: &[Artifact],
    apis: &BTreeMap<String, M>,
) -> anyhow::Result<usize> {
    // region → [(plan index, logical id, identity)]
    let mut wanted: BTreeMap<&str, Vec<(usize, String, String)>> = BTreeMap::new();
    for (i, p) in plans.iter().enumerate() {
        let Some(a) = artifacts.iter().find(|a| a.entry.name == p.stack) else {
            continue;
        };
        for (id, name) in added_identities(p, &a.body) {
            wanted
                .entry(a.entry.region.as_str())
                .or_default()
                .push((i, id, name));
        }
    }
    let mut marks = Vec::new();
    for (region, adds) in wanted {
        let Some(api) = apis.get(region) else {
            continue;
        };
        let names: Vec<String> = adds.iter().map(|(_, _, n)| n.clone()).collect();
        let found = existing_identities(api, &names).await?;
        for (i, id, name) in adds {
            if let Some((_, state)) = found.iter().find(|(n, _)| n == &name) {
                let how = if state.verified_for_sending {
                    "verified".to_string()
                } else {
                    state
                        .verification_status
                        .as_deref()
                        .map_or_else(|| "not verified".into(), |s| format!("verification {s}"))
                };
                marks.push((i, id, format!("SES identity `{name}` in {region} ({how})")));
            }
        }
    }
    let count = marks.len();
    for (i, id, what) in marks {
        if let Some(c) = plans[i].changes.iter_mut().find(|c| c.logical_id == id) {
            c.exists_outside = Some(what);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ses::IdentityState;
    use crate::diff::{Replacement, ResourceChange};

    struct Known(Vec<&'static str>);

    impl MailApi for Known {
        async fn email_identity(&self, _name: &str) -> anyhow::Result<Option<IdentityState>> {
            anyhow::bail!("the pre-flight lists identities, it does not read them one by one")
        }

        async fn list_identities(&self) -> anyhow::Result<Vec<IdentityState>> {
            Ok(self
                .0
                .iter()
                .map(|name| IdentityState {
                    name: name.to_string(),
                    identity_type: "DOMAIN".into(),
                    verification_status: Some("PENDING".into()),
                    ..Default::default()
                })
                .collect())
        }
    }

    fn artifact() -> Artifact {
        let body = r#"{"Resources":{
            "IdentityAExample":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"a.example"}},
            "IdentityBExample":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"b.example"}},
            "IdentityCExample":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"c.example"}}}}"#;
        Artifact {
            entry: crate::build::StackEntry {
                name: "demo-us-east-1-sending".into(),
                region: "us-east-1".into(),
                concern: "sending".into(),
                template: "t.json".into(),
                sha256: String::new(),
                bytes: body.len(),
                resources: 3,
                depends_on: Vec::new(),
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn only_added_identities_that_exist_are_marked() {
        let a = artifact();
        let mut plan = StackPlan::new(&a);
        let change = |id: &str, action| {
            ResourceChange::new(id, IDENTITY, action, Replacement::Never, Vec::new())
        };
        plan.changes = vec![
            change("IdentityAExample", Action::Add),
            // Already in the stack: its identity existing is expected.
            change("IdentityBExample", Action::Modify),
            change("IdentityCExample", Action::Add),
        ];
        let mut plans = vec![plan];
        let apis: BTreeMap<String, Known> = [(
            "us-east-1".to_string(),
            Known(vec!["a.example", "b.example"]),
        )]
        .into();
        let n = mark_existing(&mut plans, &[a], &apis).await.unwrap();
        assert_eq!(n, 1);
        let marks: Vec<Option<&str>> = plans[0]
            .changes
            .iter()
            .map(|c| c.exists_outside.as_deref())
            .collect();
        assert_eq!(
            marks,
            [
                Some("SES identity `a.example` in us-east-1 (verification PENDING)"),
                None,
                None
            ]
        );
        let text = crate::render::human(&plans, false);
        assert!(text.contains("!! EXISTS OUTSIDE THE STACK: SES identity `a.example`"));
        assert!(text.contains("1 resource(s) to add already exist outside any stack"));
    }
}
