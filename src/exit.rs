//! Exit codes: stable, documented in the README, asserted by tests.

/// Success; for `plan --detailed-exitcode`, success with no changes.
pub const SUCCESS: i32 = 0;
/// The spec has errors, or an operation failed.
pub const FAILURE: i32 = 1;
/// `plan --detailed-exitcode`: success, and there are changes.
pub const CHANGES: i32 = 2;
/// `apply` refused: the plan deletes or replaces a stateful resource the user did not allow.
pub const REFUSED: i32 = 3;
/// `apply` lost sight of a stack (timeout, expired credentials) while
/// CloudFormation was still working on it: the outcome is unknown.
pub const UNKNOWN: i32 = 4;
/// Interrupted (Ctrl-C or SIGTERM): what ran was followed to its end, nothing new started.
pub const INTERRUPTED: i32 = 130;
/// The command line is wrong (unknown flag, missing argument).
pub const USAGE: i32 = 64;
