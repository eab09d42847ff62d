//! Ingress endpoints: the SMTP listeners that receive mail, with their
//! authentication, TLS policy, network and MX domains.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// `auth` only: `generate` (the template creates a random password in a
    /// secret encrypted with a generated KMS key that lets Mail Manager
    /// decrypt it), `{ generate: { kms_key: ARN } }` (the same, encrypted with
    /// your key), or `{ secret: ARN }` (your Secrets Manager secret holding
    /// the password).
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
    /// MX preference (default 10): a number for the endpoint in the first
    /// region of `mail_manager.regions`, each following region's endpoint 10
    /// more (senders fail over in the order of the regions), or one number per
    /// region (equal numbers share the load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mx_priority: Option<super::MxPriority>,
}

/// SMTP password source.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum IngressPassword {
    /// `generate`: a Secrets Manager secret with a random password is created.
    Generate(GenerateKeyword),
    /// An existing secret.
    Secret(MailManagerSecret),
    /// `{ generate: { kms_key: ARN } }`: a generated password encrypted with your key.
    GenerateWithKey(GeneratedPassword),
}

/// A generated password encrypted with a customer managed key of yours.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GeneratedPassword {
    /// `{ kms_key: ARN }`: the key that encrypts the generated secret.
    pub generate: GenerateOptions,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenerateOptions {
    /// ARN of the symmetric customer managed KMS key that encrypts the
    /// secret. Its key policy must let SES decrypt through Secrets Manager
    /// (see `mailinfra explain MI4008`).
    #[schemars(regex(
        pattern = r"^arn:aws(|-cn|-us-gov|-eusc):kms:[a-z0-9-]{1,20}:[0-9]{12}:(key|alias)/.+$"
    ))]
    pub kms_key: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GenerateKeyword {
    Generate,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MailManagerSecret {
    /// Secrets Manager secret ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf`).
    /// Checked strictly; a value pasted here by mistake is never repeated in
    /// a diagnostic.
    #[schemars(length(min = 1, max = 2048))]
    pub secret: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrustStore {
    /// PEM CA certificates: `CERTIFICATE` blocks only (a private key here is
    /// refused, never copied into the template).
    #[schemars(length(min = 1, max = 500000))]
    pub ca: String,
    /// PEM certificate revocation lists: `X509 CRL` blocks only.
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
