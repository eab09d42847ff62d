//! `mailinfra schema`: the JSON schema of `mailinfra.yaml`, for editors and
//! CI (`--markdown` prints the spec reference generated from it).

use super::{Exit, Result};
use crate::{schema, spec_doc};

pub(super) fn run(markdown: bool) -> Result<Exit> {
    if markdown {
        print!("{}", spec_doc::markdown(schema::schema()));
    } else {
        print!("{}", schema::schema_text());
    }
    Ok(Exit::Success)
}
