//! Blueprints: starter specs for `mailinfra init`.
//!
//! Each blueprint is a folder under `blueprints/` with `blueprint.yaml` (a
//! one-line description and typed variables with defaults) and
//! `mailinfra.yaml.hbs` (a handlebars template rendered in strict mode). The
//! folders are compiled into the binary, so `init` works wherever mailinfra is
//! installed. A variable has a default, a `derive` expression over other
//! variables, or neither: then only the user can choose it and `init` asks or
//! fails naming the `--set` flag. Values are validated by type before
//! rendering, and every text value is written as a quoted YAML scalar (the
//! `{{q …}}` helper), so a value can never inject keys or change its type.

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
    /// A handlebars expression over other variables (`dmarc@{{domain}}`),
    /// used when the variable is not set.
    pub(crate) derive: Option<String>,
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
    /// The variables in `blueprint.yaml` order (the order `init` asks in).
    pub(crate) order: Vec<String>,
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
    let order = variable_order(&doc);
    let meta: Meta = serde_json::from_value(doc.json)
        .with_context(|| format!("blueprint `{name}` is broken"))?;
    Ok(Blueprint {
        name,
        meta,
        order,
        template,
    })
}

/// The variables in the order `blueprint.yaml` writes them (the JSON form
/// keeps keys sorted; their places in the source tell the order).
fn variable_order(doc: &crate::load::Document) -> Vec<String> {
    let mut order: Vec<String> = doc.json["variables"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    order.sort_by_key(|k| {
        let at = doc.key_span_of(&format!("/variables/{}", crate::load::escape_pointer(k)));
        (at.start.line, at.start.col)
    });
    order
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

/// The text a valid value is given to the template as: itself (text goes
/// through `{{q …}}`), or for a list type a YAML flow sequence of its items,
/// each quoted.
fn rendered(t: VarType, value: &str) -> String {
    match t.element() {
        Some(_) => {
            let items: Vec<String> = list_items(value)
                .iter()
                .map(|i| serde_json::Value::String((*i).to_string()).to_string())
                .collect();
            format!("[{}]", items.join(", "))
        }
        None => value.to_string(),
    }
}

fn invalid_scalar(t: VarType, value: &str) -> Option<String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Some(format!(
            "`{}` (a control character) is not allowed in a blueprint value",
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
        // Quoted when rendered, so any printable text is safe.
        VarType::Text => value
            .trim()
            .is_empty()
            .then(|| "a value must not be empty".to_string()),
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

/// Asks for a variable's value on a terminal: its name, the variable and, when
/// the previous answer was invalid, why. `None` gives up (end of input).
pub(crate) type Ask<'a> = &'a mut AskFn<'a>;

/// The question [`Ask`] puts: name, variable, why the last answer was refused.
pub(crate) type AskFn<'a> = dyn FnMut(&str, &Variable, Option<&str>) -> Option<String> + 'a;

/// The full set of values for `bp`: those given (`--set`), then defaults, then
/// answers from `ask` for variables only the user can know, then derived
/// values. Without `ask` (off a terminal) every missing variable is named in
/// one error, as the `--set` flags that would supply them.
pub(crate) fn values(
    bp: &Blueprint,
    given: &BTreeMap<String, String>,
    ask: Option<Ask<'_>>,
) -> anyhow::Result<BTreeMap<String, String>> {
    unknown_keys(bp, given)?;
    let mut out = BTreeMap::new();
    for (name, value) in given {
        check_value(name, bp.meta.variables[name].var_type, value)?;
        out.insert(name.clone(), value.clone());
    }
    let missing: Vec<&str> = bp
        .order
        .iter()
        .map(String::as_str)
        .filter(|n| !out.contains_key(*n))
        .filter(|n| {
            let v = &bp.meta.variables[*n];
            v.default.is_none() && v.derive.is_none()
        })
        .collect();
    match ask {
        None if !missing.is_empty() => {
            let flags: Vec<String> = missing
                .iter()
                .map(|n| {
                    let v = &bp.meta.variables[*n];
                    format!(
                        "  --set {n}=VALUE  ({}: {})",
                        v.var_type.as_str(),
                        v.description
                    )
                })
                .collect();
            bail!(
                "blueprint `{}` needs values only you can choose; pass them (or run `init` on a terminal to be asked):\n{}",
                bp.name,
                flags.join("\n")
            );
        }
        None => {}
        Some(ask) => {
            for name in missing {
                let value = ask_until_valid(name, &bp.meta.variables[name], &mut *ask)?;
                out.insert(name.to_string(), value);
            }
        }
    }
    for name in &bp.order {
        let var = &bp.meta.variables[name];
        if out.contains_key(name) {
            continue;
        }
        if let Some(d) = &var.default {
            check_value(name, var.var_type, d)?;
            out.insert(name.clone(), d.clone());
        }
    }
    for name in &bp.order {
        let var = &bp.meta.variables[name];
        if let (false, Some(expr)) = (out.contains_key(name), &var.derive) {
            let value = derived(bp, expr, &out)?;
            check_value(name, var.var_type, &value).with_context(|| {
                format!("`{name}` is derived from `{expr}`; pass `--set {name}=…` instead")
            })?;
            out.insert(name.clone(), value);
        }
    }
    Ok(out)
}

fn unknown_keys(bp: &Blueprint, given: &BTreeMap<String, String>) -> anyhow::Result<()> {
    for key in given.keys() {
        if !bp.meta.variables.contains_key(key) {
            let names: Vec<&str> = bp.order.iter().map(String::as_str).collect();
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
    Ok(())
}

/// Why `name=value` is not a valid value of its type, as an error.
fn check_value(name: &str, t: VarType, value: &str) -> anyhow::Result<()> {
    if let Some(why) = problem(t, value) {
        bail!(
            "`{name}={value}` is not a valid {} value: {why}",
            t.as_str()
        );
    }
    Ok(())
}

/// Why `value` cannot be a value of `t`, including an empty list.
fn problem(t: VarType, value: &str) -> Option<String> {
    if t.element().is_some() && list_items(value).is_empty() {
        return Some("a list needs at least one item (items are separated by commas)".into());
    }
    invalid(t, value)
}

fn ask_until_valid(name: &str, var: &Variable, ask: &mut AskFn) -> anyhow::Result<String> {
    let mut why: Option<String> = None;
    loop {
        let Some(answer) = ask(name, var, why.as_deref()) else {
            bail!("no value for `{name}`; pass `--set {name}=VALUE`");
        };
        match problem(var.var_type, &answer) {
            None => return Ok(answer),
            Some(p) => why = Some(p),
        }
    }
}

/// A `derive` expression (handlebars over the other variables' plain values).
fn derived(bp: &Blueprint, expr: &str, known: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(expr, known)
        .with_context(|| format!("blueprint `{}`: `{expr}` does not derive", bp.name))
}

/// `{{q part…}}`: its parameters joined and written as one double-quoted YAML
/// scalar (a JSON string is one), so no value can change the spec's structure
/// or a scalar's type (`null`, `true`, `1e3`, `~`, `@x`, `*a` stay text).
fn quote_helper(
    h: &handlebars::Helper<'_>,
    _: &handlebars::Handlebars<'_>,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let mut text = String::new();
    for p in h.params() {
        match p.value() {
            serde_json::Value::String(s) => text.push_str(s),
            other => text.push_str(&other.to_string()),
        }
    }
    let quoted = serde_json::to_string(&text)
        .map_err(|e| handlebars::RenderErrorReason::Other(format!("cannot quote a value: {e}")))?;
    out.write(&quoted)?;
    Ok(())
}

/// The rendered spec for a complete set of `values` (from [`values`]). Text
/// values go through `{{q …}}`; numbers and lists are inserted as they are
/// (validated digits; a flow sequence of quoted items).
pub(crate) fn render(bp: &Blueprint, values: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut data = serde_json::Map::new();
    for (name, var) in &bp.meta.variables {
        let Some(value) = values.get(name) else {
            bail!("blueprint `{}` has no value for `{name}`", bp.name);
        };
        data.insert(
            name.clone(),
            serde_json::Value::String(rendered(var.var_type, value)),
        );
    }
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("q", Box::new(quote_helper));
    let body = hb
        .render_template(bp.template, &data)
        .with_context(|| format!("blueprint `{}` does not render", bp.name))?;
    Ok(format!("{}\n{body}", modeline()))
}

/// The schema modeline `init` writes first.
pub(crate) fn modeline() -> String {
    format!("# yaml-language-server: $schema={SCHEMA_URL}")
}

/// Where editors find the spec's schema: the file `init` (and `mailinfra
/// schema --out`) writes next to the spec, so it works offline and matches
/// the mailinfra that wrote it.
pub(crate) const SCHEMA_URL: &str = "./mailinfra.schema.json";

/// The schema file's conventional name, next to the spec.
pub const SCHEMA_FILE: &str = "mailinfra.schema.json";

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid value of `t` that is no documentation placeholder.
    fn sample(t: VarType) -> &'static str {
        match t {
            VarType::Domain => "mail.acme-corp.io",
            VarType::Region => "eu-west-1",
            VarType::Cidr => "192.0.2.0/24",
            VarType::Email => "ops@acme-corp.io",
            VarType::AccountId => "012345678901",
            VarType::Name => "acme",
            VarType::Text => "acme-7f3a9c",
            VarType::Arn => {
                "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            }
            VarType::ZoneId => "Z04471931ABCDEFGH",
            VarType::Number => "30",
            VarType::DomainList => "a.acme-corp.io, b.acme-corp.io",
            VarType::CidrList => "192.0.2.0/24, 198.51.100.0/24",
            VarType::EmailList => "a@acme-corp.io",
        }
    }

    fn full_set(bp: &Blueprint) -> BTreeMap<String, String> {
        bp.meta
            .variables
            .iter()
            .filter(|(_, v)| v.default.is_none() && v.derive.is_none())
            .map(|(n, v)| {
                let value = match v.var_type {
                    VarType::Arn if n.contains("secret") => {
                        "arn:aws:secretsmanager:eu-west-1:210987654321:secret:acme/relay-AbCdEf"
                    }
                    VarType::Arn if n.contains("function") => {
                        "arn:aws:lambda:eu-west-1:210987654321:function:iot-attachments"
                    }
                    t => sample(t),
                };
                (n.clone(), value.to_string())
            })
            .collect()
    }

    fn one_text_variable(template: &'static str) -> Blueprint {
        let meta = "description: test\nvariables:\n  v: { type: text, description: anything }\n";
        parse("test", meta, template).unwrap()
    }

    #[test]
    fn values_cannot_inject_structure() {
        assert!(invalid(VarType::Text, "x\n  Type: AWS::IAM::User").is_some());
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
        assert!(invalid(VarType::Name, "{{project}}").is_some());
        assert!(invalid(VarType::Domain, "a.com]").is_some());
    }

    #[test]
    fn text_values_are_quoted_and_keep_their_exact_string() {
        let bp = one_text_variable("a: {{q v}}\nb: [{{q \"pre \" v \" post\"}}]\n{{q v}}: key\n");
        for value in [
            "@x",
            "null",
            "true",
            "~",
            "1e3",
            "012",
            "'a: b'",
            "*anchor",
            "&anchor",
            "!tag",
            "%directive",
            "`tick",
            "a: b",
            "- a",
            "a\"b",
            "back\\slash",
            "{{evil}}",
            "# not a comment",
            "x, y]",
            "7 years",
        ] {
            let given = BTreeMap::from([("v".to_string(), value.to_string())]);
            let all = values(&bp, &given, None).unwrap();
            let text = render(&bp, &all).unwrap();
            let doc = crate::load::Document::parse("t.yaml", text.clone())
                .unwrap_or_else(|d| panic!("{value:?}: {text}: {}", d[0].message));
            assert_eq!(doc.json["a"], serde_json::json!(value), "{text}");
            assert_eq!(
                doc.json["b"][0],
                serde_json::json!(format!("pre {value} post")),
                "{text}"
            );
            assert_eq!(doc.json[value], serde_json::json!("key"), "{text}");
        }
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
            "[\"198.51.100.0/24\", \"203.0.113.0/24\"]"
        );
        assert_eq!(rendered(VarType::Domain, "a.com"), "a.com");
        assert_eq!(rendered(VarType::Number, "30"), "30");
    }

    #[test]
    fn scalar_types_reject_what_would_change_the_yaml() {
        assert!(invalid(VarType::Text, "7 years").is_none());
        assert!(invalid(VarType::Text, " ").is_some());
        assert!(invalid(VarType::Number, "30").is_none());
        assert!(invalid(VarType::Number, "-1").is_some());
        assert!(invalid(VarType::Number, "1e3").is_some());
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
    fn text_variables_are_only_written_through_the_quote_helper() {
        for bp in all().unwrap() {
            // Outside comments (where a value can do no harm: it has no newline).
            let code: String = bp
                .template
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n");
            let mut rest = code.as_str();
            while let Some(i) = rest.find("{{") {
                let escaped = i > 0 && rest.as_bytes()[i - 1] == b'\\';
                let inner = &rest[i + 2..];
                let end = inner.find("}}").expect("closed");
                let name = inner[..end].trim();
                if !escaped && let Some(v) = bp.meta.variables.get(name) {
                    assert!(
                        v.var_type == VarType::Number || v.var_type.element().is_some(),
                        "{}: `{{{{{name}}}}}` is a {} and must be written `{{{{q {name}}}}}`",
                        bp.name,
                        v.var_type.as_str()
                    );
                }
                rest = &inner[end..];
            }
        }
    }

    #[test]
    fn every_blueprint_renders_with_the_values_only_the_user_knows() {
        for bp in all().unwrap() {
            assert_eq!(bp.order.len(), bp.meta.variables.len(), "{}", bp.name);
            let given = full_set(&bp);
            assert!(
                !given.is_empty(),
                "{}: nothing for the user to choose",
                bp.name
            );
            let all = values(&bp, &given, None).unwrap_or_else(|e| panic!("{}: {e:#}", bp.name));
            let text = render(&bp, &all).unwrap_or_else(|e| panic!("{}: {e:#}", bp.name));
            let doc = crate::load::Document::parse("rendered.yaml", text).unwrap_or_else(|d| {
                panic!("{}: rendered spec is not YAML: {}", bp.name, d[0].message)
            });
            let checked = crate::pipeline::check_document(doc, crate::pipeline::Judge::default());
            let errors: Vec<&str> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.as_str())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", bp.name);
            let placeholders: Vec<&str> = checked
                .diagnostics
                .iter()
                .filter(|d| d.code == crate::diag::Code::MI4011)
                .map(|d| d.message.as_str())
                .collect();
            assert!(placeholders.is_empty(), "{}: {placeholders:?}", bp.name);
            for (name, var) in &bp.meta.variables {
                assert!(
                    !(var.default.is_some() && var.derive.is_some()),
                    "{}: `{name}` has both a default and a derivation",
                    bp.name
                );
                if matches!(
                    var.var_type,
                    VarType::Domain | VarType::ZoneId | VarType::AccountId | VarType::Arn
                ) {
                    assert!(
                        var.default.is_none(),
                        "{}: `{name}` is the user's to choose",
                        bp.name
                    );
                }
            }
        }
    }

    #[test]
    fn off_a_terminal_every_missing_value_is_named_as_a_flag() {
        let bp = find("identity-basics").unwrap();
        let e = values(&bp, &BTreeMap::new(), None).unwrap_err().to_string();
        for flag in [
            "--set project=VALUE",
            "--set domain=VALUE",
            "--set zone_id=VALUE",
        ] {
            assert!(e.contains(flag), "{e}");
        }
        assert!(
            !e.contains("region=") && !e.contains("dmarc_reports="),
            "{e}"
        );
    }

    #[test]
    fn derived_values_follow_what_they_derive_from_unless_set() {
        let bp = find("identity-basics").unwrap();
        let mut given = full_set(&bp);
        let all = values(&bp, &given, None).unwrap();
        assert_eq!(all["dmarc_reports"], "dmarc@mail.acme-corp.io");
        assert!(
            render(&bp, &all)
                .unwrap()
                .contains("rua: \"mailto:dmarc@mail.acme-corp.io\"")
        );
        given.insert("dmarc_reports".into(), "reports@acme-corp.io".into());
        assert_eq!(
            values(&bp, &given, None).unwrap()["dmarc_reports"],
            "reports@acme-corp.io"
        );
    }

    #[test]
    fn the_user_is_asked_in_order_and_again_after_an_invalid_answer() {
        let bp = find("identity-basics").unwrap();
        let mut answers = vec![
            "acme",
            "not a domain",
            "mail.acme-corp.io",
            "Z04471931ABCDEFGH",
        ]
        .into_iter();
        let mut asked: Vec<(String, String, Option<String>)> = Vec::new();
        let mut ask = |name: &str, v: &Variable, why: Option<&str>| {
            asked.push((
                name.to_string(),
                v.var_type.as_str().to_string(),
                why.map(str::to_string),
            ));
            answers.next().map(str::to_string)
        };
        let all = values(&bp, &BTreeMap::new(), Some(&mut ask)).unwrap();
        let names: Vec<&str> = asked.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(names, ["project", "domain", "domain", "zone_id"]);
        assert_eq!(asked[1].1, "domain");
        assert!(asked[1].2.is_none());
        assert!(
            asked[2].2.as_deref().is_some_and(|w| !w.is_empty()),
            "{asked:?}"
        );
        assert_eq!(all["domain"], "mail.acme-corp.io");
        assert_eq!(all["region"], "us-east-1");
        assert_eq!(all["dmarc_reports"], "dmarc@mail.acme-corp.io");
        let mut eof = |_: &str, _: &Variable, _: Option<&str>| None;
        let e = values(&bp, &BTreeMap::new(), Some(&mut eof)).unwrap_err();
        assert!(e.to_string().contains("--set project=VALUE"), "{e}");
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
