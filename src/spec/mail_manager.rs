//! The `mail_manager:` block: SES Mail Manager archives, relays, address lists,
//! add-ons, traffic policies, rule sets and ingress endpoints.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::OneOrMany;

/// SES Mail Manager.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailManager {
    /// Regions Mail Manager resources are created in (default: the primary region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Email archives, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub archives: BTreeMap<String, Archive>,
    /// SMTP relays that rules deliver to, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub relays: BTreeMap<String, Relay>,
    /// Address lists usable in conditions, keyed by name. Members are imported
    /// with the Mail Manager API or console.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub address_lists: BTreeMap<String, AddressList>,
    /// Add-on subscriptions (with one instance each) usable in conditions, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addons: BTreeMap<String, Addon>,
    /// Traffic policies: which connections an ingress endpoint accepts, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traffic_policies: BTreeMap<String, TrafficPolicy>,
    /// Rule sets: what happens to accepted mail, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule_sets: BTreeMap<String, RuleSet>,
    /// Ingress endpoints (SMTP listeners), keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ingress: BTreeMap<String, Ingress>,
}

/// A Mail Manager archive. Archives may hold mail under legal retention: they
/// are never deleted or replaced by an apply unless explicitly allowed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Archive {
    /// How long mail is kept (default `6 months`).
    #[serde(default)]
    pub retention: Retention,
    /// KMS key ARN to encrypt the archive with. Changing it replaces the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws(|-cn|-us-gov|-eusc):kms:[a-z0-9-]{1,20}:[0-9]{12}:(key|alias)/.+$"
    ))]
    pub kms_key: Option<String>,
}

/// Archive retention.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum Retention {
    #[serde(rename = "3 months")]
    ThreeMonths,
    #[default]
    #[serde(rename = "6 months")]
    SixMonths,
    #[serde(rename = "9 months")]
    NineMonths,
    #[serde(rename = "1 year")]
    OneYear,
    #[serde(rename = "18 months")]
    EighteenMonths,
    #[serde(rename = "2 years")]
    TwoYears,
    #[serde(rename = "30 months")]
    ThirtyMonths,
    #[serde(rename = "3 years")]
    ThreeYears,
    #[serde(rename = "4 years")]
    FourYears,
    #[serde(rename = "5 years")]
    FiveYears,
    #[serde(rename = "6 years")]
    SixYears,
    #[serde(rename = "7 years")]
    SevenYears,
    #[serde(rename = "8 years")]
    EightYears,
    #[serde(rename = "9 years")]
    NineYears,
    #[serde(rename = "10 years")]
    TenYears,
    #[serde(rename = "permanent")]
    Permanent,
}

impl Retention {
    /// CloudFormation's `RetentionPeriod` value.
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            Retention::ThreeMonths => "THREE_MONTHS",
            Retention::SixMonths => "SIX_MONTHS",
            Retention::NineMonths => "NINE_MONTHS",
            Retention::OneYear => "ONE_YEAR",
            Retention::EighteenMonths => "EIGHTEEN_MONTHS",
            Retention::TwoYears => "TWO_YEARS",
            Retention::ThirtyMonths => "THIRTY_MONTHS",
            Retention::ThreeYears => "THREE_YEARS",
            Retention::FourYears => "FOUR_YEARS",
            Retention::FiveYears => "FIVE_YEARS",
            Retention::SixYears => "SIX_YEARS",
            Retention::SevenYears => "SEVEN_YEARS",
            Retention::EightYears => "EIGHT_YEARS",
            Retention::NineYears => "NINE_YEARS",
            Retention::TenYears => "TEN_YEARS",
            Retention::Permanent => "PERMANENT",
        }
    }
}

/// An SMTP relay: a server that Mail Manager hands mail to.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Relay {
    /// A mailbox provider preset: `google_workspace` (`aspmx.l.google.com:25`) or
    /// `microsoft_365` (`<tenant>.mail.protection.outlook.com:25`, needs `tenant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<RelayPreset>,
    /// Microsoft 365 only: the tenant's domain (`nutrition.co`) or its MX host
    /// prefix (`nutrition-co`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// SMTP server host name (required without a preset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), regex(pattern = r"^[a-zA-Z0-9-\.]+$"))]
    pub host: Option<String>,
    /// SMTP server port (default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// SMTP credentials: ARN of a Secrets Manager secret with `username` and
    /// `password`. Without it the relay uses no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:(aws|aws-cn|aws-us-gov|aws-eusc):secretsmanager:[a-z0-9-]+:\d{12}:secret:[a-zA-Z0-9/_+=,.@-]+$"
    ))]
    pub secret: Option<String>,
}

/// Relay presets.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RelayPreset {
    /// Google Workspace inbound (`aspmx.l.google.com`, port 25).
    GoogleWorkspace,
    /// Microsoft 365 Exchange Online inbound (`<tenant>.mail.protection.outlook.com`, port 25).
    #[serde(rename = "microsoft_365")]
    Microsoft365,
}

/// A Mail Manager address list (members are managed outside the template).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddressList {}

/// A Mail Manager add-on subscription with its instance.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Addon {
    /// The add-on: `trend_micro_vsapi`, `spamhaus_dbl`, `abusix_mail_intelligence`
    /// or `vade_advanced_email_security`.
    pub addon: AddonName,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AddonName {
    TrendMicroVsapi,
    SpamhausDbl,
    AbusixMailIntelligence,
    VadeAdvancedEmailSecurity,
}

impl AddonName {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            AddonName::TrendMicroVsapi => "TRENDMICRO_VSAPI",
            AddonName::SpamhausDbl => "SPAMHAUS_DBL",
            AddonName::AbusixMailIntelligence => "ABUSIX_MAIL_INTELLIGENCE",
            AddonName::VadeAdvancedEmailSecurity => "VADE_ADVANCED_EMAIL_SECURITY",
        }
    }
}

/// A message size: bytes, or a number with a unit (`25MB`, `10 MiB`, `512KB`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    /// The size in bytes, or why the text is not a size.
    pub(crate) fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Bytes(b) => Ok(*b),
            Size::Text(t) => crate::values::parse_size(t),
        }
    }
}

impl JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A size: bytes, or a number with a unit (`25MB`, `10 MiB`). Units: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB (powers of 1024).",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*(B|KB|kB|MB|GB|KiB|MiB|GiB)?\\s*$" }
            ]
        })
    }
}

/// `allow` or `deny`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Allow,
    Deny,
}

/// A traffic policy: the first statement whose conditions all hold decides;
/// otherwise `default` does.
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

/// A rule set: ordered rules, each applied when its conditions hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSet {
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// A rule: when all `when` conditions hold and no `unless` condition holds, run the actions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Rule name: letters, digits, `_`, `.`, `-`; at most 32 characters.
    pub name: String,
    /// Conditions that must all hold (none: always).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<RuleCondition>,
    /// Exceptions: the rule does not apply when any of these holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless: Vec<RuleCondition>,
    /// Up to 10 actions, in order.
    pub actions: Vec<RuleAction>,
}

/// A rule condition.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleCondition {
    /// Envelope MAIL FROM.
    MailFrom(StringTest),
    /// SMTP HELO/EHLO name.
    Helo(StringTest),
    /// Envelope recipient.
    Recipient(StringTest),
    /// `Sender` header.
    Sender(StringTest),
    /// `From` header.
    From(StringTest),
    /// `Subject` header.
    Subject(StringTest),
    /// `To` header.
    To(StringTest),
    /// `Cc` header.
    Cc(StringTest),
    /// Any `X-` MIME header.
    MimeHeader(HeaderTest),
    /// SPF verdict.
    Spf(VerdictTest),
    /// DKIM verdict.
    Dkim(VerdictTest),
    /// The sender domain's DMARC policy.
    Dmarc(DmarcTest),
    /// Source IP in (or `{ not: [...] }` outside) CIDR ranges (IPv4 or IPv6).
    SourceIp(IpTest),
    /// Received over TLS (`true`) or not (`false`).
    Tls(bool),
    /// Received over an implicit-TLS (TLS-wrapped) connection.
    TlsWrapped(bool),
    /// The message asks for a read receipt.
    ReadReceipt(bool),
    /// Message size, e.g. `{ greater_than: 10MB }`.
    MessageSize(SizeTest),
    /// An add-on's analysis.
    Analysis(AnalysisTest),
    /// Address list membership.
    AddressList(AddressListTest),
    /// A field of the client certificate (mTLS ingress).
    ClientCertificate(CertificateTest),
}

/// What a failing action does: `continue` (default) with the next action, or `drop` the message.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    #[default]
    Continue,
    Drop,
}

impl OnFailure {
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            OnFailure::Continue => "CONTINUE",
            OnFailure::Drop => "DROP",
        }
    }
}

/// The MAIL FROM a relay passes on.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailFromMode {
    /// Keep the original sender (needed for Google Workspace and Microsoft 365 SPF checks).
    Preserve,
    /// Replace it with a Mail Manager address (default).
    #[default]
    Replace,
}

/// A rule action.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    /// Archive the message: an archive name, or `{ to: NAME, on_failure }`.
    Archive(ArchiveTarget),
    /// Write the message to S3.
    WriteToS3(S3Target),
    /// Relay the message to a relay: `{ to: NAME, mail_from: preserve|replace }`.
    Relay(RelayTarget),
    /// Send the message onward to the internet through SES.
    SendToInternet(RoleOnly),
    /// Deliver to a WorkMail mailbox.
    DeliverToMailbox(MailboxTarget),
    /// Deliver to an Amazon Q Business index.
    DeliverToQBusiness(QBusinessTarget),
    /// Replace the recipients with these addresses.
    ReplaceRecipients(OneOrMany),
    /// Add an `X-` header: `{ name: X-Scanned, value: "yes" }`.
    AddHeader(AddHeader),
    /// Publish the message to an SNS topic.
    PublishToSns(SnsTarget),
    /// Invoke a Lambda function.
    InvokeLambda(LambdaTarget),
    /// Bounce the message back to the sender.
    Bounce(BounceTarget),
    /// Drop the message (`drop: true`).
    Drop(bool),
}

/// Archive target.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ArchiveTarget {
    Name(String),
    Full(ArchiveTargetFull),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveTargetFull {
    /// The archive (a name under `mail_manager.archives`).
    pub to: String,
    #[serde(default)]
    pub on_failure: OnFailure,
}

impl ArchiveTarget {
    pub(crate) fn name(&self) -> &str {
        match self {
            ArchiveTarget::Name(n) => n,
            ArchiveTarget::Full(f) => &f.to,
        }
    }
    pub(crate) fn on_failure(&self) -> OnFailure {
        match self {
            ArchiveTarget::Name(_) => OnFailure::Continue,
            ArchiveTarget::Full(f) => f.on_failure,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Target {
    /// Bucket name (one declared under `receiving.buckets` or an existing bucket).
    #[schemars(length(min = 1, max = 62), regex(pattern = r"^[a-zA-Z0-9.-]+$"))]
    pub bucket: String,
    /// Key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 62), regex(pattern = r"^[a-zA-Z0-9!_.*'()/-]+$"))]
    pub prefix: Option<String>,
    /// KMS key ARN or id for server-side encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048), regex(pattern = r"^[a-zA-Z0-9-:/]+$"))]
    pub kms_key: Option<String>,
    /// Existing role ARN (default: a generated least-privilege role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayTarget {
    /// The relay (a name under `mail_manager.relays`).
    pub to: String,
    /// `preserve` keeps the original MAIL FROM; `replace` (default) rewrites it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<MailFromMode>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// An action that only needs a role: `{}` or `{ role: ARN, on_failure }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleOnly {
    /// Existing role ARN (default: a generated least-privilege role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxTarget {
    /// WorkMail mailbox ARN.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:workmail:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9:_/+=,@.#-]+$"
    ))]
    pub mailbox: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QBusinessTarget {
    /// Q Business application id (36 characters).
    #[schemars(regex(pattern = r"^[a-z0-9-]{36}$"))]
    pub application: String,
    /// Q Business index id (36 characters).
    #[schemars(regex(pattern = r"^[a-z0-9-]{36}$"))]
    pub index: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddHeader {
    /// Header name: `X-` then letters, digits and hyphens; at most 64 characters.
    pub name: String,
    /// Header value: 1 to 128 characters.
    pub value: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnsTarget {
    /// Topic: a name under `receiving.topics`, or an existing topic ARN.
    pub topic: String,
    /// `utf8` (default) or `base64`.
    #[serde(default)]
    pub encoding: SnsEncoding,
    /// `content` (default: the whole message) or `headers`.
    #[serde(default)]
    pub payload: SnsPayload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SnsEncoding {
    #[default]
    Utf8,
    Base64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SnsPayload {
    #[default]
    Content,
    Headers,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaTarget {
    /// Lambda function ARN.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9$_-]+)?$"
    ))]
    pub function: String,
    /// `event` (default, asynchronous) or `request_response`.
    #[serde(default)]
    pub invocation: Invocation,
    /// Retry window in minutes (0–2160).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2160))]
    pub retry_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Invocation {
    #[default]
    Event,
    RequestResponse,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BounceTarget {
    /// The address the bounce comes from (an address on a verified identity).
    pub sender: String,
    /// SMTP reply code (`550`).
    #[serde(default = "default_reply")]
    #[schemars(regex(pattern = r"^[45][0-9][0-9]$"))]
    pub smtp_reply_code: String,
    /// Enhanced status code (`5.1.1`).
    #[serde(default = "default_status")]
    #[schemars(regex(pattern = r"^[45]\.[0-9]{1,3}\.[0-9]{1,3}$"))]
    pub status_code: String,
    /// Diagnostic text for the bounce (printable ASCII).
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[\x20-\x7e]+$"))]
    pub diagnostic: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"))]
    pub role: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

fn default_reply() -> String {
    "550".into()
}
fn default_status() -> String {
    "5.1.1".into()
}

/// Ingress endpoint kinds.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IngressType {
    /// Anyone on the internet, port 25, no SMTP authentication.
    Open,
    /// SMTP authentication with a password from a secret.
    Auth,
    /// Mutual TLS with a client certificate.
    Mtls,
}

/// Ingress TLS policy.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IngressTls {
    #[default]
    Optional,
    Required,
    Fips,
}

/// An ingress endpoint.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    /// `open`, `auth` or `mtls`.
    #[serde(rename = "type")]
    pub kind: IngressType,
    /// The traffic policy (a name under `mail_manager.traffic_policies`).
    pub traffic_policy: String,
    /// The rule set (a name under `mail_manager.rule_sets`).
    pub rule_set: String,
    /// TLS: `optional` (default), `required` or `fips`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
    /// `auth` only: `{ secret: ARN }` (a Secrets Manager secret holding the
    /// password) or `generate` (the template creates a random one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<IngressPassword>,
    /// `mtls` only: the CA bundle (PEM) clients' certificates chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_store: Option<TrustStore>,
    /// Network: `ipv4` (default), `dual_stack`, or `{ vpc_endpoint: vpce-… }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Domains whose MX record points at this endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mx: Vec<String>,
    /// MX preference (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub mx_priority: Option<u16>,
}

/// SMTP password source.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum IngressPassword {
    /// `generate`: a Secrets Manager secret with a random password is created.
    Generate(GenerateKeyword),
    /// An existing secret.
    Secret(MailManagerSecret),
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GenerateKeyword {
    Generate,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MailManagerSecret {
    /// Secrets Manager secret ARN.
    #[schemars(regex(
        pattern = r"^arn:(aws|aws-cn|aws-us-gov|aws-eusc):secretsmanager:[a-z0-9-]+:\d{12}:secret:[a-zA-Z0-9/_+=,.@-]+$"
    ))]
    pub secret: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrustStore {
    /// PEM CA certificates.
    #[schemars(length(min = 1, max = 500000))]
    pub ca: String,
    /// PEM certificate revocation list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<String>,
    /// KMS key ARN that encrypts the trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// Ingress network.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum Network {
    Public(PublicNetwork),
    Vpc(VpcNetwork),
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PublicNetwork {
    Ipv4,
    DualStack,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VpcNetwork {
    /// VPC interface endpoint id (`vpce-` and 17 characters).
    #[schemars(regex(pattern = r"^vpce-[a-zA-Z0-9]{17}$"))]
    pub vpc_endpoint: String,
}
