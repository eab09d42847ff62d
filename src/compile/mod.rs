//! Compile: model → one CloudFormation template per region and concern.
//!
//! Pure and deterministic: no I/O, no clock, ordered maps, stable logical ids
//! (see [`crate::ids`]). Stateful resources carry `Retain` policies. The output
//! [`StackSet`] lists stacks in deployment order.

use serde_json::{Value, json};

use crate::dns::Text;
use crate::ids;
use crate::model::Model;
use crate::template::{Resource, Template, get_att, tag_list};

pub mod sending;

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

    stacks.extend(sending::compile_sending(model)?);

    let mut mm = Template {
        description: format!("mailinfra {}: SES Mail Manager in {region}", model.project),
        ..Default::default()
    };
    for a in &model.archives {
        let id = ids::archive(&a.name);
        let mut r = Resource::new("AWS::SES::MailManagerArchive")
            .retained()
            .prop(
                "ArchiveName",
                json!(format!("{}-{}", model.project, a.name)),
            )
            .prop("Retention", json!({ "RetentionPeriod": a.retention.cfn() }));
        if let Some(key) = &a.kms_key {
            r = r.prop("KmsKeyArn", json!(key));
        }
        if !model.tags.is_empty() {
            r = r.prop("Tags", tags.clone());
        }
        mm.outputs.insert(
            format!("{id}Arn"),
            json!({ "Value": get_att(&id, "ArchiveArn") }),
        );
        mm.add(id, r)?;
    }
    if !mm.resources.is_empty() {
        stacks.push(CompiledStack {
            name: stack_name(&model.project, region, Concern::MailManager),
            region: region.clone(),
            concern: Concern::MailManager,
            template: mm,
            depends_on: Vec::new(),
        });
    }
    sending::apply_overrides(model, &mut stacks);
    Ok(StackSet { stacks })
}
