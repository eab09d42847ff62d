//! Compile: model → one CloudFormation template per region and concern.
//!
//! Pure and deterministic: no I/O, no clock, ordered maps, stable logical ids
//! (see [`crate::ids`]). Stateful resources carry `Retain` policies. The output
//! [`StackSet`] lists stacks in deployment order.

use serde_json::{Value, json};

pub mod mail_manager;

use crate::dns::{self, Text};
use crate::ids;
use crate::model::{Dkim, Model, ZoneKind};
use crate::spec::MxFailure;
use crate::template::{Resource, Template, get_att, tag_list};

/// What a stack holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Concern {
    /// Identities and their DNS records.
    Sending,
    /// Mail Manager resources.
    MailManager,
}

impl Concern {
    pub fn as_str(self) -> &'static str {
        match self {
            Concern::Sending => "sending",
            Concern::MailManager => "mail-manager",
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
    let region = &model.primary;
    let tags = tag_list(&model.tags);

    let mut sending = Template {
        description: format!(
            "mailinfra {}: SES identities and DNS in {region}",
            model.project
        ),
        ..Default::default()
    };
    for id in &model.identities {
        let mut r = Resource::new("AWS::SES::EmailIdentity")
            .retained()
            .prop("EmailIdentity", json!(id.domain));
        match id.dkim {
            Dkim::Easy { key_length } => {
                r = r
                    .prop("DkimAttributes", json!({ "SigningEnabled": true }))
                    .prop(
                        "DkimSigningAttributes",
                        json!({ "NextSigningKeyLength": key_length.cfn() }),
                    );
            }
            Dkim::None => r = r.prop("DkimAttributes", json!({ "SigningEnabled": false })),
        }
        if let Some(mf) = &id.mail_from {
            let behaviour = match mf.on_mx_failure {
                MxFailure::UseDefault => "USE_DEFAULT_VALUE",
                MxFailure::Reject => "REJECT_MESSAGE",
            };
            r = r.prop(
                "MailFromAttributes",
                json!({ "MailFromDomain": mf.domain, "BehaviorOnMxFailure": behaviour }),
            );
        }
        r = r.prop(
            "FeedbackAttributes",
            json!({ "EmailForwardingEnabled": id.feedback_forwarding }),
        );
        if !model.tags.is_empty() {
            r = r.prop("Tags", tags.clone());
        }
        sending.add(ids::identity(&id.domain), r)?;
    }
    for rec in dns::records(model)
        .into_iter()
        .filter(|r| !dns::placed_elsewhere(r))
    {
        let zone = &model.zones[rec.zone];
        let ZoneKind::Route53 { zone_id } = &zone.kind else {
            continue;
        };
        let r = Resource::new("AWS::Route53::RecordSet")
            .prop("HostedZoneId", json!(zone_id))
            .prop("Name", text(&rec.name))
            .prop("Type", json!(rec.rtype))
            .prop("TTL", json!(rec.ttl.to_string()))
            .prop(
                "ResourceRecords",
                Value::Array(rec.values.iter().map(text).collect()),
            );
        sending.add(rec.logical_id, r)?;
    }
    if !sending.resources.is_empty() {
        stacks.push(CompiledStack {
            name: stack_name(&model.project, region, Concern::Sending),
            region: region.clone(),
            concern: Concern::Sending,
            template: sending,
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
            depends_on: Vec::new(),
        });
    }
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
