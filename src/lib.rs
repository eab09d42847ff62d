//! mailinfra: Amazon SES mail infrastructure as code.
//!
//! The pipeline (see `pipeline`): load → schema → resolve (`model`) → check →
//! compile → build → plan → apply. Each stage is one module; `cli` is the edge.

pub mod aws;
pub mod blueprint;
pub mod build;
pub(crate) mod cfn_data;
pub(crate) mod check;
pub mod cli;
pub mod codes;
pub mod commands;
pub mod compile;
pub(crate) mod compiled_check;
pub mod deploy;
pub mod diag;
pub mod diff;
pub(crate) mod dns;
pub mod exit;
pub(crate) mod hash;
pub mod iam;
pub mod ids;
pub mod load;
pub(crate) mod lookup;
pub(crate) mod model;
pub mod pipeline;
pub mod placement;
pub mod render;
pub mod schema;
pub(crate) mod spec;
pub mod spec_doc;
pub(crate) mod template;
pub(crate) mod trace;
pub(crate) mod values;
