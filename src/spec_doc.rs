//! The spec reference (`docs/spec-reference.md`), generated from the JSON
//! schema so it can never disagree with what `validate` accepts.
//!
//! Input: the schema (`schema::schema()`). Output: Markdown with one row per
//! key path (`mail_manager.rule_sets.<name>.rules[].actions[].archive`), its
//! type and its description. Deterministic: keys in schema order (sorted),
//! variants in declaration order, each path once. `mailinfra schema --markdown`
//! prints it; a test checks the committed file is current.

use std::collections::BTreeSet;

use serde_json::Value;

/// Where the generated reference is committed.
pub const PATH: &str = "docs/spec-reference.md";

struct Walker<'a> {
    root: &'a Value,
    rows: Vec<(String, String, String)>,
    seen: BTreeSet<String>,
}

const TABLE_HEAD: &str = "| key | type | description |\n| --- | --- | --- |\n";

fn is_top(path: &str) -> bool {
    !path.contains(['.', '['])
}

/// The Markdown reference of every key in `schema`.
pub fn markdown(schema: &Value) -> String {
    let mut w = Walker {
        root: schema,
        rows: Vec::new(),
        seen: BTreeSet::new(),
    };
    w.walk(schema, "", false, &mut Vec::new());
    let mut out = String::from(
        "# Spec reference\n\n\
         <!-- Generated from schemas/mailinfra.schema.json by `mailinfra schema --markdown`; do not edit.\n     \
         Regenerate with: cargo run -q -- schema --markdown > docs/spec-reference.md -->\n\n\
         Every key of `mailinfra.yaml`. `<name>` stands for a name you choose (a map key),\n\
         `[]` for an item of a list. Keys marked **required** must be present when their\n\
         parent is. Editors show the same descriptions on hover through the schema modeline\n\
         (`# yaml-language-server: $schema=…`).\n",
    );
    out.push_str("\n## Top level\n\n");
    out.push_str(TABLE_HEAD);
    let nested: BTreeSet<&str> = w
        .rows
        .iter()
        .filter(|r| !is_top(&r.0))
        .filter_map(|r| r.0.split(['.', '[']).next())
        .collect();
    for (path, ty, desc) in w.rows.iter().filter(|r| is_top(&r.0)) {
        if nested.contains(path.as_str()) {
            out.push_str(&format!("| [`{path}`](#{path}) | {ty} | {desc} |\n"));
        } else {
            out.push_str(&format!("| `{path}` | {ty} | {desc} |\n"));
        }
    }
    let mut section: Option<&str> = None;
    for (path, ty, desc) in w.rows.iter().filter(|r| !is_top(&r.0)) {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        if section != Some(top) {
            out.push_str(&format!("\n## {top}\n\n{TABLE_HEAD}"));
            section = Some(top);
        }
        out.push_str(&format!("| `{path}` | {ty} | {desc} |\n"));
    }
    out
}

/// The schema a `$ref` points to (and its definition name), or `s` itself.
fn resolve<'v>(root: &'v Value, s: &'v Value) -> (&'v Value, Option<&'v str>) {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or(r);
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(def) => (def, Some(name)),
                None => (s, None),
            }
        }
        None => (s, None),
    }
}

impl<'a> Walker<'a> {
    /// Adds the rows of the keys under `path`; `variant` is true for the
    /// alternatives of a `oneOf`/`anyOf`.
    fn walk(&mut self, s: &'a Value, path: &str, variant: bool, stack: &mut Vec<String>) {
        let (s, def) = resolve(self.root, s);
        if let Some(def) = def {
            // A recursive type is described once, at its shallowest path.
            if stack.iter().any(|d| d == def) {
                return;
            }
            stack.push(def.to_string());
        }
        let required: BTreeSet<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                // An externally tagged enum variant (`{ archive: … }`): the key
                // names the variant, which carries the description.
                let variant = variant
                    && props.len() == 1
                    && required.contains(key.as_str())
                    && s.get("additionalProperties") == Some(&Value::Bool(false))
                    && s.get("description").is_some();
                if self.seen.insert(p.clone()) {
                    let mut ty = self.type_of(sub, 0);
                    if required.contains(key.as_str()) && !variant {
                        ty = format!("**required** {ty}");
                    }
                    let desc = if variant { self.description(s) } else { None }
                        .or_else(|| self.description(sub))
                        .unwrap_or_default();
                    self.rows.push((p.clone(), ty, desc));
                }
                self.walk(sub, &p, false, stack);
            }
        }
        if let Some(ap) = s.get("additionalProperties").filter(|v| v.is_object()) {
            self.walk(ap, &format!("{path}.<name>"), false, stack);
        }
        if let Some(items) = s.get("items").filter(|v| v.is_object()) {
            self.walk(items, &format!("{path}[]"), false, stack);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for v in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                self.walk(v, path, key != "allOf", stack);
            }
        }
        if def.is_some() {
            stack.pop();
        }
    }

    fn description(&self, s: &Value) -> Option<String> {
        let d = s.get("description").and_then(Value::as_str).or_else(|| {
            let (t, _) = resolve(self.root, s);
            t.get("description").and_then(Value::as_str)
        })?;
        Some(
            d.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|"),
        )
    }

    fn type_of(&self, s: &Value, depth: usize) -> String {
        let (s, _) = resolve(self.root, s);
        if depth > 3 {
            return "value".into();
        }
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            return values
                .iter()
                .map(|v| match v {
                    Value::String(s) => format!("`{s}`"),
                    other => format!("`{other}`"),
                })
                .collect::<Vec<_>>()
                .join(" \\| ");
        }
        if let Some(c) = s.get("const") {
            return match c {
                Value::String(s) => format!("`{s}`"),
                other => format!("`{other}`"),
            };
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(vs) = s.get(key).and_then(Value::as_array) {
                let mut parts: Vec<String> = Vec::new();
                for v in vs {
                    let t = self.type_of(v, depth + 1);
                    if t != "null" && !parts.contains(&t) {
                        parts.push(t);
                    }
                }
                return parts.join(" or ");
            }
        }
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => vec![],
        };
        let named: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "object" if s.get("properties").is_some() => "mapping".to_string(),
                "object" => match s.get("additionalProperties").filter(|v| v.is_object()) {
                    Some(v) => format!("map of {}", self.type_of(v, depth + 1)),
                    None => "mapping".to_string(),
                },
                "array" => match s.get("items") {
                    Some(items) => format!("list of {}", self.type_of(items, depth + 1)),
                    None => "list".to_string(),
                },
                "integer" => match (s.get("minimum"), s.get("maximum")) {
                    (Some(lo), Some(hi)) => format!("integer {lo}–{hi}"),
                    _ => "integer".to_string(),
                },
                other => other.to_string(),
            })
            .collect();
        if named.is_empty() {
            "value".into()
        } else {
            named.join(" or ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_top_level_key_and_deep_paths_are_documented() {
        let md = markdown(crate::schema::schema());
        for key in ["regions", "identities", "mail_manager", "receiving", "iam"] {
            assert!(md.contains(&format!("| [`{key}`](#{key}) |")), "{key}");
        }
        assert!(md.contains("| `mail_manager.rule_sets.<name>.rules[].actions[].archive` |"));
        assert!(md.contains("| `version` | **required** integer 1–1 |"));
        assert!(md.contains("| `mail_manager.rule_sets.<name>.rules` | **required** list of mapping | The rules, in order. |"));
        assert!(md.contains(
            "| `mail_manager.rule_sets.<name>.rules[].actions[].drop` | boolean | Drop the message"
        ));
        assert!(md.contains("| `identities.<name>.dkim` |"));
    }
}
