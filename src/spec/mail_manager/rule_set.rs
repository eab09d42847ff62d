//! Rule sets: what happens to mail an ingress endpoint accepted, as ordered
//! rules of conditions and actions (archive, relay, deliver, publish, bounce…).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    AddressListTest, AnalysisTest, CertificateTest, DmarcTest, HeaderTest, IpTest, SizeTest,
    StringTest, VerdictTest,
};
use crate::spec::OneOrMany;

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
    SendToInternet(SendTarget),
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

/// Sending onward through SES: `{}`, or `{ identities, role, on_failure }`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTarget {
    /// The identities the generated role may send as (SES authorizes the
    /// message's sender against one of them): a list of declared identities,
    /// or `"*"` for any (written explicitly, never a default). Default: every
    /// declared identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<crate::spec::RoleIdentities>,
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
