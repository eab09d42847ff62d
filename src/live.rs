//! Live checks (`mailinfra check --live`): what the deployed stacks look like
//! compared with what they should be, as diagnostics.
//!
//! Input: the stack names and regions of a build and a [`StackApi`] per region.
//! Output: diagnostics (`MI5xxx`). Drift comes from CloudFormation drift
//! detection (it only compares properties the template sets). Multi-region
//! readiness compares the sending resources of the primary and secondary
//! stacks — identities, configuration sets, templates — from the stacks'
//! resources. Whether identities are verified and DKIM keys replicated is SES
//! state that CloudFormation does not show; it is not checked here.

use std::collections::BTreeSet;

use crate::cfn::{StackApi, StackResource};
use crate::deploy::{Timing, retrying};
use crate::diag::Diagnostic;

/// Runs drift detection on one stack and reports drifted resources.
pub async fn drift(api: &impl StackApi, stack: &str, timing: &Timing) -> Vec<Diagnostic> {
    let cant = |e: anyhow::Error| {
        vec![
            Diagnostic::error("MI5004", format!("cannot check `{stack}` for drift: {e:#}"))
                .help("check the credentials and that the stack is in a stable state, then run `mailinfra check --live` again"),
        ]
    };
    let info = match retrying(timing, || api.describe_stack(stack)).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return vec![
                Diagnostic::error("MI5002", format!("stack `{stack}` is not deployed"))
                    .help("run `mailinfra apply` to deploy it"),
            ];
        }
        Err(e) => return cant(e),
    };
    let mut out = Vec::new();
    if !matches!(info.status.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE") {
        out.push(
            Diagnostic::error(
                "MI5002",
                format!(
                    "stack `{stack}` is {}, not in a deployed state",
                    info.status
                ),
            )
            .help("run `mailinfra plan` to see what blocks it"),
        );
        if info.is_in_progress() || info.status == "ROLLBACK_COMPLETE" {
            return out;
        }
    }
    let id = match retrying(timing, || api.detect_drift(&info.arn)).await {
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
                "MI5004",
                format!(
                    "drift detection on `{stack}` failed for some resources: {}",
                    status.reason.unwrap_or_default()
                ),
            )
            .help("resources of some types cannot be checked for drift; the others were"),
        );
    }
    if status.stack == "DRIFTED" {
        match retrying(timing, || api.resource_drifts(&info.arn)).await {
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
                            "MI5001",
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

/// Physical ids of the sending resources that must exist in both regions.
fn sending_inventory(resources: &[StackResource]) -> [(&'static str, BTreeSet<String>); 3] {
    let pick = |types: &[&str]| -> BTreeSet<String> {
        resources
            .iter()
            .filter(|r| types.contains(&r.resource_type.as_str()) && !r.physical_id.is_empty())
            .filter(|r| !r.status.starts_with("DELETE"))
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
                    "MI5003",
                    format!("{kind} `{missing}` exists in {p_region} but not in {s_region}"),
                )
                .path("/regions/secondary")
                .help("failover through the global endpoint needs it in both regions: run `mailinfra apply` to deploy the secondary stack"),
            );
        }
    }
    for r in p.iter().chain(s.iter()) {
        if r.status.ends_with("_FAILED") {
            out.push(
                Diagnostic::error(
                    "MI5003",
                    format!("`{}` ({}) is {}", r.logical_id, r.resource_type, r.status),
                )
                .help("run `mailinfra plan` and `mailinfra apply` to repair it"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
}
