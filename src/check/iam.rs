//! Checks, IAM: the generated roles whose policies grow with the spec fit
//! IAM's limits (MI3114), a `send_to_internet` role has identities to send as
//! (MI3115), trust conditions apply where they are written (MI3116), and an
//! account trust without conditions is flagged (MI4006). The statements
//! measured are the ones compile generates (`crate::iam::scope`).

use crate::diag::{Code, Diagnostic, suggest};
use crate::iam::{self, scope, trust};
use crate::model::Model;
use crate::model::sending::{Principal, SendingRole};
use crate::spec::{RoleIdentities, RuleAction};

pub(crate) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.sending.roles {
        sending_role(m, r, out);
        trust_conditions(r, out);
    }
    mail_manager_roles(m, out);
}

const SCOPE_HELP: &str = "scope it with `identities: \"*\"` (any identity of the account, the wildcard written by you) or list fewer identities: each one is named in every region, with its configuration set";

/// A sending role's permission and trust policies within IAM's limits.
fn sending_role(m: &Model, r: &SendingRole, out: &mut Vec<Diagnostic>) {
    let Some(principal) = &r.principal else {
        return;
    };
    if let Err(o) = iam::layout(&scope::sending_role_statements(m, r)) {
        out.push(
            Diagnostic::error(Code::MI3114, o.describe(&r.name))
                .key_path(&r.ptr)
                .help(SCOPE_HELP),
        );
    }
    let size = iam::measure(&trust::policy(principal, &r.conditions));
    if size > iam::TRUST_LIMIT {
        out.push(
            Diagnostic::error(
                Code::MI3114,
                format!(
                    "the trust policy of the role `{}` would be {} characters (limit {})",
                    r.name,
                    iam::thousands(size),
                    iam::thousands(iam::TRUST_LIMIT)
                ),
            )
            .path(format!("{}/trust", r.ptr))
            .help(
                "list fewer `principals` (a `*` pattern names several), or trust an `organization`",
            ),
        );
    }
}

/// Trust conditions apply to account trust only and name that account's
/// principals; account trust without any is a lint.
fn trust_conditions(r: &SendingRole, out: &mut Vec<Diagnostic>) {
    let c = &r.conditions;
    let tptr = format!("{}/trust", r.ptr);
    match &r.principal {
        Some(Principal::Service(_)) if !c.is_empty() => out.push(
            Diagnostic::error(
                Code::MI3116,
                format!("the role `{}` is trusted by a service: trust conditions do not apply", r.name),
            )
            .path(&tptr)
            .help("`external_id`, `principals` and `organization` narrow `trust: { account }`; remove them, or trust the account instead of the service"),
        ),
        Some(Principal::Account(account)) => {
            for (i, p) in c.principals.iter().enumerate() {
                let in_account = p.split(':').nth(4) == Some(account.as_str());
                if !in_account {
                    out.push(
                        Diagnostic::error(
                            Code::MI3116,
                            format!("`{p}` is not a principal of the trusted account `{account}`"),
                        )
                        .path(format!("{tptr}/principals/{i}"))
                        .help(format!("name roles or users of account {account}, e.g. `arn:aws:iam::{account}:role/mailer`, or trust the principal's account")),
                    );
                }
            }
            if c.is_empty() {
                out.push(
                    Diagnostic::error(
                        Code::MI4006,
                        format!(
                            "the role `{}` can be assumed by any principal of account `{account}` that is allowed `sts:AssumeRole`",
                            r.name
                        ),
                    )
                    .path(format!("{tptr}/account"))
                    .help("narrow the trust with `external_id: <the ID the other account gave you>` (against the confused deputy), `principals: [arn:aws:iam::ACCOUNT:role/NAME]` or `organization: o-…`; or allow MI4006 when that account is yours as a whole"),
                );
            }
        }
        _ => {}
    }
}

/// The roles Mail Manager's `send_to_internet` actions run as: identities to
/// send as, each named in the spec, within IAM's limits.
fn mail_manager_roles(m: &Model, out: &mut Vec<Diagnostic>) {
    let names: Vec<&str> = m.identities.iter().map(|i| i.domain.as_str()).collect();
    for rs in &m.mail_manager.rule_sets {
        for (i, rule) in rs.rules.iter().enumerate() {
            for (k, a) in rule.actions.iter().enumerate() {
                let RuleAction::SendToInternet(x) = a else {
                    continue;
                };
                if x.role.is_some() {
                    continue;
                }
                let ptr = format!("{}/rules/{i}/actions/{k}/send_to_internet", rs.ptr);
                let scope = x.identities.as_ref();
                let mut dangling = false;
                if let Some(RoleIdentities::List(list)) = scope {
                    for (j, n) in list.iter().enumerate() {
                        if !names.contains(&n.trim_end_matches('.')) {
                            dangling = true;
                            out.push(unknown_identity(n, &names, format!("{ptr}/identities/{j}")));
                        }
                    }
                }
                let named = scope::send_identities(m, scope);
                if !dangling && named.as_ref().is_some_and(Vec::is_empty) {
                    out.push(no_identity(&rule.name, scope.is_some(), &ptr));
                    continue;
                }
                let statements = scope::mail_manager_send_statements(m, scope);
                if let Err(o) = iam::layout(&statements) {
                    let role = format!("{}/{}", rs.name, rule.name);
                    out.push(
                        Diagnostic::error(Code::MI3114, o.describe(&role))
                            .path(&ptr)
                            .help(SCOPE_HELP),
                    );
                }
            }
        }
    }
}

fn unknown_identity(name: &str, names: &[&str], ptr: String) -> Diagnostic {
    let help = match suggest(name, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => "no identities are declared".to_string(),
        None => "name an identity declared under `identities:`".to_string(),
    };
    Diagnostic::error(Code::MI2001, format!("there is no identity `{name}`"))
        .path(ptr)
        .help(help)
}

fn no_identity(rule: &str, listed: bool, ptr: &str) -> Diagnostic {
    let why = if listed {
        "its `identities` list is empty"
    } else {
        "no identity is declared"
    };
    Diagnostic::error(
        Code::MI3115,
        format!("the `send_to_internet` action of rule `{rule}` may send as no identity: {why}"),
    )
    .path(ptr)
    .help("declare the identities the forwarded mail comes from under `identities:`, list them in `send_to_internet: { identities: [...] }`, write `identities: \"*\"` for any identity of the account, or give an existing `role`")
}
