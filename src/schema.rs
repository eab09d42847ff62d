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

use crate::diag::{Code, Diagnostic, Span, suggest};
use crate::load::{Document, escape_pointer};
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
                .at(doc.root_span)
                .help("a whole number written with a decimal point (`ttl: 300.0`) is a common cause: write `300`; `mailinfra schema` prints what every key takes"),
        ]
    })
}

/// Most rounds of pruning [`salvage`] tries before it gives up.
const SALVAGE_ROUNDS: usize = 8;

/// What of a spec that fails the schema can still be checked: a copy with
/// every failing part removed (an unknown key, a wrong value, and where that
/// leaves something required missing, the mapping entry around it; list
/// items are never removed, so no pointer shifts), read into the spec types.
/// Returns the spec and the pointers removed, or `None` when what fails is
/// the spec's frame (a required top-level key).
pub(crate) fn salvage(mut json: Value) -> Option<(Spec, Vec<String>)> {
    let mut pruned: Vec<String> = Vec::new();
    for _ in 0..SALVAGE_ROUNDS {
        let mut targets: Vec<String> = Vec::new();
        for err in validator().iter_errors(&json) {
            let ptr = err.instance_path().as_str().to_string();
            match err.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => targets.extend(
                    unexpected
                        .iter()
                        .map(|k| format!("{ptr}/{}", escape_pointer(k))),
                ),
                _ => targets.push(ptr),
            }
        }
        if targets.is_empty() {
            let spec = <Spec as serde::Deserialize>::deserialize(&json).ok()?;
            return Some((spec, pruned));
        }
        for t in targets {
            let t = entry_of(&json, &t)?;
            if remove(&mut json, &t) {
                pruned.push(t);
            }
        }
    }
    None
}

/// The nearest mapping entry at or above `ptr` (a value whose parent is a
/// mapping), so removing it shifts no list index; `None` at the root.
fn entry_of(json: &Value, ptr: &str) -> Option<String> {
    let mut p = ptr;
    loop {
        let (parent, _) = p.rsplit_once('/')?;
        if json.pointer(parent).is_some_and(Value::is_object) {
            return Some(p.to_string());
        }
        p = parent;
    }
}

/// Removes the mapping entry at `ptr`; whether there was one.
fn remove(json: &mut Value, ptr: &str) -> bool {
    let Some((parent, key)) = ptr.rsplit_once('/') else {
        return false;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    json.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .is_some_and(|m| m.remove(&key).is_some())
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

/// How a value is named in a message: its key, or for a list item the
/// list and the index (`actions[0]`), never a bare index.
fn display_name(pointer: &str) -> String {
    let last = last_segment(pointer);
    if last.parse::<usize>().is_err() {
        return last;
    }
    let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
    if parent.is_empty() {
        return format!("[{last}]");
    }
    format!("{}[{last}]", display_name(parent))
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        // Never repeat what may be a secret pasted into the wrong field.
        Value::String(s) if crate::values::looks_like_key_material(s) => {
            "a string that looks like key material (not repeated here)".into()
        }
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

/// A validation error with what every explanation of it needs.
struct Failure<'a> {
    doc: &'a Document,
    /// The JSON pointer of the value at fault.
    ptr: String,
    /// The keyword location in the schema (`$ref` segments included).
    spath: String,
    instance: &'a Value,
    /// Where the value is in the source.
    at: Span,
    /// The key (or index) the value is under.
    name: String,
}

impl<'a> Failure<'a> {
    fn new(doc: &'a Document, err: &'a ValidationError<'_>) -> Self {
        let ptr = err.instance_path().as_str().to_string();
        Failure {
            doc,
            spath: err.schema_path().as_str().to_string(),
            instance: err.instance(),
            at: doc.span_of(&ptr),
            name: display_name(&ptr),
            ptr,
        }
    }
}

/// Turns one validation error into diagnostics at the key or value it names.
fn explain(doc: &Document, err: &ValidationError<'_>, out: &mut Vec<Diagnostic>) {
    let f = Failure::new(doc, err);
    let d = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_keys(&f, unexpected, out);
            return;
        }
        ValidationErrorKind::Required { property } => missing_key(&f, property),
        ValidationErrorKind::Type { kind } => wrong_type(&f, kind),
        ValidationErrorKind::Enum { options } => not_allowed(&f, &enum_values(options)),
        ValidationErrorKind::Constant { expected_value } => Diagnostic::error(
            Code::MI1104,
            format!("`{}` cannot be {}", f.name, describe(f.instance)),
        )
        .at(f.at)
        .help(format!("the only allowed value is `{expected_value}`")),
        ValidationErrorKind::Pattern { pattern } => no_match(&f, pattern),
        ValidationErrorKind::MinLength { limit } => length(&f, "at least", *limit),
        ValidationErrorKind::MaxLength { limit } => length(&f, "at most", *limit),
        ValidationErrorKind::Minimum { limit } => out_of_range(&f, "at least", limit),
        ValidationErrorKind::Maximum { limit } => out_of_range(&f, "at most", limit),
        ValidationErrorKind::MinItems { limit } => item_count(&f, "at least", *limit),
        ValidationErrorKind::MaxItems { limit } => item_count(&f, "at most", *limit),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            match no_branch_fits(&f, context, out) {
                Some(d) => d,
                None => return,
            }
        }
        _ => Diagnostic::error(Code::MI1107, format!("`{}`: {}", f.name, err.masked()))
            .at(f.at)
            .help("`mailinfra schema` prints what this key takes"),
    };
    out.push(d.path(f.ptr));
}

/// Keys the schema does not know, each with the nearest known key or the list of them.
fn unknown_keys(f: &Failure, unexpected: &[String], out: &mut Vec<Diagnostic>) {
    let parent = subschema(f.spath.trim_end_matches("/additionalProperties"));
    let known: Vec<String> = parent
        .and_then(|p| p.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for key in unexpected {
        let kptr = format!("{}/{}", f.ptr, escape_pointer(key));
        let mut d = Diagnostic::error(Code::MI1101, format!("unknown key `{key}`"))
            .at(f.doc.key_span_of(&kptr))
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
}

/// A required key is missing: the help says what it holds.
fn missing_key(f: &Failure, property: &Value) -> Diagnostic {
    let key = property.as_str().unwrap_or_default();
    let place = f.doc.place_of(&f.ptr);
    let what = if f.ptr.is_empty() {
        "the spec".to_string()
    } else {
        format!("`{}`", f.name)
    };
    let desc = subschema(f.spath.trim_end_matches("/required"))
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(key))
        .and_then(|p| description(p).or_else(|| description(resolve_ref(p))));
    Diagnostic::error(
        Code::MI1103,
        format!("{what} is missing the required key `{key}`"),
    )
    .at(place.key.unwrap_or(place.value))
    .help(match desc {
        Some(desc) => format!("add `{key}:` ({desc})"),
        None => format!("add `{key}:`"),
    })
}

/// A value of the wrong type: YAML 1.1 booleans and unquoted numbers get a
/// hint of their own, anything else the description of what is expected.
fn wrong_type(f: &Failure, kind: &TypeKind) -> Diagnostic {
    let expected = type_name(kind);
    let d = Diagnostic::error(
        Code::MI1102,
        format!(
            "`{}` must be {expected}, not {}",
            f.name,
            describe(f.instance)
        ),
    )
    .at(f.at);
    let plain = plain_text(f.doc, &f.ptr);
    let yaml11 = f
        .instance
        .as_str()
        .and_then(|t| match t.to_ascii_lowercase().as_str() {
            "yes" | "y" | "on" => Some("true"),
            "no" | "n" | "off" => Some("false"),
            _ => None,
        });
    let help = if let (true, Some(b)) = (expected.contains("boolean"), yaml11) {
        Some(format!(
            "YAML 1.2 (which mailinfra reads) takes `{}` as a string, not a boolean: write `{b}`",
            f.instance.as_str().unwrap_or_default()
        ))
    } else if expected.contains("string") {
        plain.map(|text| format!("YAML reads `{text}` as a number or boolean; quote it to keep it a string: \"{text}\""))
    } else {
        subschema(f.spath.trim_end_matches("/type")).and_then(description)
    };
    match help {
        Some(help) => d.help(help),
        None => d,
    }
}

/// The values an `enum` keyword allows, as text.
fn enum_values(options: &Value) -> Vec<String> {
    options
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A value that is not one of `allowed`, with the nearest allowed one.
fn not_allowed(f: &Failure, allowed: &[String]) -> Diagnostic {
    let d = Diagnostic::error(
        Code::MI1104,
        format!("`{}` cannot be {}", f.name, describe(f.instance)),
    )
    .at(f.at);
    let listed = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match f
        .instance
        .as_str()
        .and_then(|s| suggest(s, allowed.iter().map(String::as_str)))
    {
        Some(s) => d.help(format!("did you mean `{s}`? allowed values: {listed}")),
        None => d.help(format!("allowed values: {listed}")),
    }
}

/// A string that does not match its pattern: the help describes the value.
fn no_match(f: &Failure, pattern: &str) -> Diagnostic {
    let desc = subschema(f.spath.trim_end_matches("/pattern")).and_then(description);
    Diagnostic::error(
        Code::MI1105,
        format!("{} is not a valid `{}`", describe(f.instance), f.name),
    )
    .at(f.at)
    .help(match desc {
        Some(desc) => format!("{desc} (pattern `{pattern}`)"),
        None => format!("the value must match `{pattern}`"),
    })
}

/// A string too short or too long (`bound` is `at least` or `at most`).
fn length(f: &Failure, bound: &str, limit: u64) -> Diagnostic {
    let len = f.instance.as_str().map_or(0, |s| s.chars().count());
    Diagnostic::error(
        Code::MI1105,
        format!("`{}` is {len} characters long", f.name),
    )
    .at(f.at)
    .help(format!("it must be {bound} {limit} characters long"))
}

/// A number below its minimum or above its maximum.
fn out_of_range(f: &Failure, bound: &str, limit: &Value) -> Diagnostic {
    Diagnostic::error(
        Code::MI1106,
        format!("`{}` is out of range: {}", f.name, f.instance),
    )
    .at(f.at)
    .help(format!("it must be {bound} {limit}"))
}

/// A list with too few or too many items.
fn item_count(f: &Failure, bound: &str, limit: u64) -> Diagnostic {
    Diagnostic::error(
        Code::MI1106,
        format!(
            "`{}` has {} items",
            f.name,
            f.instance.as_array().map_or(0, Vec::len)
        ),
    )
    .at(f.at)
    .help(format!("it must have {bound} {limit} items"))
}

/// No branch of an `anyOf`/`oneOf` holds: the errors of the branch the user
/// evidently meant (explained into `out`, and `None` comes back), else one
/// diagnostic: the keywords allowed, or the forms the branches take.
fn no_branch_fits(
    f: &Failure,
    context: &[Vec<ValidationError<'static>>],
    out: &mut Vec<Diagnostic>,
) -> Option<Diagnostic> {
    let branches = subschema(&f.spath)
        .and_then(Value::as_array)
        .map(Vec::as_slice);
    if let Some(mapping) = f.instance.as_object()
        && let Some(bs) = branches
        && let Some(found) = by_keys(f, mapping, bs, context, out)
    {
        return found;
    }
    if let Some(errs) = meant_branch(f, branches, context) {
        for e in errs {
            explain(f.doc, e, out);
        }
        return None;
    }
    // Every branch a keyword (`oneOf` of documented enum variants): judge it as an enum.
    if let Some(allowed) = branches.and_then(keywords).filter(|k| !k.is_empty()) {
        return Some(not_allowed(f, &allowed));
    }
    let forms: Vec<String> = branches
        .map(|bs| bs.iter().filter_map(branch_form).collect())
        .unwrap_or_default();
    let d = Diagnostic::error(
        Code::MI1102,
        format!("`{}` cannot be {}", f.name, describe(f.instance)),
    )
    .at(f.at);
    Some(if forms.is_empty() {
        d
    } else {
        d.help(format!("write {}", forms.join(", or ")))
    })
}

/// A mapping that fits none of several mapping forms (an action, a
/// condition): the form whose keys it uses decides, its own errors are told;
/// when it uses no form's key, each key is unknown, with the nearest key of
/// any form. `None` when the keys do not tell one form from another.
fn by_keys(
    f: &Failure,
    mapping: &serde_json::Map<String, Value>,
    branches: &'static [Value],
    context: &[Vec<ValidationError<'static>>],
    out: &mut Vec<Diagnostic>,
) -> Option<Option<Diagnostic>> {
    let forms: Vec<(usize, Vec<&'static String>)> = branches
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let b = resolve_ref(b);
            let props = b.get("properties")?.as_object()?;
            (b.get("type").and_then(Value::as_str) == Some("object"))
                .then(|| (i, props.keys().collect()))
        })
        .collect();
    if forms.len() < 2 {
        return None;
    }
    let known = |props: &[&String]| mapping.keys().filter(|k| props.contains(k)).count();
    let best = forms.iter().map(|(_, p)| known(p)).max().unwrap_or(0);
    let mut at_best = forms.iter().filter(|(_, p)| known(p) == best);
    if best > 0 {
        let (i, _) = at_best.next()?;
        if at_best.next().is_some() {
            return None;
        }
        for e in context.get(*i)? {
            explain(f.doc, e, out);
        }
        return Some(None);
    }
    let mut every: Vec<&str> = forms
        .iter()
        .flat_map(|(_, p)| p.iter().map(|k| k.as_str()))
        .collect();
    every.sort_unstable();
    every.dedup();
    for key in mapping.keys() {
        let kptr = format!("{}/{}", f.ptr, escape_pointer(key));
        let d = Diagnostic::error(Code::MI1101, format!("unknown key `{key}` in `{}`", f.name))
            .at(f.doc.key_span_of(&kptr))
            .path(kptr);
        let list = every
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(match suggest(key, every.iter().copied()) {
            Some(s) => d.help(format!(
                "did you mean `{s}`? `{}` takes one of: {list}",
                f.name
            )),
            None => d.help(format!("`{}` takes one of: {list}", f.name)),
        });
    }
    Some(None)
}

/// The errors of the branch the user evidently meant. First choice: the only
/// branch whose type fits the value (a string for a keyword, a mapping for the
/// long form); then the only one whose errors do not include a type mismatch
/// at this very node.
fn meant_branch<'c>(
    f: &Failure,
    branches: Option<&'static [Value]>,
    context: &'c [Vec<ValidationError<'static>>],
) -> Option<&'c [ValidationError<'static>]> {
    let ty = json_type(f.instance);
    let fitting: Vec<usize> = branches
        .map(|bs| {
            bs.iter()
                .enumerate()
                .filter(|(_, b)| {
                    let b = resolve_ref(b);
                    match b.get("type") {
                        Some(Value::String(t)) => t == ty || (t == "number" && ty == "integer"),
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
        return Some(errs);
    }
    let meant: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errs| {
            !errs.iter().any(|e| {
                e.instance_path().as_str() == f.ptr
                    && matches!(
                        e.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Enum { .. }
                            | ValidationErrorKind::Constant { .. }
                    )
            })
        })
        .collect();
    match meant[..] {
        [errs] => Some(errs),
        _ => None,
    }
}

/// The keywords the branches allow, when every branch is a `const` or a string `enum`.
fn keywords(branches: &'static [Value]) -> Option<Vec<String>> {
    branches
        .iter()
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
}

/// The source text of a plain scalar that YAML read as a number or boolean.
/// A quoted scalar is a string in JSON: only a null, bool or number was plain.
fn plain_text(doc: &Document, ptr: &str) -> Option<String> {
    let value = doc.json.pointer(ptr)?;
    if value.is_string() || value.is_array() || value.is_object() {
        return None;
    }
    doc.source_text(doc.span_of(ptr)).map(str::to_string)
}
