//! Values: the small languages inside spec strings, one implementation each —
//! domain names (with IDN), email addresses, CIDR blocks, sizes with units,
//! AWS regions, ARNs and their partitions, CloudFormation names, secret
//! references and the key material that must never stand in for one. The spec
//! types, the checks and the blueprints all call these; no other module
//! parses such a value itself.
//!
//! Input: one value as written. Output: the parsed value or the reason it is
//! wrong, phrased for a diagnostic (lowercase, names in backticks, no trailing
//! period). Pure functions with no I/O. The codes are the callers': the same
//! reason reads under `MI3305` for a traffic policy's CIDR and in the error of
//! `mailinfra init` for a blueprint's.
//!
//! Ports and durations have no language of their own: ports are integers the
//! schema bounds, and no spec field holds a duration.

mod arn;
mod cidr;
mod domain;
mod email;
mod name;
mod region;
mod secret;
mod size;

pub(crate) use arn::{arn_partition_problem, parse_arn, partition_of_region};
pub(crate) use cidr::{CidrError, Family, parse_cidr};
pub(crate) use domain::domain_problem;
pub(crate) use email::email_problem;
pub(crate) use name::cfn_name_problem;
pub(crate) use region::region_problem;
pub(crate) use secret::{
    SecretRef, json_key_problem, long_base64_run, looks_like_key_material, pem_blocks,
    secret_arn_problem, secret_id_problem,
};
pub(crate) use size::parse_size;
