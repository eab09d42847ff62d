//! `mailinfra schema`: the JSON schema of `mailinfra.yaml`, for editors and
//! CI (`--markdown` prints the spec reference generated from it).

use super::context::out;
use super::{Exit, Result};
use crate::{schema, spec_doc};

pub(super) fn run(markdown: bool) -> Result<Exit> {
    if markdown {
        out(&spec_doc::markdown(schema::schema()))?;
    } else {
        out(&schema::schema_text())?;
    }
    Ok(Exit::Success)
}
