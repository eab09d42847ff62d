//! ses: the SES (SESv2) state CloudFormation does not show, behind one narrow
//! trait, [`MailApi`], with the real SDK implementation. Used by `check --live`
//! (are the identities verified, is DKIM replicated) and by plan's pre-flight
//! read (does an identity already exist outside the stack).
//!
//! Input: identity names. Output: each identity's state as SES reports it, or
//! `None` when SES does not know it (`NotFoundException`). Calls are retried
//! by the same SDK policy as CloudFormation's ([`super::config`]: throttling
//! such as `TooManyRequestsException`, 5xx), and their errors are the same
//! [`crate::aws::AwsError`]s.

use std::future::Future;

use aws_sdk_sesv2::Client;
use futures_util::StreamExt as _;

use super::config::{Connection, WithRetryPolicy, sdk_config};
use super::error::sdk_err;

/// How many identities are read at once. SES throttles its management API
/// per account; the SDK backs off on `TooManyRequestsException`.
pub const READ_CONCURRENCY: usize = 8;

/// One email identity as `GetEmailIdentity` shows it (`ListEmailIdentities`
/// shows the name, type and verification only). Enumerations are kept as the
/// API spells them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityState {
    /// The identity: a domain or an email address.
    pub name: String,
    /// `DOMAIN`, `EMAIL_ADDRESS` or `MANAGED_DOMAIN`.
    pub identity_type: String,
    /// Whether SES lets you send from it (`VerifiedForSendingStatus`).
    pub verified_for_sending: bool,
    /// `PENDING`, `SUCCESS`, `FAILED`, `TEMPORARY_FAILURE` or `NOT_STARTED`.
    pub verification_status: Option<String>,
    /// The DKIM `Status`: same values as `verification_status`.
    pub dkim_status: Option<String>,
    /// Where the DKIM keys come from (`SigningAttributesOrigin`): `AWS_SES`
    /// (Easy DKIM), `EXTERNAL` (BYODKIM) or `AWS_SES_<REGION>` (a DEED replica
    /// of the identity in that region, e.g. `AWS_SES_US_EAST_1`).
    pub dkim_origin: Option<String>,
    /// Whether SES signs mail from it with DKIM.
    pub dkim_signing_enabled: bool,
    /// Its custom MAIL FROM domain, when it has one (`MailFromAttributes`).
    pub mail_from_domain: Option<String>,
    /// Whether SES found the MAIL FROM domain's MX record:
    /// `MailFromDomainStatus`, `PENDING`, `SUCCESS`, `FAILED` or
    /// `TEMPORARY_FAILURE`.
    pub mail_from_status: Option<String>,
}

/// A global endpoint as `GetMultiRegionEndpoint` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointState {
    /// The `EndpointId` applications pass to `SendEmail`.
    pub id: Option<String>,
    /// `CREATING`, `READY`, `FAILED` or `DELETING`.
    pub status: String,
    /// The regions it routes to.
    pub regions: Vec<String>,
}

/// The account's SES standing in one region, as `GetAccount` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountState {
    /// Out of the sandbox (`ProductionAccessEnabled`).
    pub production_access: bool,
    /// Whether SES sends for the account in this region (`SendingEnabled`).
    pub sending_enabled: bool,
    /// `HEALTHY`, `PROBATION` or `SHUTDOWN` (`EnforcementStatus`).
    pub enforcement_status: Option<String>,
    /// Messages per 24 hours (`SendQuota.Max24HourSend`).
    pub max_24_hour_send: f64,
    /// Messages per second (`SendQuota.MaxSendRate`).
    pub max_send_rate: f64,
}

/// One dedicated IP pool as `GetDedicatedIpPool` and `GetDedicatedIps` show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    pub name: String,
    /// `STANDARD` (you add and warm the IPs) or `MANAGED` (SES does).
    pub scaling_mode: String,
    pub ips: Vec<IpState>,
}

/// One dedicated IP of a pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpState {
    pub ip: String,
    /// `IN_PROGRESS`, `DONE`, or `NOT_APPLICABLE` (a managed pool's IP).
    pub warmup_status: String,
    /// 0–100 for a standard IP; -1 in a managed pool.
    pub warmup_percentage: i32,
}

impl PoolState {
    /// How many of its IPs have finished warming up.
    pub fn warmed(&self) -> usize {
        self.ips
            .iter()
            .filter(|i| i.warmup_status == "DONE")
            .count()
    }
}

/// The dedicated IP read `check --live` makes in each sending region.
pub trait PoolApi: Sync {
    /// Every dedicated IP pool of the region with its IPs
    /// (`ListDedicatedIpPools`, then `GetDedicatedIpPool` and
    /// `GetDedicatedIps` per pool, every page), in the order SES lists them.
    fn dedicated_pools(&self) -> impl Future<Output = anyhow::Result<Vec<PoolState>>> + Send;
}

/// The SES account read `check --live` makes in each sending region.
pub trait AccountApi: Sync {
    /// `GetAccount`.
    fn account(&self) -> impl Future<Output = anyhow::Result<AccountState>> + Send;
}

/// The SES global-endpoint read `check --live` makes.
pub trait EndpointApi: Sync {
    /// `GetMultiRegionEndpoint`; `None` when no endpoint has that name here.
    fn multi_region_endpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = anyhow::Result<Option<EndpointState>>> + Send;
}

/// The SES operations mailinfra uses.
pub trait MailApi: Sync {
    /// `GetEmailIdentity`; `None` when the identity does not exist in this region.
    fn email_identity(
        &self,
        name: &str,
    ) -> impl Future<Output = anyhow::Result<Option<IdentityState>>> + Send;
    /// Every identity of the account in this region (`ListEmailIdentities`,
    /// every page of 1,000): one call per thousand identities, where reading
    /// them one by one would take one call each.
    fn list_identities(&self) -> impl Future<Output = anyhow::Result<Vec<IdentityState>>> + Send;
}

/// The real thing, for one region.
pub struct SdkMailApi {
    client: Client,
}

impl SdkMailApi {
    /// Same region, profile, endpoint and retry policy as the CloudFormation
    /// client of that connection (an endpoint override applies to every service).
    pub async fn connect(c: &Connection) -> SdkMailApi {
        let conf = aws_sdk_sesv2::config::Builder::from(&sdk_config(c).await)
            .with_retry_policy(c.retry_backoff)
            .build();
        SdkMailApi {
            client: Client::from_conf(conf),
        }
    }

    pub fn from_client(client: Client) -> SdkMailApi {
        SdkMailApi { client }
    }
}

impl MailApi for SdkMailApi {
    async fn email_identity(&self, name: &str) -> anyhow::Result<Option<IdentityState>> {
        let out = match self
            .client
            .get_email_identity()
            .email_identity(name)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(sdk_err(&format!("cannot read SES identity `{name}`"), e)),
        };
        let dkim = out.dkim_attributes();
        Ok(Some(IdentityState {
            name: name.to_string(),
            identity_type: out
                .identity_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            verified_for_sending: out.verified_for_sending_status(),
            verification_status: out.verification_status().map(|s| s.as_str().to_string()),
            dkim_status: dkim
                .and_then(|d| d.status())
                .map(|s| s.as_str().to_string()),
            dkim_origin: dkim
                .and_then(|d| d.signing_attributes_origin())
                .map(|o| o.as_str().to_string()),
            dkim_signing_enabled: dkim.is_some_and(|d| d.signing_enabled()),
            mail_from_domain: out
                .mail_from_attributes()
                .map(|m| m.mail_from_domain().to_string())
                .filter(|d| !d.is_empty()),
            mail_from_status: out
                .mail_from_attributes()
                .map(|m| m.mail_from_domain_status().as_str().to_string()),
        }))
    }

    async fn list_identities(&self) -> anyhow::Result<Vec<IdentityState>> {
        // This paginator has no item view: pages of 1,000, flattened here.
        let pages = self
            .client
            .list_email_identities()
            .page_size(1000)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err("cannot list the SES identities", e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.email_identities())
            .map(|i| {
                let status = i.verification_status().map(|s| s.as_str().to_string());
                IdentityState {
                    name: i.identity_name().unwrap_or_default().to_string(),
                    identity_type: i
                        .identity_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    verified_for_sending: i.sending_enabled()
                        && status.as_deref() == Some("SUCCESS"),
                    verification_status: status,
                    ..IdentityState::default()
                }
            })
            .collect())
    }
}

impl AccountApi for SdkMailApi {
    async fn account(&self) -> anyhow::Result<AccountState> {
        let out = self
            .client
            .get_account()
            .send()
            .await
            .map_err(|e| sdk_err("cannot read the SES account", e))?;
        let quota = out.send_quota();
        Ok(AccountState {
            production_access: out.production_access_enabled(),
            sending_enabled: out.sending_enabled(),
            enforcement_status: out.enforcement_status().map(str::to_string),
            max_24_hour_send: quota.map_or(0.0, |q| q.max24_hour_send()),
            max_send_rate: quota.map_or(0.0, |q| q.max_send_rate()),
        })
    }
}

impl PoolApi for SdkMailApi {
    async fn dedicated_pools(&self) -> anyhow::Result<Vec<PoolState>> {
        // Pages of at most 100 names; each pool is then read on its own.
        let pages: Vec<_> = self
            .client
            .list_dedicated_ip_pools()
            .page_size(100)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err("cannot list the dedicated IP pools", e))?;
        let mut out = Vec::new();
        for name in pages.iter().flat_map(|p| p.dedicated_ip_pools()) {
            let pool = self
                .client
                .get_dedicated_ip_pool()
                .pool_name(name)
                .send()
                .await
                .map_err(|e| sdk_err(&format!("cannot read the dedicated IP pool `{name}`"), e))?;
            let ips: Vec<_> = self
                .client
                .get_dedicated_ips()
                .pool_name(name)
                .page_size(100)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| {
                    sdk_err(
                        &format!("cannot read the IPs of the dedicated IP pool `{name}`"),
                        e,
                    )
                })?;
            out.push(PoolState {
                name: name.clone(),
                scaling_mode: pool
                    .dedicated_ip_pool()
                    .map(|p| p.scaling_mode().as_str().to_string())
                    .unwrap_or_default(),
                ips: ips
                    .iter()
                    .flat_map(|p| p.dedicated_ips())
                    .map(|i| IpState {
                        ip: i.ip().to_string(),
                        warmup_status: i.warmup_status().as_str().to_string(),
                        warmup_percentage: i.warmup_percentage(),
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}

impl EndpointApi for SdkMailApi {
    async fn multi_region_endpoint(&self, name: &str) -> anyhow::Result<Option<EndpointState>> {
        let out = match self
            .client
            .get_multi_region_endpoint()
            .endpoint_name(name)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => {
                return Err(sdk_err(
                    &format!("cannot read the global endpoint `{name}`"),
                    e,
                ));
            }
        };
        Ok(Some(EndpointState {
            id: out.endpoint_id().map(str::to_string),
            status: out
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            regions: out
                .routes()
                .iter()
                .map(|r| r.region().to_string())
                .collect(),
        }))
    }
}

/// Reads many identities, [`READ_CONCURRENCY`] at a time; results in the
/// order of `names`.
pub async fn read_identities(
    api: &impl MailApi,
    names: &[String],
) -> Vec<anyhow::Result<Option<IdentityState>>> {
    let mut out: Vec<(usize, anyhow::Result<Option<IdentityState>>)> =
        futures_util::stream::iter(names.iter().enumerate())
            .map(|(i, name)| async move { (i, api.email_identity(name).await) })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Plan's pre-flight read: the identities among `names` that already exist in
/// SES (made by hand, or by another stack or tool), in the order of `names`.
/// Creating one of them through CloudFormation would fail mid-apply. One
/// listing of the account's identities answers for any number of names
/// (domains compare without regard to case, as DNS does).
pub async fn existing_identities(
    api: &impl MailApi,
    names: &[String],
) -> anyhow::Result<Vec<(String, IdentityState)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let listed: std::collections::HashMap<String, IdentityState> = api
        .list_identities()
        .await?
        .into_iter()
        .map(|i| (i.name.to_ascii_lowercase(), i))
        .collect();
    Ok(names
        .iter()
        .filter_map(|n| Some((n.clone(), listed.get(&n.to_ascii_lowercase())?.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::aws::AwsError;

    /// Identities by name; a name in `broken` always fails. (Throttled reads
    /// are retried inside the SDK client: `tests/it/ses_mocks.rs`.)
    #[derive(Default)]
    struct Fake {
        known: BTreeMap<String, IdentityState>,
        broken: Vec<String>,
        in_flight: Mutex<(usize, usize)>,
        listings: Mutex<usize>,
    }

    impl MailApi for Fake {
        async fn email_identity(&self, name: &str) -> anyhow::Result<Option<IdentityState>> {
            {
                let mut f = self.in_flight.lock().unwrap();
                f.0 += 1;
                f.1 = f.1.max(f.0);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.in_flight.lock().unwrap().0 -= 1;
            if self.broken.iter().any(|b| b == name) {
                return Err(anyhow::Error::new(AwsError {
                    code: Some("AccessDeniedException".into()),
                    message: format!("cannot read SES identity `{name}`"),
                    transient: false,
                }));
            }
            Ok(self.known.get(name).cloned())
        }

        async fn list_identities(&self) -> anyhow::Result<Vec<IdentityState>> {
            *self.listings.lock().unwrap() += 1;
            Ok(self
                .known
                .iter()
                .map(|(name, s)| IdentityState {
                    name: name.clone(),
                    ..s.clone()
                })
                .collect())
        }
    }

    fn state() -> IdentityState {
        IdentityState {
            identity_type: "DOMAIN".into(),
            verified_for_sending: true,
            ..Default::default()
        }
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("d{i:03}.example")).collect()
    }

    #[tokio::test]
    async fn identities_are_read_in_order_with_bounded_concurrency() {
        let all = names(40);
        let mut fake = Fake::default();
        for n in [&all[31], &all[3], &all[17]] {
            fake.known.insert(n.clone(), state());
        }
        let read = read_identities(&fake, &all).await;
        let got: Vec<usize> = read
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Ok(Some(_))))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, [3, 17, 31]);
        let max = fake.in_flight.lock().unwrap().1;
        assert!(max > 1 && max <= READ_CONCURRENCY, "{max} reads at once");
    }

    #[tokio::test]
    async fn a_failed_read_is_an_error_not_a_missing_identity() {
        let all = names(5);
        let fake = Fake {
            broken: vec![all[2].clone()],
            ..Default::default()
        };
        let read = read_identities(&fake, &all).await;
        let err = read[2].as_ref().unwrap_err();
        assert_eq!(err.to_string(), "cannot read SES identity `d002.example`");
        assert!(matches!(read[1], Ok(None)));
    }

    #[tokio::test]
    async fn existing_identities_come_from_one_listing() {
        let all = names(40);
        let mut fake = Fake::default();
        for n in [&all[31], &all[3]] {
            fake.known.insert(n.clone(), state());
        }
        // Domains compare without regard to case.
        fake.known.insert("D017.EXAMPLE".into(), state());
        fake.known.insert("unrelated.example".into(), state());
        let found = existing_identities(&fake, &all).await.unwrap();
        let got: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(got, ["d003.example", "d017.example", "d031.example"]);
        assert_eq!(*fake.listings.lock().unwrap(), 1);
        assert_eq!(
            fake.in_flight.lock().unwrap().1,
            0,
            "no identity read one by one"
        );
    }
}
