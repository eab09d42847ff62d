//! Template: a CloudFormation template document and its one canonical serialisation.
//!
//! Resources, outputs and parameters are kept in ordered maps and every JSON
//! object serialises with sorted keys, so the same template is always the same
//! bytes. This module knows the document format only; `cfn` talks to the API.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub resource_type: String,
    pub properties: Map<String, Value>,
    /// `DeletionPolicy` and `UpdateReplacePolicy: Retain` (stateful resources).
    pub retain: bool,
    pub depends_on: Vec<String>,
    /// The resource's `Metadata` (what the deployer reads; CloudFormation ignores it).
    pub metadata: Map<String, Value>,
}

/// The `Metadata` key of a resource that can only be created once an SES
/// identity is verified: `{"Identity": "example.com", "Region": "us-east-1"}`.
/// The deployer holds such a resource back until then (`deploy::waits`).
pub(crate) const WAITS_FOR_VERIFIED: &str = "mailinfra:WaitsForVerified";

impl Resource {
    pub fn new(resource_type: &str) -> Resource {
        Resource {
            resource_type: resource_type.into(),
            properties: Map::new(),
            retain: false,
            depends_on: Vec::new(),
            metadata: Map::new(),
        }
    }

    /// Marks the resource as created only once `identity` is verified in `region`.
    pub fn waits_for_verified(mut self, identity: &str, region: &str) -> Resource {
        self.metadata.insert(
            WAITS_FOR_VERIFIED.into(),
            json!({ "Identity": identity, "Region": region }),
        );
        self
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
pub(crate) fn get_att(id: &str, attr: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attr] })
}

/// `{ "Ref": id }`
pub(crate) fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// An IAM role that only AWS Lambda may assume: the execution role of a
/// custom-resource handler, its permissions laid out by `crate::iam::attach`.
pub(crate) fn lambda_role() -> Resource {
    Resource::new("AWS::IAM::Role").prop(
        "AssumeRolePolicyDocument",
        json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
        }),
    )
}

/// CloudFormation's tag list form.
pub(crate) fn tag_list(tags: &[(String, String)]) -> Value {
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
                if !r.metadata.is_empty() {
                    m.insert("Metadata".into(), Value::Object(r.metadata.clone()));
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

    /// The canonical bytes: pretty JSON, sorted keys, trailing newline. The
    /// same text as `render_value(&self.to_value())`, written without copying
    /// the template into a JSON value first.
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(1024 + self.resources.len() * 1024);
        let mut ser = serde_json::Serializer::pretty(&mut out);
        if Doc(self).serialize(&mut ser).is_err() {
            return render_value(&self.to_value());
        }
        out.push(b'\n');
        String::from_utf8(out).unwrap_or_default()
    }

    /// The IAM capabilities this template needs (see [`capabilities`]).
    pub fn capabilities(&self) -> Vec<String> {
        capabilities_of(
            self.resources
                .values()
                .map(|r| (r.resource_type.as_str(), Some(&r.properties))),
        )
    }
}

/// A template serialised with keys in sorted order, like a `serde_json::Value`.
struct Doc<'a>(&'a Template);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("AWSTemplateFormatVersion", "2010-09-09")?;
        m.serialize_entry("Description", &t.description)?;
        if !t.outputs.is_empty() {
            m.serialize_entry("Outputs", &SortedValues(&t.outputs))?;
        }
        if !t.parameters.is_empty() {
            m.serialize_entry("Parameters", &SortedValues(&t.parameters))?;
        }
        m.serialize_entry("Resources", &Resources(&t.resources))?;
        m.end()
    }
}

struct Resources<'a>(&'a BTreeMap<String, Resource>);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (id, r) in self.0 {
            m.serialize_entry(id, &Res(r))?;
        }
        m.end()
    }
}

struct Res<'a>(&'a Resource);

impl Serialize for Res<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        if r.retain {
            m.serialize_entry("DeletionPolicy", "Retain")?;
        }
        if !r.depends_on.is_empty() {
            m.serialize_entry("DependsOn", &r.depends_on)?;
        }
        if !r.metadata.is_empty() {
            m.serialize_entry("Metadata", &SortedMap(&r.metadata))?;
        }
        if !r.properties.is_empty() {
            m.serialize_entry("Properties", &SortedMap(&r.properties))?;
        }
        m.serialize_entry("Type", &r.resource_type)?;
        if r.retain {
            m.serialize_entry("UpdateReplacePolicy", "Retain")?;
        }
        m.end()
    }
}

/// A JSON value serialised with every object's keys in sorted order, whatever
/// order `serde_json::Map` keeps (a dependency may turn on `preserve_order`).
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => SortedMap(m).serialize(s),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Sorted(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

struct SortedMap<'a>(&'a Map<String, Value>);

impl Serialize for SortedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        let mut m = s.serialize_map(Some(keys.len()))?;
        for k in keys {
            m.serialize_entry(k, &Sorted(&self.0[k]))?;
        }
        m.end()
    }
}

struct SortedValues<'a>(&'a BTreeMap<String, Value>);

impl Serialize for SortedValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, &Sorted(v))?;
        }
        m.end()
    }
}

/// Canonical text of any JSON value (serde_json's map is ordered by key).
pub(crate) fn render_value(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sort_keys(v)).unwrap_or_default();
    s.push('\n');
    s
}

/// A copy of `v` whose objects list their keys in sorted order. Keys are sorted
/// here, not by `serde_json::Map`: a dependency can turn on serde_json's
/// `preserve_order` (feature unification), and bytes and orders must not change.
pub(crate) fn sort_keys(v: &Value) -> Value {
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

/// The IAM capabilities a template needs to be deployed, exactly (of a
/// template as JSON; [`Template::capabilities`] is the same for the typed one).
#[cfg(test)]
fn capabilities(template: &Value) -> Vec<String> {
    let resources = template.get("Resources").and_then(Value::as_object);
    capabilities_of(resources.into_iter().flat_map(|m| m.values()).map(|r| {
        (
            r.get("Type").and_then(Value::as_str).unwrap_or(""),
            r.get("Properties").and_then(Value::as_object),
        )
    }))
}

fn capabilities_of<'a>(
    resources: impl Iterator<Item = (&'a str, Option<&'a Map<String, Value>>)>,
) -> Vec<String> {
    let mut named = false;
    let mut iam = false;
    for (t, props) in resources {
        if t.starts_with("AWS::IAM::") {
            iam = true;
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
        assert_eq!(text, render_value(&t.to_value()));
        t.parameters.insert("P".into(), json!({ "Type": "String" }));
        t.outputs
            .insert("O".into(), json!({ "Value": { "Ref": "P" } }));
        t.resources.get_mut("A").unwrap().depends_on = vec!["B".into()];
        assert_eq!(t.render(), render_value(&t.to_value()));
    }
}
