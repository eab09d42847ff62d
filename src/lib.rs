//! mailinfra: Amazon SES mail infrastructure as code.
//!
//! The pipeline (see `pipeline`): load → schema → resolve (`model`) → check →
//! compile → build → plan → apply. Each stage is one module; `cli` is the edge.

pub mod aws;
pub mod blueprint;
pub mod build;
pub mod cfn_data;
pub mod check;
pub mod cli;
pub mod codes;
pub mod commands;
pub mod compile;
pub mod compiled_check;
pub mod deploy;
pub mod diag;
pub mod diff;
pub mod dns;
pub mod exit;
pub mod hash;
pub mod ids;
pub mod load;
pub mod model;
pub mod pipeline;
pub mod placement;
pub mod render;
pub mod schema;
pub mod spec;
pub mod spec_doc;
pub mod template;
pub mod values;
