//! mailinfra: Amazon SES mail infrastructure as code.
//!
//! The pipeline (see `pipeline`): load → schema → resolve (`model`) → check →
//! compile → build → plan → apply. Each stage is one module; `cli` is the edge.

pub mod blueprint;
pub mod build;
pub mod cfn;
pub mod cfn_data;
pub mod check;
pub mod cli;
pub mod codes;
pub mod compile;
pub mod deploy;
pub mod diag;
pub mod diff;
pub mod dns;
pub mod dns_cmd;
pub mod exit;
pub mod generate;
pub mod ids;
pub mod journal;
pub mod live;
pub mod load;
pub mod lock;
pub mod model;
pub mod pipeline;
pub mod placement;
pub mod preflight;
pub mod render;
pub mod schema;
pub mod ses;
pub mod spec;
pub mod spec_doc;
pub mod specgen;
pub mod status;
pub mod template;
pub mod values;
