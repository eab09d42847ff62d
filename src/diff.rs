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
    /// An existing resource brought under the stack (`apply --import`).
    Import,
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
    /// What the change adds to IAM permissions (allowed actions on resources,
    /// trusted principals), from the policy documents old and new.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broadens: Vec<String>,
    /// The DNS record is one mail depends on: `MX`, `SPF`, `DKIM`, `DMARC`, `MAIL FROM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_dns: Option<String>,
    /// The resource drifted outside CloudFormation (`MODIFIED`, `DELETED`) and a
    /// drift-aware change set (`--revert-drift`) puts it back as the template says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
    /// What a pre-flight read found: the resource this change adds already
    /// exists outside any stack (e.g. an SES identity made by hand), so
    /// CloudFormation would fail to create it in the middle of the apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists_outside: Option<String>,
    /// The resource this change adds has the same name in AWS as one the plan
    /// removes under another logical id (a rename): where that one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Why CloudFormation cannot make this change at all (a resource type
    /// changed under one logical id, or a custom-named resource replaced
    /// under the same name), and the way out. Set from the templates, never
    /// trusted from a plan file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// The resource's name in AWS, for types whose name the template sets and
    /// that cannot exist twice (see [`physical_name`]).
    #[serde(skip)]
    pub physical_name: Option<String>,
    /// Old and new values of the changed properties, from the templates, for
    /// a reviewer to read (`TTL: 300 → 3600`). Secret properties carry no
    /// values; structured ones are not written to JSON (see [`scalar_values`]).
    #[serde(
        default,
        skip_serializing_if = "no_scalar_values",
        serialize_with = "scalar_values"
    )]
    pub values: Vec<PropertyValues>,
}

/// One changed property's values, old and new (`None`: absent on that side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyValues {
    pub property: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// A secret (a password, a private key): its values are never kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

impl PropertyValues {
    /// A scalar or a list of scalars on both sides (a DNS record's values,
    /// a TTL): what the JSON plan carries as `before` and `after`.
    pub fn is_scalar(&self) -> bool {
        !self.masked
            && [&self.before, &self.after]
                .iter()
                .all(|v| v.as_ref().is_none_or(is_flat))
    }
}

/// A string, number or boolean, or a list of them.
fn is_flat(v: &Value) -> bool {
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    scalar(v) || v.as_array().is_some_and(|a| a.iter().all(scalar))
}

fn no_scalar_values(values: &[PropertyValues]) -> bool {
    !values.iter().any(PropertyValues::is_scalar)
}

/// The JSON plan's `values`: only the scalar ones (structured values are
/// shown compactly to people, and are in the templates for machines); a
/// masked property is listed with `masked` and no values.
fn scalar_values<S: serde::Serializer>(values: &[PropertyValues], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq as _;
    let shown: Vec<&PropertyValues> = values
        .iter()
        .filter(|v| v.is_scalar() || v.masked)
        .collect();
    let mut seq = s.serialize_seq(Some(shown.len()))?;
    for v in shown {
        seq.serialize_element(v)?;
    }
    seq.end()
}

/// Whether a property (or a key inside one) holds a secret whatever its value.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "privatekey",
        "private_key",
        "secretstring",
        "secretaccesskey",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Whether a value holds a secret anywhere (a key named like one).
fn holds_secret(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| is_secret_name(k) || holds_secret(x)),
        Value::Array(a) => a.iter().any(holds_secret),
        _ => false,
    }
}

/// The values of the changed `properties` between `old` and `new`.
pub fn property_values(
    properties: &[String],
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Vec<PropertyValues> {
    properties
        .iter()
        .map(|p| {
            let (before, after) = (old.get(p).cloned(), new.get(p).cloned());
            let masked = is_secret_name(p)
                || [&before, &after]
                    .iter()
                    .any(|v| v.as_ref().is_some_and(holds_secret));
            PropertyValues {
                property: p.clone(),
                before: before.filter(|_| !masked),
                after: after.filter(|_| !masked),
                masked,
            }
        })
        .collect()
}

impl ResourceChange {
    pub fn new(
        logical_id: &str,
        resource_type: &str,
        action: Action,
        replacement: Replacement,
        properties: Vec<String>,
    ) -> ResourceChange {
        ResourceChange {
            logical_id: logical_id.to_string(),
            resource_type: resource_type.to_string(),
            action,
            replacement,
            properties,
            stateful: is_stateful(resource_type),
            broadens: Vec::new(),
            mail_dns: None,
            drift: None,
            exists_outside: None,
            renamed_from: None,
            blocked: None,
            physical_name: None,
            values: Vec::new(),
        }
    }

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
            | "AWS::SES::MailManagerAddressList"
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

/// The name that identifies a resource in AWS, for the types whose name the
/// template sets and that cannot exist twice under one name: `TYPE name`.
/// Only literal strings count (a name built with intrinsics is not known here).
pub fn physical_name(resource: &Value) -> Option<String> {
    let props = resource.get("Properties")?;
    let get = |path: &[&str]| -> Option<String> {
        let mut v = props;
        for k in path {
            v = v.get(k)?;
        }
        v.as_str().map(str::to_string)
    };
    let rtype = type_of(resource);
    let name = match rtype.as_str() {
        "AWS::SES::EmailIdentity" => get(&["EmailIdentity"])?.to_ascii_lowercase(),
        "AWS::SES::ConfigurationSet" => get(&["Name"])?,
        "AWS::SES::Template" => get(&["Template", "TemplateName"])?,
        "AWS::SES::ContactList" => get(&["ContactListName"])?,
        "AWS::SES::ReceiptRuleSet" => get(&["RuleSetName"])?,
        "AWS::SNS::Topic" => get(&["TopicName"])?,
        "AWS::IAM::Role" => get(&["RoleName"])?,
        "AWS::S3::Bucket" => get(&["BucketName"])?,
        // Name and type, whatever the routing: a simple record set cannot sit
        // beside weighted ones of its name and type (Route 53 Developer Guide,
        // "Choosing a routing policy"), so a weighted set replaced by a simple
        // one under another logical id fails like any rename.
        "AWS::Route53::RecordSet" => {
            let zone = get(&["HostedZoneId"])
                .or_else(|| get(&["HostedZoneName"]))
                .unwrap_or_default();
            let name = get(&["Name"])?.trim_end_matches('.').to_ascii_lowercase();
            format!("{name} {} in {zone}", get(&["Type"])?)
        }
        _ => return None,
    };
    Some(format!("{rtype} {name}"))
}

/// The value at a createOnly path (`A` or `A/B/C`) of a resource's properties.
fn at<'a>(props: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('/');
    let mut v = props.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// Whether going from the properties `old` to `new` changes one of the
/// type's createOnly properties, nested paths included (`Template/TemplateName`
/// replaces an `AWS::SES::Template`; its `Template/SubjectPart` does not).
fn replaces(resource_type: &str, old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    cfn_data::type_facts(resource_type).is_some_and(|t| {
        t.create_only
            .iter()
            .any(|path| at(old, path) != at(new, path))
    })
}

/// The property that holds a resource's custom name, for the types mailinfra
/// names. CloudFormation does not replace a resource whose custom name stays
/// the same ("You can't perform an update that causes a custom-named resource
/// to be replaced. If you must replace the resource, specify a new name." —
/// CloudFormation Template Reference, "Name type":
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html).
pub fn name_property(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "AWS::SES::MultiRegionEndpoint" => "EndpointName",
        "AWS::SES::MailManagerIngressPoint" => "IngressPointName",
        "AWS::SES::MailManagerArchive" => "ArchiveName",
        "AWS::SES::MailManagerAddressList" => "AddressListName",
        "AWS::SES::MailManagerRelay" => "RelayName",
        "AWS::SES::MailManagerRuleSet" => "RuleSetName",
        "AWS::SES::MailManagerTrafficPolicy" => "TrafficPolicyName",
        "AWS::SES::ConfigurationSet" => "Name",
        "AWS::SES::ContactList" => "ContactListName",
        "AWS::SES::ReceiptRuleSet" => "RuleSetName",
        "AWS::SES::ReceiptRule" => "Rule/Name",
        "AWS::SES::Template" => "Template/TemplateName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
        "AWS::S3::Bucket" => "BucketName",
        "AWS::Lambda::Function" => "FunctionName",
        "AWS::SecretsManager::Secret" => "Name",
        "AWS::KMS::Alias" => "AliasName",
        _ => return None,
    })
}

/// Why CloudFormation refuses to change `old` into `new` with this
/// replacement, with what to do instead; `None` when it can.
pub fn blocked(id: &str, old: &Value, new: &Value, replacement: Replacement) -> Option<String> {
    let (from, to) = (type_of(old), type_of(new));
    if from != to {
        // "Update of resource type is not permitted. The new template modifies
        // resource type of the following resources: [...]" (the change set fails).
        let steps: String = if from.starts_with("AWS::SES::EmailIdentity")
            || to.starts_with("AWS::SES::EmailIdentity")
            || from == "Custom::SesReplicaIdentity"
        {
            format!(
                " For an SES identity (a DEED replica becoming an independent identity or the reverse): \
             1. remove the domain from this region in the spec and apply with `--allow-destroy {id}` (the \
             identity is retained in SES); 2. delete it in SES (`aws sesv2 delete-email-identity \
             --email-identity DOMAIN --region REGION`); 3. put it back as you want it and apply again."
            )
        } else {
            " Apply in two steps: first without the element (its removal), then with it in its new form.".into()
        };
        return Some(format!(
            "its type changes from {from} to {to} under the same logical id, which CloudFormation \
             does not permit.{steps}"
        ));
    }
    if replacement == Replacement::Never {
        return None;
    }
    let path = name_property(&to)?;
    let name = |r: &Value| {
        r.get("Properties")
            .and_then(Value::as_object)
            .and_then(|p| at(p, path))
            .cloned()
    };
    // Only a literal name is known to stay the same: one built with an
    // intrinsic (a parameter, a Ref) may resolve to another value.
    let (old_name, new_name) = (name(old)?, name(new)?);
    (old_name.is_string() && old_name == new_name).then(|| {
        format!(
            "it would be replaced, but it has a custom name ({path} `{}`) that stays the same, and \
             CloudFormation cannot replace a custom-named resource under its own name (with \
             `Retain`, the old one keeps the name). Give it a new name in the spec (the old one is \
             retained or deleted as its policy says), or apply in two steps: first without it \
             (`--allow-destroy {id}` if it holds state), then with it as it is now.",
            one_line(&new_name)
        )
    })
}

/// The logical ids whose resource type `changes` (a diff from `old`) change.
pub fn retyped<'a>(old: Option<&Value>, changes: &'a [ResourceChange]) -> Vec<&'a str> {
    let Some(old) = old else {
        return Vec::new();
    };
    changes
        .iter()
        .filter(|c| c.action == Action::Modify)
        .filter(|c| old["Resources"][&c.logical_id]["Type"].as_str() != Some(&c.resource_type))
        .map(|c| c.logical_id.as_str())
        .collect()
}

/// Resource-level changes from `old` to `new` (either may be absent), sorted by logical id.
pub fn diff_templates(old: Option<&Value>, new: Option<&Value>) -> Vec<ResourceChange> {
    let old_r = resources(old);
    let new_r = resources(new);
    let mut out = Vec::new();
    for (id, n) in &new_r {
        let rtype = type_of(n);
        match old_r.get(id) {
            None => {
                let mut c =
                    ResourceChange::new(id, &rtype, Action::Add, Replacement::Never, vec![]);
                c.broadens = iam_broadening(None, Some(n));
                c.mail_dns = mail_dns(n);
                c.physical_name = physical_name(n);
                out.push(c);
            }
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
                let replaces = type_changed || replaces(&rtype, op, np);
                // A changed value that is an intrinsic (GetAtt/Ref) may or may not change at deploy time.
                let replacement = if replaces {
                    Replacement::Always
                } else {
                    Replacement::Never
                };
                let values = property_values(&props, op, np);
                let mut c = ResourceChange::new(id, &rtype, Action::Modify, replacement, props);
                c.values = values;
                c.blocked = blocked(id, o, n, replacement);
                c.broadens = iam_broadening(Some(o), Some(n));
                c.mail_dns = mail_dns(n).or_else(|| mail_dns(o));
                c.physical_name = physical_name(n);
                out.push(c);
            }
            Some(_) => {}
        }
    }
    for (id, o) in &old_r {
        if !new_r.contains_key(id) {
            let rtype = type_of(o);
            let mut c = ResourceChange::new(id, &rtype, Action::Remove, Replacement::Never, vec![]);
            c.mail_dns = mail_dns(o);
            c.physical_name = physical_name(o);
            out.push(c);
        }
    }
    out.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    out
}

/// Every `Allow` grant in the policy documents anywhere under `v` (any object
/// with a `Statement`): `action on resource` and `trusts principal` strings.
fn grants(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    fn strings(v: Option<&Value>) -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().flat_map(|x| strings(Some(x))).collect(),
            // An intrinsic (Ref, GetAtt, Sub): compared as written, on one line.
            Some(other @ Value::Object(_)) => vec![one_line(other)],
            _ => Vec::new(),
        }
    }
    match v {
        Value::Object(m) => {
            if let Some(st) = m.get("Statement") {
                let statements: Vec<&Value> = match st {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                for s in statements {
                    if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                        continue;
                    }
                    let mut resources = strings(s.get("Resource"));
                    if resources.is_empty() && s.get("NotResource").is_some() {
                        resources.push("everything except listed resources".into());
                    }
                    let actions = strings(s.get("Action"));
                    for a in &actions {
                        if resources.is_empty() {
                            out.insert(a.clone());
                        }
                        for r in &resources {
                            out.insert(format!("{a} on {r}"));
                        }
                    }
                    if s.get("NotAction").is_some() {
                        out.insert("every action except listed ones (NotAction)".into());
                    }
                    if let Some(p) = s.get("Principal") {
                        let principals = match p {
                            Value::Object(pm) => {
                                pm.values().flat_map(|x| strings(Some(x))).collect()
                            }
                            other => strings(Some(other)),
                        };
                        for p in principals {
                            out.insert(format!("trusts {p}"));
                        }
                    }
                }
            }
            for (k, x) in m {
                if k != "Statement" {
                    grants(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| grants(x, out)),
        _ => {}
    }
}

/// What `new` allows that `old` did not: added actions, resources, wildcards and
/// trusted principals, from the policy documents of the two resource definitions.
/// Added managed policies count too.
pub fn iam_broadening(old: Option<&Value>, new: Option<&Value>) -> Vec<String> {
    let collect = |r: Option<&Value>| {
        let mut set = std::collections::BTreeSet::new();
        if let Some(props) = r.and_then(|r| r.get("Properties")) {
            grants(props, &mut set);
            if let Some(Value::Array(arns)) = props.get("ManagedPolicyArns") {
                for a in arns {
                    set.insert(format!("attaches {}", one_line(a)));
                }
            }
        }
        set
    };
    let before = collect(old);
    let after = collect(new);
    let mut added: Vec<String> = after
        .iter()
        .filter(|g| !before.iter().any(|b| covers(b, g)))
        .map(|g| {
            if g.contains('*') {
                format!("{g} (wildcard)")
            } else {
                g.clone()
            }
        })
        .collect();
    // Wildcards first: they are the ones a reviewer must not miss.
    added.sort_by_key(|g| !g.ends_with("(wildcard)"));
    added
}

/// A template value as one line a reviewer reads as an ARN: `Fn::Sub`
/// strings as written (`arn:${AWS::Partition}:ses:…`), `Ref` and `Fn::GetAtt`
/// as `${Name}` and `${Name.Attribute}`, `Fn::Join` joined; anything else as
/// compact JSON. A plan's warning lines and markdown blocks stay one line each.
pub fn one_line(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => {
            let Some((k, arg)) = m.iter().next() else {
                return v.to_string();
            };
            match (k.as_str(), arg) {
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Sub", Value::Array(a)) if a.first().is_some_and(Value::is_string) => {
                    one_line(&a[0])
                }
                ("Ref", Value::String(name)) => format!("${{{name}}}"),
                ("Fn::GetAtt", Value::Array(a)) if a.len() == 2 => {
                    format!("${{{}.{}}}", one_line(&a[0]), one_line(&a[1]))
                }
                ("Fn::GetAtt", Value::String(s)) => format!("${{{s}}}"),
                ("Fn::Join", Value::Array(a)) if a.len() == 2 => match (&a[0], &a[1]) {
                    (Value::String(sep), Value::Array(parts)) => {
                        parts.iter().map(one_line).collect::<Vec<_>>().join(sep)
                    }
                    _ => v.to_string(),
                },
                _ => v.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// Whether an old grant already allowed a new one: `a on r` is covered by
/// `pa on pr` when both patterns match (IAM wildcards `*` and `?`).
fn covers(old: &str, new: &str) -> bool {
    if old == new {
        return true;
    }
    match (old.split_once(" on "), new.split_once(" on ")) {
        (Some((oa, or)), Some((na, nr))) => {
            glob(&oa.to_ascii_lowercase(), &na.to_ascii_lowercase()) && glob(or, nr)
        }
        _ => false,
    }
}

/// IAM-style wildcard match of `text` against `pattern`.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a Route 53 record is one mail depends on, and which kind.
pub fn mail_dns(resource: &Value) -> Option<String> {
    if resource.get("Type").and_then(Value::as_str) != Some("AWS::Route53::RecordSet") {
        return None;
    }
    let p = resource.get("Properties")?;
    // Easy DKIM's names are only known after deploy: `Fn::GetAtt` of the
    // identity's `DkimDNSTokenName1..3`; they are DKIM records all the same.
    let easy_dkim = p
        .get("Name")
        .and_then(|n| n.get("Fn::GetAtt"))
        .and_then(|a| a.get(1))
        .and_then(Value::as_str)
        .is_some_and(|attr| attr.starts_with("DkimDNSTokenName"));
    let name = if easy_dkim {
        "token._domainkey.".to_string()
    } else {
        p.get("Name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase()
    };
    let rtype = p.get("Type").and_then(Value::as_str).unwrap_or("");
    let values = crate::template::render_value(p.get("ResourceRecords").unwrap_or(&Value::Null));
    let kind = match rtype {
        "MX" => "MX",
        "CNAME" if name.contains("._domainkey.") => "DKIM",
        "TXT" if name.contains("._domainkey.") => "DKIM",
        "TXT" if name.starts_with("_dmarc.") => "DMARC",
        "TXT" if values.contains("v=spf1") => "SPF",
        "TXT" if name.starts_with("_amazonses.") => "SES verification",
        "A" | "AAAA" | "CNAME" if name.starts_with("mail.") || name.starts_with("smtp.") => {
            "mail host"
        }
        _ => return None,
    };
    Some(kind.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intrinsics_read_as_one_line_arns() {
        let sub = json!({ "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com" });
        assert_eq!(
            one_line(&sub),
            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com"
        );
        assert_eq!(one_line(&json!({ "Ref": "Topic" })), "${Topic}");
        assert_eq!(
            one_line(&json!({ "Fn::GetAtt": ["Archive", "ArchiveArn"] })),
            "${Archive.ArchiveArn}"
        );
        assert_eq!(
            one_line(&json!({ "Fn::Join": ["", ["arn:aws:s3:::", { "Ref": "Bucket" }, "/*"]] })),
            "arn:aws:s3:::${Bucket}/*"
        );
        let old = json!({ "Type": "AWS::IAM::Role", "Properties": { "Policies": [] } });
        let new = json!({ "Type": "AWS::IAM::Role", "Properties": { "Policies": [ { "PolicyDocument": { "Statement": [
            { "Effect": "Allow", "Action": "ses:SendEmail", "Resource": sub }
        ] } } ] } });
        let added = iam_broadening(Some(&old), Some(&new));
        assert_eq!(added.len(), 1);
        assert!(
            !added[0].contains('\n')
                && added[0].starts_with("ses:SendEmail on arn:${AWS::Partition}:ses:"),
            "{added:?}"
        );
    }

    #[test]
    fn easy_dkim_cnames_are_mail_dns() {
        let r = json!({ "Type": "AWS::Route53::RecordSet", "Properties": {
            "Type": "CNAME",
            "Name": { "Fn::GetAtt": ["IdentityExampleCom", "DkimDNSTokenName1"] },
            "ResourceRecords": [ { "Fn::GetAtt": ["IdentityExampleCom", "DkimDNSTokenValue1"] } ]
        } });
        assert_eq!(mail_dns(&r).as_deref(), Some("DKIM"));
        let other = json!({ "Type": "AWS::Route53::RecordSet", "Properties": {
            "Type": "CNAME", "Name": { "Fn::GetAtt": ["Alb", "DNSName"] }, "ResourceRecords": ["x"]
        } });
        assert_eq!(mail_dns(&other), None);
    }

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

    #[test]
    fn iam_broadening_lists_added_grants_and_wildcards_first() {
        let role = |actions: Value, resource: &str| {
            json!({"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": resource},
                    {"Effect": "Deny", "Action": "ses:*", "Resource": "*"}]}}]}})
        };
        let old = role(json!("ses:SendEmail"), "arn:aws:ses:us-east-1:1:identity/a");
        let same = iam_broadening(Some(&old), Some(&old));
        assert!(same.is_empty(), "{same:?}");
        let new = role(json!(["ses:SendEmail", "ses:SendRawEmail"]), "*");
        let added = iam_broadening(Some(&old), Some(&new));
        assert_eq!(
            added,
            vec![
                "ses:SendEmail on * (wildcard)".to_string(),
                "ses:SendRawEmail on * (wildcard)".to_string()
            ]
        );
        // Narrowing is not broadening, nor is what a wildcard already allowed.
        assert!(iam_broadening(Some(&new), Some(&old)).is_empty());
        let star = role(json!("ses:*"), "*");
        assert!(iam_broadening(Some(&star), Some(&new)).is_empty());
        assert_eq!(iam_broadening(Some(&new), Some(&star)).len(), 1);
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y"));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::c/x"));
        // A new role broadens by everything it grants, its trust included.
        let fresh = iam_broadening(None, Some(&old));
        assert!(
            fresh.contains(&"trusts ec2.amazonaws.com".to_string()),
            "{fresh:?}"
        );
        // Deny statements never count.
        assert!(!fresh.iter().any(|g| g.contains("ses:*")));
    }

    #[test]
    fn iam_change_in_a_template_diff_is_marked() {
        let old = json!({"Resources": {"R": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}}}}});
        let new = json!({"Resources": {"R": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}}}}}});
        let c = diff_templates(Some(&old), Some(&new));
        assert_eq!(
            c[0].broadens,
            vec!["s3:PutObject on arn:aws:s3:::b/* (wildcard)"]
        );
    }

    #[test]
    fn mail_dns_records_are_recognised() {
        let rec = |name: &str, t: &str, v: &str| json!({"Type": "AWS::Route53::RecordSet", "Properties": {"Name": name, "Type": t, "ResourceRecords": [v]}});
        assert_eq!(
            mail_dns(&rec(
                "example.com",
                "MX",
                "10 inbound-smtp.us-east-1.amazonaws.com"
            ))
            .as_deref(),
            Some("MX")
        );
        assert_eq!(
            mail_dns(&rec(
                "s1._domainkey.example.com",
                "CNAME",
                "x.dkim.amazonses.com"
            ))
            .as_deref(),
            Some("DKIM")
        );
        assert_eq!(
            mail_dns(&rec("_dmarc.example.com", "TXT", "\"v=DMARC1; p=none\"")).as_deref(),
            Some("DMARC")
        );
        assert_eq!(
            mail_dns(&rec(
                "bounce.example.com",
                "TXT",
                "\"v=spf1 include:amazonses.com ~all\""
            ))
            .as_deref(),
            Some("SPF")
        );
        assert_eq!(mail_dns(&rec("www.example.com", "A", "1.2.3.4")), None);
        assert_eq!(mail_dns(&json!({"Type": "AWS::SNS::Topic"})), None);
    }

    fn change(old: Value, new: Value) -> ResourceChange {
        let t = |r: Value| json!({ "Resources": { "R": r } });
        let mut c = diff_templates(Some(&t(old)), Some(&t(new)));
        assert_eq!(c.len(), 1, "{c:?}");
        c.remove(0)
    }

    /// createOnly paths below the top level count: a template's name replaces
    /// it, its subject does not; a receipt rule's name replaces it.
    #[test]
    fn nested_create_only_paths_replace() {
        let tpl = |name: &str, subject: &str| json!({"Type": "AWS::SES::Template", "Properties": {"Template": {"TemplateName": name, "SubjectPart": subject}}});
        assert_eq!(
            change(tpl("a", "s"), tpl("b", "s")).replacement,
            Replacement::Always
        );
        assert_eq!(
            change(tpl("a", "s"), tpl("a", "t")).replacement,
            Replacement::Never
        );
        let rule = |name: &str, on: bool| json!({"Type": "AWS::SES::ReceiptRule", "Properties": {"RuleSetName": "set", "Rule": {"Name": name, "Enabled": on}}});
        assert_eq!(
            change(rule("a", true), rule("b", true)).replacement,
            Replacement::Always
        );
        assert_eq!(
            change(rule("a", true), rule("a", false)).replacement,
            Replacement::Never
        );
    }

    /// A type change under one logical id is not a replacement CloudFormation
    /// makes: it is not possible.
    #[test]
    fn a_type_change_is_not_possible() {
        let c = change(
            json!({"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": "a.com"}}),
            json!({"Type": "Custom::SesReplicaIdentity", "Properties": {"Identity": "a.com"}}),
        );
        let why = c.blocked.expect("blocked");
        assert!(why.contains("does not permit"), "{why}");
        assert!(why.contains("delete-email-identity"), "{why}");
    }

    /// A replacement that keeps a custom name is not possible; one that changes
    /// the name is; a change that does not replace is never blocked.
    #[test]
    fn custom_named_replacements_are_blocked_unless_the_name_changes() {
        let ingress = |name: &str, kind: &str| json!({"Type": "AWS::SES::MailManagerIngressPoint", "Properties": {"IngressPointName": name, "Type": kind, "RuleSetId": "r"}});
        let same = change(ingress("in", "OPEN"), ingress("in", "AUTH"));
        assert_eq!(same.replacement, Replacement::Always);
        assert!(
            same.blocked
                .as_deref()
                .is_some_and(|w| w.contains("IngressPointName `in`")),
            "{same:?}"
        );
        assert_eq!(
            change(ingress("in", "OPEN"), ingress("in2", "AUTH")).blocked,
            None
        );
        let archive = |name: &str, key: &str, days: u32| json!({"Type": "AWS::SES::MailManagerArchive", "Properties": {"ArchiveName": name, "KmsKeyArn": key, "Retention": {"RetentionPeriod": days}}});
        assert!(
            change(archive("j", "k1", 1), archive("j", "k2", 1))
                .blocked
                .is_some()
        );
        assert_eq!(
            change(archive("j", "k1", 1), archive("j", "k1", 2)).blocked,
            None
        );
    }
}
