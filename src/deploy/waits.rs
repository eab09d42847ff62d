//! Waits: resources that can only be created once an SES identity is
//! verified, held back until it is.
//!
//! SES refuses an identity policy for an identity that is not verified, and a
//! DEED replica needs a verified parent; verification follows the DKIM records
//! by minutes to hours. The compiler marks such resources
//! ([`crate::template::WAITS_FOR_VERIFIED`]); planning reads whether their
//! identities are verified and leaves the unmet ones (and whatever refers to
//! them) out of the template it sends, so no stack ever fails or sticks on an
//! unverified identity. Apply creates everything else, waits for the
//! verification, and creates what was held back.
//!
//! Only a resource the deployed stack does not hold yet is ever held back:
//! leaving out one it holds would delete it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::ses::MailApi;
use crate::template::WAITS_FOR_VERIFIED;

/// A resource held back, and the identity whose verification it waits for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Waiting {
    pub logical_id: String,
    pub resource_type: String,
    pub identity: String,
    pub region: String,
    /// Held back because it refers to this held-back resource, not for a mark of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Waiting {
    /// "waits for example.com to be verified in us-east-1".
    pub fn reason(&self) -> String {
        let after = self
            .after
            .as_ref()
            .map(|a| format!(" (it refers to {a})"))
            .unwrap_or_default();
        format!(
            "waits for {} to be verified in {}{after}",
            self.identity, self.region
        )
    }
}

/// Which identities are verified, by region and name.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    verified: BTreeSet<(String, String)>,
    /// Identities whose state could not be read, with why (they count as not verified).
    pub unread: Vec<String>,
}

impl Verified {
    pub fn is_verified(&self, region: &str, identity: &str) -> bool {
        self.verified
            .contains(&(region.to_string(), identity.to_ascii_lowercase()))
    }

    /// Every identity counts as verified except those `waiting` names: what a
    /// saved plan held back is held back again when its change sets are re-read.
    pub fn all_but(waiting: &[Waiting]) -> AllBut<'_> {
        AllBut(waiting)
    }
}

/// See [`Verified::all_but`].
pub struct AllBut<'a>(&'a [Waiting]);

/// What a hold-back asks: is this identity verified in this region?
pub trait Verification {
    fn verified(&self, region: &str, identity: &str) -> bool;
}

impl Verification for Verified {
    fn verified(&self, region: &str, identity: &str) -> bool {
        self.is_verified(region, identity)
    }
}

impl Verification for AllBut<'_> {
    fn verified(&self, region: &str, identity: &str) -> bool {
        !self
            .0
            .iter()
            .any(|w| w.region == region && w.identity.eq_ignore_ascii_case(identity))
    }
}

/// The waits a template declares: `(logical id, type, identity, region)`.
pub fn declared(template: &Value) -> Vec<(String, String, String, String)> {
    let Some(resources) = template["Resources"].as_object() else {
        return Vec::new();
    };
    resources
        .iter()
        .filter_map(|(id, r)| {
            let w = r.get("Metadata")?.get(WAITS_FOR_VERIFIED)?;
            Some((
                id.clone(),
                r["Type"].as_str().unwrap_or_default().to_string(),
                w["Identity"].as_str()?.to_string(),
                w["Region"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Every identity some template waits for, by region.
pub fn identities<'a>(
    bodies: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for body in bodies {
        let Ok(t) = serde_json::from_str::<Value>(body) else {
            continue;
        };
        for (_, _, identity, region) in declared(&t) {
            out.entry(region).or_default().insert(identity);
        }
    }
    out
}

/// Reads whether each identity is verified: `GetEmailIdentity`'s
/// `VerifiedForSendingStatus` ("whether or not the identity is verified"). A
/// `VerificationStatus` of `SUCCESS` alone is not taken for it. An identity
/// SES does not know, or whose state cannot be read, is not verified.
pub async fn read<A: MailApi>(
    apis: &BTreeMap<String, A>,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Verified {
    let mut out = Verified::default();
    for (region, names) in wanted {
        let Some(api) = apis.get(region) else {
            out.unread.extend(
                names
                    .iter()
                    .map(|n| format!("{n} in {region}: no connection")),
            );
            continue;
        };
        for name in names {
            match api.email_identity(name).await {
                Ok(Some(s)) if s.verified_for_sending => {
                    out.verified
                        .insert((region.clone(), name.to_ascii_lowercase()));
                }
                Ok(_) => {}
                Err(e) => out.unread.push(format!("{name} in {region}: {e:#}")),
            }
        }
    }
    out
}

/// The template to send now: `body` without the resources whose identity is
/// not verified yet (unless the deployed stack already holds them), without
/// whatever refers to those, and without outputs that do. `None` when nothing
/// is held back.
pub fn hold_back(
    body: &str,
    deployed: Option<&str>,
    verified: &impl Verification,
) -> Option<(String, Vec<Waiting>)> {
    let mut t: Value = serde_json::from_str(body).ok()?;
    let deployed: BTreeSet<String> = deployed
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|d| {
            d["Resources"]
                .as_object()
                .map(|r| r.keys().cloned().collect())
        })
        .unwrap_or_default();
    let mut waiting: Vec<Waiting> = declared(&t)
        .into_iter()
        .filter(|(id, _, identity, region)| {
            !deployed.contains(id) && !verified.verified(region, identity)
        })
        .map(|(logical_id, resource_type, identity, region)| Waiting {
            logical_id,
            resource_type,
            identity,
            region,
            after: None,
        })
        .collect();
    if waiting.is_empty() {
        return None;
    }
    let resources = t["Resources"].as_object_mut()?;
    // Whatever refers to a held-back resource waits with it (to a fixed point).
    let mut held: BTreeMap<String, usize> = waiting
        .iter()
        .enumerate()
        .map(|(i, w)| (w.logical_id.clone(), i))
        .collect();
    loop {
        let more: Vec<(String, String, usize)> = resources
            .iter()
            .filter(|(id, _)| !held.contains_key(*id) && !deployed.contains(*id))
            .filter_map(|(id, r)| {
                let on = held.iter().find(|(h, _)| refers_to(r, h))?;
                Some((id.clone(), on.0.clone(), *on.1))
            })
            .collect();
        if more.is_empty() {
            break;
        }
        for (id, on, i) in more {
            let w = Waiting {
                logical_id: id.clone(),
                resource_type: resources[&id]["Type"].as_str().unwrap_or_default().into(),
                identity: waiting[i].identity.clone(),
                region: waiting[i].region.clone(),
                after: Some(on),
            };
            held.insert(id, waiting.len());
            waiting.push(w);
        }
    }
    for id in held.keys() {
        resources.remove(id);
    }
    // A resource the stack holds may be ordered after a held-back one (the
    // identity policies run one after another): it no longer waits for it.
    for r in resources.values_mut() {
        let Some(on) = r.get_mut("DependsOn") else {
            continue;
        };
        let kept: Vec<Value> = match on {
            Value::String(s) => vec![Value::String(s.clone())],
            Value::Array(a) => a.clone(),
            _ => continue,
        }
        .into_iter()
        .filter(|d| !d.as_str().is_some_and(|d| held.contains_key(d)))
        .collect();
        if kept.is_empty() {
            if let Some(m) = r.as_object_mut() {
                m.remove("DependsOn");
            }
        } else {
            *on = Value::Array(kept);
        }
    }
    if let Some(outputs) = t.get_mut("Outputs").and_then(Value::as_object_mut) {
        outputs.retain(|_, o| !held.keys().any(|h| refers_to(o, h)));
    }
    waiting.sort();
    Some((crate::template::render_value(&t), waiting))
}

/// Whether `v` names the resource `id`: `Ref`, `Fn::GetAtt`, `DependsOn` or
/// a `${id}` / `${id.Attr}` inside `Fn::Sub`.
fn refers_to(v: &Value, id: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| match (k.as_str(), x) {
            ("Ref", Value::String(s)) => s == id,
            ("Fn::GetAtt", Value::Array(a)) => a.first().and_then(Value::as_str) == Some(id),
            ("Fn::GetAtt", Value::String(s)) => s.split('.').next() == Some(id),
            ("DependsOn", Value::String(s)) => s == id,
            ("DependsOn", Value::Array(a)) => a.iter().any(|d| d.as_str() == Some(id)),
            ("Fn::Sub", sub) => {
                let text = match sub {
                    Value::String(s) => Some(s.as_str()),
                    Value::Array(a) => a.first().and_then(Value::as_str),
                    _ => None,
                };
                text.is_some_and(|t| {
                    t.contains(&format!("${{{id}}}")) || t.contains(&format!("${{{id}."))
                }) || refers_to(sub, id)
            }
            _ => refers_to(x, id),
        }),
        Value::Array(a) => a.iter().any(|x| refers_to(x, id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> String {
        json!({"Resources": {
            "Identity": {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": "a.com"}},
            "Policy": {"Type": "Custom::SesIdentityPolicy",
                "Metadata": {WAITS_FOR_VERIFIED: {"Identity": "a.com", "Region": "us-east-1"}},
                "Properties": {"Identity": {"Ref": "Identity"}}},
            "Later": {"Type": "AWS::SNS::Topic", "DependsOn": ["Policy"]},
            "Other": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"P": {"Value": {"Fn::Sub": "${Later}"}}, "O": {"Value": {"Ref": "Other"}}}})
        .to_string()
    }

    /// Unverified: the marked resource, what depends on it and its outputs
    /// are held back; the rest stays.
    #[test]
    fn an_unverified_identity_holds_back_its_resources_and_their_dependents() {
        let (sent, waiting) = hold_back(&body(), None, &Verified::default()).expect("held back");
        let t: Value = serde_json::from_str(&sent).unwrap();
        let kept: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
        assert_eq!(kept, ["Identity", "Other"]);
        assert!(t["Outputs"].get("P").is_none() && t["Outputs"].get("O").is_some());
        let ids: Vec<(&str, Option<&str>)> = waiting
            .iter()
            .map(|w| (w.logical_id.as_str(), w.after.as_deref()))
            .collect();
        assert_eq!(ids, [("Later", Some("Policy")), ("Policy", None)]);
        assert_eq!(
            waiting[1].reason(),
            "waits for a.com to be verified in us-east-1"
        );
    }

    /// Verified, or already in the deployed stack: nothing is held back (leaving
    /// a deployed resource out would delete it).
    #[test]
    fn verified_or_deployed_resources_are_never_held_back() {
        let mut v = Verified::default();
        v.verified.insert(("us-east-1".into(), "a.com".into()));
        assert_eq!(hold_back(&body(), None, &v), None);
        assert_eq!(
            hold_back(&body(), Some(&body()), &Verified::default()),
            None
        );
    }

    /// A deployed resource ordered after a held-back one keeps its place and
    /// loses only that `DependsOn`.
    #[test]
    fn a_deployed_resource_after_a_held_back_one_keeps_its_place() {
        let t = json!({"Resources": {
            "New": {"Type": "Custom::SesIdentityPolicy",
                "Metadata": {WAITS_FOR_VERIFIED: {"Identity": "b.com", "Region": "us-east-1"}}},
            "Old": {"Type": "Custom::SesIdentityPolicy", "DependsOn": ["New"],
                "Metadata": {WAITS_FOR_VERIFIED: {"Identity": "a.com", "Region": "us-east-1"}}}}});
        let deployed = json!({"Resources": {"Old": {"Type": "Custom::SesIdentityPolicy"}}});
        let (sent, waiting) = hold_back(
            &t.to_string(),
            Some(&deployed.to_string()),
            &Verified::default(),
        )
        .expect("held back");
        let sent: Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(sent["Resources"]["Old"].get("DependsOn"), None, "{sent}");
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].logical_id, "New");
    }

    /// A saved plan's list is held back again; an edited list can only hold
    /// back marked resources the stack does not hold.
    #[test]
    fn a_saved_list_holds_back_only_marked_resources() {
        let listed = [Waiting {
            logical_id: "Other".into(),
            resource_type: "AWS::SNS::Topic".into(),
            identity: "a.com".into(),
            region: "us-east-1".into(),
            after: None,
        }];
        let (sent, _) = hold_back(&body(), None, &Verified::all_but(&listed)).expect("held back");
        assert!(sent.contains("\"Other\""), "{sent}");
        assert!(!sent.contains("\"Policy\""), "{sent}");
        let none: [Waiting; 0] = [];
        assert_eq!(hold_back(&body(), None, &Verified::all_but(&none)), None);
    }
}
