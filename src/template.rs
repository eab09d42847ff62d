//! Template: a CloudFormation template document and its one canonical serialisation.
//!
//! Resources, outputs and parameters are kept in ordered maps and every JSON
//! object serialises with sorted keys, so the same template is always the same
//! bytes. This module knows the document format only; `cfn` talks to the API.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub resource_type: String,
    pub properties: Map<String, Value>,
    /// `DeletionPolicy` and `UpdateReplacePolicy: Retain` (stateful resources).
    pub retain: bool,
    pub depends_on: Vec<String>,
}

impl Resource {
    pub fn new(resource_type: &str) -> Resource {
        Resource {
            resource_type: resource_type.into(),
            properties: Map::new(),
            retain: false,
            depends_on: Vec::new(),
        }
    }

    pub fn prop(mut self, key: &str, value: Value) -> Resource {
        self.properties.insert(key.into(), value);
        self
    }

    pub fn retained(mut self) -> Resource {
        self.retain = true;
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Template {
    pub description: String,
    pub parameters: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: BTreeMap<String, Value>,
}

/// `{ "Fn::GetAtt": [id, attr] }`
pub fn get_att(id: &str, attr: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attr] })
}

/// `{ "Ref": id }`
pub fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// CloudFormation's tag list form.
pub fn tag_list(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

impl Template {
    /// Adds a resource; a duplicate logical id is a compiler bug (checks reject colliding names).
    pub fn add(&mut self, id: String, resource: Resource) -> Result<(), String> {
        if self.resources.contains_key(&id) {
            return Err(format!("logical id `{id}` generated twice"));
        }
        self.resources.insert(id, resource);
        Ok(())
    }

    pub fn to_value(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        doc.insert("Description".into(), json!(self.description));
        if !self.parameters.is_empty() {
            doc.insert("Parameters".into(), json!(self.parameters));
        }
        let resources: Map<String, Value> = self
            .resources
            .iter()
            .map(|(id, r)| {
                let mut m = Map::new();
                m.insert("Type".into(), json!(r.resource_type));
                if !r.properties.is_empty() {
                    m.insert("Properties".into(), Value::Object(r.properties.clone()));
                }
                if r.retain {
                    m.insert("DeletionPolicy".into(), json!("Retain"));
                    m.insert("UpdateReplacePolicy".into(), json!("Retain"));
                }
                if !r.depends_on.is_empty() {
                    m.insert("DependsOn".into(), json!(r.depends_on));
                }
                (id.clone(), Value::Object(m))
            })
            .collect();
        doc.insert("Resources".into(), Value::Object(resources));
        if !self.outputs.is_empty() {
            doc.insert("Outputs".into(), json!(self.outputs));
        }
        Value::Object(doc)
    }

    /// The canonical bytes: pretty JSON, sorted keys, trailing newline.
    pub fn render(&self) -> String {
        render_value(&self.to_value())
    }
}

/// Canonical text of any JSON value (serde_json's map is ordered by key).
pub fn render_value(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sort_keys(v)).unwrap_or_default();
    s.push('\n');
    s
}

/// A copy of `v` whose objects list their keys in sorted order. Keys are sorted
/// here, not by `serde_json::Map`: a dependency can turn on serde_json's
/// `preserve_order` (feature unification), and bytes and orders must not change.
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The IAM capabilities a template needs to be deployed, exactly.
pub fn capabilities(template: &Value) -> Vec<String> {
    let mut named = false;
    let mut iam = false;
    if let Some(resources) = template.get("Resources").and_then(Value::as_object) {
        for r in resources.values() {
            let t = r.get("Type").and_then(Value::as_str).unwrap_or("");
            if t.starts_with("AWS::IAM::") {
                iam = true;
                let props = r.get("Properties");
                let has_name = [
                    "RoleName",
                    "InstanceProfileName",
                    "PolicyName",
                    "UserName",
                    "GroupName",
                    "ManagedPolicyName",
                ]
                .iter()
                .any(|k| props.and_then(|p| p.get(*k)).is_some());
                // AWS::IAM::Policy's PolicyName is inline and does not need NAMED_IAM.
                if has_name && t != "AWS::IAM::Policy" {
                    named = true;
                }
            }
        }
    }
    match (iam, named) {
        (_, true) => vec!["CAPABILITY_NAMED_IAM".into()],
        (true, false) => vec!["CAPABILITY_IAM".into()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_policies_and_sorted_keys() {
        let mut t = Template {
            description: "d".into(),
            ..Default::default()
        };
        t.add(
            "B".into(),
            Resource::new("AWS::SES::MailManagerArchive").retained(),
        )
        .unwrap();
        t.add(
            "A".into(),
            Resource::new("AWS::SNS::Topic").prop("TopicName", json!("x")),
        )
        .unwrap();
        assert!(t.add("A".into(), Resource::new("AWS::SNS::Topic")).is_err());
        let text = t.render();
        assert!(text.find("\"A\"").unwrap() < text.find("\"B\"").unwrap());
        assert!(text.contains("\"DeletionPolicy\": \"Retain\""));
        assert!(text.contains("\"UpdateReplacePolicy\": \"Retain\""));
        assert!(capabilities(&t.to_value()).is_empty());
    }
}
