//! The `mail_manager:` block: SES Mail Manager archives, relays, address lists,
//! add-ons, traffic policies, rule sets and ingress endpoints.
//!
//! This file holds the block itself and the resources that stand alone
//! (archives, relays, address lists, add-ons, sizes); traffic policies, rule
//! sets, the conditions both test, and ingress endpoints have files of their own.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod conditions;
mod ingress;
mod rule_set;
mod traffic_policy;
pub(crate) use conditions::*;
pub(crate) use ingress::*;
pub(crate) use rule_set::*;
pub(crate) use traffic_policy::*;

/// SES Mail Manager.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailManager {
    /// Regions Mail Manager resources are created in (default: the primary
    /// region), in failover order: the MX record set of each `mx` domain lives
    /// in the first region's stack and lists every region's endpoint (see
    /// `ingress.<name>.mx_priority`).
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

/// An ingress endpoint's MX preference.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum MxPriority {
    /// The preference in the first region; each following region of
    /// `mail_manager.regions` gets 10 more.
    First(#[schemars(range(min = 0, max = 65535))] u16),
    /// The preference in each region of `mail_manager.regions`, by region.
    PerRegion(BTreeMap<String, u16>),
}

/// How much less preferred each following region's endpoint is than the one
/// before it, when `mx_priority` is one number.
pub(crate) const MX_PRIORITY_STEP: u16 = 10;

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
    /// Checked strictly; a value pasted here by mistake is never repeated in
    /// a diagnostic.
    #[schemars(length(min = 1, max = 2048))]
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
