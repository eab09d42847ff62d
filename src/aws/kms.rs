//! kms: the KMS key state `check --live` reads, behind one narrow trait,
//! [`KeyApi`], with the real SDK implementation and an in-memory fake for
//! tests ([`FakeKeys`]; kept here because `fake.rs` is at its size limit).
//!
//! Input: a key ARN or alias ARN from the spec. Output: the key as
//! `DescribeKey` shows it (an alias resolved to its key), or `None` when KMS
//! does not know it (`NotFoundException`); and the key's policy document as
//! `GetKeyPolicy` returns it. `GetKeyPolicy` takes a key id or key ARN, not an
//! alias, and works only in the key's own account (AWS KMS API reference,
//! `GetKeyPolicy`). Calls are retried by the same SDK policy as
//! CloudFormation's ([`super::config`]), and their errors are the same
//! [`crate::aws::AwsError`]s.

use std::future::Future;

use aws_sdk_kms::Client;

use super::config::{Connection, WithRetryPolicy, sdk_config};
use super::error::sdk_err;

/// One key as `DescribeKey` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's ARN (`arn:…:key/ID`), also for a key named by an alias.
    pub arn: String,
    /// `AWS` for an AWS managed key, `CUSTOMER` for yours.
    pub manager: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
}

/// The KMS operations mailinfra uses.
pub trait KeyApi: Sync {
    /// `DescribeKey`; `None` when the key (or alias) does not exist.
    fn describe_key(
        &self,
        key: &str,
    ) -> impl Future<Output = anyhow::Result<Option<KeyInfo>>> + Send;
    /// `GetKeyPolicy` of the key with this key ARN (policy name `default`).
    fn key_policy(&self, key_arn: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// The real thing, for one region.
pub struct SdkKeyApi {
    client: Client,
}

impl SdkKeyApi {
    /// Same region, profile, endpoint and retry policy as the CloudFormation
    /// client of that connection.
    pub async fn connect(c: &Connection) -> SdkKeyApi {
        let conf = aws_sdk_kms::config::Builder::from(&sdk_config(c).await)
            .with_retry_policy(c.retry_backoff)
            .build();
        SdkKeyApi {
            client: Client::from_conf(conf),
        }
    }

    #[cfg(test)]
    pub fn from_client(client: Client) -> SdkKeyApi {
        SdkKeyApi { client }
    }
}

impl KeyApi for SdkKeyApi {
    async fn describe_key(&self, key: &str) -> anyhow::Result<Option<KeyInfo>> {
        let out = match self.client.describe_key().key_id(key).send().await {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_err(&format!("cannot describe the KMS key `{key}`"), e)),
        };
        let Some(m) = out.key_metadata() else {
            return Ok(None);
        };
        Ok(Some(KeyInfo {
            arn: m.arn().unwrap_or_default().to_string(),
            manager: m
                .key_manager()
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            state: m
                .key_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        }))
    }

    async fn key_policy(&self, key_arn: &str) -> anyhow::Result<String> {
        let out = self
            .client
            .get_key_policy()
            .key_id(key_arn)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot read the key policy of `{key_arn}`"), e))?;
        Ok(out.policy().unwrap_or_default().to_string())
    }
}

/// Keys in memory, by the ARN or alias ARN the spec names them with.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct FakeKeys {
    pub keys: std::collections::BTreeMap<String, (KeyInfo, String)>,
    /// Keys whose policy cannot be read (`AccessDeniedException`).
    pub unreadable: std::collections::BTreeSet<String>,
}

#[cfg(test)]
impl KeyApi for FakeKeys {
    async fn describe_key(&self, key: &str) -> anyhow::Result<Option<KeyInfo>> {
        Ok(self.keys.get(key).map(|(info, _)| info.clone()))
    }

    async fn key_policy(&self, key_arn: &str) -> anyhow::Result<String> {
        if self.unreadable.contains(key_arn) {
            anyhow::bail!(
                "cannot read the key policy of `{key_arn}`: access denied (AccessDeniedException)"
            );
        }
        self.keys
            .values()
            .find(|(info, _)| info.arn == key_arn)
            .map(|(_, policy)| policy.clone())
            .ok_or_else(|| anyhow::anyhow!("no key `{key_arn}` (NotFoundException)"))
    }
}
