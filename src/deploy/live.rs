//! Live checks (`mailinfra check --live`): what the deployed stacks look like
//! compared with what they should be, as diagnostics.
//!
//! Input: the stack names and regions of a build, the model, and a
//! [`StackApi`] and a [`MailApi`] per region. Output: diagnostics (`MI5xxx`).
//! Drift comes from CloudFormation drift detection (it only compares
//! properties the template sets). Multi-region readiness compares the sending
//! resources of the primary and secondary stacks — identities, configuration
//! sets, templates — from the stacks' resources. Whether identities are
//! verified and DKIM works (keys replicated to the secondary for DEED) is SES
//! state that CloudFormation does not show: it is read from SES per identity
//! and region (MI5005, MI5006), with the MAIL FROM domain of each region
//! ([`super::live_sending`], MI5008). The KMS keys of yours that SES must use are
//! read from KMS (`DescribeKey`, `GetKeyPolicy`) and their policies judged by
//! [`super::key_policy`] (MI5007).

use std::collections::BTreeSet;

use super::Timing;
use crate::aws::kms::KeyApi;
use crate::aws::ses::{IdentityState, MailApi, read_identities};
use crate::aws::{StackApi, StackResource, StackStatus};
use crate::compile::sending::{deed_origin, is_deed_replica};
use crate::diag::{Code, Diagnostic};
use crate::model::keys::KeyUse;
use crate::model::{Dkim, DomainIdentity, Model};

/// Runs drift detection on one stack and reports drifted resources.
pub async fn drift(api: &impl StackApi, stack: &str, timing: &Timing) -> Vec<Diagnostic> {
    let cant = |e: anyhow::Error| {
        vec![
            Diagnostic::error(Code::MI5004, format!("cannot check `{stack}` for drift: {e:#}"))
                .help("check the credentials and that the stack is in a stable state, then run `mailinfra check --live` again"),
        ]
    };
    let info = match api.describe_stack(stack).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return vec![
                Diagnostic::error(Code::MI5002, format!("stack `{stack}` is not deployed"))
                    .help("run `mailinfra apply` to deploy it"),
            ];
        }
        Err(e) => return cant(e),
    };
    let mut out = Vec::new();
    if !matches!(
        info.status,
        StackStatus::CreateComplete | StackStatus::UpdateComplete
    ) {
        out.push(
            Diagnostic::error(
                Code::MI5002,
                format!(
                    "stack `{stack}` is {}, not in a deployed state",
                    info.status
                ),
            )
            .help("run `mailinfra plan` to see what blocks it"),
        );
        if info.is_in_progress() || info.status == StackStatus::RollbackComplete {
            return out;
        }
    }
    let id = match api.detect_drift(&info.arn).await {
        Ok(id) => id,
        Err(e) => return cant(e),
    };
    let started = tokio::time::Instant::now();
    let status = loop {
        match api.drift_status(&id).await {
            Ok(s) if s.detection != "DETECTION_IN_PROGRESS" => break s,
            Ok(_) | Err(_) if started.elapsed() < timing.change_set_timeout => {}
            Ok(_) => return cant(anyhow::anyhow!("drift detection did not finish")),
            Err(e) => return cant(e),
        }
        tokio::time::sleep(timing.poll).await;
    };
    if status.detection == "DETECTION_FAILED" {
        out.push(
            Diagnostic::error(
                Code::MI5004,
                format!(
                    "drift detection on `{stack}` failed for some resources: {}",
                    status.reason.unwrap_or_default()
                ),
            )
            .help("resources of some types cannot be checked for drift; the others were"),
        );
    }
    if status.stack == "DRIFTED" {
        match api.resource_drifts(&info.arn).await {
            Ok(drifts) => {
                for d in drifts {
                    let what = if d.status == "DELETED" {
                        "was deleted outside CloudFormation".to_string()
                    } else if d.properties.is_empty() {
                        "was changed outside CloudFormation".to_string()
                    } else {
                        format!(
                            "was changed outside CloudFormation ({})",
                            d.properties.join(", ")
                        )
                    };
                    out.push(
                        Diagnostic::error(
                            Code::MI5001,
                            format!("`{}` ({}) in `{stack}` {what}", d.logical_id, d.resource_type),
                        )
                        .help("the next apply that touches it reverts the change: put the change into the spec, or revert it by hand"),
                    );
                }
            }
            Err(e) => out.extend(cant(e)),
        }
    }
    out
}

/// The region a KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:…`) names;
/// the keys of each region are read through that region's client.
pub fn key_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// Reads the policy of every key of `uses` (all in one region) and reports,
/// at the spec field that names it, a key that does not exist, is not
/// enabled, or whose policy does not let SES (or the action roles) use it
/// (MI5007). AWS managed keys are AWS's to manage and are not judged. A key
/// that cannot be read is MI5004.
pub async fn key_policies(uses: &[KeyUse], api: &impl KeyApi) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for u in uses {
        let cant = |e: String| {
            Diagnostic::error(Code::MI5004, format!("cannot read the KMS key of {}: {e}", u.what))
                .path(&u.ptr)
                .help("check `kms:DescribeKey` and `kms:GetKeyPolicy` on the key; a key of another account cannot be read, so check its policy there")
        };
        let info = match api.describe_key(&u.key).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                out.push(
                    Diagnostic::error(Code::MI5007, format!("the KMS key of {} does not exist", u.what))
                        .path(&u.ptr)
                        .help("create the key (or the alias) in the region its ARN names, or name an existing one"),
                );
                continue;
            }
            Err(e) => {
                out.push(cant(format!("{e:#}")));
                continue;
            }
        };
        if info.manager == "AWS" {
            continue;
        }
        if info.state != "Enabled" {
            out.push(
                Diagnostic::error(
                    Code::MI5007,
                    format!("the KMS key of {} is {}, not enabled", u.what, info.state),
                )
                .path(&u.ptr)
                .help(
                    "SES cannot use a key that is not enabled: enable it, or cancel its deletion",
                ),
            );
            continue;
        }
        let policy = match api.key_policy(&info.arn).await {
            Ok(p) => p,
            Err(e) => {
                out.push(cant(format!("{e:#}")));
                continue;
            }
        };
        let mut parts = info.arn.split(':');
        let partition = parts.nth(1).unwrap_or("aws");
        let region = parts.nth(1).unwrap_or_default();
        let account = parts.next().unwrap_or_default();
        let (grantee, actions) = u.purpose.needs();
        let context = u.purpose.context(partition, region, account);
        let owner = super::key_policy::Owner { partition, account };
        match super::key_policy::refused(&policy, grantee, &owner, actions, &context) {
            Ok(missing) if missing.is_empty() => {}
            Ok(missing) => out.push(
                Diagnostic::error(
                    Code::MI5007,
                    format!(
                        "the key policy of the KMS key of {} does not allow {}",
                        u.what,
                        missing
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .path(&u.ptr)
                .help(format!(
                    "add a statement to the key policy: {}",
                    u.purpose.statement()
                )),
            ),
            Err(e) => out.push(cant(e)),
        }
    }
    out
}

/// Physical ids of the sending resources that must exist in both regions.
fn sending_inventory(resources: &[StackResource]) -> [(&'static str, BTreeSet<String>); 3] {
    let pick = |types: &[&str]| -> BTreeSet<String> {
        resources
            .iter()
            .filter(|r| types.contains(&r.resource_type.as_str()) && !r.physical_id.is_empty())
            .filter(|r| !r.is_deleted())
            .map(|r| r.physical_id.clone())
            .collect()
    };
    [
        (
            "identity",
            pick(&["AWS::SES::EmailIdentity", "Custom::SesReplicaIdentity"]),
        ),
        ("configuration set", pick(&["AWS::SES::ConfigurationSet"])),
        ("template", pick(&["AWS::SES::Template"])),
    ]
}

/// Compares the sending resources of the primary and secondary stacks.
pub fn readiness(
    primary: (&str, &[StackResource]),
    secondary: (&str, &[StackResource]),
) -> Vec<Diagnostic> {
    let (p_region, p) = primary;
    let (s_region, s) = secondary;
    let mut out = Vec::new();
    let p_inv = sending_inventory(p);
    let s_inv = sending_inventory(s);
    for ((kind, want), (_, have)) in p_inv.iter().zip(s_inv.iter()) {
        for missing in want.difference(have) {
            out.push(
                Diagnostic::error(
                    Code::MI5003,
                    format!("{kind} `{missing}` exists in {p_region} but not in {s_region}"),
                )
                .path("/regions/secondary")
                .help("failover through the global endpoint needs it in both regions: run `mailinfra apply` to deploy the secondary stack"),
            );
        }
    }
    for r in p.iter().chain(s.iter()) {
        if r.is_failed() {
            out.push(
                Diagnostic::error(
                    Code::MI5003,
                    format!("`{}` ({}) is {}", r.logical_id, r.resource_type, r.status),
                )
                .help("run `mailinfra plan` and `mailinfra apply` to repair it"),
            );
        }
    }
    out
}

/// The SES state of every identity of the spec in `region` (the primary or
/// the secondary): at most one MI5005 and one MI5006 per identity. Reads that
/// fail are summed up in one MI5004 for the region (each read was retried
/// inside the SDK client).
pub async fn identities(model: &Model, region: &str, api: &impl MailApi) -> Vec<Diagnostic> {
    identity_states(model, region, api).await.0
}

/// [`identities`], and the state of each identity SES knows in `region`
/// (`check --dns` shows it beside the DKIM and MAIL FROM records).
pub async fn identity_states(
    model: &Model,
    region: &str,
    api: &impl MailApi,
) -> (Vec<Diagnostic>, Vec<IdentityState>) {
    let names: Vec<String> = model.identities.iter().map(|i| i.domain.clone()).collect();
    let mut out = Vec::new();
    let mut states = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    for (id, r) in model
        .identities
        .iter()
        .zip(read_identities(api, &names).await)
    {
        match r {
            Ok(state) => {
                out.extend(identity_findings(model, region, id, state.as_ref()));
                states.extend(state.map(|s| IdentityState {
                    name: id.domain.clone(),
                    ..s
                }));
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        out.push(
            Diagnostic::error(
                Code::MI5004,
                format!("cannot read {failed} identit{} in {region} from SES: {e:#}", if failed == 1 { "y" } else { "ies" }),
            )
            .help("check the credentials and the `ses:GetEmailIdentity` permission, then run `mailinfra check --live` again"),
        );
    }
    (out, states)
}

/// `us-east-1` for `AWS_SES_US_EAST_1`.
fn origin_region(origin: &str) -> Option<String> {
    origin
        .strip_prefix("AWS_SES_")
        .map(|r| r.to_ascii_lowercase().replace('_', "-"))
}

/// What a DKIM signing-attributes origin means, for messages.
fn origin_mode(origin: &str) -> String {
    match origin {
        "AWS_SES" => "its own Easy DKIM keys".into(),
        "EXTERNAL" => "BYODKIM (its own key pair)".into(),
        o => match origin_region(o) {
            Some(r) => format!("Easy DKIM keys replicated from {r} (DEED)"),
            None => format!("DKIM keys from `{o}`"),
        },
    }
}

/// Judges one identity of the spec by its SES state in `region` (`None`: SES
/// does not know it there).
pub fn identity_findings(
    model: &Model,
    region: &str,
    id: &DomainIdentity,
    state: Option<&IdentityState>,
) -> Vec<Diagnostic> {
    let name = &id.domain;
    let Some(state) = state else {
        return vec![
            Diagnostic::error(
                Code::MI5005,
                format!("identity `{name}` does not exist in SES in {region}"),
            )
            .key_path(&id.ptr)
            .help("run `mailinfra apply` to create it"),
        ];
    };
    let mut out = Vec::new();
    let secondary = model.secondary.as_deref() == Some(region);
    let replica = secondary && is_deed_replica(model, id);
    if !state.verified_for_sending {
        let help = if id.is_email {
            format!(
                "open the link in the verification email SES sent to `{name}`; the link expires after 24 hours"
            )
        } else if replica {
            format!(
                "a DEED replica is verified through the DKIM records of `{name}` in {}: publish the records `mailinfra dns --live` lists; verification can take up to 72 hours",
                model.primary
            )
        } else {
            "publish the DNS records `mailinfra dns --live` lists; SES verifies the identity once it sees them, which can take up to 72 hours".to_string()
        };
        out.push(
            Diagnostic::error(
                Code::MI5005,
                format!(
                    "identity `{name}` is not verified for sending in {region} (verification status {})",
                    state.verification_status.as_deref().unwrap_or("unknown")
                ),
            )
            .key_path(&id.ptr)
            .help(help),
        );
    }
    if let Some(d) = dkim_finding(model, region, id, state, replica) {
        out.push(d.key_path(&id.ptr));
    }
    out.extend(super::live_sending::mail_from_finding(
        model, region, id, state,
    ));
    out
}

/// The first DKIM problem of an identity: keys from the wrong origin (not
/// replicated, or another mode than the spec's), signing off, or a status
/// other than SUCCESS. The status of an identity that is not verified for
/// sending is left out: MI5005 already says why, and the cause is the same.
fn dkim_finding(
    model: &Model,
    region: &str,
    id: &DomainIdentity,
    state: &IdentityState,
    replica: bool,
) -> Option<Diagnostic> {
    let name = &id.domain;
    let (want, spec_mode) = match &id.dkim {
        Dkim::None => return None,
        Dkim::Easy { .. } if replica => (deed_origin(&model.primary), "DEED"),
        Dkim::Easy { .. } => ("AWS_SES".to_string(), "`dkim: easy`"),
        Dkim::Byodkim { .. } => ("EXTERNAL".to_string(), "`dkim: byodkim`"),
    };
    if let Some(have) = state.dkim_origin.as_deref()
        && have != want
    {
        return Some(if replica {
            Diagnostic::error(
                Code::MI5006,
                format!(
                    "DKIM of identity `{name}` in {region} is not replicated from {}: it uses {}",
                    model.primary,
                    origin_mode(have)
                ),
            )
            .help(format!(
                "an identity becomes a DEED replica only when it is created: delete it in {region} and create it again with `--dkim-signing-attributes DomainSigningAttributesOrigin={want}` (`aws sesv2 create-email-identity`), or set `replication: independent` and publish its own DKIM records"
            ))
        } else {
            Diagnostic::error(
                Code::MI5006,
                format!(
                    "DKIM of identity `{name}` in {region} uses {}, but the spec says {spec_mode}",
                    origin_mode(have)
                ),
            )
            .help(format!(
                "make `dkim` in the spec match the identity, or change its signing attributes in SES (`aws sesv2 put-email-identity-dkim-signing-attributes --email-identity {name} --region {region}`)"
            ))
        });
    }
    if !state.dkim_signing_enabled {
        return Some(
            Diagnostic::error(
                Code::MI5006,
                format!("DKIM signing is turned off for identity `{name}` in {region}"),
            )
            .help(format!(
                "the spec signs its mail: turn signing on (`aws sesv2 put-email-identity-dkim-attributes --email-identity {name} --signing-enabled --region {region}`)"
            )),
        );
    }
    let status = state.dkim_status.as_deref().unwrap_or("unknown");
    if state.verified_for_sending && status != "SUCCESS" {
        let help = match &id.dkim {
            _ if replica => format!(
                "a DEED replica signs with the keys of `{name}` in {}: fix DKIM there first (its CNAME records must stay published)",
                model.primary
            ),
            Dkim::Byodkim { selector, .. } => format!(
                "publish the TXT record `{selector}._domainkey.{name}` with the public key (`mailinfra dns` lists it) and keep it published"
            ),
            _ => "publish the DKIM CNAME records `mailinfra dns --live` lists and keep them published; SES checks them for up to 72 hours".to_string(),
        };
        return Some(
            Diagnostic::error(
                Code::MI5006,
                format!("DKIM of identity `{name}` is not working in {region} (status {status})"),
            )
            .help(help),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn res(t: &str, id: &str) -> StackResource {
        StackResource {
            logical_id: format!("L{id}"),
            physical_id: id.into(),
            resource_type: t.into(),
            status: "CREATE_COMPLETE".into(),
        }
    }

    #[test]
    fn missing_secondary_resources_are_reported() {
        let p = vec![
            res("AWS::SES::EmailIdentity", "example.com"),
            res("AWS::SES::ConfigurationSet", "default"),
            res("AWS::SES::Template", "welcome"),
        ];
        let s = vec![
            res("Custom::SesReplicaIdentity", "example.com"),
            res("AWS::SES::ConfigurationSet", "default"),
        ];
        let d = readiness(("us-east-1", &p), ("eu-west-1", &s));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "MI5003");
        assert_eq!(
            d[0].message,
            "template `welcome` exists in us-east-1 but not in eu-west-1"
        );
        assert!(readiness(("us-east-1", &p), ("eu-west-1", &p)).is_empty());
    }

    const SPEC: &str = "version: 1\nproject: p\nregions: { primary: us-east-1, secondary: eu-west-1 }\n\
        dns: { example.com: external }\nidentities:\n  easy.example.com: {}\n  own.example.com: { replication: independent }\n  \
        byo.example.com: { dkim: byodkim, byodkim: { selector: s1, private_key: { secret: dkim-key } } }\n  \
        plain.example.com: { dkim: none }\n";

    fn model() -> Model {
        crate::compile::sending::tests::model(SPEC)
    }

    fn id<'a>(m: &'a Model, name: &str) -> &'a DomainIdentity {
        m.identities.iter().find(|i| i.domain == name).unwrap()
    }

    /// Verified, DKIM working, keys from `origin`.
    fn good(origin: &str) -> IdentityState {
        IdentityState {
            identity_type: "DOMAIN".into(),
            verified_for_sending: true,
            verification_status: Some("SUCCESS".into()),
            dkim_status: Some("SUCCESS".into()),
            dkim_origin: Some(origin.into()),
            dkim_signing_enabled: true,
            ..IdentityState::default()
        }
    }

    /// The state SES shows for every identity when all is well.
    fn healthy(region: &str, name: &str) -> IdentityState {
        match (region, name) {
            ("eu-west-1", "easy.example.com") => good("AWS_SES_US_EAST_1"),
            (_, "byo.example.com") => good("EXTERNAL"),
            (_, "plain.example.com") => IdentityState {
                dkim_status: Some("NOT_STARTED".into()),
                dkim_signing_enabled: false,
                ..good("AWS_SES")
            },
            _ => good("AWS_SES"),
        }
    }

    fn judge(m: &Model, region: &str, name: &str, state: Option<IdentityState>) -> Vec<Diagnostic> {
        identity_findings(m, region, id(m, name), state.as_ref())
    }

    #[test]
    fn healthy_identities_have_no_findings_in_either_region() {
        let m = model();
        for region in ["us-east-1", "eu-west-1"] {
            for i in &m.identities {
                let d = judge(&m, region, &i.domain, Some(healthy(region, &i.domain)));
                assert!(d.is_empty(), "{region} {}: {d:?}", i.domain);
            }
        }
    }

    #[test]
    fn a_missing_identity_is_one_mi5005_at_its_key() {
        let m = model();
        let d = judge(&m, "eu-west-1", "own.example.com", None);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "MI5005");
        assert_eq!(
            d[0].message,
            "identity `own.example.com` does not exist in SES in eu-west-1"
        );
        assert_eq!(d[0].path, "/identities/own.example.com");
        assert!(d[0].at_key);
        assert_eq!(
            d[0].help.as_deref(),
            Some("run `mailinfra apply` to create it")
        );
    }

    #[test]
    fn an_unverified_identity_is_one_mi5005_with_its_status() {
        let m = model();
        let pending = IdentityState {
            verified_for_sending: false,
            verification_status: Some("PENDING".into()),
            dkim_status: Some("PENDING".into()),
            ..good("AWS_SES")
        };
        let d = judge(&m, "us-east-1", "easy.example.com", Some(pending));
        // The pending DKIM status has the same cause: no second diagnostic.
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "MI5005");
        assert_eq!(
            d[0].message,
            "identity `easy.example.com` is not verified for sending in us-east-1 (verification status PENDING)"
        );
        assert!(d[0].help.as_deref().unwrap().contains("72 hours"));
    }

    #[test]
    fn failed_dkim_on_a_verified_identity_is_mi5006() {
        let m = model();
        let failed = IdentityState {
            dkim_status: Some("FAILED".into()),
            ..good("EXTERNAL")
        };
        let d = judge(&m, "us-east-1", "byo.example.com", Some(failed));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "MI5006");
        assert_eq!(
            d[0].message,
            "DKIM of identity `byo.example.com` is not working in us-east-1 (status FAILED)"
        );
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .contains("`s1._domainkey.byo.example.com`"),
            "{:?}",
            d[0].help
        );
        assert_eq!(d[0].path, "/identities/byo.example.com");
    }

    #[test]
    fn a_deed_replica_with_its_own_keys_is_not_replicated() {
        let m = model();
        let d = judge(&m, "eu-west-1", "easy.example.com", Some(good("AWS_SES")));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "MI5006");
        assert_eq!(
            d[0].message,
            "DKIM of identity `easy.example.com` in eu-west-1 is not replicated from us-east-1: it uses its own Easy DKIM keys"
        );
        assert!(
            d[0].help
                .as_deref()
                .unwrap()
                .contains("DomainSigningAttributesOrigin=AWS_SES_US_EAST_1")
        );
        // Replicated from the wrong region is not replicated either.
        let d = judge(
            &m,
            "eu-west-1",
            "easy.example.com",
            Some(good("AWS_SES_US_WEST_2")),
        );
        assert!(
            d[0].message
                .ends_with("it uses Easy DKIM keys replicated from us-west-2 (DEED)"),
            "{d:?}"
        );
        // In the primary the same identity is the parent: its own keys are right.
        assert!(judge(&m, "us-east-1", "easy.example.com", Some(good("AWS_SES"))).is_empty());
    }

    #[test]
    fn dkim_of_another_mode_than_the_spec_is_mi5006() {
        let m = model();
        let d = judge(&m, "us-east-1", "byo.example.com", Some(good("AWS_SES")));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0].message,
            "DKIM of identity `byo.example.com` in us-east-1 uses its own Easy DKIM keys, but the spec says `dkim: byodkim`"
        );
        // An independent secondary identity must not be a replica.
        let d = judge(
            &m,
            "eu-west-1",
            "own.example.com",
            Some(good("AWS_SES_US_EAST_1")),
        );
        assert_eq!(
            d[0].message,
            "DKIM of identity `own.example.com` in eu-west-1 uses Easy DKIM keys replicated from us-east-1 (DEED), but the spec says `dkim: easy`"
        );
        // Signing turned off.
        let off = IdentityState {
            dkim_signing_enabled: false,
            ..good("AWS_SES")
        };
        let d = judge(&m, "us-east-1", "own.example.com", Some(off));
        assert_eq!(
            d[0].message,
            "DKIM signing is turned off for identity `own.example.com` in us-east-1"
        );
    }

    struct Fake(BTreeMap<String, anyhow::Result<Option<IdentityState>>>);

    impl MailApi for Fake {
        async fn email_identity(&self, name: &str) -> anyhow::Result<Option<IdentityState>> {
            match self.0.get(name) {
                Some(Ok(s)) => Ok(s.clone()),
                Some(Err(e)) => Err(anyhow::anyhow!("{e}")),
                None => Ok(None),
            }
        }

        async fn list_identities(&self) -> anyhow::Result<Vec<IdentityState>> {
            anyhow::bail!("check --live reads identities one by one, for their DKIM state")
        }
    }

    #[tokio::test]
    async fn identities_reads_every_identity_and_sums_up_read_errors() {
        let m = model();
        let mut known = BTreeMap::new();
        known.insert(
            "easy.example.com".to_string(),
            Ok(Some(healthy("us-east-1", "easy.example.com"))),
        );
        known.insert(
            "own.example.com".to_string(),
            Err(anyhow::anyhow!("access denied")),
        );
        known.insert(
            "byo.example.com".to_string(),
            Err(anyhow::anyhow!("access denied")),
        );
        let d = identities(&m, "us-east-1", &Fake(known)).await;
        let got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "MI5005",
                    "identity `plain.example.com` does not exist in SES in us-east-1"
                ),
                (
                    "MI5004",
                    "cannot read 2 identities in us-east-1 from SES: access denied"
                ),
            ]
        );
    }

    fn key_use(key: &str, purpose: crate::model::keys::Purpose) -> KeyUse {
        KeyUse {
            key: key.into(),
            ptr: "/mail_manager/archives/legal/kms_key".into(),
            what: "the archive `legal`".into(),
            purpose,
        }
    }

    #[tokio::test]
    async fn a_key_policy_without_ses_is_mi5007() {
        use crate::aws::kms::{FakeKeys, KeyInfo};
        use crate::model::keys::Purpose;
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let alias = "arn:aws:kms:us-east-1:111122223333:alias/mail";
        let info = |arn: &str| KeyInfo {
            arn: arn.into(),
            manager: "CUSTOMER".into(),
            state: "Enabled".into(),
        };
        let default_policy = serde_json::json!({ "Statement": [{ "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::111122223333:root" }, "Action": "kms:*", "Resource": "*" }] });
        let ses_policy = serde_json::json!({ "Statement": [{ "Effect": "Allow",
            "Principal": { "Service": "ses.amazonaws.com" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*" }] });
        let mut fake = FakeKeys::default();
        fake.keys
            .insert(key.into(), (info(key), default_policy.to_string()));
        let k2 = "arn:aws:kms:us-east-1:111122223333:key/k2";
        fake.keys
            .insert(alias.into(), (info(k2), ses_policy.to_string()));
        let gone = "arn:aws:kms:us-east-1:111122223333:key/gone";
        let locked = "arn:aws:kms:us-east-1:111122223333:key/locked";
        fake.keys
            .insert(locked.into(), (info(locked), ses_policy.to_string()));
        fake.unreadable.insert(locked.into());
        let uses = [
            key_use(key, Purpose::Archive),
            key_use(alias, Purpose::Archive),
            key_use(gone, Purpose::Archive),
            key_use(locked, Purpose::Archive),
            // The same default policy lets the account's roles use the key.
            key_use(key, Purpose::BucketByRole),
        ];
        let found = key_policies(&uses, &fake).await;
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.code.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "MI5007",
                    "the key policy of the KMS key of the archive `legal` does not allow `kms:Decrypt`, `kms:GenerateDataKey`, `kms:DescribeKey`"
                ),
                (
                    "MI5007",
                    "the KMS key of the archive `legal` does not exist"
                ),
                (
                    "MI5004",
                    "cannot read the KMS key of the archive `legal`: cannot read the key policy of `arn:aws:kms:us-east-1:111122223333:key/locked`: access denied (AccessDeniedException)"
                ),
            ]
        );
        assert!(
            found
                .iter()
                .all(|d| d.path == "/mail_manager/archives/legal/kms_key")
        );
        assert!(
            found[0]
                .help
                .as_deref()
                .unwrap()
                .contains("kms:GenerateDataKey*")
        );
        assert_eq!(key_region(key), Some("us-east-1"));
    }
}
