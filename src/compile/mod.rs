//! Compile: model → one CloudFormation template per region and concern.
//!
//! Pure and deterministic: no I/O, no clock, ordered maps, stable logical ids
//! (see [`crate::ids`]). Stateful resources carry `Retain` policies. The output
//! [`StackSet`] lists stacks in deployment order. The DNS records the topology
//! needs are worked out in [`dns`]; those of Route 53 zones become record sets.

use serde_json::{Value, json};

pub mod mail_manager;
pub mod receiving;

use crate::dns::{self, Text};
use crate::model::Model;
use crate::model::ZoneKind;
use crate::placement::Lock;
use crate::template::{Resource, Template, get_att};

pub mod sending;
pub mod shard;
mod sns;

/// What a stack holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Concern {
    /// Identities and their DNS records.
    Sending,
    /// Mail Manager resources.
    MailManager,
    /// Classic SES receiving: receipt rules, buckets, topics.
    Receiving,
}

impl Concern {
    /// Every concern, each a stack of its own.
    pub const ALL: [Concern; 3] = [Concern::Sending, Concern::MailManager, Concern::Receiving];

    pub fn as_str(self) -> &'static str {
        match self {
            Concern::Sending => "sending",
            Concern::MailManager => "mail-manager",
            Concern::Receiving => "receiving",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CompiledStack {
    /// CloudFormation stack name: `<project>-<region>-<concern>`.
    pub name: String,
    pub region: String,
    pub concern: Concern,
    pub template: Template,
    /// Names of stacks that must be deployed first.
    pub depends_on: Vec<String>,
    /// Template parameters the deployer fills from other stacks' outputs.
    pub parameters: Vec<Wire>,
}

/// A parameter of one stack filled from an output of another (possibly in
/// another region): the deployer reads `stack`'s output `output` and passes it
/// as parameter `name`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wire {
    pub name: String,
    pub stack: String,
    pub output: String,
}

#[derive(Clone, Debug, Default)]
pub struct StackSet {
    /// In dependency order.
    pub stacks: Vec<CompiledStack>,
    /// Where every named element lives (see [`crate::placement`]).
    pub placement: Lock,
}

pub fn stack_name(project: &str, region: &str, concern: Concern) -> String {
    format!("{project}-{region}-{}", concern.as_str())
}

fn text(t: &Text) -> Value {
    match t {
        Text::Literal(s) => json!(s),
        Text::Deferred {
            logical_id,
            attribute,
            prefix,
            ..
        } => prefixed(prefix, get_att(logical_id, attribute)),
    }
}

/// `value` after `prefix` (`Fn::Join`), or `value` alone.
fn prefixed(prefix: &str, value: Value) -> Value {
    if prefix.is_empty() {
        value
    } else {
        json!({ "Fn::Join": ["", [prefix, value]] })
    }
}

/// Why a checked model did not compile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An element, or a stack's shared part, that cannot be split is beyond
    /// CloudFormation's limits: the user's to fix (MI3113).
    #[error("{0}")]
    Limit(String),
    /// An inconsistency the checks should have caught: a bug.
    #[error("internal compiler error: {0}")]
    Internal(String),
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::Internal(e)
    }
}

/// Compiles the model with a fresh placement (no lock file). `Err` only for
/// an internal inconsistency or a group that no stack can hold.
pub fn compile(model: &Model) -> Result<StackSet, Error> {
    compile_placed(model, None)
}

/// Compiles the model, keeping every element the lock lists where it is.
pub fn compile_placed(model: &Model, lock: Option<&Lock>) -> Result<StackSet, Error> {
    let mut units = sending::sending_units(model)?;

    // Before Mail Manager: its rules may write to the buckets declared here.
    let mut receiving_stack = None;
    // Stack name → the parameters its MX records take from other stacks.
    let mut mx_wires = Vec::new();
    if let (Some(mut t), Some(c)) = (receiving::template(model)?, &model.receiving) {
        add_mx(model, &mut t, &c.region, "receiving")?;
        let name = stack_name(&model.project, &c.region, Concern::Receiving);
        if !c.buckets.is_empty() {
            receiving_stack = Some((c.region.clone(), name.clone()));
        }
        units.push(shard::Unit {
            name,
            region: c.region.clone(),
            concern: Concern::Receiving,
            shared: t,
            groups: Vec::new(),
            helper: None,
            shared_grants: Vec::new(),
        });
    }

    let mm_used = !model.archives.is_empty() || !model.mail_manager.is_empty();
    for (mm_region, _) in model.mail_manager.regions.iter().filter(|_| mm_used) {
        let mut mm = mail_manager::template(model, mm_region)?;
        let name = stack_name(&model.project, mm_region, Concern::MailManager);
        mx_wires.push((
            name.clone(),
            add_mx(model, &mut mm, mm_region, "mail-manager")?,
        ));
        units.push(shard::Unit {
            name,
            region: mm_region.clone(),
            concern: Concern::MailManager,
            shared: mm,
            groups: Vec::new(),
            helper: None,
            shared_grants: Vec::new(),
        });
    }
    let (mut stacks, placement) = shard::assemble(units, lock)?;
    sending::pace_policies(&mut stacks);
    // The secondary region's sending side deploys after the primary's, replicas
    // or not: the primary is the source of truth the secondary mirrors.
    if let Some(secondary) = &model.secondary {
        let first = stack_name(&model.project, &model.primary, Concern::Sending);
        let mirror = stack_name(&model.project, secondary, Concern::Sending);
        let has_first = stacks.iter().any(|s| s.name == first);
        if let Some(s) = stacks.iter_mut().find(|s| s.name == mirror)
            && has_first
            && !s.depends_on.contains(&first)
        {
            s.depends_on.push(first);
        }
    }
    // Mail Manager rules write to receiving buckets by name, not by reference.
    if let Some((region, name)) = &receiving_stack {
        for s in stacks
            .iter_mut()
            .filter(|s| s.concern == Concern::MailManager && &s.region == region)
        {
            if !s.depends_on.contains(name) {
                s.depends_on.push(name.clone());
            }
        }
    }
    wire_mx(&mut stacks, mx_wires);
    sending::apply_overrides(model, &mut stacks);
    verify_iam(&stacks)?;
    Ok(StackSet { stacks, placement })
}

/// Every generated role within IAM's limits (inline, managed, trust policy
/// sizes, measured as IAM does): the last guard, after overrides. The checks
/// reject the roles that grow with the spec before compile (MI3114).
fn verify_iam(stacks: &[CompiledStack]) -> Result<(), Error> {
    for s in stacks {
        let iam: serde_json::Map<String, Value> = s
            .template
            .resources
            .iter()
            .filter(|(_, r)| r.resource_type.starts_with("AWS::IAM::"))
            .map(|(id, r)| {
                (
                    id.clone(),
                    json!({ "Type": r.resource_type, "Properties": r.properties }),
                )
            })
            .collect();
        for (role, sizes) in crate::iam::role_sizes(&iam) {
            if let Some(why) = sizes.problem() {
                return Err(Error::Limit(format!(
                    "the role `{role}` of the stack `{}` would hold {why} (see `mailinfra explain MI3114`)",
                    s.name
                )));
            }
        }
    }
    Ok(())
}

/// Adds the receiving MX record sets that belong in this stack; returns the
/// parameters their values from other regions' stacks arrive through.
fn add_mx(
    model: &Model,
    t: &mut Template,
    region: &str,
    concern: &str,
) -> Result<Vec<Wire>, String> {
    let mut wires = Vec::new();
    for p in dns::receiving_records(model) {
        if p.region != region || p.concern != concern {
            continue;
        }
        let zone = &model.zones[p.record.zone];
        let ZoneKind::Route53 { zone_id } = &zone.kind else {
            continue;
        };
        let mut values = Vec::new();
        for v in &p.record.values {
            let Text::Deferred {
                logical_id,
                attribute,
                prefix,
                region: Some(from),
                ..
            } = v
            else {
                values.push(text(v));
                continue;
            };
            // CloudFormation exports do not cross regions: the deployer reads
            // the other stack's output and passes it in.
            let name = format!("{logical_id}{attribute}{}", crate::ids::pascal(from));
            let stack = stack_name(&model.project, from, Concern::MailManager);
            t.parameters.insert(
                name.clone(),
                json!({ "Type": "String", "Description": format!("{logical_id}.{attribute} from the stack {stack}") }),
            );
            values.push(prefixed(prefix, json!({ "Ref": name })));
            wires.push(Wire {
                name,
                stack,
                output: dns::output_key(logical_id, attribute),
            });
        }
        let r = Resource::new("AWS::Route53::RecordSet")
            .prop("HostedZoneId", json!(zone_id))
            .prop("Name", text(&p.record.name))
            .prop("Type", json!(p.record.rtype))
            .prop("TTL", json!(p.record.ttl.to_string()))
            .prop("ResourceRecords", Value::Array(values));
        t.add(p.record.logical_id, r)?;
    }
    Ok(wires)
}

/// Gives each stack the parameters its MX records take from other stacks,
/// with the dependencies that come with them, and moves every producer
/// before its consumers (stacks are listed in deployment order).
fn wire_mx(stacks: &mut Vec<CompiledStack>, wires: Vec<(String, Vec<Wire>)>) {
    for (consumer, wires) in wires {
        let Some(s) = stacks.iter_mut().find(|s| s.name == consumer) else {
            continue;
        };
        for w in wires {
            if !s.depends_on.contains(&w.stack) {
                s.depends_on.push(w.stack.clone());
            }
            s.parameters.push(w);
        }
    }
    let mut ordered: Vec<CompiledStack> = Vec::with_capacity(stacks.len());
    let mut rest = std::mem::take(stacks);
    while !rest.is_empty() {
        let ready = rest
            .iter()
            .position(|s| {
                s.depends_on.iter().all(|d| {
                    ordered.iter().any(|o| &o.name == d) || !rest.iter().any(|r| &r.name == d)
                })
            })
            .unwrap_or(0);
        ordered.push(rest.remove(ready));
    }
    *stacks = ordered;
}
