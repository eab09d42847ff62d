//! `SdkMailApi` (the real SESv2 request/response code) against operation-level
//! mocks of the SDK client (`aws-smithy-mocks`): how `GetEmailIdentity`
//! answers map to `IdentityState`, a missing identity, a DEED replica,
//! throttling and a denied read. The clients have the real retry policy
//! (only its backoff is shorter): call counts count attempts.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::operation::get_multi_region_endpoint::GetMultiRegionEndpointOutput;
use aws_sdk_sesv2::types::{
    BehaviorOnMxFailure, DkimAttributes, DkimSigningAttributesOrigin, DkimStatus, IdentityType,
    MailFromAttributes, MailFromDomainStatus, Route, Status, VerificationStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use mailinfra::aws::WithRetryPolicy as _;
use mailinfra::aws::ses::{
    EndpointApi, EndpointState, IdentityState, MailApi, SdkMailApi, existing_identities,
    read_identities,
};

use crate::common;

const THROTTLED: &str = r#"{"__type":"TooManyRequestsException","message":"Too many requests"}"#;
const NOT_FOUND: &str =
    r#"{"__type":"NotFoundException","message":"Email identity gone.example does not exist."}"#;
const DENIED: &str = r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: ses:GetEmailIdentity"}"#;

fn client(rules: &[&Rule]) -> SdkMailApi {
    SdkMailApi::from_client(mock_client!(
        aws_sdk_sesv2,
        RuleMode::MatchAny,
        rules,
        |c| c
            .with_retry_policy(Some(common::MOCK_BACKOFF))
            .retry_partition(common::own_retry_quota())
    ))
}

fn output(
    verified: bool,
    status: VerificationStatus,
    dkim: DkimAttributes,
) -> GetEmailIdentityOutput {
    GetEmailIdentityOutput::builder()
        .identity_type(IdentityType::Domain)
        .verified_for_sending_status(verified)
        .verification_status(status)
        .dkim_attributes(dkim)
        .build()
}

fn dkim(status: DkimStatus, origin: DkimSigningAttributesOrigin) -> DkimAttributes {
    DkimAttributes::builder()
        .signing_enabled(true)
        .status(status)
        .signing_attributes_origin(origin)
        .tokens("t1")
        .build()
}

/// A rule answering for one identity only.
fn identity(name: &'static str, out: fn() -> GetEmailIdentityOutput) -> Rule {
    mock!(Client::get_email_identity)
        .match_requests(move |r| r.email_identity() == Some(name))
        .then_output(out)
}

#[tokio::test]
async fn a_verified_identity_maps_every_field() {
    let rule = identity("ok.example", || {
        let mut out = output(
            true,
            VerificationStatus::Success,
            dkim(DkimStatus::Success, DkimSigningAttributesOrigin::AwsSes),
        );
        out.mail_from_attributes = Some(
            MailFromAttributes::builder()
                .mail_from_domain("bounce.ok.example")
                .mail_from_domain_status(MailFromDomainStatus::Pending)
                .behavior_on_mx_failure(BehaviorOnMxFailure::RejectMessage)
                .build()
                .unwrap(),
        );
        out
    });
    let api = client(&[&rule]);
    let state = api.email_identity("ok.example").await.unwrap();
    assert_eq!(
        state,
        Some(IdentityState {
            name: "ok.example".into(),
            identity_type: "DOMAIN".into(),
            verified_for_sending: true,
            verification_status: Some("SUCCESS".into()),
            dkim_status: Some("SUCCESS".into()),
            dkim_origin: Some("AWS_SES".into()),
            dkim_signing_enabled: true,
            mail_from_domain: Some("bounce.ok.example".into()),
            mail_from_status: Some("PENDING".into()),
        })
    );
}

#[tokio::test]
async fn a_global_endpoint_maps_its_id_status_and_routes() {
    let rule = mock!(Client::get_multi_region_endpoint)
        .match_requests(|r| r.endpoint_name() == Some("p-global"))
        .then_output(|| {
            GetMultiRegionEndpointOutput::builder()
                .endpoint_name("p-global")
                .endpoint_id("abc123.xyz")
                .status(Status::Ready)
                .routes(Route::builder().region("us-east-1").build().unwrap())
                .routes(Route::builder().region("eu-west-1").build().unwrap())
                .build()
        });
    let missing = mock!(Client::get_multi_region_endpoint)
        .match_requests(|r| r.endpoint_name() == Some("gone"))
        .sequence()
        .http_status(404, Some(NOT_FOUND.into()))
        .build();
    let api = client(&[&rule, &missing]);
    assert_eq!(
        api.multi_region_endpoint("p-global").await.unwrap(),
        Some(EndpointState {
            id: Some("abc123.xyz".into()),
            status: "READY".into(),
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
        })
    );
    assert_eq!(api.multi_region_endpoint("gone").await.unwrap(), None);
}

#[tokio::test]
async fn a_pending_identity_is_not_verified_for_sending() {
    let rule = identity("new.example", || {
        output(
            false,
            VerificationStatus::Pending,
            dkim(DkimStatus::Pending, DkimSigningAttributesOrigin::External),
        )
    });
    let api = client(&[&rule]);
    let state = api.email_identity("new.example").await.unwrap().unwrap();
    assert!(!state.verified_for_sending);
    assert_eq!(state.verification_status.as_deref(), Some("PENDING"));
    assert_eq!(state.dkim_status.as_deref(), Some("PENDING"));
    assert_eq!(state.dkim_origin.as_deref(), Some("EXTERNAL"));
}

#[tokio::test]
async fn not_found_is_none_not_an_error() {
    let rule = mock!(Client::get_email_identity)
        .sequence()
        .http_status(404, Some(NOT_FOUND.into()))
        .build();
    let api = client(&[&rule]);
    assert_eq!(api.email_identity("gone.example").await.unwrap(), None);
}

#[tokio::test]
async fn a_deed_replica_shows_its_parent_region_as_origin() {
    let rule = identity("replica.example", || {
        output(
            true,
            VerificationStatus::Success,
            dkim(
                DkimStatus::Success,
                DkimSigningAttributesOrigin::AwsSesUsEast1,
            ),
        )
    });
    let api = client(&[&rule]);
    let state = api
        .email_identity("replica.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.dkim_origin.as_deref(), Some("AWS_SES_US_EAST_1"));
    assert_eq!(
        state.dkim_origin.as_deref(),
        Some(mailinfra::compile::sending::deed_origin("us-east-1").as_str())
    );
}

#[tokio::test]
async fn throttling_is_transient_and_retried() {
    let rule = mock!(Client::get_email_identity)
        .sequence()
        .http_status(429, Some(THROTTLED.into()))
        .times(2)
        .output(|| {
            output(
                true,
                VerificationStatus::Success,
                dkim(DkimStatus::Success, DkimSigningAttributesOrigin::AwsSes),
            )
        })
        .build();
    let api = client(&[&rule]);
    let read = read_identities(&api, &["busy.example".to_string()]).await;
    let state = read[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(state.name, "busy.example");
    assert!(state.verified_for_sending);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn a_denied_read_is_a_readable_error_not_retried() {
    let rule = mock!(Client::get_email_identity)
        .sequence()
        .http_status(403, Some(DENIED.into()))
        .repeatedly()
        .build();
    let api = client(&[&rule]);
    let mut read = read_identities(&api, &["x.example".to_string()]).await;
    let err = read.remove(0).unwrap_err();
    assert!(!mailinfra::aws::is_transient(&err));
    assert_eq!(
        mailinfra::aws::error_code(&err),
        Some("AccessDeniedException")
    );
    assert_eq!(
        format!("{err:#}"),
        "cannot read SES identity `x.example`: User is not authorized to perform: ses:GetEmailIdentity (AccessDeniedException)"
    );
    assert_eq!(rule.num_calls(), 1);
}

/// The pre-flight lists the account's identities, every page of 1,000, and
/// retries a throttled page; it never reads identities one by one.
#[tokio::test]
async fn existing_identities_are_listed_page_by_page() {
    use aws_sdk_sesv2::operation::list_email_identities::ListEmailIdentitiesOutput;
    use aws_sdk_sesv2::types::IdentityInfo;
    let info = |name: &str, status: VerificationStatus| {
        IdentityInfo::builder()
            .identity_name(name)
            .identity_type(IdentityType::Domain)
            .sending_enabled(true)
            .verification_status(status)
            .build()
    };
    let first = mock!(Client::list_email_identities)
        .match_requests(|r| r.next_token().is_none() && r.page_size() == Some(1000))
        .sequence()
        .http_status(429, Some(THROTTLED.into()))
        .output(move || {
            ListEmailIdentitiesOutput::builder()
                .email_identities(info("old.example", VerificationStatus::Success))
                .next_token("p2")
                .build()
        })
        .build();
    let second = mock!(Client::list_email_identities)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(move || {
            ListEmailIdentitiesOutput::builder()
                .email_identities(info("Hand.Example", VerificationStatus::Pending))
                .build()
        });
    let get =
        mock!(Client::get_email_identity).then_output(|| GetEmailIdentityOutput::builder().build());
    let api = client(&[&first, &second, &get]);
    let names: Vec<String> = ["new.example", "hand.example", "old.example"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let found = existing_identities(&api, &names).await.unwrap();
    let got: Vec<(&str, bool, Option<&str>)> = found
        .iter()
        .map(|(n, s)| {
            (
                n.as_str(),
                s.verified_for_sending,
                s.verification_status.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("hand.example", false, Some("PENDING")),
            ("old.example", true, Some("SUCCESS"))
        ]
    );
    assert_eq!(
        (first.num_calls(), second.num_calls(), get.num_calls()),
        (2, 1, 0)
    );
}

/// Dedicated IP parity reads every pool of a region, every page of pools and
/// of each pool's IPs, with the pool's scaling mode and each IP's warm-up.
#[tokio::test]
async fn dedicated_pools_are_read_page_by_page_with_their_ips() {
    use aws_sdk_sesv2::operation::get_dedicated_ip_pool::GetDedicatedIpPoolOutput;
    use aws_sdk_sesv2::operation::get_dedicated_ips::GetDedicatedIpsOutput;
    use aws_sdk_sesv2::operation::list_dedicated_ip_pools::ListDedicatedIpPoolsOutput;
    use aws_sdk_sesv2::types::{DedicatedIp, DedicatedIpPool, ScalingMode, WarmupStatus};
    use mailinfra::aws::ses::{IpState, PoolApi as _, PoolState};
    let pools_1 = mock!(Client::list_dedicated_ip_pools)
        .match_requests(|r| r.next_token().is_none())
        .sequence()
        .http_status(429, Some(THROTTLED.into()))
        .output(|| {
            ListDedicatedIpPoolsOutput::builder()
                .dedicated_ip_pools("marketing")
                .next_token("p2")
                .build()
        })
        .build();
    let pools_2 = mock!(Client::list_dedicated_ip_pools)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(|| {
            ListDedicatedIpPoolsOutput::builder()
                .dedicated_ip_pools("auto")
                .build()
        });
    let pool = mock!(Client::get_dedicated_ip_pool).then_compute_output(|r| {
        let mode = if r.pool_name() == Some("auto") {
            ScalingMode::Managed
        } else {
            ScalingMode::Standard
        };
        GetDedicatedIpPoolOutput::builder()
            .dedicated_ip_pool(
                DedicatedIpPool::builder()
                    .pool_name(r.pool_name().unwrap_or_default())
                    .scaling_mode(mode)
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let ip = |a: &str, s: WarmupStatus, pct: i32| {
        DedicatedIp::builder()
            .ip(a)
            .warmup_status(s)
            .warmup_percentage(pct)
            .build()
            .unwrap()
    };
    let ips_1 = mock!(Client::get_dedicated_ips)
        .match_requests(|r| r.pool_name() == Some("marketing") && r.next_token().is_none())
        .then_output(move || {
            GetDedicatedIpsOutput::builder()
                .dedicated_ips(ip("192.0.2.1", WarmupStatus::Done, 100))
                .next_token("i2")
                .build()
        });
    let ips_2 = mock!(Client::get_dedicated_ips)
        .match_requests(|r| r.pool_name() == Some("marketing") && r.next_token() == Some("i2"))
        .then_output(move || {
            GetDedicatedIpsOutput::builder()
                .dedicated_ips(ip("192.0.2.2", WarmupStatus::InProgress, 40))
                .build()
        });
    let ips_auto = mock!(Client::get_dedicated_ips)
        .match_requests(|r| r.pool_name() == Some("auto"))
        .then_output(move || {
            GetDedicatedIpsOutput::builder()
                .dedicated_ips(ip("198.51.100.7", WarmupStatus::NotApplicable, -1))
                .build()
        });
    let api = client(&[&pools_1, &pools_2, &pool, &ips_1, &ips_2, &ips_auto]);
    let pools = api.dedicated_pools().await.unwrap();
    let state = |ip: &str, status: &str, pct| IpState {
        ip: ip.into(),
        warmup_status: status.into(),
        warmup_percentage: pct,
    };
    assert_eq!(
        pools,
        [
            PoolState {
                name: "marketing".into(),
                scaling_mode: "STANDARD".into(),
                ips: vec![
                    state("192.0.2.1", "DONE", 100),
                    state("192.0.2.2", "IN_PROGRESS", 40)
                ],
            },
            PoolState {
                name: "auto".into(),
                scaling_mode: "MANAGED".into(),
                ips: vec![state("198.51.100.7", "NOT_APPLICABLE", -1)],
            },
        ]
    );
    assert_eq!(pools[0].warmed(), 1);
    assert_eq!(pools_1.num_calls(), 2, "the throttled page is retried");
}
