//! Traffic policies: which connections a Mail Manager ingress endpoint
//! accepts, as ordered `allow`/`deny` statements of conditions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AddressListTest, AnalysisTest, IpTest, Size, StringTest, TlsTest};

/// `allow` or `deny`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Allow,
    Deny,
}

/// A traffic policy: a `deny` statement whose conditions all hold refuses,
/// else an `allow` statement whose conditions all hold accepts (Mail Manager
/// evaluates the deny statements first), else `default` decides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrafficPolicy {
    /// What happens to mail no statement matches (default `deny`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Verdict>,
    /// Largest message accepted (`25MB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<Size>,
    /// Ordered statements: `allow: [conditions]` or `deny: [conditions]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<PolicyStatement>,
}

/// A traffic policy statement: allow or deny when all conditions hold.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyStatement {
    /// Accept the connection when all conditions hold.
    Allow(Vec<PolicyCondition>),
    /// Refuse the connection when all conditions hold.
    Deny(Vec<PolicyCondition>),
}

impl PolicyStatement {
    pub(crate) fn verdict(&self) -> Verdict {
        match self {
            PolicyStatement::Allow(_) => Verdict::Allow,
            PolicyStatement::Deny(_) => Verdict::Deny,
        }
    }
    pub(crate) fn conditions(&self) -> &[PolicyCondition] {
        match self {
            PolicyStatement::Allow(c) | PolicyStatement::Deny(c) => c,
        }
    }
}

/// A traffic policy condition.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyCondition {
    /// A recipient string test, e.g. `{ ends_with: "@example.com" }`.
    Recipient(StringTest),
    /// Sender IPv4 address in (or `{ not: [...] }` outside) CIDR ranges.
    SenderIp(IpTest),
    /// Sender IPv6 address in (or `{ not: [...] }` outside) CIDR ranges.
    SenderIpv6(IpTest),
    /// TLS protocol: `{ min: "1.2" }`, `{ is: "1.3" }`, or in a `deny` statement
    /// on its own `{ below: "1.2" }` (also refuses mail without TLS).
    Tls(TlsTest),
    /// An add-on's verdict: `{ addon: NAME, field: RESULT_FIELD, is: true }` or a string test.
    Analysis(AnalysisTest),
    /// Recipient in an address list: `{ list: NAME }` (`member: false` for not in it).
    AddressList(AddressListTest),
}
