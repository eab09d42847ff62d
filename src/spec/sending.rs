//! The sending side of the spec: the global endpoint, BYODKIM keys, identity
//! replication, configuration sets, email templates, IAM sending roles and raw
//! CloudFormation overrides. Identities themselves are in the parent module.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// SES Global Endpoint (multi-region endpoint) across `primary` and `secondary`.
/// Its `EndpointId`, which applications pass to SESv2 `SendEmail`, is the
/// primary sending stack's output `GlobalEndpointId`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlobalEndpoint {
    /// Endpoint name: letters, digits, `_` and `-`. Changing it replaces the endpoint.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\w\-_]+$"))]
    pub name: String,
}

/// How an Easy DKIM domain gets into the secondary region.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Replication {
    /// Deterministic Easy DKIM: the secondary identity reuses the primary's keys; no new DNS.
    #[default]
    Deed,
    /// The secondary identity gets its own Easy DKIM tokens and CNAME records.
    Independent,
}

/// BYODKIM: your own key pair. The private key comes from a secret, never inline.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Byodkim {
    /// The DKIM selector: the TXT record is `<selector>._domainkey.<domain>`.
    #[schemars(length(min = 1, max = 63))]
    pub selector: String,
    /// The base64 private key, from a Secrets Manager secret:
    /// `{ secret: NAME_OR_ARN, json_key: FIELD }`. A key written inline is an error.
    pub private_key: SecretValue,
    /// The base64 public key published as `p=…` in the TXT record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// A value that must come from a secret.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum SecretValue {
    /// A reference to a Secrets Manager secret.
    Secret(SecretRef),
    /// A value written inline: always rejected, secrets never go into the spec.
    Plain(String),
}

/// A Secrets Manager secret reference.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// Secret name or ARN.
    #[schemars(length(min = 1))]
    pub secret: String,
    /// The JSON key inside the secret (the whole secret string when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_key: Option<String>,
}

/// TLS policy of a configuration set.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TlsPolicy {
    /// Deliver only over TLS.
    Require,
    /// Use TLS when the receiver offers it.
    Optional,
}

/// A reason an address goes on the suppression list.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum SuppressReason {
    Bounce,
    Complaint,
}

/// A configuration set.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationSet {
    /// `require` or `optional` (SES's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsPolicy>,
    /// Whether sending through this set is enabled (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending: Option<bool>,
    /// Publish reputation metrics (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reputation_metrics: Option<bool>,
    /// Add addresses to the suppression list for these reasons (`[]` turns suppression off
    /// for this set; absent: the account's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress: Option<Vec<SuppressReason>>,
    /// Virtual Deliverability Manager options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdm: Option<Vdm>,
    /// Event destinations, keyed by name (recreated in every sending region).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, EventDestination>,
}

/// VDM options of a configuration set.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vdm {
    /// Engagement metrics (opens, clicks) on the dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_metrics: Option<bool>,
    /// Optimized shared delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimized_shared_delivery: Option<bool>,
}

/// A sending event type.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Send,
    Reject,
    Bounce,
    Complaint,
    Delivery,
    Open,
    Click,
    RenderingFailure,
    DeliveryDelay,
    Subscription,
}

impl EventType {
    /// CloudFormation's `MatchingEventTypes` spelling.
    pub(crate) fn cfn(self) -> &'static str {
        match self {
            EventType::Send => "send",
            EventType::Reject => "reject",
            EventType::Bounce => "bounce",
            EventType::Complaint => "complaint",
            EventType::Delivery => "delivery",
            EventType::Open => "open",
            EventType::Click => "click",
            EventType::RenderingFailure => "renderingFailure",
            EventType::DeliveryDelay => "deliveryDelay",
            EventType::Subscription => "subscription",
        }
    }
}

/// An event destination: where events of the listed types go. Event
/// destinations are per region: `{region}` in an ARN is replaced by each
/// sending region (SES publishes only to targets in its own region).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventDestination {
    /// Event types to publish.
    #[schemars(length(min = 1))]
    pub types: Vec<EventType>,
    /// Whether the destination is enabled (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// SNS topic ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns: Option<String>,
    /// EventBridge event bus ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventbridge: Option<String>,
    /// Kinesis Data Firehose delivery stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firehose: Option<Firehose>,
    /// CloudWatch metrics with these dimensions, keyed by dimension name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<BTreeMap<String, Dimension>>,
}

/// A Firehose destination.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firehose {
    /// Delivery stream ARN.
    pub stream: String,
    /// ARN of the role SES assumes to write to the stream.
    pub role: String,
}

/// Where a CloudWatch dimension's value comes from.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DimensionSource {
    MessageTag,
    EmailHeader,
    LinkTag,
}

/// A CloudWatch dimension.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// Where the value comes from.
    pub source: DimensionSource,
    /// The value when the message has none.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]{1,256}$"))]
    pub default: String,
}

/// An SES email template.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    /// Subject line (may use `{{placeholders}}`).
    pub subject: String,
    /// HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// IAM for applications that send.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Iam {
    /// Sending roles, keyed by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, SendingRole>,
}

/// The AWS service a role is for.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TrustedService {
    /// EC2 instances (an instance profile is created).
    Ec2,
    /// Lambda functions.
    Lambda,
    /// ECS tasks.
    EcsTasks,
}

/// Who may assume a role.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Trust {
    /// An AWS service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<TrustedService>,
    /// Another AWS account id (cross-account sending). Narrow it with
    /// `external_id`, `principals` or `organization`: without any, every
    /// principal of that account that is allowed `sts:AssumeRole` may assume
    /// the role (MI4006).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: Option<String>,
    /// With `account`: the external ID the other account must pass to
    /// `sts:AssumeRole` (`sts:ExternalId`), 2 to 1,224 letters, digits and
    /// `_+=,.@:/-`. It is an identifier agreed with the other account, not a
    /// secret: it is written into the role's trust policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 2, max = 1224),
        regex(pattern = r"^[A-Za-z0-9_+=,.@:/-]+$")
    )]
    pub external_id: Option<String>,
    /// With `account`: only these IAM principals of that account may assume
    /// the role (`aws:PrincipalArn`), e.g.
    /// `arn:aws:iam::210987654321:role/mailer`; `*` and `?` match as in IAM's
    /// `ArnLike`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[\w+=,.@/*?-]+$")))]
    pub principals: Vec<String>,
    /// With `account`: only principals of this AWS Organizations organization
    /// may assume the role (`aws:PrincipalOrgID`), e.g. `o-a1b2c3d4e5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^o-[a-z0-9]{10,32}$"))]
    pub organization: Option<String>,
}

/// A sending permission in plain words.
#[derive(
    Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum SendAction {
    /// `ses:SendEmail`.
    Send,
    /// `ses:SendRawEmail`.
    SendRaw,
    /// `ses:SendTemplatedEmail` (and `ses:SendEmail`, which SESv2 uses for templates).
    SendTemplated,
    /// `ses:SendBulkEmail` and `ses:SendBulkTemplatedEmail`.
    SendBulk,
}

/// An IAM role applications assume to send.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendingRole {
    /// Who may assume the role.
    pub trust: Trust,
    /// What it may do.
    #[schemars(length(min = 1))]
    pub allow: Vec<SendAction>,
    /// The identities it may send as: a list of declared identities, or `"*"`
    /// for any resource (written explicitly, never a default). Default: every
    /// declared identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<RoleIdentities>,
    /// Restrict sending to this configuration set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_set: Option<String>,
    /// Restrict the FROM addresses (`ses:FromAddress`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
}

/// Identities a role may use.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RoleIdentities {
    /// Declared identity names.
    List(Vec<String>),
    /// `"*"`: any resource.
    Any(AnyResource),
}

/// The literal `"*"`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum AnyResource {
    #[serde(rename = "*")]
    Any,
}

/// Raw CloudFormation overrides of one generated resource.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Override {
    /// Properties merged over the generated ones (objects merge key by key,
    /// anything else replaces; `null` removes the property).
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// Alarms that mailinfra creates in every sending region.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Alarms {
    /// Alarms on the account's bounce and complaint rates (SES's
    /// `Reputation.BounceRate` and `Reputation.ComplaintRate` metrics), set
    /// below the rates at which SES reviews an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reputation: Option<ReputationAlarms>,
}

/// Reputation alarms: thresholds in percent, and the SNS topic they notify.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReputationAlarms {
    /// Name of the SNS topic the alarms notify, created in each sending region
    /// as `<project>-<topic>` (subscribe to it to be told).
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub topic: String,
    /// Alarm when the bounce rate reaches this percentage (default 4; SES
    /// reviews an account at 5 % and may pause its sending at 10 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.1, max = 9.9))]
    pub bounce_rate: Option<f64>,
    /// Alarm when the complaint rate reaches this percentage (default 0.08;
    /// SES reviews an account at 0.1 % and may pause its sending at 0.5 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01, max = 0.49))]
    pub complaint_rate: Option<f64>,
    /// Who the topic delivers the alarms to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribe: Vec<Subscription>,
}

/// Where an SNS topic delivers: one key naming the protocol.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Subscription {
    /// An email address; SNS sends it a message to confirm the subscription.
    Email(#[schemars(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))] String),
    /// An SQS queue ARN; the queue's policy must let the topic send to it.
    Sqs(
        #[schemars(regex(pattern = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$"))]
        String,
    ),
    /// An HTTPS endpoint; it must confirm the subscription.
    Https(
        #[schemars(regex(pattern = r"^https://[^\s]+$"))]
        String,
    ),
}
