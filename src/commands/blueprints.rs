//! `mailinfra blueprints [NAME]`: the blueprints `init` starts from, a line
//! each; with NAME, that blueprint's variables as a table or JSON.

use super::args::ListFormat;
use super::context::out;
use super::{Error, Exit, Result};
use crate::blueprint::{self, Blueprint, Variable};
use crate::render::paint::Paint;
use crate::render::table::Table;

pub(super) fn run(name: Option<&str>, format: ListFormat) -> Result<Exit> {
    let text = match name {
        Some(name) => {
            let bp = blueprint::find(name).map_err(|e| Error::Usage(format!("{e:#}")))?;
            match format {
                ListFormat::Table => variables_table(&bp),
                ListFormat::Json => json(&variables_json(&bp))?,
            }
        }
        None => {
            let all = blueprint::all()?;
            match format {
                ListFormat::Table => all
                    .iter()
                    .map(|bp| format!("{:<24} {}\n", bp.name, bp.meta.description))
                    .collect(),
                ListFormat::Json => json(&serde_json::Value::Array(
                    all.iter().map(variables_json).collect(),
                ))?,
            }
        }
    };
    out(&text)?;
    Ok(Exit::Success)
}

fn json(v: &serde_json::Value) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(anyhow::Error::from)?;
    s.push('\n');
    Ok(s)
}

/// What a variable takes when it is not set.
fn fallback(v: &Variable) -> String {
    match (&v.default, &v.derive) {
        (Some(d), _) => d.clone(),
        (None, Some(expr)) => format!("derived from `{expr}`"),
        (None, None) => "required".to_string(),
    }
}

fn variables_table(bp: &Blueprint) -> String {
    let mut t = Table::new(["VARIABLE", "TYPE", "DEFAULT", "DESCRIPTION"]);
    for name in &bp.order {
        let v = &bp.meta.variables[name];
        t.row([
            name.as_str().into(),
            v.var_type.as_str().into(),
            fallback(v).into(),
            v.description.as_str().into(),
        ]);
    }
    format!(
        "{}: {}\n\n{}",
        bp.name,
        bp.meta.description,
        t.render(Paint { on: false })
    )
}

fn variables_json(bp: &Blueprint) -> serde_json::Value {
    let vars: Vec<serde_json::Value> = bp
        .order
        .iter()
        .map(|name| {
            let v = &bp.meta.variables[name];
            serde_json::json!({
                "name": name,
                "type": v.var_type.as_str(),
                "description": v.description,
                "required": v.default.is_none() && v.derive.is_none(),
                "default": v.default,
                "derive": v.derive,
            })
        })
        .collect();
    serde_json::json!({
        "name": bp.name,
        "description": bp.meta.description,
        "variables": vars,
    })
}
