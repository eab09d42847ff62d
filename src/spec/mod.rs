//! The raw spec: Rust types that mirror `mailinfra.yaml` one to one.
//!
//! Input: the loaded document's JSON form (already checked against the schema
//! generated from these very types). Output: typed values, no defaults applied
//! beyond serde's, no references resolved — that is `model`'s job. The doc
//! comments here are the schema's descriptions: editors show them on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;

mod mail_manager;
mod receiving;
pub(crate) use mail_manager::*;
pub(crate) use receiving::*;
use serde::{Deserialize, Serialize};

pub(crate) mod sending;
pub(crate) use sending::*;

/// A mailinfra spec: what mail infrastructure exists.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mailinfra spec", extend("$id" = "https://mailinfra.dev/schemas/mailinfra.schema.json"))]
pub(crate) struct Spec {
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
    /// SES Global Endpoint across the primary and secondary regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_endpoint: Option<GlobalEndpoint>,
    /// SES sending identities, keyed by domain or email address. A key that is
    /// neither (e.g. `tenants`) with a `domains:` list declares many domains
    /// sharing the same settings (`{domain}` in values is replaced by each).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identities: BTreeMap<String, Identity>,
    /// Configuration sets, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configuration_sets: BTreeMap<String, ConfigurationSet>,
    /// Email templates, keyed by name (replicated to every sending region).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, EmailTemplate>,
    /// IAM roles that applications use to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<Iam>,
    /// CloudWatch alarms on the account's sending reputation, in every sending region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Alarms>,
    /// Raw CloudFormation property overrides, keyed by the generated logical id
    /// (`mailinfra build` shows them); applied in every region the resource exists.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// SES Mail Manager: archives and more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_manager: Option<MailManager>,
    /// Classic SES inbound: receipt rule sets, buckets and topics, MX records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving: Option<Receiving>,
    /// How `plan` and `apply` deploy: the CloudFormation service role, the S3
    /// bucket for large templates, termination protection. Command-line flags win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
}

/// Regions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Regions {
    /// The primary region, e.g. `us-east-1`.
    pub primary: String,
    /// The secondary sending region: identities, configuration sets and
    /// templates are created in both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<String>,
}

/// A DNS zone: a Route 53 hosted zone whose records mailinfra deploys, or
/// `external` (records are listed for you to publish, never deployed).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Zone {
    /// `external`: records for this zone are published by someone else.
    External(ExternalZone),
    /// A Route 53 hosted zone.
    Route53(Route53Zone),
}

/// The keyword `external`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExternalZone {
    External,
}

/// A Route 53 hosted zone.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Route53Zone {
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
pub(crate) enum DkimMode {
    /// Easy DKIM: SES makes the keys; three CNAME records.
    #[default]
    Easy,
    /// Bring your own DKIM key: see `byodkim`.
    Byodkim,
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
    pub(crate) fn cfn(self) -> &'static str {
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
pub(crate) struct Identity {
    /// DKIM signing: `easy` (default), `byodkim` or `none`.
    #[serde(default)]
    pub dkim: DkimMode,
    /// The selector and keys for `dkim: byodkim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byodkim: Option<Byodkim>,
    /// With a secondary region: `deed` (default, reuse the primary's Easy DKIM
    /// keys) or `independent` (own keys and CNAMEs in the secondary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
    /// The default configuration set of mail sent from this identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_set: Option<String>,
    /// Makes this entry a group: these domains, all with the settings above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
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
pub(crate) enum MailFrom {
    /// The MAIL FROM domain.
    Domain(String),
    /// The MAIL FROM domain with its behaviour when the MX record is missing.
    Full(MailFromFull),
}

/// Custom MAIL FROM, long form.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailFromFull {
    /// The MAIL FROM domain, a subdomain of the identity.
    pub domain: String,
    /// What SES does when the MX record is missing: `use_default` (send from
    /// `amazonses.com`, the default) or `reject`.
    #[serde(default)]
    pub on_mx_failure: MxFailure,
    /// The MAIL FROM domain of the identity in the secondary region (default
    /// `<secondary region>.<domain>`, e.g. `eu-west-1.bounce.example.com`).
    /// Each region's MAIL FROM domain has one MX record, to that region's
    /// feedback endpoint, so bounces return to the region that sent the mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<String>,
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
    pub(crate) fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Deployment settings for `plan` and `apply`. `--role-arn`,
/// `--template-bucket` and `--no-termination-protection` override them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// The CloudFormation service role the stack operations run as
    /// (`arn:aws:iam::ACCOUNT:role/NAME`); without it, the deploying
    /// credentials' own permissions are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
    ))]
    pub role_arn: Option<String>,
    /// S3 bucket for templates over 51,200 bytes (default:
    /// `mailinfra-templates-<account>-<region>`); it must belong to the
    /// deploying account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 3, max = 63),
        regex(pattern = r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
    )]
    pub template_bucket: Option<String>,
    /// Turn termination protection on for stacks `apply` creates (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_protection: Option<bool>,
}
