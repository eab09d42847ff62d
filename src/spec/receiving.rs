//! The `receiving:` block: classic SES inbound (receipt rule sets), the S3
//! buckets and SNS topics it writes to, and the MX records that route mail to it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Classic SES receiving.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Receiving {
    /// The region that receives (default: the primary region). SES receiving
    /// exists in fewer regions than sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Domains whose MX record points at `inbound-smtp.<region>.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mx: Vec<String>,
    /// S3 buckets for received mail, keyed by name. Each gets the bucket policy
    /// SES needs; the bucket is named `<project>-<name>-<account>-<region>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub buckets: BTreeMap<String, Bucket>,
    /// SNS topics for notifications, keyed by name (topic `<project>-<name>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<String, Topic>,
    /// Receipt rule sets, keyed by name. One may be active per region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rule_sets: BTreeMap<String, ReceiptRuleSet>,
}

/// An S3 bucket for received mail.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Bucket {
    /// Delete objects this many days after they arrive (default: keep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub expire_after_days: Option<u32>,
    /// KMS key ARN for default bucket encryption (default: S3-managed keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$"))]
    pub kms_key: Option<String>,
}

/// An SNS topic.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Topic {
    /// Who the topic delivers its notifications to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribe: Vec<super::Subscription>,
}

/// A receipt rule set.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiptRuleSet {
    /// Make this the active rule set of the region (default: true when it is the
    /// only rule set). Activation is done by a custom resource; it fails while
    /// another rule set is active, unless `replaces` names that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The name of a rule set, made outside this spec, that may be active in
    /// the region when this one is activated: this one replaces it, and it is
    /// made active again when this rule set is removed. Only on an active rule set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Rules in order.
    pub rules: Vec<ReceiptRule>,
}

/// A receipt rule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRule {
    /// Letters, digits, `_`, `-`, `.`; starts and ends with a letter or digit; at most 64 characters.
    pub name: String,
    /// Addresses or domains the rule applies to (default: all the account's verified domains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// `required`: bounce mail not received over TLS; `optional` (default).
    #[serde(default)]
    pub tls: ReceiptTls,
    /// Scan for spam and viruses (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<bool>,
    /// Whether the rule is enabled (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Actions in order.
    pub actions: Vec<ReceiptAction>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptTls {
    #[default]
    Optional,
    Required,
}

/// A receipt rule action.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ReceiptAction {
    /// Save the message to S3.
    S3(ReceiptS3),
    /// Publish the message to SNS.
    Sns(ReceiptSns),
    /// Invoke a Lambda function.
    Lambda(ReceiptLambda),
    /// Bounce the message.
    Bounce(ReceiptBounce),
    /// Add a header.
    AddHeader(ReceiptHeader),
    /// Stop evaluating the rule set: `stop: {}` or `stop: { topic: NAME }`.
    Stop(ReceiptStop),
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptS3 {
    /// A bucket under `receiving.buckets`, or an existing bucket's name.
    pub bucket: String,
    /// Object key prefix, e.g. `iot/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// KMS key ARN SES encrypts the message with before storing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$"))]
    pub kms_key: Option<String>,
    /// Topic to notify (a name under `receiving.topics` or a topic ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptSns {
    /// A topic under `receiving.topics` or a topic ARN.
    pub topic: String,
    /// `utf8` (default) or `base64`.
    #[serde(default)]
    pub encoding: super::SnsEncoding,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLambda {
    /// Lambda function ARN. The function's resource policy must allow SES to invoke it
    /// (mailinfra adds an `AWS::Lambda::Permission`).
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9$_-]+)?$"
    ))]
    pub function: String,
    /// `event` (default) or `request_response`.
    #[serde(default)]
    pub invocation: super::Invocation,
    /// Topic to notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBounce {
    /// The address the bounce comes from.
    pub sender: String,
    /// SMTP reply code (default `550`).
    #[serde(default = "default_reply")]
    #[schemars(regex(pattern = r"^[45][0-9][0-9]$"))]
    pub smtp_reply_code: String,
    /// Enhanced status code (default `5.1.1`).
    #[serde(default = "default_status")]
    #[schemars(regex(pattern = r"^[45]\.[0-9]{1,3}\.[0-9]{1,3}$"))]
    pub status_code: String,
    /// The bounce text.
    pub message: String,
    /// Topic to notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

fn default_reply() -> String {
    "550".into()
}
fn default_status() -> String {
    "5.1.1".into()
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptHeader {
    /// Letters, digits and hyphens, at most 50 characters.
    #[schemars(length(min = 1, max = 50), regex(pattern = r"^[a-zA-Z0-9-]+$"))]
    pub name: String,
    /// At most 2048 characters, no line breaks.
    #[schemars(length(max = 2048), regex(pattern = r"^[^\r\n]*$"))]
    pub value: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptStop {
    /// Topic to notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}
