//! Compile: model → one CloudFormation template per region and concern.
//!
//! Pure and deterministic: no I/O, no clock, ordered maps, stable logical ids
//! (see [`crate::ids`]). Stateful resources carry `Retain` policies. The output
//! [`StackSet`] lists stacks in deployment order.

use serde_json::{Value, json};

pub mod mail_manager;
pub mod receiving;

use crate::dns::{self, Text};
use crate::model::Model;
use crate::model::ZoneKind;
use crate::template::{Resource, Template, get_att};

pub mod sending;

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
}

#[derive(Clone, Debug, Default)]
pub struct StackSet {
    pub stacks: Vec<CompiledStack>,
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
            ..
        } => get_att(logical_id, attribute),
    }
}

/// Compiles the model. `Err` only for an internal inconsistency (a bug), never for user input.
pub fn compile(model: &Model) -> Result<StackSet, String> {
    let mut stacks = Vec::new();

    stacks.extend(sending::compile_sending(model)?);

    // Before Mail Manager: its rules may write to the buckets declared here.
    let mut receiving_stack = None;
    if let (Some(mut t), Some(c)) = (receiving::template(model)?, &model.receiving) {
        add_mx(model, &mut t, &c.region, "receiving")?;
        let name = stack_name(&model.project, &c.region, Concern::Receiving);
        receiving_stack = Some((c.region.clone(), name.clone()));
        stacks.push(CompiledStack {
            name,
            region: c.region.clone(),
            concern: Concern::Receiving,
            template: t,
            depends_on: Vec::new(),
        });
    }

    let mm_used = !model.archives.is_empty() || !model.mail_manager.is_empty();
    for (mm_region, _) in model.mail_manager.regions.iter().filter(|_| mm_used) {
        let mut mm = mail_manager::template(model, mm_region)?;
        add_mx(model, &mut mm, mm_region, "mail-manager")?;
        stacks.push(CompiledStack {
            name: stack_name(&model.project, mm_region, Concern::MailManager),
            region: mm_region.clone(),
            concern: Concern::MailManager,
            template: mm,
            depends_on: receiving_stack
                .iter()
                .filter(|(r, _)| {
                    r == mm_region && model.receiving.iter().any(|c| !c.buckets.is_empty())
                })
                .map(|(_, n)| n.clone())
                .collect(),
        });
    }
    sending::apply_overrides(model, &mut stacks);
    Ok(StackSet { stacks })
}

/// Adds the receiving MX record sets that belong in this stack.
fn add_mx(model: &Model, t: &mut Template, region: &str, concern: &str) -> Result<(), String> {
    for p in dns::receiving_records(model) {
        if p.region != region || p.concern != concern {
            continue;
        }
        let zone = &model.zones[p.record.zone];
        let ZoneKind::Route53 { zone_id } = &zone.kind else {
            continue;
        };
        let values: Vec<Value> = p
            .record
            .values
            .iter()
            .zip(&p.priorities)
            .map(|(v, prio)| match v {
                Text::Literal(s) => json!(s),
                Text::Deferred { .. } => json!({ "Fn::Join": ["", [format!("{prio} "), text(v)]] }),
            })
            .collect();
        let mut r = Resource::new("AWS::Route53::RecordSet")
            .prop("HostedZoneId", json!(zone_id))
            .prop("Name", text(&p.record.name))
            .prop("Type", json!(p.record.rtype))
            .prop("TTL", json!(p.record.ttl.to_string()))
            .prop("ResourceRecords", Value::Array(values));
        if let Some(set) = &p.set_identifier {
            r = r.prop("SetIdentifier", json!(set)).prop("Weight", json!(1));
        }
        t.add(p.record.logical_id, r)?;
    }
    Ok(())
}
