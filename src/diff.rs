//! Diff: what changes, resource by resource, between two templates.
//!
//! Input: the deployed (or last built) template and the new one. Output:
//! resource changes with the properties that differ and whether CloudFormation
//! will replace the resource (a changed createOnly property, from the official
//! schemas). The same [`ResourceChange`] type carries changes read from a
//! CloudFormation change set, so plans render one way whatever their source.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cfn_data;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Modify,
    Remove,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replacement {
    Never,
    Conditional,
    Always,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: Action,
    pub replacement: Replacement,
    /// Top-level properties that change (sorted).
    pub properties: Vec<String>,
    /// Whether the resource holds state that a delete or replacement loses.
    pub stateful: bool,
}

impl ResourceChange {
    /// A removal or replacement of a stateful resource.
    pub fn destructive(&self) -> bool {
        self.stateful && (self.action == Action::Remove || self.replacement != Replacement::Never)
    }
}

/// Resource types whose deletion or replacement loses something users had.
pub fn is_stateful(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::SES::EmailIdentity"
            | "AWS::SES::MailManagerArchive"
            | "AWS::SES::MailManagerIngressPoint"
            | "AWS::SES::MultiRegionEndpoint"
            | "AWS::S3::Bucket"
            | "AWS::KMS::Key"
            | "AWS::SecretsManager::Secret"
    )
}

fn resources(t: Option<&Value>) -> Map<String, Value> {
    t.and_then(|t| t.get("Resources"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn type_of(r: &Value) -> String {
    r.get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Resource-level changes from `old` to `new` (either may be absent), sorted by logical id.
pub fn diff_templates(old: Option<&Value>, new: Option<&Value>) -> Vec<ResourceChange> {
    let old_r = resources(old);
    let new_r = resources(new);
    let mut out = Vec::new();
    for (id, n) in &new_r {
        let rtype = type_of(n);
        match old_r.get(id) {
            None => out.push(ResourceChange {
                logical_id: id.clone(),
                stateful: is_stateful(&rtype),
                resource_type: rtype,
                action: Action::Add,
                replacement: Replacement::Never,
                properties: Vec::new(),
            }),
            Some(o) if o != n => {
                let empty = Map::new();
                let op = o
                    .get("Properties")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let np = n
                    .get("Properties")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let mut props: Vec<String> = op
                    .keys()
                    .chain(np.keys())
                    .filter(|k| op.get(*k) != np.get(*k))
                    .cloned()
                    .collect();
                props.sort();
                props.dedup();
                let type_changed = type_of(o) != rtype;
                let replaces = type_changed || props.iter().any(|p| cfn_data::replaces(&rtype, p));
                // A changed value that is an intrinsic (GetAtt/Ref) may or may not change at deploy time.
                let replacement = if replaces {
                    Replacement::Always
                } else {
                    Replacement::Never
                };
                out.push(ResourceChange {
                    logical_id: id.clone(),
                    stateful: is_stateful(&rtype),
                    resource_type: rtype,
                    action: Action::Modify,
                    replacement,
                    properties: props,
                });
            }
            Some(_) => {}
        }
    }
    for (id, o) in &old_r {
        if !new_r.contains_key(id) {
            let rtype = type_of(o);
            out.push(ResourceChange {
                logical_id: id.clone(),
                stateful: is_stateful(&rtype),
                resource_type: rtype,
                action: Action::Remove,
                replacement: Replacement::Never,
                properties: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kms_key_change_replaces_an_archive() {
        let old = json!({"Resources": {"A": {"Type": "AWS::SES::MailManagerArchive", "Properties": {"KmsKeyArn": "k1"}}}});
        let new = json!({"Resources": {"A": {"Type": "AWS::SES::MailManagerArchive", "Properties": {"KmsKeyArn": "k2"}}}});
        let changes = diff_templates(Some(&old), Some(&new));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].replacement, Replacement::Always);
        assert!(changes[0].destructive());
    }

    #[test]
    fn add_modify_remove() {
        let old = json!({"Resources": {"A": {"Type": "AWS::SNS::Topic"}, "B": {"Type": "AWS::SES::MailManagerArchive", "Properties": {"Retention": 1}}}});
        let new = json!({"Resources": {"B": {"Type": "AWS::SES::MailManagerArchive", "Properties": {"Retention": 2}}, "C": {"Type": "AWS::SNS::Topic"}}});
        let changes = diff_templates(Some(&old), Some(&new));
        let actions: Vec<_> = changes
            .iter()
            .map(|c| (c.logical_id.as_str(), c.action))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("A", Action::Remove),
                ("B", Action::Modify),
                ("C", Action::Add)
            ]
        );
        assert_eq!(changes[1].properties, vec!["Retention"]);
        assert!(!changes[1].destructive());
    }
}
