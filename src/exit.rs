//! Exit codes: stable, documented in the README, asserted by tests. The one
//! place that picks them is [`crate::cli`].

/// Success; for `plan --detailed-exitcode`, success with no changes.
pub const SUCCESS: i32 = 0;
/// The spec is invalid (the diagnostics say where and how to fix it), or a
/// file that goes with it (`mailinfra.lock`, a blueprint value) is.
pub const INVALID: i32 = 1;
/// `plan --detailed-exitcode`: success, and there are changes.
pub const CHANGES: i32 = 2;
/// Refused by a gate: the plan deletes or replaces a stateful resource the
/// user did not allow, imports or adopts what nobody named, or is stale.
pub const REFUSED: i32 = 3;
/// `apply` lost sight of a stack (timeout, expired credentials) while
/// CloudFormation was still working on it: the outcome is unknown.
pub const UNKNOWN: i32 = 4;
/// AWS, the network or the file system failed, or a stack's deploy failed.
pub const FAILED: i32 = 5;
/// `apply` applied everything it could, but resources still wait for an SES
/// identity to be verified (DNS not published or not seen yet): run `apply`
/// again once it is. Nothing is failed or stuck.
pub const WAITING: i32 = 6;
/// The command line is wrong (unknown flag, missing argument, a value that
/// names nothing).
pub const USAGE: i32 = 64;
/// Interrupted (Ctrl-C or SIGTERM): what ran was followed to its end, nothing new started.
pub const INTERRUPTED: i32 = 130;
