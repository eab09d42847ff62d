//! Live checks of what a sending region needs beyond the identity itself:
//! its custom MAIL FROM domain (MI5008), the global endpoint (MI5009), the
//! account's standing in each region (MI5010, MI5011), and dedicated IP
//! parity between the regions (MI5020).
//!
//! SES reads the MX record of a MAIL FROM domain and reports what it found as
//! `MailFromDomainStatus`; until it is `SUCCESS` it sends from `amazonses.com`
//! (`on_mx_failure: use_default`) or rejects the mail (`reject`) (SESv2 API
//! Reference, `MailFromAttributes`). Each region has its own MAIL FROM domain
//! ([`crate::model::MailFromDomain`]), so each region is judged on its own.
//!
//! A global endpoint routes `SendEmail` only when `READY` (SESv2 API
//! Reference, `GetMultiRegionEndpoint`: `CREATING`, `READY`, `FAILED`,
//! `DELETING`), and only to the regions it was created with.
//!
//! Failover moves the whole sending load to the other region, which must be
//! out of the sandbox (the sandbox sends only to verified addresses, 200
//! messages a day, one a second), sending, and have the quota to carry it:
//! sending quotas and production access are per account and region (SES
//! Developer Guide, "Request production access", "Managing your Amazon SES
//! sending limits"; the Global Endpoints guide asks for both regions).
//!
//! Dedicated IPs and their pools are per region too. Mail a configuration
//! set sends through a pool goes out from the secondary region's pool of that
//! name after a failover, so each pool of the primary must exist in the
//! secondary, and a standard pool (whose IPs you add and warm up yourself)
//! needs as many warmed IPs there (`WarmupStatus` `DONE`); a managed pool's
//! IPs are SES's to scale and warm (`NOT_APPLICABLE`). The spec names no
//! pools, so the primary's pools are the reference.

use crate::aws::ses::{
    AccountApi, AccountState, EndpointApi, EndpointState, IdentityState, PoolApi, PoolState,
};
use crate::diag::{Code, Diagnostic};
use crate::model::{DomainIdentity, Model};
use crate::spec::MxFailure;

/// The MAIL FROM problem of one identity in `region`, if any: the domain SES
/// has is not the spec's, or SES has not found its MX record.
pub fn mail_from_finding(
    model: &Model,
    region: &str,
    id: &DomainIdentity,
    state: &IdentityState,
) -> Option<Diagnostic> {
    let mf = id.mail_from.as_ref()?;
    let secondary = model.secondary.as_deref() == Some(region);
    let want = mf.domain_in(secondary);
    let name = &id.domain;
    let mx = format!("10 feedback-smtp.{region}.amazonses.com");
    match state.mail_from_domain.as_deref() {
        Some(have) if have.eq_ignore_ascii_case(want) => {}
        have => {
            let have = have.map_or("none".to_string(), |h| format!("`{h}`"));
            return Some(
                Diagnostic::error(
                    Code::MI5008,
                    format!(
                        "identity `{name}` in {region} has MAIL FROM domain {have}, but the spec says `{want}`"
                    ),
                )
                .path(&mf.ptr)
                .help("run `mailinfra apply` to set it; a change made outside the stack is reverted by the next apply"),
            );
        }
    }
    let status = state.mail_from_status.as_deref().unwrap_or("unknown");
    if status == "SUCCESS" {
        return None;
    }
    let meanwhile = match mf.on_mx_failure {
        MxFailure::UseDefault => {
            "until then SES sends its mail with an `amazonses.com` MAIL FROM, which does not align with DMARC through SPF"
        }
        MxFailure::Reject => {
            "until then SES rejects its mail (`on_mx_failure: reject`) with `MailFromDomainNotVerified`"
        }
    };
    Some(
        Diagnostic::error(
            Code::MI5008,
            format!(
                "the MAIL FROM domain `{want}` of identity `{name}` is not working in {region} (status {status})"
            ),
        )
        .path(&mf.ptr)
        .help(format!(
            "SES must find the MX record `{want}. MX {mx}` (and the SPF record `\"v=spf1 include:amazonses.com ~all\"`): publish what `mailinfra dns --live` lists; {meanwhile}"
        )),
    )
}

/// Whether the spec's global endpoint exists in the primary region, is
/// `READY` and routes to the spec's two regions. `None` when the spec has none.
pub async fn endpoint(model: &Model, api: &impl EndpointApi) -> Option<Diagnostic> {
    let g = model.sending.global_endpoint.as_ref()?;
    let read = api.multi_region_endpoint(&g.name).await;
    endpoint_finding(model, read).map(|d| d.key_path(&g.ptr))
}

fn endpoint_finding(
    model: &Model,
    read: anyhow::Result<Option<EndpointState>>,
) -> Option<Diagnostic> {
    let g = model.sending.global_endpoint.as_ref()?;
    let (name, primary) = (&g.name, &model.primary);
    let state = match read {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Some(
                Diagnostic::error(
                    Code::MI5009,
                    format!("the global endpoint `{name}` does not exist in {primary}"),
                )
                .help("run `mailinfra apply` to create it"),
            );
        }
        Err(e) => {
            return Some(
                Diagnostic::error(
                    Code::MI5004,
                    format!("cannot read the global endpoint `{name}` in {primary}: {e:#}"),
                )
                .help("check the credentials and the `ses:GetMultiRegionEndpoint` permission, then run `mailinfra check --live` again"),
            );
        }
    };
    if state.status != "READY" {
        let help = match state.status.as_str() {
            "CREATING" => "SES is still creating it: `SendEmail` with its `EndpointId` fails until it is READY; check again in a few minutes".to_string(),
            _ => format!(
                "it does not route mail: delete it (`aws sesv2 delete-multi-region-endpoint --endpoint-name {name} --region {primary}`) and run `mailinfra apply` to create it again"
            ),
        };
        return Some(
            Diagnostic::error(
                Code::MI5009,
                format!(
                    "the global endpoint `{name}` is {}, not READY",
                    state.status
                ),
            )
            .help(help),
        );
    }
    let mut want: Vec<&str> = std::iter::once(primary.as_str())
        .chain(model.secondary.as_deref())
        .collect();
    let mut have: Vec<&str> = state.regions.iter().map(String::as_str).collect();
    want.sort_unstable();
    have.sort_unstable();
    (want != have).then(|| {
        Diagnostic::error(
            Code::MI5009,
            format!(
                "the global endpoint `{name}` routes to {}, but the spec's regions are {}",
                have.join(" and "),
                want.join(" and ")
            ),
        )
        .help("a global endpoint's regions cannot change: delete it and run `mailinfra apply` to create it with the spec's regions")
    })
}

/// The account's standing in each sending region, read there.
pub async fn accounts<A: AccountApi>(model: &Model, apis: &[(String, A)]) -> Vec<Diagnostic> {
    let mut read = Vec::new();
    for (region, api) in apis {
        read.push((region.clone(), api.account().await));
    }
    account_findings(model, &read)
}

fn region_ptr(model: &Model, region: &str) -> &'static str {
    if model.secondary.as_deref() == Some(region) {
        "/regions/secondary"
    } else {
        "/regions/primary"
    }
}

fn account_findings(
    model: &Model,
    read: &[(String, anyhow::Result<AccountState>)],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (region, r) in read {
        let ptr = region_ptr(model, region);
        let a = match r {
            Ok(a) => a,
            Err(e) => {
                out.push(
                    Diagnostic::error(Code::MI5004, format!("cannot read the SES account in {region}: {e:#}"))
                        .path(ptr)
                        .help("check the credentials and the `ses:GetAccount` permission, then run `mailinfra check --live` again"),
                );
                continue;
            }
        };
        if !a.production_access {
            out.push(
                Diagnostic::error(Code::MI5010, format!("SES in {region} is in the sandbox"))
                    .path(ptr)
                    .help(format!(
                        "in the sandbox SES sends only to verified addresses, at most 200 messages a day and 1 a second: request production access for {region} (SES console, Account dashboard, or `aws sesv2 put-account-details --production-access-enabled … --region {region}`); each region is requested on its own"
                    )),
            );
        }
        let status = a.enforcement_status.as_deref().unwrap_or("HEALTHY");
        if !a.sending_enabled || status != "HEALTHY" {
            out.push(
                Diagnostic::error(
                    Code::MI5010,
                    format!(
                        "SES in {region} {} (enforcement status {status})",
                        if a.sending_enabled { "is under review" } else { "has sending paused" }
                    ),
                )
                .path(ptr)
                .help("see the SES console's reputation dashboard for the cause; `aws sesv2 put-account-sending-attributes --sending-enabled` resumes sending you paused yourself"),
            );
        }
    }
    if let ([(p, Ok(pa)), (s, Ok(sa))], Some(_)) = (read, &model.secondary)
        && (sa.max_24_hour_send < pa.max_24_hour_send || sa.max_send_rate < pa.max_send_rate)
    {
        out.push(
            Diagnostic::error(
                Code::MI5011,
                format!(
                    "{s} can carry less than {p}: {} messages a day at {} a second, against {} at {}",
                    sa.max_24_hour_send, sa.max_send_rate, pa.max_24_hour_send, pa.max_send_rate
                ),
            )
            .path("/regions/secondary")
            .help(format!(
                "when the global endpoint fails over, {s} takes {p}'s whole load: request a quota increase for {s} (Service Quotas, `Sending quota` and `Maximum send rate`)"
            )),
        );
    }
    out
}

/// Dedicated IP parity: the pools of the primary region read there and in
/// the secondary. Nothing to judge without a secondary region.
pub async fn dedicated_ips<A: PoolApi>(model: &Model, apis: &[(String, A)]) -> Vec<Diagnostic> {
    if model.secondary.is_none() {
        return Vec::new();
    }
    let mut read = Vec::new();
    for (region, api) in apis {
        read.push((region.clone(), api.dedicated_pools().await));
    }
    pool_findings(&read)
}

fn pool_findings(read: &[(String, anyhow::Result<Vec<PoolState>>)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (region, r) in read {
        if let Err(e) = r {
            out.push(
                Diagnostic::error(Code::MI5004, format!("cannot read the dedicated IP pools in {region}: {e:#}"))
                    .help("check the credentials and the `ses:ListDedicatedIpPools`, `ses:GetDedicatedIpPool` and `ses:GetDedicatedIps` permissions, then run `mailinfra check --live` again"),
            );
        }
    }
    let [(p, Ok(primary)), (s, Ok(secondary))] = read else {
        return out;
    };
    for pool in primary {
        let name = &pool.name;
        let Some(there) = secondary.iter().find(|o| o.name == pool.name) else {
            out.push(
                Diagnostic::error(
                    Code::MI5020,
                    format!("dedicated IP pool `{name}` exists in {p} but not in {s}"),
                )
                .path("/regions/secondary")
                .help(format!(
                    "after a failover, mail sent through `{name}` has no pool in {s}: create it there (`aws sesv2 create-dedicated-ip-pool --pool-name {name} --scaling-mode {} --region {s}`){}",
                    if pool.scaling_mode.is_empty() { "STANDARD" } else { &pool.scaling_mode },
                    if pool.scaling_mode == "MANAGED" { "" } else { " and add and warm up as many dedicated IPs" }
                )),
            );
            continue;
        };
        if pool.scaling_mode == "MANAGED" || there.scaling_mode == "MANAGED" {
            continue;
        }
        let (want, have) = (pool.warmed(), there.warmed());
        if have < want {
            out.push(
                Diagnostic::error(
                    Code::MI5020,
                    format!(
                        "dedicated IP pool `{name}` has {have} warmed IP(s) in {s}, against {want} in {p}"
                    ),
                )
                .path("/regions/secondary")
                .help(format!(
                    "after a failover, {s} sends {p}'s whole volume from fewer warmed IPs, and cold IPs are throttled or filtered by receivers: request dedicated IPs in {s}, move them into `{name}` and warm them up before you rely on the failover (or make the pool MANAGED)"
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "version: 1\nproject: p\nregions: { primary: us-east-1, secondary: eu-west-1 }\n\
        global_endpoint: { name: p-global }\n\
        dns: { example.com: { route53_zone_id: Z0123456789ABCDEFGHIJ } }\n\
        identities:\n  \
        example.com: { mail_from: bounce.example.com }\n  \
        strict.example.com: { mail_from: { domain: bounce.strict.example.com, on_mx_failure: reject, secondary: eu.strict.example.com } }\n";

    fn model() -> Model {
        crate::compile::sending::tests::model(SPEC)
    }

    fn state(domain: Option<&str>, status: &str) -> IdentityState {
        IdentityState {
            verified_for_sending: true,
            mail_from_domain: domain.map(str::to_string),
            mail_from_status: Some(status.into()),
            ..IdentityState::default()
        }
    }

    fn judge(region: &str, name: &str, s: IdentityState) -> Option<Diagnostic> {
        let m = model();
        let id = m.identities.iter().find(|i| i.domain == name).unwrap();
        mail_from_finding(&m, region, id, &s)
    }

    #[test]
    fn each_region_is_judged_against_its_own_mail_from_domain() {
        assert!(
            judge(
                "us-east-1",
                "example.com",
                state(Some("bounce.example.com"), "SUCCESS")
            )
            .is_none()
        );
        assert!(
            judge(
                "eu-west-1",
                "example.com",
                state(Some("eu-west-1.bounce.example.com"), "SUCCESS")
            )
            .is_none()
        );
        // The primary's domain in the secondary is the old shared setup.
        let d = judge(
            "eu-west-1",
            "example.com",
            state(Some("bounce.example.com"), "SUCCESS"),
        )
        .unwrap();
        assert_eq!(d.code, Code::MI5008);
        assert_eq!(
            d.message,
            "identity `example.com` in eu-west-1 has MAIL FROM domain `bounce.example.com`, but the spec says `eu-west-1.bounce.example.com`"
        );
        let d = judge("eu-west-1", "strict.example.com", state(None, "SUCCESS")).unwrap();
        assert!(
            d.message
                .contains("has MAIL FROM domain none, but the spec says `eu.strict.example.com`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn a_pending_mail_from_names_the_region_s_record_and_what_ses_does_meanwhile() {
        let d = judge(
            "eu-west-1",
            "strict.example.com",
            state(Some("eu.strict.example.com"), "PENDING"),
        )
        .unwrap();
        assert_eq!(d.code, Code::MI5008);
        assert_eq!(
            d.message,
            "the MAIL FROM domain `eu.strict.example.com` of identity `strict.example.com` is not working in eu-west-1 (status PENDING)"
        );
        let help = d.help.unwrap();
        assert!(
            help.contains("`eu.strict.example.com. MX 10 feedback-smtp.eu-west-1.amazonses.com`"),
            "{help}"
        );
        assert!(help.contains("rejects its mail"), "{help}");
        let d = judge(
            "us-east-1",
            "example.com",
            state(Some("bounce.example.com"), "FAILED"),
        )
        .unwrap();
        assert!(d.help.unwrap().contains("`amazonses.com` MAIL FROM"));
    }

    #[test]
    fn an_identity_without_mail_from_has_nothing_to_judge() {
        let m = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\nidentities: { example.com: {} }\n",
        );
        assert!(
            mail_from_finding(&m, "us-east-1", &m.identities[0], &state(None, "PENDING")).is_none()
        );
    }

    fn ready(regions: &[&str]) -> anyhow::Result<Option<EndpointState>> {
        Ok(Some(EndpointState {
            id: Some("abc123.xyz".into()),
            status: "READY".into(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
        }))
    }

    #[test]
    fn a_ready_endpoint_with_the_spec_s_regions_is_fine_in_any_order() {
        assert!(endpoint_finding(&model(), ready(&["eu-west-1", "us-east-1"])).is_none());
    }

    #[test]
    fn an_endpoint_not_ready_missing_or_on_other_regions_is_mi5009() {
        let m = model();
        let creating = Ok(Some(EndpointState {
            status: "CREATING".into(),
            ..EndpointState::default()
        }));
        let d = endpoint_finding(&m, creating).unwrap();
        assert_eq!(d.code, Code::MI5009);
        assert_eq!(
            d.message,
            "the global endpoint `p-global` is CREATING, not READY"
        );
        let failed = Ok(Some(EndpointState {
            status: "FAILED".into(),
            ..EndpointState::default()
        }));
        assert!(
            endpoint_finding(&m, failed)
                .unwrap()
                .help
                .unwrap()
                .contains("delete-multi-region-endpoint")
        );
        let d = endpoint_finding(&m, Ok(None)).unwrap();
        assert_eq!(
            d.message,
            "the global endpoint `p-global` does not exist in us-east-1"
        );
        let d = endpoint_finding(&m, ready(&["us-east-1", "us-west-2"])).unwrap();
        assert_eq!(
            d.message,
            "the global endpoint `p-global` routes to us-east-1 and us-west-2, but the spec's regions are eu-west-1 and us-east-1"
        );
        let d = endpoint_finding(&m, Err(anyhow::anyhow!("AccessDeniedException: no"))).unwrap();
        assert_eq!(d.code, Code::MI5004);
    }

    fn account(production: bool, day: f64, rate: f64) -> anyhow::Result<AccountState> {
        Ok(AccountState {
            production_access: production,
            sending_enabled: true,
            enforcement_status: Some("HEALTHY".into()),
            max_24_hour_send: day,
            max_send_rate: rate,
        })
    }

    fn pool(name: &str, mode: &str, warmed: usize, warming: usize) -> PoolState {
        let ip = |n: usize, status: &str| crate::aws::ses::IpState {
            ip: format!("192.0.2.{n}"),
            warmup_status: status.into(),
            warmup_percentage: if status == "DONE" { 100 } else { 40 },
        };
        PoolState {
            name: name.into(),
            scaling_mode: mode.into(),
            ips: (0..warmed)
                .map(|n| ip(n, "DONE"))
                .chain((0..warming).map(|n| ip(100 + n, "IN_PROGRESS")))
                .collect(),
        }
    }

    #[test]
    fn a_secondary_without_a_pool_or_with_fewer_warmed_ips_is_mi5020() {
        let read = [
            (
                "us-east-1".to_string(),
                Ok(vec![
                    pool("marketing", "STANDARD", 3, 0),
                    pool("transactional", "STANDARD", 2, 0),
                    pool("auto", "MANAGED", 0, 0),
                    pool("bulk", "MANAGED", 0, 0),
                ]),
            ),
            (
                "eu-west-1".to_string(),
                Ok(vec![
                    // Warming IPs do not count.
                    pool("marketing", "STANDARD", 1, 2),
                    pool("transactional", "STANDARD", 2, 0),
                    pool("auto", "MANAGED", 0, 0),
                ]),
            ),
        ];
        let d = pool_findings(&read);
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "MI5020",
                    "dedicated IP pool `marketing` has 1 warmed IP(s) in eu-west-1, against 3 in us-east-1"
                ),
                (
                    "MI5020",
                    "dedicated IP pool `bulk` exists in us-east-1 but not in eu-west-1"
                ),
            ]
        );
        assert!(
            d[1].help
                .as_deref()
                .unwrap()
                .contains("--scaling-mode MANAGED")
        );
        assert_eq!(d[0].path, "/regions/secondary");
        let failed = [
            (
                "us-east-1".to_string(),
                Ok(vec![pool("p", "STANDARD", 1, 0)]),
            ),
            ("eu-west-1".to_string(), Err(anyhow::anyhow!("denied"))),
        ];
        let d = pool_findings(&failed);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::MI5004);
    }

    /// A region's pools, or a read that fails.
    struct FakePools(Option<Vec<PoolState>>);

    impl PoolApi for FakePools {
        async fn dedicated_pools(&self) -> anyhow::Result<Vec<PoolState>> {
            self.0
                .clone()
                .ok_or_else(|| anyhow::anyhow!("AccessDeniedException"))
        }
    }

    #[tokio::test]
    async fn dedicated_ips_are_read_in_each_region_and_only_judged_with_a_secondary() {
        let apis = [
            (
                "us-east-1".to_string(),
                FakePools(Some(vec![pool("p", "STANDARD", 2, 0)])),
            ),
            ("eu-west-1".to_string(), FakePools(Some(vec![]))),
        ];
        let d = dedicated_ips(&model(), &apis).await;
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, Code::MI5020);
        let single = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\nidentities: { example.com: {} }\n",
        );
        let apis = [("us-east-1".to_string(), FakePools(None))];
        assert!(dedicated_ips(&single, &apis).await.is_empty());
    }

    #[test]
    fn both_regions_out_of_the_sandbox_with_equal_quotas_are_ready() {
        let read = [
            ("us-east-1".to_string(), account(true, 50_000.0, 14.0)),
            ("eu-west-1".to_string(), account(true, 50_000.0, 14.0)),
        ];
        assert!(account_findings(&model(), &read).is_empty());
    }

    #[test]
    fn a_sandboxed_paused_or_smaller_region_cannot_take_the_failover() {
        let m = model();
        let read = [
            ("us-east-1".to_string(), account(true, 50_000.0, 14.0)),
            ("eu-west-1".to_string(), account(false, 200.0, 1.0)),
        ];
        let d = account_findings(&m, &read);
        let codes: Vec<Code> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::MI5010, Code::MI5011], "{d:?}");
        assert_eq!(d[0].message, "SES in eu-west-1 is in the sandbox");
        assert_eq!(d[0].path, "/regions/secondary");
        assert_eq!(
            d[1].message,
            "eu-west-1 can carry less than us-east-1: 200 messages a day at 1 a second, against 50000 at 14"
        );
        let paused = Ok(AccountState {
            sending_enabled: false,
            enforcement_status: Some("SHUTDOWN".into()),
            ..account(true, 50_000.0, 14.0).unwrap()
        });
        let read = [
            ("us-east-1".to_string(), paused),
            ("eu-west-1".to_string(), account(true, 50_000.0, 14.0)),
        ];
        let d = account_findings(&m, &read);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0].message,
            "SES in us-east-1 has sending paused (enforcement status SHUTDOWN)"
        );
        assert_eq!(d[0].path, "/regions/primary");
        let read = [("us-east-1".to_string(), Err(anyhow::anyhow!("denied")))];
        assert_eq!(account_findings(&m, &read)[0].code, Code::MI5004);
    }
}
