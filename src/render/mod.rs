//! Every rendering of a result: diagnostics (human, JSON, GitHub), plans
//! (human, markdown, JSON), apply outcomes, status, DNS records; all tables through [`table`]. Rendering
//! decides nothing: it receives data and draws it as a string, and the
//! command decides where it goes.

pub mod diagnostics;
pub mod dns;
pub(crate) mod dns_check;
pub(crate) mod mask;
pub mod outcome;
pub(crate) mod paint;
pub mod plan;
pub mod status;
pub(crate) mod table;
pub(crate) mod trace;

pub use outcome::outcomes;
pub use plan::{Totals, human, json, markdown, totals};
