//! `mailinfra blueprints`: the blueprints `init` starts from, a line each.

use super::{Exit, Result};
use crate::blueprint;

pub(super) fn run() -> Result<Exit> {
    for bp in blueprint::all()? {
        println!("{:<24} {}", bp.name, bp.meta.description);
    }
    Ok(Exit::Success)
}
