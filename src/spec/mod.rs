//! The raw spec: Rust types that mirror `mailinfra.yaml` one to one.
//!
//! Input: the loaded document's JSON form (already checked against the schema
//! generated from these very types). Output: typed values, no defaults applied
//! beyond serde's, no references resolved — that is `model`'s job. The doc
//! comments here are the schema's descriptions: editors show them on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A mailinfra spec: what mail infrastructure exists.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mailinfra spec", extend("$id" = "https://mailinfra.dev/schemas/mailinfra.schema.json"))]
pub struct Spec {
    /// Spec format version. Always `1`.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Short name that prefixes every stack and resource name: lowercase letters,
    /// digits and hyphens, starting with a letter.
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub project: String,
    /// Tags put on every taggable resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The AWS regions the topology lives in.
    pub regions: Regions,
    /// DNS zones that records go into, keyed by zone apex (`example.com`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dns: BTreeMap<String, Zone>,
    /// SES sending identities, keyed by domain.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identities: BTreeMap<String, Identity>,
    /// SES Mail Manager: archives and more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_manager: Option<MailManager>,
}

/// Regions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// The primary region, e.g. `us-east-1`.
    pub primary: String,
}

/// A DNS zone: a Route 53 hosted zone whose records mailinfra deploys, or
/// `external` (records are listed for you to publish, never deployed).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Zone {
    /// `external`: records for this zone are published by someone else.
    External(ExternalZone),
    /// A Route 53 hosted zone.
    Route53(Route53Zone),
}

/// The keyword `external`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExternalZone {
    External,
}

/// A Route 53 hosted zone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route53Zone {
    /// The hosted zone id: up to 32 uppercase letters and digits, such as `Z0123456789ABCDEFGHIJ`
    #[schemars(regex(pattern = r"^[A-Z0-9]{1,32}$"))]
    pub route53_zone_id: String,
    /// TTL in seconds for the records mailinfra creates (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 172800))]
    pub ttl: Option<u32>,
}

/// How a domain signs mail with DKIM.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DkimMode {
    /// Easy DKIM: SES makes the keys; three CNAME records.
    #[default]
    Easy,
    /// No DKIM signing.
    None,
}

/// RSA key length for Easy DKIM: 1024 or 2048 bits.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(try_from = "u32", into = "u32")]
pub enum KeyLength {
    #[default]
    Rsa2048,
    Rsa1024,
}

impl TryFrom<u32> for KeyLength {
    type Error = String;
    fn try_from(bits: u32) -> Result<Self, String> {
        match bits {
            2048 => Ok(KeyLength::Rsa2048),
            1024 => Ok(KeyLength::Rsa1024),
            other => Err(format!("{other} is not a DKIM key length (1024 or 2048)")),
        }
    }
}

impl From<KeyLength> for u32 {
    fn from(k: KeyLength) -> u32 {
        match k {
            KeyLength::Rsa2048 => 2048,
            KeyLength::Rsa1024 => 1024,
        }
    }
}

impl KeyLength {
    pub fn cfn(self) -> &'static str {
        match self {
            KeyLength::Rsa2048 => "RSA_2048_BIT",
            KeyLength::Rsa1024 => "RSA_1024_BIT",
        }
    }
}

impl JsonSchema for KeyLength {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KeyLength".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "RSA key length in bits: 1024 or 2048.",
            "type": "integer",
            "enum": [1024, 2048]
        })
    }
}

/// A domain identity.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// DKIM signing: `easy` (default) or `none`.
    #[serde(default)]
    pub dkim: DkimMode,
    /// Easy DKIM key length in bits: 2048 (default) or 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim_key_length: Option<KeyLength>,
    /// Custom MAIL FROM domain: a subdomain of the identity, e.g.
    /// `bounce.example.com`, or `{ domain, on_mx_failure }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<MailFrom>,
    /// DMARC policy published at `_dmarc.<domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dmarc: Option<Dmarc>,
    /// Forward bounce and complaint notifications by email (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_forwarding: Option<bool>,
}

/// Custom MAIL FROM.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MailFrom {
    /// The MAIL FROM domain.
    Domain(String),
    /// The MAIL FROM domain with its behaviour when the MX record is missing.
    Full(MailFromFull),
}

/// Custom MAIL FROM, long form.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailFromFull {
    /// The MAIL FROM domain, a subdomain of the identity.
    pub domain: String,
    /// What SES does when the MX record is missing: `use_default` (send from
    /// `amazonses.com`, the default) or `reject`.
    #[serde(default)]
    pub on_mx_failure: MxFailure,
}

/// Behaviour on MX failure.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MxFailure {
    #[default]
    UseDefault,
    Reject,
}

/// DMARC record.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dmarc {
    /// `none`, `quarantine` or `reject`.
    pub policy: DmarcPolicy,
    /// Policy for subdomains (`sp=`); defaults to `policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdomain_policy: Option<DmarcPolicy>,
    /// Aggregate report addresses (`rua=`): a `mailto:` URI or a list of them.
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub rua: OneOrMany,
    /// Forensic report addresses (`ruf=`): a `mailto:` URI or a list of them.
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub ruf: OneOrMany,
    /// Percentage of mail the policy applies to (`pct=`, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub percentage: Option<u8>,
    /// DKIM alignment (`adkim=`): `relaxed` (default) or `strict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim_alignment: Option<Alignment>,
    /// SPF alignment (`aspf=`): `relaxed` (default) or `strict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spf_alignment: Option<Alignment>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    Relaxed,
    Strict,
}

/// SES Mail Manager.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailManager {
    /// Email archives, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub archives: BTreeMap<String, Archive>,
}

/// A Mail Manager archive. Archives may hold mail under legal retention: they
/// are never deleted or replaced by an apply unless explicitly allowed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Archive {
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
    pub fn cfn(self) -> &'static str {
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

/// One string or a list of strings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// A list of values.
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    pub fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}
