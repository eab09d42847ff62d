//! Blueprints: starter specs for `mailinfra init`.
//!
//! Each blueprint is a folder under `blueprints/` with `blueprint.yaml` (a
//! one-line description and typed variables with defaults) and
//! `mailinfra.yaml.hbs` (a handlebars template rendered in strict mode). The
//! folders are compiled into the binary, so `init` works wherever mailinfra is
//! installed. Values are validated by type before rendering and may only hold
//! characters that cannot change the YAML's structure (no newlines, quotes,
//! `#`, `{`, `}`), so a value can never inject keys or template syntax.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::values::{self, Family};

macro_rules! blueprints {
    ($($name:literal),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../blueprints/", $name, "/blueprint.yaml")),
            include_str!(concat!("../blueprints/", $name, "/mailinfra.yaml.hbs")),
        )),*]
    };
}

/// The blueprints shipped with this binary: (name, blueprint.yaml, template),
/// one per scenario in `mailinfra blueprints` order.
pub const BLUEPRINTS: &[(&str, &str, &str)] = blueprints![
    "identity-basics",
    "inbound-archive-relay",
    "journaling",
    "gateway-workspace-m365",
    "department-controls",
    "multi-region-sending",
    "third-party-relay",
    "classic-receiving",
    "sending-roles",
];

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VarType {
    Domain,
    Region,
    Cidr,
    Email,
    AccountId,
    /// A lowercase name: letters, digits and hyphens.
    Name,
    /// Free text limited to letters, digits, spaces and `._@:/+-`.
    Text,
    /// An AWS ARN: `arn:aws…:service:region:account:resource`.
    Arn,
    /// A Route 53 hosted zone id: uppercase letters and digits.
    ZoneId,
    /// A whole number without sign, at most 9 digits.
    Number,
    /// Comma-separated domains, rendered as a YAML flow sequence.
    DomainList,
    /// Comma-separated CIDR ranges, rendered as a YAML flow sequence.
    CidrList,
    /// Comma-separated email addresses, rendered as a YAML flow sequence.
    EmailList,
}

impl VarType {
    /// The element type of a list type.
    pub(crate) fn element(self) -> Option<VarType> {
        match self {
            VarType::DomainList => Some(VarType::Domain),
            VarType::CidrList => Some(VarType::Cidr),
            VarType::EmailList => Some(VarType::Email),
            _ => None,
        }
    }

    /// The type name used in `blueprint.yaml` and in messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            VarType::Domain => "domain",
            VarType::Region => "region",
            VarType::Cidr => "cidr",
            VarType::Email => "email",
            VarType::AccountId => "account_id",
            VarType::Name => "name",
            VarType::Text => "text",
            VarType::Arn => "arn",
            VarType::ZoneId => "zone_id",
            VarType::Number => "number",
            VarType::DomainList => "domain_list",
            VarType::CidrList => "cidr_list",
            VarType::EmailList => "email_list",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Variable {
    #[serde(rename = "type")]
    pub(crate) var_type: VarType,
    pub(crate) description: String,
    pub(crate) default: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) variables: BTreeMap<String, Variable>,
}

pub(crate) struct Blueprint {
    pub(crate) name: &'static str,
    pub(crate) meta: Meta,
    pub(crate) template: &'static str,
}

pub(crate) fn all() -> anyhow::Result<Vec<Blueprint>> {
    BLUEPRINTS
        .iter()
        .map(|(name, meta, template)| parse(name, meta, template))
        .collect()
}

fn parse(name: &'static str, meta: &str, template: &'static str) -> anyhow::Result<Blueprint> {
    let doc = crate::load::Document::parse(
        &format!("blueprints/{name}/blueprint.yaml"),
        meta.to_string(),
    )
    .map_err(|d| {
        anyhow::anyhow!(
            "blueprint `{name}` is broken: {}",
            d.first().map(|d| d.message.as_str()).unwrap_or("")
        )
    })?;
    let meta: Meta = serde_json::from_value(doc.json)
        .with_context(|| format!("blueprint `{name}` is broken"))?;
    Ok(Blueprint {
        name,
        meta,
        template,
    })
}

pub(crate) fn find(name: &str) -> anyhow::Result<Blueprint> {
    let all = all()?;
    let names: Vec<&str> = all.iter().map(|b| b.name).collect();
    match all.into_iter().find(|b| b.name == name) {
        Some(b) => Ok(b),
        None => {
            let hint = match crate::diag::suggest(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("available: {}", names.join(", ")),
            };
            bail!("there is no blueprint `{name}`; {hint} (`mailinfra blueprints` lists them)")
        }
    }
}

/// Why `value` is not a valid value of `t`, if it is not.
pub(crate) fn invalid(t: VarType, value: &str) -> Option<String> {
    match t.element() {
        Some(e) => list_items(value)
            .iter()
            .find_map(|item| invalid(e, item).map(|why| format!("`{item}`: {why}"))),
        None => invalid_scalar(t, value),
    }
}

/// The items of a comma-separated list value (empty items are dropped).
fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The text a valid value renders as: itself, or for a list type a YAML flow
/// sequence of its items (each already validated as its element type).
fn rendered(t: VarType, value: &str) -> String {
    match t.element() {
        Some(_) => format!("[{}]", list_items(value).join(", ")),
        None => value.to_string(),
    }
}

fn invalid_scalar(t: VarType, value: &str) -> Option<String> {
    let structural = value
        .chars()
        .find(|c| c.is_control() || "\"'#{}[]&*!|>%`\\,".contains(*c));
    if let Some(c) = structural {
        return Some(format!(
            "`{}` is not allowed in a blueprint value",
            c.escape_default()
        ));
    }
    match t {
        VarType::Domain => values::domain_problem(value),
        VarType::Region => values::region_problem(value)
            .map(|help| format!("`{value}` is not an AWS region; {help}")),
        VarType::Cidr => values::parse_cidr(value, Family::Any)
            .err()
            .map(|why| why.to_string()),
        VarType::Email => values::email_problem(value),
        VarType::AccountId => (!(value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())))
            .then(|| "an AWS account id is 12 digits".to_string()),
        VarType::Name => {
            let ok = !value.is_empty()
                && value.len() <= 32
                && value.starts_with(|c: char| c.is_ascii_lowercase())
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            (!ok).then(|| "names are 1 to 32 lowercase letters, digits and hyphens, starting with a letter".to_string())
        }
        VarType::Text => {
            if let Some(c) = value
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || " ._@:/+-".contains(*c)))
            {
                return Some(format!("`{c}` is not allowed in this value"));
            }
            // A plain YAML scalar must not read as a mapping or sequence entry.
            (value.contains(": ")
                || value.ends_with(':')
                || value.starts_with(['-', ':', ' '])
                || value.ends_with(' '))
            .then(|| "a value may not start with `-`, `:` or a space, contain `: ` or end with `:` or a space".to_string())
        }
        VarType::Arn => values::parse_arn(value).err(),
        VarType::ZoneId => {
            let ok = !value.is_empty()
                && value.len() <= 32
                && value
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            (!ok).then(|| {
                "a hosted zone id is up to 32 uppercase letters and digits, like `Z0123456789ABCDEFGHIJ`"
                    .to_string()
            })
        }
        VarType::Number => {
            (value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| "a number is 1 to 9 digits".to_string())
        }
        VarType::DomainList | VarType::CidrList | VarType::EmailList => {
            Some("a list is checked item by item".into())
        }
    }
}

/// Renders a blueprint with `values` (missing ones take their defaults).
/// `ask` is called for a variable without value or default (on a terminal).
pub(crate) fn render(
    bp: &Blueprint,
    values: &BTreeMap<String, String>,
    ask: &mut dyn FnMut(&str, &Variable) -> Option<String>,
) -> anyhow::Result<String> {
    for key in values.keys() {
        if !bp.meta.variables.contains_key(key) {
            let names: Vec<&str> = bp.meta.variables.keys().map(String::as_str).collect();
            let hint = crate::diag::suggest(key, names.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            bail!(
                "blueprint `{}` has no variable `{key}`; {hint}its variables: {}",
                bp.name,
                names.join(", ")
            );
        }
    }
    let mut data = serde_json::Map::new();
    for (name, var) in &bp.meta.variables {
        let value = match values
            .get(name)
            .cloned()
            .or_else(|| var.default.clone())
            .or_else(|| ask(name, var))
        {
            Some(v) => v,
            None => bail!(
                "blueprint `{}` needs `--set {name}=…` ({})",
                bp.name,
                var.description
            ),
        };
        if let Some(why) = invalid(var.var_type, &value) {
            bail!(
                "`{name}={value}` is not a valid {} value: {why}",
                var.var_type.as_str()
            );
        }
        if var.var_type.element().is_some() && list_items(&value).is_empty() {
            bail!("`{name}` needs at least one item (items are separated by commas)");
        }
        data.insert(
            name.clone(),
            serde_json::Value::String(rendered(var.var_type, &value)),
        );
    }
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    let body = hb
        .render_template(bp.template, &data)
        .with_context(|| format!("blueprint `{}` does not render", bp.name))?;
    Ok(format!(
        "# yaml-language-server: $schema=https://mailinfra.dev/schemas/mailinfra.schema.json\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_inject_structure() {
        assert!(invalid(VarType::Text, "x\n  Type: AWS::IAM::User").is_some());
        assert!(invalid(VarType::Text, "{{evil}}").is_some());
        assert!(invalid(VarType::Text, "a\"b").is_some());
        assert!(invalid(VarType::Text, "Acme Mail Team").is_none());
        assert!(
            invalid(VarType::Cidr, "10.0.0.1/24")
                .unwrap()
                .contains("10.0.0.0/24")
        );
        assert!(invalid(VarType::Cidr, "10.0.0.0/33").is_some());
        assert!(invalid(VarType::Cidr, "2001:db8::/32").is_none());
        assert!(invalid(VarType::AccountId, "12345").is_some());
        assert!(invalid(VarType::Email, "ops@example.com").is_none());
        assert!(invalid(VarType::Region, "us-east-7").is_some());
        assert!(
            invalid(VarType::Email, "a..b@example.com")
                .unwrap()
                .contains("doubled dot")
        );
        assert!(invalid(VarType::Email, "a@example").is_some());
    }

    #[test]
    fn lists_are_checked_per_item_and_render_as_flow_sequences() {
        assert!(invalid(VarType::CidrList, "198.51.100.0/24, 203.0.113.0/24").is_none());
        assert!(
            invalid(VarType::CidrList, "198.51.100.0/24,10.0.0.1/8")
                .unwrap()
                .contains("`10.0.0.1/8`")
        );
        assert!(invalid(VarType::DomainList, "a.com,b.com]\n").is_some());
        assert!(invalid(VarType::EmailList, "a@b.com,{{x}}").is_some());
        assert_eq!(
            rendered(VarType::CidrList, " 198.51.100.0/24 ,203.0.113.0/24,"),
            "[198.51.100.0/24, 203.0.113.0/24]"
        );
        assert_eq!(rendered(VarType::Domain, "a.com"), "a.com");
    }

    #[test]
    fn scalar_types_reject_what_would_change_the_yaml() {
        assert!(invalid(VarType::Text, "a: b").is_some());
        assert!(invalid(VarType::Text, "- a").is_some());
        assert!(invalid(VarType::Text, "7 years").is_none());
        assert!(invalid(VarType::Number, "30").is_none());
        assert!(invalid(VarType::Number, "-1").is_some());
        assert!(invalid(VarType::ZoneId, "Z0123456789ABCDEFGHIJ").is_none());
        assert!(invalid(VarType::ZoneId, "z01").is_some());
        assert!(
            invalid(
                VarType::Arn,
                "arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/relay-AbCdEf"
            )
            .is_none()
        );
        assert!(invalid(VarType::Arn, "arn:aws:kms:us-east-1:1234:key/x").is_some());
        assert!(invalid(VarType::Arn, "not-an-arn").is_some());
    }

    #[test]
    fn every_blueprint_renders_with_its_defaults() {
        for bp in all().unwrap() {
            let text = render(&bp, &BTreeMap::new(), &mut |_, _| None)
                .unwrap_or_else(|e| panic!("{}: {e:#}", bp.name));
            assert!(
                crate::load::Document::parse("rendered.yaml", text).is_ok(),
                "{}: rendered spec is not YAML",
                bp.name
            );
            for (name, var) in &bp.meta.variables {
                assert!(
                    var.default.is_some(),
                    "{}: `{name}` has no default",
                    bp.name
                );
            }
        }
    }

    #[test]
    fn every_blueprint_folder_is_shipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("blueprints");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut shipped: Vec<String> = BLUEPRINTS.iter().map(|b| b.0.to_string()).collect();
        shipped.sort();
        assert_eq!(on_disk, shipped);
        assert!(all().is_ok());
    }
}
