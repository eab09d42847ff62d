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

/// The blueprints shipped with this binary: (name, blueprint.yaml, template).
pub const BLUEPRINTS: &[(&str, &str, &str)] = &[(
    "identity-basics",
    include_str!("../blueprints/identity-basics/blueprint.yaml"),
    include_str!("../blueprints/identity-basics/mailinfra.yaml.hbs"),
)];

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VarType {
    Domain,
    Region,
    Cidr,
    Email,
    AccountId,
    /// A lowercase name: letters, digits and hyphens.
    Name,
    /// Free text limited to letters, digits, spaces and `._@:/+-`.
    Text,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(rename = "type")]
    pub var_type: VarType,
    pub description: String,
    pub default: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub description: String,
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
}

pub struct Blueprint {
    pub name: &'static str,
    pub meta: Meta,
    pub template: &'static str,
}

pub fn all() -> anyhow::Result<Vec<Blueprint>> {
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

pub fn find(name: &str) -> anyhow::Result<Blueprint> {
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
pub fn invalid(t: VarType, value: &str) -> Option<String> {
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
        VarType::Domain => crate::check::domain_problem(value),
        VarType::Region => {
            (!crate::cfn_data::is_region(value)).then(|| format!("`{value}` is not an AWS region"))
        }
        VarType::Cidr => cidr_problem(value),
        VarType::Email => match value.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && local
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)) =>
            {
                crate::check::domain_problem(domain)
            }
            _ => Some(format!("`{value}` is not an email address")),
        },
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
        VarType::Text => value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || " ._@:/+-".contains(*c)))
            .map(|c| format!("`{c}` is not allowed in this value")),
    }
}

fn cidr_problem(value: &str) -> Option<String> {
    let Some((addr, len)) = value.split_once('/') else {
        return Some("a CIDR looks like `203.0.113.0/24`".into());
    };
    let Ok(len) = len.parse::<u8>() else {
        return Some("the prefix length is not a number".into());
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(a) & !mask != 0).then(|| {
                format!(
                    "host bits are set: did you mean `{}/{len}`?",
                    std::net::Ipv4Addr::from(u32::from(a) & mask)
                )
            })
        }
        Ok(std::net::IpAddr::V6(a)) if len <= 128 => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(a) & !mask != 0).then(|| {
                format!(
                    "host bits are set: did you mean `{}/{len}`?",
                    std::net::Ipv6Addr::from(u128::from(a) & mask)
                )
            })
        }
        Ok(_) => Some("the prefix length is too long".into()),
        Err(_) => Some(format!("`{addr}` is not an IP address")),
    }
}

/// Renders a blueprint with `values` (missing ones take their defaults).
/// `ask` is called for a variable without value or default (on a terminal).
pub fn render(
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
                "`{name}={value}` is not a valid {:?} value: {why}",
                var.var_type
            );
        }
        data.insert(name.clone(), serde_json::Value::String(value));
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
