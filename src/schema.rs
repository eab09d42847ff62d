//! Schema: the JSON Schema generated from the spec types, and validation of a
//! loaded document against it.
//!
//! Input: a [`Document`]. Output: a typed [`Spec`] or diagnostics, each at the
//! exact key or value its JSON pointer names. The generated schema is committed at
//! `schemas/mailinfra.schema.json`; a test fails when it is stale.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::diag::{Code, Diagnostic, suggest};
use crate::load::{Document, NodeValue, escape_pointer};
use crate::spec::Spec;

/// The schema as JSON, generated from [`Spec`].
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    // Sorted keys, so every walk over the schema sees the same order in every build.
    SCHEMA.get_or_init(|| crate::template::sort_keys(&schemars::schema_for!(Spec).to_value()))
}

/// The schema as committed text (pretty, sorted, trailing newline).
pub fn schema_text() -> String {
    // Sorted keys whatever serde_json's `preserve_order` feature says (see `render_value`).
    crate::template::render_value(schema())
}

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    // The schema is generated from our own types; a test compiles it.
    V.get_or_init(|| jsonschema::validator_for(schema()).expect("generated schema compiles"))
}

/// Validates the document and reads it into the spec types.
pub(crate) fn check(doc: &Document) -> Result<Spec, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    for err in validator().iter_errors(&doc.json) {
        explain(doc, &err, &mut diags);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    // Deserialising from a borrowed value avoids copying the whole tree.
    <Spec as serde::Deserialize>::deserialize(&doc.json).map_err(|e| {
        vec![
            Diagnostic::error(Code::MI1107, format!("the spec does not fit its types: {e}"))
                .at(doc.root.span)
                .help("a whole number written with a decimal point (`ttl: 300.0`) is a common cause: write `300`; `mailinfra schema` prints what every key takes"),
        ]
    })
}

/// Follows `schema_path` (a keyword location, `$ref` segments included) to the subschema it names.
fn subschema(path: &str) -> Option<&'static Value> {
    let root = schema();
    let mut cur = root;
    for seg in path.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = cur.get("$ref")?.as_str()?.strip_prefix('#')?;
            cur = root.pointer(target)?;
            continue;
        }
        cur = match cur {
            Value::Object(map) => map.get(&seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(resolve_ref(cur))
}

fn resolve_ref(s: &'static Value) -> &'static Value {
    let root = schema();
    let mut cur = s;
    for _ in 0..8 {
        match cur
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(ptr) => match root.pointer(ptr) {
                Some(next) => cur = next,
                None => break,
            },
            None => break,
        }
    }
    cur
}

fn last_segment(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or("")
        .replace("~1", "/")
        .replace("~0", "~")
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn type_name(kind: &TypeKind) -> String {
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "integer" => "an integer".to_string(),
        "null" => "nothing".to_string(),
        other => format!("a {other}"),
    };
    match kind {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" or "),
    }
}

/// The first sentence of a schema description, for help text: `e.g.` and
/// `i.e.` do not end it, and a capital that starts a sentence is lowered.
fn description(s: &Value) -> Option<String> {
    let d = s.get("description")?.as_str()?.replace('\n', " ");
    let guarded = d
        .replace("e.g. ", "e.g.\u{0} ")
        .replace("i.e. ", "i.e.\u{0} ");
    let first = guarded.split(". ").next().unwrap_or(&guarded);
    let first = first.trim_end_matches('.').replace('\u{0}', "");
    Some(lower_first(&first))
}

/// `The hosted zone` → `the hosted zone`; `DKIM signing` stays.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            a.to_lowercase().chain(s.chars().skip(1)).collect()
        }
        _ => s.to_string(),
    }
}

/// What a branch of an `anyOf` accepts, for "write one of" help.
fn branch_form(b: &'static Value) -> Option<String> {
    let b = resolve_ref(b);
    if let Some(values) = b.get("enum").and_then(Value::as_array) {
        let listed: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(s) => format!("`{s}`"),
                other => format!("`{other}`"),
            })
            .collect();
        return Some(listed.join(" or "));
    }
    let ty = match b.get("type").and_then(Value::as_str)? {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        _ => return description(b),
    };
    Some(match description(b) {
        Some(d) => format!("{ty} ({d})"),
        None => ty.to_string(),
    })
}

/// The JSON type of a value, as the schema's `type` keyword names it.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn explain(doc: &Document, err: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
    let ptr = err.instance_path().as_str().to_string();
    let spath = err.schema_path().as_str().to_string();
    let instance = err.instance();
    let at = doc.span_of(&ptr);
    let name = last_segment(&ptr);
    let d = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let parent = subschema(spath.trim_end_matches("/additionalProperties"));
            let known: Vec<String> = parent
                .and_then(|p| p.get("properties"))
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for key in unexpected {
                let kptr = format!("{ptr}/{}", escape_pointer(key));
                let mut d = Diagnostic::error(Code::MI1101, format!("unknown key `{key}`"))
                    .at(doc.key_span_of(&kptr))
                    .path(kptr.clone());
                d = match suggest(key, known.iter().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None if !known.is_empty() => d.help(format!(
                        "the keys allowed here are: {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    None => d,
                };
                out.push(d);
            }
            return;
        }
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            let place = doc.place_of(&ptr);
            let what = if ptr.is_empty() {
                "the spec".to_string()
            } else {
                format!("`{name}`")
            };
            let mut d = Diagnostic::error(
                Code::MI1103,
                format!("{what} is missing the required key `{key}`"),
            )
            .at(place.key.unwrap_or(place.value));
            d = d.help(
                match subschema(spath.trim_end_matches("/required"))
                    .and_then(|s| s.get("properties"))
                    .and_then(|p| p.get(key))
                    .and_then(|p| description(p).or_else(|| description(resolve_ref(p))))
                {
                    Some(desc) => format!("add `{key}:` ({desc})"),
                    None => format!("add `{key}:`"),
                },
            );
            d
        }
        ValidationErrorKind::Type { kind } => {
            let expected = type_name(kind);
            let mut d = Diagnostic::error(
                Code::MI1102,
                format!("`{name}` must be {expected}, not {}", describe(instance)),
            )
            .at(at);
            let plain = plain_text(doc, &ptr);
            let yaml11 = instance
                .as_str()
                .and_then(|t| match t.to_ascii_lowercase().as_str() {
                    "yes" | "y" | "on" => Some("true"),
                    "no" | "n" | "off" => Some("false"),
                    _ => None,
                });
            if let (true, Some(b)) = (expected.contains("boolean"), yaml11) {
                d = d.help(format!(
                    "YAML 1.2 (which mailinfra reads) takes `{}` as a string, not a boolean: write `{b}`",
                    instance.as_str().unwrap_or_default()
                ));
            } else if expected.contains("string") {
                if let Some(text) = plain {
                    d = d.help(format!("YAML reads `{text}` as a number or boolean; quote it to keep it a string: \"{text}\""));
                }
            } else if let Some(desc) =
                subschema(spath.trim_end_matches("/type")).and_then(description)
            {
                d = d.help(desc);
            }
            d
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut d = Diagnostic::error(
                Code::MI1104,
                format!("`{name}` cannot be {}", describe(instance)),
            )
            .at(at);
            let listed = allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            d = match instance
                .as_str()
                .and_then(|s| suggest(s, allowed.iter().map(String::as_str)))
            {
                Some(s) => d.help(format!("did you mean `{s}`? allowed values: {listed}")),
                None => d.help(format!("allowed values: {listed}")),
            };
            d
        }
        ValidationErrorKind::Constant { expected_value } => Diagnostic::error(
            Code::MI1104,
            format!("`{name}` cannot be {}", describe(instance)),
        )
        .at(at)
        .help(format!("the only allowed value is `{expected_value}`")),
        ValidationErrorKind::Pattern { pattern } => {
            let mut d = Diagnostic::error(
                Code::MI1105,
                format!("{} is not a valid `{name}`", describe(instance)),
            )
            .at(at);
            let desc = subschema(spath.trim_end_matches("/pattern")).and_then(description);
            d = d.help(match desc {
                Some(desc) => format!("{desc} (pattern `{pattern}`)"),
                None => format!("the value must match `{pattern}`"),
            });
            d
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
            let len = instance.as_str().map_or(0, |s| s.chars().count());
            let bound = if matches!(err.kind(), ValidationErrorKind::MinLength { .. }) {
                "at least"
            } else {
                "at most"
            };
            Diagnostic::error(Code::MI1105, format!("`{name}` is {len} characters long"))
                .at(at)
                .help(format!("it must be {bound} {limit} characters long"))
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            let bound = if matches!(err.kind(), ValidationErrorKind::Minimum { .. }) {
                "at least"
            } else {
                "at most"
            };
            Diagnostic::error(
                Code::MI1106,
                format!("`{name}` is out of range: {instance}"),
            )
            .at(at)
            .help(format!("it must be {bound} {limit}"))
        }
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
            let bound = if matches!(err.kind(), ValidationErrorKind::MinItems { .. }) {
                "at least"
            } else {
                "at most"
            };
            Diagnostic::error(
                Code::MI1106,
                format!(
                    "`{name}` has {} items",
                    instance.as_array().map_or(0, Vec::len)
                ),
            )
            .at(at)
            .help(format!("it must have {bound} {limit} items"))
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // Report the branch the user evidently meant: the one whose errors do
            // not include a type mismatch at this very node.
            // First choice: the only branch whose type fits the value (a string
            // for a keyword, a mapping for the long form).
            let branches = subschema(&spath).and_then(Value::as_array);
            let ty = json_type(instance);
            let fitting: Vec<usize> = branches
                .map(|bs| {
                    bs.iter()
                        .enumerate()
                        .filter(|(_, b)| {
                            let b = resolve_ref(b);
                            match b.get("type") {
                                Some(Value::String(t)) => {
                                    t == ty || (t == "number" && ty == "integer")
                                }
                                Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
                                _ => true,
                            }
                        })
                        .map(|(i, _)| i)
                        .collect()
                })
                .unwrap_or_default();
            if let [i] = fitting[..]
                && let Some(errs) = context.get(i)
            {
                for e in errs {
                    explain(doc, e, out);
                }
                return;
            }
            let meant: Vec<&Vec<ValidationError<'static>>> = context
                .iter()
                .filter(|errs| {
                    !errs.iter().any(|e| {
                        e.instance_path().as_str() == ptr
                            && matches!(
                                e.kind(),
                                ValidationErrorKind::Type { .. }
                                    | ValidationErrorKind::Enum { .. }
                                    | ValidationErrorKind::Constant { .. }
                            )
                    })
                })
                .collect();
            if meant.len() == 1 {
                for e in meant[0] {
                    explain(doc, e, out);
                }
                return;
            }
            // Every branch a keyword (`oneOf` of documented enum variants): judge it as an enum.
            let keywords: Option<Vec<String>> = branches.and_then(|bs| {
                bs.iter()
                    .map(resolve_ref)
                    .map(|b| match (b.get("const"), b.get("enum")) {
                        (Some(Value::String(c)), _) => Some(vec![c.clone()]),
                        (_, Some(Value::Array(vs))) => {
                            vs.iter().map(|v| v.as_str().map(str::to_string)).collect()
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<Vec<String>>>>()
                    .map(|v| v.concat())
            });
            if let Some(allowed) = keywords.filter(|k| !k.is_empty()) {
                let listed = allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let d = Diagnostic::error(
                    Code::MI1104,
                    format!("`{name}` cannot be {}", describe(instance)),
                )
                .at(at);
                let d = match instance
                    .as_str()
                    .and_then(|s| suggest(s, allowed.iter().map(String::as_str)))
                {
                    Some(s) => d.help(format!("did you mean `{s}`? allowed values: {listed}")),
                    None => d.help(format!("allowed values: {listed}")),
                };
                out.push(d.path(ptr));
                return;
            }
            let forms: Vec<String> = branches
                .map(|bs| bs.iter().filter_map(branch_form).collect())
                .unwrap_or_default();
            let mut d = Diagnostic::error(
                Code::MI1102,
                format!("`{name}` cannot be {}", describe(instance)),
            )
            .at(at);
            if !forms.is_empty() {
                d = d.help(format!("write {}", forms.join(", or ")));
            }
            d
        }
        _ => Diagnostic::error(Code::MI1107, format!("`{name}`: {}", err.masked()))
            .at(at)
            .help("`mailinfra schema` prints what this key takes"),
    };
    out.push(d.path(ptr));
}

/// The source text of a plain scalar that YAML read as a number or boolean.
fn plain_text(doc: &Document, ptr: &str) -> Option<String> {
    let mut node = &doc.root;
    for seg in ptr.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = match &node.value {
            NodeValue::Map(entries) => &entries.iter().find(|(k, _)| k.name == seg)?.1,
            NodeValue::Seq(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    node.plain.clone()
}
