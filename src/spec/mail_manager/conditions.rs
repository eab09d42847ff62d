//! The tests that traffic policy and rule set conditions are made of: string,
//! IP range, TLS, add-on analysis, address list, verdict, DMARC, header,
//! client certificate and message size tests.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Size;
use crate::spec::OneOrMany;

/// A string test: exactly one operator with one value or a list.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StringTest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<OneOrMany>,
}

impl StringTest {
    /// The operators given, with their CloudFormation names and values.
    pub(crate) fn operators(&self) -> Vec<(&'static str, &[String])> {
        [
            ("EQUALS", &self.equals),
            ("NOT_EQUALS", &self.not_equals),
            ("STARTS_WITH", &self.starts_with),
            ("ENDS_WITH", &self.ends_with),
            ("CONTAINS", &self.contains),
        ]
        .into_iter()
        .filter_map(|(op, v)| v.as_ref().map(|v| (op, v.as_slice())))
        .collect()
    }
}

/// CIDR ranges: a list (matches) or `{ not: [...] }` (does not match).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum IpTest {
    /// The address is in one of these ranges.
    In(OneOrMany),
    /// The address is in none of these ranges.
    Not(NotIn),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotIn {
    pub not: OneOrMany,
}

impl IpTest {
    /// (negated, ranges)
    pub(crate) fn parts(&self) -> (bool, &[String]) {
        match self {
            IpTest::In(v) => (false, v.as_slice()),
            IpTest::Not(n) => (true, n.not.as_slice()),
        }
    }
}

/// TLS protocol versions Mail Manager distinguishes.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLS1_2",
            TlsVersion::Tls13 => "TLS1_3",
        }
    }
}

/// A TLS test: exactly one of `min`, `is`, `below`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsTest {
    /// The connection uses at least this TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<TlsVersion>,
    /// The connection uses exactly this TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<TlsVersion>,
    /// The connection uses an older TLS version or none (only alone in a `deny` statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<TlsVersion>,
}

/// An add-on analysis test: exactly one of `is` (boolean result), a string
/// operator, or (rule sets only) `verdict`/`not_verdict`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnalysisTest {
    /// The add-on (a name under `mail_manager.addons`).
    pub addon: String,
    /// The add-on's result field, e.g. `addon.spamhaus_dbl.result`.
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = r"^(addon\.)?[\sa-zA-Z0-9_]+$")
    )]
    pub field: String,
    /// The result is true (or false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<OneOrMany>,
    /// Rule sets only: the result is one of these verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictValues>,
    /// Rule sets only: the result is none of these verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_verdict: Option<VerdictValues>,
}

impl AnalysisTest {
    pub(crate) fn string_test(&self) -> StringTest {
        StringTest {
            equals: self.equals.clone(),
            not_equals: self.not_equals.clone(),
            starts_with: self.starts_with.clone(),
            ends_with: self.ends_with.clone(),
            contains: self.contains.clone(),
        }
    }
}

/// Address list membership.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressListTest {
    /// The list (a name under `mail_manager.address_lists`).
    pub list: String,
    /// Which address is looked up (default `recipient`; traffic policies allow only `recipient`).
    #[serde(default)]
    pub address: AddressAttribute,
    /// `true` (default): the address is in the list; `false`: it is not.
    #[serde(default = "yes")]
    pub member: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AddressAttribute {
    #[default]
    Recipient,
    MailFrom,
    Sender,
    From,
    To,
    Cc,
}

impl AddressAttribute {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            AddressAttribute::Recipient => "RECIPIENT",
            AddressAttribute::MailFrom => "MAIL_FROM",
            AddressAttribute::Sender => "SENDER",
            AddressAttribute::From => "FROM",
            AddressAttribute::To => "TO",
            AddressAttribute::Cc => "CC",
        }
    }
}

/// SPF/DKIM verdicts.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthVerdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
}

impl AuthVerdict {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            AuthVerdict::Pass => "PASS",
            AuthVerdict::Fail => "FAIL",
            AuthVerdict::Gray => "GRAY",
            AuthVerdict::ProcessingFailed => "PROCESSING_FAILED",
        }
    }
}

/// One verdict or a list.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum VerdictValues {
    One(AuthVerdict),
    Many(Vec<AuthVerdict>),
}

impl VerdictValues {
    pub(crate) fn as_slice(&self) -> &[AuthVerdict] {
        match self {
            VerdictValues::One(v) => std::slice::from_ref(v),
            VerdictValues::Many(v) => v,
        }
    }
}

/// A verdict test: `pass`, `[pass, gray]`, or `{ not: fail }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum VerdictTest {
    Is(VerdictValues),
    Not(NotVerdict),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotVerdict {
    pub not: VerdictValues,
}

impl VerdictTest {
    pub(crate) fn parts(&self) -> (bool, &[AuthVerdict]) {
        match self {
            VerdictTest::Is(v) => (false, v.as_slice()),
            VerdictTest::Not(n) => (true, n.not.as_slice()),
        }
    }
}

/// The sender domain's published DMARC policy.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DmarcValue {
    None,
    Quarantine,
    Reject,
}

impl DmarcValue {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            DmarcValue::None => "NONE",
            DmarcValue::Quarantine => "QUARANTINE",
            DmarcValue::Reject => "REJECT",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum DmarcValues {
    One(DmarcValue),
    Many(Vec<DmarcValue>),
}

/// A DMARC policy test: `reject`, `[quarantine, reject]`, or `{ not: none }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum DmarcTest {
    Is(DmarcValues),
    Not(NotDmarc),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotDmarc {
    pub not: DmarcValues,
}

impl DmarcTest {
    pub(crate) fn parts(&self) -> (bool, &[DmarcValue]) {
        let (neg, v) = match self {
            DmarcTest::Is(v) => (false, v),
            DmarcTest::Not(n) => (true, &n.not),
        };
        (
            neg,
            match v {
                DmarcValues::One(x) => std::slice::from_ref(x),
                DmarcValues::Many(xs) => xs,
            },
        )
    }
}

/// A MIME header test: `{ name: X-Originatororg, equals: contoso.com }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HeaderTest {
    /// The header, `X-…`.
    #[schemars(regex(pattern = r"^X-[a-zA-Z0-9-]{1,256}$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<OneOrMany>,
}

impl HeaderTest {
    /// Its operators as a string test of the header's value.
    pub(crate) fn test(&self) -> StringTest {
        StringTest {
            equals: self.equals.clone(),
            not_equals: self.not_equals.clone(),
            starts_with: self.starts_with.clone(),
            ends_with: self.ends_with.clone(),
            contains: self.contains.clone(),
        }
    }
}

/// A client certificate field test (mTLS ingress): `{ field: cn, equals: relay.example.com }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CertificateTest {
    pub field: CertificateField,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<OneOrMany>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CertificateField {
    Cn,
    SanRfc822Name,
    SanDnsName,
    SanDirectoryName,
    SanUniformResourceIdentifier,
    SanIpAddress,
    SanRegisteredId,
    SerialNumber,
}

impl CertificateField {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            CertificateField::Cn => "CN",
            CertificateField::SanRfc822Name => "SAN_RFC822_NAME",
            CertificateField::SanDnsName => "SAN_DNS_NAME",
            CertificateField::SanDirectoryName => "SAN_DIRECTORY_NAME",
            CertificateField::SanUniformResourceIdentifier => "SAN_UNIFORM_RESOURCE_IDENTIFIER",
            CertificateField::SanIpAddress => "SAN_IP_ADDRESS",
            CertificateField::SanRegisteredId => "SAN_REGISTERED_ID",
            CertificateField::SerialNumber => "SERIAL_NUMBER",
        }
    }
}

/// A message size test: exactly one operator.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SizeTest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Size>,
}

impl SizeTest {
    pub(crate) fn operators(&self) -> Vec<(&'static str, &'static str, &Size)> {
        [
            ("equals", "EQUALS", &self.equals),
            ("not_equals", "NOT_EQUALS", &self.not_equals),
            ("less_than", "LESS_THAN", &self.less_than),
            ("greater_than", "GREATER_THAN", &self.greater_than),
            ("at_most", "LESS_THAN_OR_EQUAL", &self.at_most),
            ("at_least", "GREATER_THAN_OR_EQUAL", &self.at_least),
        ]
        .into_iter()
        .filter_map(|(k, op, v)| v.as_ref().map(|v| (k, op, v)))
        .collect()
    }
}
