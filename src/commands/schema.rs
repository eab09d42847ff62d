//! `mailinfra schema`: the JSON schema of `mailinfra.yaml`, for editors and
//! CI (`--markdown` prints the spec reference generated from it).

use std::path::Path;

use anyhow::Context as _;

use super::context::out;
use super::{Exit, Result};
use crate::{schema, spec_doc};

pub(super) fn run(markdown: bool, file: Option<&Path>) -> Result<Exit> {
    if let Some(path) = file {
        std::fs::write(path, schema::schema_text())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        eprintln!(
            "wrote {}; a spec points editors at it with `# yaml-language-server: $schema=./{}` (a path relative to the spec)",
            path.display(),
            crate::blueprint::SCHEMA_FILE
        );
        return Ok(Exit::Success);
    }
    if markdown {
        out(&spec_doc::markdown(schema::schema()))?;
    } else {
        out(&schema::schema_text())?;
    }
    Ok(Exit::Success)
}
