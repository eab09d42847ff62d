//! The integration tests, as one test binary: each module was once a binary of
//! its own, and every binary linked the whole dependency tree again. Tests run
//! in parallel threads of this one process, so none may change process-wide
//! state (environment variables, the current directory, signal dispositions):
//! they pass such settings to the `mailinfra` child they run instead.
//!
//! Run one group with `cargo test --test it MODULE::`, for example
//! `cargo test --test it diagnostics::`.

mod common;
mod local_aws;

mod architecture;
mod blueprints;
mod ci_permissions;
mod ci_recipes;
mod cli;
mod credentials;
mod deploy_mocks;
mod diagnostics;
mod dns_check;
mod docs;
mod e2e_moto;
mod e2e_ses;
mod editor;
mod fuzz_load;
mod iam;
mod interrupt;
mod plan_render;
mod receiving;
mod scale;
mod schema;
mod secrets;
mod sending;
mod ses_mocks;
mod templates;
mod trace;

#[path = "../support/specs.rs"]
mod specs;
