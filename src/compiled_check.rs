//! Checks over the compiled templates: the one rule that needs to know what
//! compile generates. `overrides` name generated resources by logical id and
//! set their properties, so they are judged after compile, against its
//! output; the checks before compile (`crate::check`) never run the compiler.
//! The pipeline calls [`compiled`] once the model compiles.

use std::collections::BTreeMap;

use crate::cfn_data;
use crate::compile::StackSet;
use crate::diag::{Code, Diagnostic, suggest};
use crate::model::Model;

/// Judges the overrides against the compiled stacks (MI3111, MI3112).
pub(crate) fn compiled(m: &Model, set: &StackSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    overrides(m, set, &mut out);
    out
}

fn overrides(m: &Model, set: &StackSet, out: &mut Vec<Diagnostic>) {
    let mut generated: BTreeMap<&str, &str> = BTreeMap::new();
    for s in &set.stacks {
        for (id, r) in &s.template.resources {
            generated.insert(id, &r.resource_type);
        }
    }
    for o in &m.sending.overrides {
        let Some(rtype) = generated.get(o.logical_id.as_str()) else {
            let help = match suggest(&o.logical_id, generated.keys().copied()) {
                Some(s) => format!("did you mean `{s}`? (`mailinfra build` writes every logical id)"),
                None => "overrides name a logical id of a generated resource; `mailinfra build` writes them all".into(),
            };
            out.push(
                Diagnostic::error(
                    Code::MI3111,
                    format!(
                        "no generated resource has the logical id `{}`",
                        o.logical_id
                    ),
                )
                .key_path(&o.ptr)
                .help(help),
            );
            continue;
        };
        let Some(facts) = cfn_data::type_facts(rtype) else {
            continue;
        };
        for key in o.properties.keys() {
            if facts.properties.iter().any(|p| p == key) {
                continue;
            }
            let help = match suggest(key, facts.properties.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("properties of {rtype}: {}", facts.properties.join(", ")),
            };
            out.push(
                Diagnostic::error(
                    Code::MI3112,
                    format!("the resource type `{rtype}` has no property `{key}`"),
                )
                .key_path(format!(
                    "{}/properties/{}",
                    o.ptr,
                    crate::load::escape_pointer(key)
                ))
                .help(help),
            );
        }
    }
}
