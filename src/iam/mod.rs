//! IAM: the policies mailinfra generates, measured the way IAM measures them
//! and laid out within IAM's limits.
//!
//! Input: policy statements (JSON values that may hold CloudFormation
//! intrinsics). Output: a [`Layout`] (what goes inline in the role, what goes
//! into managed policies attached to it) or an [`Overflow`] naming the size.
//! IAM counts a policy's characters without white space (IAM User Guide, "IAM
//! and AWS STS quotas"); a template holds `Fn::Sub` strings and references, so
//! [`measure`] resolves them to the longest value they can take. Used by
//! `compile` (to lay the policies out) and by `check` (to reject a role that
//! cannot hold its policy before anything is built); the statements of the
//! roles whose policies grow with the spec come from [`scope`], the one place
//! both read them from.

use serde_json::{Map, Value, json};

use crate::template::{Resource, reference};

pub(crate) mod scope;
pub(crate) mod trust;

/// The aggregate size of a role's inline policies (IAM and STS character quotas).
pub const INLINE_LIMIT: usize = 10_240;
/// The size of one managed policy.
pub const MANAGED_LIMIT: usize = 6_144;
/// Managed policies attached to one role (the default quota; it can be raised,
/// mailinfra does not assume it was).
pub const MANAGED_PER_ROLE: usize = 10;
/// The length of a role's trust policy (the default quota).
pub const TRUST_LIMIT: usize = 2_048;
/// Everything one role can hold.
pub const ROLE_CAPACITY: usize = INLINE_LIMIT + MANAGED_PER_ROLE * MANAGED_LIMIT;
/// What the inline policy's name may add to the aggregate (a policy name is
/// at most 128 characters; counted with its quotes).
const NAME_ALLOWANCE: usize = 130;

/// The longest partition name: `aws-us-gov` (the others are `aws`, `aws-cn`,
/// `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` and `aws-eusc`).
const PARTITION_MAX: usize = 10;
/// An account id is 12 digits.
const ACCOUNT_ID: usize = 12;
/// The longest URL suffix: `amazonaws.com.cn`.
const URL_SUFFIX_MAX: usize = 16;
/// What a reference to a resource or parameter can resolve to: at most an
/// ARN, and an IAM ARN is at most 2,048 characters.
const UNKNOWN_MAX: usize = 2_048;

/// The longest region name CloudFormation knows (`src/data/cfn.json`).
fn region_max() -> usize {
    crate::cfn_data::data()
        .regions
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(20)
}

/// The longest text a pseudo parameter (or another reference) resolves to.
fn resolved_len(name: &str) -> usize {
    match name {
        "AWS::Partition" => PARTITION_MAX,
        "AWS::AccountId" => ACCOUNT_ID,
        "AWS::Region" => region_max(),
        "AWS::URLSuffix" => URL_SUFFIX_MAX,
        _ => UNKNOWN_MAX,
    }
}

/// The characters of a string once CloudFormation substituted `${…}` (without quotes).
fn sub_len(s: &str) -> usize {
    let mut n = 0;
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        n += rest[..i].len();
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return n + rest[i..].len();
        };
        let name = &after[..end];
        n += match name.strip_prefix('!') {
            // `${!Literal}` is written as `${Literal}`.
            Some(lit) => lit.len() + 3,
            None => resolved_len(name),
        };
        rest = &after[end + 1..];
    }
    n + rest.len()
}

/// The length of a JSON string as written (quotes and escapes included).
fn string_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len() + 2, |q| q.len())
}

/// The characters of the text a value stands for, without quotes, when it is
/// an intrinsic that yields a string.
fn intrinsic_len(m: &Map<String, Value>) -> Option<usize> {
    if m.len() != 1 {
        return None;
    }
    let (k, v) = m.iter().next()?;
    match (k.as_str(), v) {
        ("Ref", Value::String(name)) => Some(resolved_len(name)),
        ("Fn::GetAtt", _) => Some(UNKNOWN_MAX),
        ("Fn::Sub", Value::String(s)) => Some(sub_len(s)),
        // `[text, { Name: value }]`: every variable at its longest.
        ("Fn::Sub", Value::Array(a)) => a.first().and_then(Value::as_str).map(sub_len),
        ("Fn::Join", Value::Array(a)) => {
            let sep = a.first().and_then(Value::as_str).unwrap_or("").len();
            let parts = a.get(1).and_then(Value::as_array)?;
            let inner: usize = parts.iter().map(text_len).sum();
            Some(inner + sep * parts.len().saturating_sub(1))
        }
        _ => None,
    }
}

/// The characters of a value used as text (without quotes).
fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => string_len(s) - 2,
        Value::Object(m) => intrinsic_len(m).unwrap_or_else(|| measure(v)),
        other => measure(other),
    }
}

/// How many characters IAM counts for `v` once CloudFormation resolved it: the
/// compact JSON (IAM does not count white space), every intrinsic at the
/// longest value it can take.
pub fn measure(v: &Value) -> usize {
    match v {
        Value::String(s) => string_len(s),
        Value::Array(a) => 2 + a.len().saturating_sub(1) + a.iter().map(measure).sum::<usize>(),
        Value::Object(m) => match intrinsic_len(m) {
            Some(n) => n + 2,
            None => {
                2 + m.len().saturating_sub(1)
                    + m.iter()
                        .map(|(k, x)| string_len(k) + 1 + measure(x))
                        .sum::<usize>()
            }
        },
        other => other.to_string().len(),
    }
}

/// A policy document.
pub(crate) fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Where a role's statements go: its inline policy, then managed policies.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub inline: Vec<Value>,
    pub managed: Vec<Vec<Value>>,
}

/// A policy too large for one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// The characters of the whole policy.
    pub size: usize,
}

impl Overflow {
    /// The problem in words, for a role named `role`.
    pub fn describe(&self, role: &str) -> String {
        format!(
            "the IAM policy of the role `{role}` would be {} characters, more than one role holds ({} inline and {} managed policies of {} characters, {} in all)",
            thousands(self.size),
            thousands(INLINE_LIMIT),
            MANAGED_PER_ROLE,
            thousands(MANAGED_LIMIT),
            thousands(ROLE_CAPACITY),
        )
    }
}

/// `18677` → `18,677`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One policy being filled: its statements and their size as a document.
struct Bin {
    limit: usize,
    statements: Vec<Value>,
    size: usize,
}

impl Bin {
    fn new(limit: usize) -> Bin {
        Bin {
            limit,
            statements: Vec::new(),
            size: measure(&document(Vec::new())),
        }
    }

    /// The size with `s` added as one more statement.
    fn with(&self, s: &Value) -> usize {
        self.size + measure(s) + usize::from(!self.statements.is_empty())
    }

    fn push(&mut self, s: Value) {
        self.size = self.with(&s);
        self.statements.push(s);
    }
}

/// Adds `st` to the bins, splitting its `Resource` list over as many as it
/// takes; `false` when one resource alone does not fit an empty policy.
fn pack(bins: &mut Vec<Bin>, st: &Value) -> bool {
    let new_bin = |bins: &mut Vec<Bin>| bins.push(Bin::new(MANAGED_LIMIT));
    let resources = match st.get("Resource") {
        Some(Value::Array(r)) if r.len() > 1 => r.clone(),
        _ => {
            if bins.last().is_none_or(|b| b.with(st) > b.limit) {
                new_bin(bins);
            }
            let b = bins.last_mut().expect("a bin");
            if b.with(st) > b.limit {
                return false;
            }
            b.push(st.clone());
            return true;
        }
    };
    let mut rest = &resources[..];
    while !rest.is_empty() {
        let b = bins.last_mut().expect("a bin");
        // How many of the remaining resources fit into this policy.
        let mut part = st.clone();
        part["Resource"] = json!([]);
        let mut size = b.with(&part);
        let mut take = 0;
        for (i, r) in rest.iter().enumerate() {
            let more = measure(r) + usize::from(i > 0);
            if size + more > b.limit {
                break;
            }
            size += more;
            take += 1;
        }
        if take == 0 {
            if b.statements.is_empty() {
                return false;
            }
            new_bin(bins);
            continue;
        }
        part["Resource"] = Value::Array(rest[..take].to_vec());
        b.push(part);
        rest = &rest[take..];
        if !rest.is_empty() {
            new_bin(bins);
        }
    }
    true
}

/// Lays `statements` out over a role: all inline while they fit IAM's 10,240
/// characters, else the inline policy filled first and the rest in managed
/// policies of at most 6,144 characters each, a statement's resources split
/// over several where needed. At most 10 managed policies.
pub fn layout(statements: &[Value]) -> Result<Layout, Overflow> {
    let whole = measure(&document(statements.to_vec()));
    if whole + NAME_ALLOWANCE <= INLINE_LIMIT {
        return Ok(Layout {
            inline: statements.to_vec(),
            managed: Vec::new(),
        });
    }
    let overflow = Overflow { size: whole };
    let mut bins = vec![Bin::new(INLINE_LIMIT - NAME_ALLOWANCE)];
    for st in statements {
        if !pack(&mut bins, st) {
            return Err(overflow);
        }
    }
    if bins.len() > 1 + MANAGED_PER_ROLE {
        return Err(overflow);
    }
    let mut bins = bins.into_iter().map(|b| b.statements);
    Ok(Layout {
        inline: bins.next().unwrap_or_default(),
        managed: bins.filter(|b| !b.is_empty()).collect(),
    })
}

/// The logical id of the `n`-th managed policy (from 1) of the role `role_id`.
pub fn managed_policy_id(role_id: &str, n: usize) -> String {
    format!("Policy{n}{role_id}")
}

/// The role `role` (logical id `role_id`) with `statements` laid out over it:
/// the role, holding the inline policy `policy_name` and attaching the managed
/// policies by `ManagedPolicyArns` (so they exist before the role, and before
/// anything that uses the role), then the managed policies.
pub(crate) fn attach(
    role_id: &str,
    role: Resource,
    policy_name: &str,
    statements: &[Value],
) -> Result<Vec<(String, Resource)>, Overflow> {
    let l = layout(statements)?;
    let mut role = role.prop(
        "Policies",
        json!([{ "PolicyName": policy_name, "PolicyDocument": document(l.inline) }]),
    );
    let ids: Vec<String> = (1..=l.managed.len())
        .map(|n| managed_policy_id(role_id, n))
        .collect();
    if !ids.is_empty() {
        role = role.prop(
            "ManagedPolicyArns",
            Value::Array(ids.iter().map(|id| reference(id)).collect()),
        );
    }
    let mut out = vec![(role_id.to_string(), role)];
    for (id, part) in ids.into_iter().zip(l.managed) {
        out.push((
            id,
            Resource::new("AWS::IAM::ManagedPolicy").prop("PolicyDocument", document(part)),
        ));
    }
    Ok(out)
}

/// What IAM would be asked to hold for each role of a template, by logical
/// id: the inline policies' size, the managed policies' sizes, and the trust
/// policy's size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSizes {
    pub inline: usize,
    pub managed: Vec<usize>,
    pub trust: usize,
}

impl RoleSizes {
    /// The first IAM limit these sizes break, in words.
    pub fn problem(&self) -> Option<String> {
        if self.inline > INLINE_LIMIT {
            return Some(format!(
                "{} characters of inline policy (limit {})",
                thousands(self.inline),
                thousands(INLINE_LIMIT)
            ));
        }
        if self.managed.len() > MANAGED_PER_ROLE {
            return Some(format!(
                "{} managed policies (limit {MANAGED_PER_ROLE})",
                self.managed.len()
            ));
        }
        if let Some(m) = self.managed.iter().find(|m| **m > MANAGED_LIMIT) {
            return Some(format!(
                "a managed policy of {} characters (limit {})",
                thousands(*m),
                thousands(MANAGED_LIMIT)
            ));
        }
        (self.trust > TRUST_LIMIT).then(|| {
            format!(
                "a trust policy of {} characters (limit {})",
                thousands(self.trust),
                thousands(TRUST_LIMIT)
            )
        })
    }
}

/// The sizes of every role's policies in a template given as JSON (its
/// `Resources`), managed policies counted against the roles that attach them.
pub fn role_sizes(resources: &Map<String, Value>) -> Vec<(String, RoleSizes)> {
    let mut out = Vec::new();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::IAM::Role") {
            continue;
        }
        let p = &r["Properties"];
        let inline = p["Policies"].as_array().map_or(0, |a| {
            a.iter()
                .map(|x| measure(&x["PolicyDocument"]) + measure(&x["PolicyName"]))
                .sum()
        });
        let managed = p["ManagedPolicyArns"].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|arn| match arn.get("Ref").and_then(Value::as_str) {
                    Some(mp) => measure(&resources[mp]["Properties"]["PolicyDocument"]),
                    None => 0,
                })
                .collect()
        });
        let trust = measure(&p["AssumeRolePolicyDocument"]);
        out.push((
            id.clone(),
            RoleSizes {
                inline,
                managed,
                trust,
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns(n: usize, region: &str) -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/d{i:04}.example.com") })
            })
            .collect()
    }

    #[test]
    fn measures_compact_json_with_intrinsics_at_their_longest() {
        assert_eq!(measure(&json!({ "a": [1, "b"] })), r#"{"a":[1,"b"]}"#.len());
        let sub = json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" });
        assert_eq!(
            measure(&sub),
            "\"arn:aws-us-gov:iam::123456789012:root\"".len()
        );
        assert_eq!(measure(&json!({ "Ref": "AWS::AccountId" })), 14);
        assert_eq!(
            measure(&json!({ "Fn::Sub": "${!Literal}" })),
            "\"${Literal}\"".len()
        );
        let join = json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::b/*"]] });
        assert_eq!(measure(&join), "\"arn:aws-us-gov:s3:::b/*\"".len());
        assert!(measure(&json!({ "Fn::GetAtt": ["X", "Arn"] })) >= 2_048);
        assert_eq!(thousands(18_677), "18,677");
        assert_eq!(thousands(100), "100");
    }

    #[test]
    fn small_policies_stay_inline() {
        let st = vec![
            json!({ "Effect": "Allow", "Action": "ses:SendEmail", "Resource": arns(3, "us-east-1") }),
        ];
        let l = layout(&st).unwrap();
        assert_eq!(l.inline, st);
        assert!(l.managed.is_empty());
    }

    #[test]
    fn large_policies_split_into_managed_policies_within_the_limits() {
        let st = vec![
            json!({ "Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "arn:aws:logs:*" }),
            json!({ "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": arns(400, "us-east-1"), "Condition": { "StringLike": { "ses:FromAddress": ["*@example.com"] } } }),
        ];
        let l = layout(&st).unwrap();
        assert!(!l.managed.is_empty() && l.managed.len() <= MANAGED_PER_ROLE);
        assert!(measure(&document(l.inline.clone())) <= INLINE_LIMIT);
        for m in &l.managed {
            assert!(measure(&document(m.clone())) <= MANAGED_LIMIT);
        }
        // Every resource is granted exactly once, with the statement's actions and condition.
        let mut granted = Vec::new();
        for s in l.inline.iter().chain(l.managed.iter().flatten()) {
            if s["Action"] == st[1]["Action"] {
                assert_eq!(s["Condition"], st[1]["Condition"]);
                granted.extend(s["Resource"].as_array().unwrap().iter().cloned());
            }
        }
        assert_eq!(granted, arns(400, "us-east-1"));
    }

    #[test]
    fn a_policy_beyond_one_role_is_an_overflow() {
        let st = vec![
            json!({ "Effect": "Allow", "Action": "ses:SendEmail", "Resource": arns(2_000, "ap-southeast-2") }),
        ];
        let e = layout(&st).unwrap_err();
        assert!(e.size > ROLE_CAPACITY);
        let text = e.describe("worker");
        assert!(
            text.contains("`worker`") && text.contains("71,680"),
            "{text}"
        );
    }

    #[test]
    fn attach_refers_to_each_managed_policy_from_the_role() {
        let st = vec![
            json!({ "Effect": "Allow", "Action": "ses:SendEmail", "Resource": arns(300, "us-east-1") }),
        ];
        let out = attach(
            "RoleWorker",
            Resource::new("AWS::IAM::Role"),
            "ses-send",
            &st,
        )
        .unwrap();
        assert_eq!(out[0].0, "RoleWorker");
        let refs = out[0].1.properties["ManagedPolicyArns"].as_array().unwrap();
        assert_eq!(refs.len(), out.len() - 1);
        assert_eq!(out[1].0, "Policy1RoleWorker");
        assert_eq!(refs[0], json!({ "Ref": "Policy1RoleWorker" }));
        let resources: Map<String, Value> = out
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    json!({ "Type": r.resource_type, "Properties": r.properties }),
                )
            })
            .collect();
        let sizes = role_sizes(&resources);
        assert_eq!(sizes.len(), 1);
        assert_eq!(sizes[0].1.problem(), None);
        assert_eq!(sizes[0].1.managed.len(), refs.len());
    }
}
