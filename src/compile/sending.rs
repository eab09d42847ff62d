//! Compile, sending side: one `<project>-<region>-sending` stack per sending
//! region.
//!
//! The primary stack holds the identities, configuration sets, templates, the
//! global endpoint, the IAM sending roles (IAM is global, so they live once, in
//! the primary stack, with permissions on both regions' ARNs), the DEED parent
//! policies, and the Route 53 records. The secondary stack (deployed after the
//! primary: it depends on the parent policies) recreates identities,
//! configuration sets with their event destinations, and templates; a DEED
//! replica is a `Custom::SesReplicaIdentity` (CloudFormation cannot set
//! `DomainSigningAttributesOrigin`), an `independent` replica an ordinary
//! identity whose DKIM CNAMEs the secondary stack deploys. The global endpoint's
//! `EndpointId` is read by a `Custom::SesEndpointId` (CloudFormation has no
//! attribute for it) into the output `GlobalEndpointId`. The custom resource
//! types are served by one small inline Lambda per stack (`lambda/ses_custom.py`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::shard::{self, Group, Unit};
use super::{CompiledStack, Concern, stack_name, text};
use crate::dns;
use crate::iam;
use crate::iam::scope::identity_arn;
use crate::ids;
use crate::model::sending::{ConfigSet, EmailTemplate, Principal};
use crate::model::{Dkim, DomainIdentity, Model, ZoneKind};
use crate::placement::Load;
use crate::spec::{
    DimensionSource, EventDestination, MxFailure, Replication, SuppressReason, TlsPolicy,
    TrustedService,
};
use crate::template::{Resource, Template, get_att, reference, tag_list};

/// The custom-resource handler, inlined as the Lambda's `ZipFile`.
pub const LAMBDA_CODE: &str = include_str!("lambda/ses_custom.py");
pub const LAMBDA_ID: &str = "SesCustomResourceFunction";
pub const LAMBDA_ROLE_ID: &str = "SesCustomResourceRole";

/// `AWS_SES_US_EAST_1` for `us-east-1`.
pub fn deed_origin(region: &str) -> String {
    format!("AWS_SES_{}", region.replace('-', "_").to_ascii_uppercase())
}

/// Whether this identity is a DEED replica in the secondary region.
pub fn is_deed_replica(model: &Model, id: &DomainIdentity) -> bool {
    model.secondary.is_some()
        && id.replication == Replication::Deed
        && matches!(id.dkim, Dkim::Easy { .. })
}

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

fn set_name(model: &Model, name: &str) -> String {
    format!("{}-{name}", model.project)
}

/// An ordinary identity, in the primary region or (`secondary`) the secondary one.
fn identity_resource(model: &Model, id: &DomainIdentity, secondary: bool) -> Resource {
    let mut r = Resource::new("AWS::SES::EmailIdentity")
        .retained()
        .prop("EmailIdentity", json!(id.domain));
    match &id.dkim {
        Dkim::Easy { key_length } => {
            r = r
                .prop("DkimAttributes", json!({ "SigningEnabled": true }))
                .prop(
                    "DkimSigningAttributes",
                    json!({ "NextSigningKeyLength": key_length.cfn() }),
                );
        }
        Dkim::Byodkim {
            selector,
            private_key,
            ..
        } => {
            // Only a reference `check` accepts becomes a dynamic reference:
            // anything else (key material, `}}`, `:`) never reaches a template.
            let key = private_key.as_ref().and_then(|k| {
                crate::values::SecretRef::parse(&k.secret, k.json_key.as_deref())
                    .ok()
                    .map(|r| r.dynamic_reference())
            });
            r = r
                .prop("DkimAttributes", json!({ "SigningEnabled": true }))
                .prop(
                    "DkimSigningAttributes",
                    json!({ "DomainSigningSelector": selector, "DomainSigningPrivateKey": key }),
                );
        }
        Dkim::None if !id.is_email => {
            r = r.prop("DkimAttributes", json!({ "SigningEnabled": false }));
        }
        Dkim::None => {}
    }
    if let Some(mf) = &id.mail_from {
        r = r.prop(
            "MailFromAttributes",
            json!({ "MailFromDomain": mf.domain_in(secondary), "BehaviorOnMxFailure": mx_failure(mf.on_mx_failure) }),
        );
    }
    if let Some(c) = &id.configuration_set {
        r = r.prop(
            "ConfigurationSetAttributes",
            json!({ "ConfigurationSetName": reference(&ids::config_set(&c.name)) }),
        );
    }
    r = r.prop(
        "FeedbackAttributes",
        json!({ "EmailForwardingEnabled": id.feedback_forwarding }),
    );
    if !model.tags.is_empty() {
        r = r.prop("Tags", tag_list(&model.tags));
    }
    r
}

fn mx_failure(m: MxFailure) -> &'static str {
    match m {
        MxFailure::UseDefault => "USE_DEFAULT_VALUE",
        MxFailure::Reject => "REJECT_MESSAGE",
    }
}

fn replica_resource(model: &Model, id: &DomainIdentity) -> Resource {
    // A replica needs a verified parent ("Parent identity – A verified identity
    // configured with Easy DKIM": SES Developer Guide, "Using Deterministic Easy
    // DKIM (DEED)", send-email-authentication-dkim-deed.html).
    let mut r = Resource::new("Custom::SesReplicaIdentity")
        .retained()
        .waits_for_verified(&id.domain, &model.primary)
        .prop("ServiceToken", get_att(LAMBDA_ID, "Arn"))
        .prop("Identity", json!(id.domain))
        .prop("Origin", json!(deed_origin(&model.primary)))
        .prop(
            "FeedbackForwarding",
            json!(id.feedback_forwarding.to_string()),
        );
    if let Some(mf) = &id.mail_from {
        r = r
            .prop("MailFromDomain", json!(mf.domain_in(true)))
            .prop("BehaviorOnMxFailure", json!(mx_failure(mf.on_mx_failure)));
    }
    if let Some(c) = &id.configuration_set {
        r = r.prop("ConfigurationSetName", reference(&ids::config_set(&c.name)));
    }
    r
}

/// The parent identity's policy allowing DEED replication into the secondary.
fn deed_policy_resource(model: &Model, id: &DomainIdentity, secondary: &str) -> Resource {
    // "If you have not verified the identity, this API will return an error"
    // (SESv2 API Reference, CreateEmailIdentityPolicy).
    Resource::new(POLICY_TYPE)
        .waits_for_verified(&id.domain, &model.primary)
        .prop("ServiceToken", get_att(LAMBDA_ID, "Arn"))
        .prop("Identity", reference(&ids::identity(&id.domain)))
        .prop("PolicyName", json!("mailinfra-deed-replication"))
        .prop(
            "Policy",
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                    "Action": "ses:ReplicateEmailIdentityDKIMSigningKey",
                    "Resource": identity_arn(&model.primary, &id.domain),
                    "Condition": { "ForAllValues:StringEquals": { "ses:ReplicaRegion": [secondary] } }
                }]
            }),
        )
}

/// Grant labels of the per-shard helper, in statement order.
const PARENT_POLICY: &str = "parent-policy";
const REPLICA: &str = "replica";
const REPLICATE: &str = "replicate";
const ENDPOINT: &str = "endpoint";

/// The custom resource type of a DEED parent policy.
const POLICY_TYPE: &str = "Custom::SesIdentityPolicy";

/// The custom-resource Lambda and its least-privilege role for one shard, from
/// the shard's grants: each statement lists the identity ARNs of the shard's
/// elements, never a wildcard. A shard's grants stay within what one role
/// holds (placement's `grant_chars` limit), so the role's policy always fits
/// its inline policy and at most 10 managed policies ([`iam::layout`]).
fn helper(
    grants: &BTreeMap<&'static str, Vec<Value>>,
) -> Result<Vec<(String, Resource)>, super::Error> {
    let mut all = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*")
    })];
    for label in [PARENT_POLICY, REPLICA, REPLICATE, ENDPOINT] {
        let Some(arns) = grants.get(label) else {
            continue;
        };
        all.push(json!({ "Effect": "Allow", "Action": helper_actions(label), "Resource": arns }));
    }
    let mut out = iam::attach(
        LAMBDA_ROLE_ID,
        crate::template::lambda_role(),
        "ses-custom-resources",
        &all,
    )
    .map_err(|o| {
        super::Error::Limit(format!(
            "{}: move elements of this shard to another by editing `mailinfra.lock` (see `mailinfra explain MI3114`)",
            o.describe(LAMBDA_ROLE_ID)
        ))
    })?;
    out.push((
        LAMBDA_ID.into(),
        Resource::new("AWS::Lambda::Function")
            .prop("Runtime", json!("python3.12"))
            .prop("Handler", json!("index.handler"))
            .prop("Timeout", json!(120))
            .prop("Role", get_att(LAMBDA_ROLE_ID, "Arn"))
            .prop("Code", json!({ "ZipFile": LAMBDA_CODE })),
    ));
    Ok(out)
}

/// The SES actions of a helper grant.
fn helper_actions(label: &str) -> Value {
    match label {
        PARENT_POLICY => json!([
            "ses:CreateEmailIdentityPolicy",
            "ses:UpdateEmailIdentityPolicy",
            "ses:DeleteEmailIdentityPolicy"
        ]),
        REPLICA => json!([
            "ses:CreateEmailIdentity",
            "ses:DeleteEmailIdentity",
            "ses:GetEmailIdentity",
            "ses:PutEmailIdentityMailFromAttributes",
            "ses:PutEmailIdentityFeedbackAttributes",
            "ses:PutEmailIdentityConfigurationSetAttributes"
        ]),
        ENDPOINT => json!("ses:GetMultiRegionEndpoint"),
        _ => json!("ses:ReplicateEmailIdentityDKIMSigningKey"),
    }
}

/// What every shard reserves for its helper.
fn helper_load() -> Load {
    Load {
        // The function, its role and up to 10 managed policies.
        resources: 2 + iam::MANAGED_PER_ROLE,
        outputs: 0,
        dynamic_refs: 0,
        bytes: 2 * LAMBDA_CODE.len() + 6_000,
        grant_chars: 0,
    }
}

/// The configuration sets with their event destinations, then the email
/// templates, of the sending stack in `region`.
fn config_set_resources(model: &Model, t: &mut Template, region: &str) -> Result<(), String> {
    for c in &model.sending.config_sets {
        let id = ids::config_set(&c.name);
        t.add(id.clone(), config_set_resource(model, c))?;
        for (name, d) in &c.spec.events {
            t.add(
                ids::event_destination(&c.name, name),
                Resource::new("AWS::SES::ConfigurationSetEventDestination")
                    .prop("ConfigurationSetName", reference(&id))
                    .prop("EventDestination", event_destination(name, d, region)),
            )?;
        }
    }
    for tpl in &model.sending.templates {
        t.add(
            ids::email_template(&tpl.name),
            email_template_resource(model, tpl),
        )?;
    }
    reputation_alarms(model, t, region)
}

/// SES's defaults below which the alarms sit: it reviews an account at a 5 %
/// bounce rate and a 0.1 % complaint rate (see `docs/aws-behaviours.md`).
const DEFAULT_BOUNCE_PERCENT: f64 = 4.0;
const DEFAULT_COMPLAINT_PERCENT: f64 = 0.08;

/// The region's SNS topic and an alarm on each of SES's account reputation
/// metrics (`AWS/SES`, values 0 to 1, published only once there are bounces
/// or complaints: no data is no alarm).
fn reputation_alarms(model: &Model, t: &mut Template, region: &str) -> Result<(), String> {
    let Some(a) = &model.sending.reputation_alarms else {
        return Ok(());
    };
    let topic = "ReputationAlarmTopic".to_string();
    t.add(
        topic.clone(),
        Resource::new("AWS::SNS::Topic")
            .prop("TopicName", json!(format!("{}-{}", model.project, a.topic))),
    )?;
    for (id, metric, percent, what) in [
        (
            "ReputationBounceRateAlarm",
            "Reputation.BounceRate",
            a.bounce_rate.unwrap_or(DEFAULT_BOUNCE_PERCENT),
            "bounce",
        ),
        (
            "ReputationComplaintRateAlarm",
            "Reputation.ComplaintRate",
            a.complaint_rate.unwrap_or(DEFAULT_COMPLAINT_PERCENT),
            "complaint",
        ),
    ] {
        // Percent to SES's fraction, rounded so that 0.08 % is 0.0008 exactly.
        let threshold = (percent * 1e4).round() / 1e6;
        t.add(
            id.to_string(),
            Resource::new("AWS::CloudWatch::Alarm")
                .prop(
                    "AlarmName",
                    json!(format!("{}-ses-{what}-rate-{region}", model.project)),
                )
                .prop(
                    "AlarmDescription",
                    json!(format!(
                        "SES account {what} rate in {region} reached {percent} % (SES reviews accounts above its limits)"
                    )),
                )
                .prop("Namespace", json!("AWS/SES"))
                .prop("MetricName", json!(metric))
                .prop("Statistic", json!("Maximum"))
                .prop("Period", json!(3600))
                .prop("EvaluationPeriods", json!(1))
                .prop("Threshold", json!(threshold))
                .prop("ComparisonOperator", json!("GreaterThanOrEqualToThreshold"))
                .prop("TreatMissingData", json!("notBreaching"))
                .prop("AlarmActions", json!([reference(&topic)])),
        )?;
    }
    super::sns::subscriptions(t, &topic, &a.subscribe)?;
    t.outputs.insert(
        "ReputationAlarmTopicArn".into(),
        json!({ "Value": reference(&topic) }),
    );
    Ok(())
}

fn config_set_resource(model: &Model, c: &ConfigSet) -> Resource {
    let s = &c.spec;
    let mut r =
        Resource::new("AWS::SES::ConfigurationSet").prop("Name", json!(set_name(model, &c.name)));
    if let Some(tls) = s.tls {
        let p = match tls {
            TlsPolicy::Require => "REQUIRE",
            TlsPolicy::Optional => "OPTIONAL",
        };
        r = r.prop("DeliveryOptions", json!({ "TlsPolicy": p }));
    }
    if let Some(e) = s.sending {
        r = r.prop("SendingOptions", json!({ "SendingEnabled": e }));
    }
    if let Some(e) = s.reputation_metrics {
        r = r.prop(
            "ReputationOptions",
            json!({ "ReputationMetricsEnabled": e }),
        );
    }
    if let Some(reasons) = &s.suppress {
        let mut v: Vec<&str> = reasons
            .iter()
            .map(|r| match r {
                SuppressReason::Bounce => "BOUNCE",
                SuppressReason::Complaint => "COMPLAINT",
            })
            .collect();
        v.sort();
        v.dedup();
        r = r.prop("SuppressionOptions", json!({ "SuppressedReasons": v }));
    }
    if let Some(vdm) = &s.vdm {
        let on = |b: bool| if b { "ENABLED" } else { "DISABLED" };
        let mut o = serde_json::Map::new();
        if let Some(e) = vdm.engagement_metrics {
            o.insert(
                "DashboardOptions".into(),
                json!({ "EngagementMetrics": on(e) }),
            );
        }
        if let Some(e) = vdm.optimized_shared_delivery {
            o.insert(
                "GuardianOptions".into(),
                json!({ "OptimizedSharedDelivery": on(e) }),
            );
        }
        r = r.prop("VdmOptions", Value::Object(o));
    }
    if !model.tags.is_empty() {
        r = r.prop("Tags", tag_list(&model.tags));
    }
    r
}

/// The `EventDestination` of destination `name` in `region` (`{region}` in
/// its ARNs becomes the region).
fn event_destination(name: &str, d: &EventDestination, region: &str) -> Value {
    let arn = |a: &str| json!(a.replace("{region}", region));
    let mut types: Vec<_> = d.types.clone();
    types.sort();
    types.dedup();
    let mut dest = json!({
        "Name": name,
        "Enabled": d.enabled.unwrap_or(true),
        "MatchingEventTypes": types.iter().map(|t| t.cfn()).collect::<Vec<_>>(),
    });
    if let Some(a) = &d.sns {
        dest["SnsDestination"] = json!({ "TopicARN": arn(a) });
    }
    if let Some(a) = &d.eventbridge {
        dest["EventBridgeDestination"] = json!({ "EventBusArn": arn(a) });
    }
    if let Some(f) = &d.firehose {
        dest["KinesisFirehoseDestination"] =
            json!({ "DeliveryStreamARN": arn(&f.stream), "IAMRoleARN": f.role });
    }
    if let Some(dims) = &d.cloudwatch {
        let dims: Vec<Value> = dims
            .iter()
            .map(|(n, dim)| {
                let src = match dim.source {
                    DimensionSource::MessageTag => "messageTag",
                    DimensionSource::EmailHeader => "emailHeader",
                    DimensionSource::LinkTag => "linkTag",
                };
                json!({ "DimensionName": n, "DimensionValueSource": src, "DefaultDimensionValue": dim.default })
            })
            .collect();
        dest["CloudWatchDestination"] = json!({ "DimensionConfigurations": dims });
    }
    dest
}

fn email_template_resource(model: &Model, tpl: &EmailTemplate) -> Resource {
    let mut body = json!({
        "TemplateName": set_name(model, &tpl.name),
        "SubjectPart": tpl.spec.subject,
    });
    if let Some(h) = &tpl.spec.html {
        body["HtmlPart"] = json!(h);
    }
    if let Some(x) = &tpl.spec.text {
        body["TextPart"] = json!(x);
    }
    Resource::new("AWS::SES::Template").prop("Template", body)
}

/// The record sets of Route 53 zones deployed in `region`, by owning identity
/// (`None`: owned by no identity).
fn record_resources(
    model: &Model,
    records: &[dns::Record],
    region: &str,
) -> Vec<(Option<usize>, String, Resource)> {
    let mut out = Vec::new();
    for rec in records.iter().filter(|r| !dns::placed_elsewhere(r)) {
        if rec.region != region {
            continue;
        }
        let zone = &model.zones[rec.zone];
        let ZoneKind::Route53 { zone_id } = &zone.kind else {
            continue;
        };
        let r = Resource::new("AWS::Route53::RecordSet")
            .prop("HostedZoneId", json!(zone_id))
            .prop("Name", text(&rec.name))
            .prop("Type", json!(rec.rtype))
            .prop("TTL", json!(rec.ttl.to_string()))
            .prop(
                "ResourceRecords",
                Value::Array(rec.values.iter().map(text).collect()),
            );
        out.push((rec.identity, rec.logical_id.clone(), r));
    }
    out
}

/// One output per Easy DKIM identity with its three tokens' names and values,
/// space-separated (read by `mailinfra dns --live`, see [`dns::DKIM_TOKENS`]).
fn dkim_output(id: &DomainIdentity) -> (String, Value) {
    let lid = ids::identity(&id.domain);
    let parts: Vec<Value> = dns::DKIM_TOKENS
        .iter()
        .map(|attr| get_att(&lid, attr))
        .collect();
    (
        dns::dkim_output_key(&lid),
        json!({ "Value": { "Fn::Join": [" ", parts] } }),
    )
}

/// The IAM sending roles (and an instance profile for each role EC2 assumes),
/// with outputs of their ARNs. A role's policy too large for its inline
/// policy goes on in managed policies ([`iam::layout`]); one too large for a
/// role is rejected by `check` before compile (MI3114).
fn role_resources(model: &Model, t: &mut Template) -> Result<(), super::Error> {
    for role in &model.sending.roles {
        let Some(principal) = &role.principal else {
            continue;
        };
        let rid = ids::role(&role.name);
        let mut r = Resource::new("AWS::IAM::Role")
            .prop(
                "RoleName",
                json!(format!("{}-{}", model.project, role.name)),
            )
            .prop(
                "AssumeRolePolicyDocument",
                iam::trust::policy(principal, &role.conditions),
            );
        if !model.tags.is_empty() {
            r = r.prop("Tags", tag_list(&model.tags));
        }
        let statements = iam::scope::sending_role_statements(model, role);
        let parts = iam::attach(&rid, r, "ses-send", &statements).map_err(|o| {
            super::Error::Limit(format!(
                "{} (see `mailinfra explain MI3114`)",
                o.describe(&role.name)
            ))
        })?;
        for (id, res) in parts {
            t.add(id, res)?;
        }
        t.outputs.insert(
            format!("{rid}Arn"),
            json!({ "Value": get_att(&rid, "Arn") }),
        );
        if *principal == Principal::Service(TrustedService::Ec2) {
            let pid = ids::instance_profile(&role.name);
            t.add(
                pid.clone(),
                Resource::new("AWS::IAM::InstanceProfile").prop("Roles", json!([reference(&rid)])),
            )?;
            t.outputs.insert(
                format!("{pid}Arn"),
                json!({ "Value": get_att(&pid, "Arn") }),
            );
        }
    }
    Ok(())
}

/// The lock key of an identity.
pub fn identity_key(domain: &str) -> String {
    format!("identity:{domain}")
}

/// The sending units: the primary region's, then the secondary's (if any).
/// Shared resources (configuration sets, templates, roles, the global
/// endpoint) live in shard 0; each identity is a group with its records, its
/// DKIM output and, for a DEED parent, its policy.
pub fn sending_units(model: &Model) -> Result<Vec<Unit>, super::Error> {
    let records = dns::records(model);
    let mut units = vec![primary_unit(model, &records)?];
    if let Some(secondary) = &model.secondary {
        units.push(secondary_unit(model, secondary, &records)?);
    }
    Ok(units)
}

/// The primary region's unit: every shared resource, and each identity with
/// its DKIM output and (for a DEED parent) its replication policy.
fn primary_unit(model: &Model, records: &[dns::Record]) -> Result<Unit, super::Error> {
    let primary = &model.primary;
    let mut shared = Template {
        description: format!(
            "mailinfra {}: SES identities and DNS in {primary}",
            model.project
        ),
        ..Default::default()
    };
    config_set_resources(model, &mut shared, primary)?;
    role_resources(model, &mut shared)?;
    let mut shared_grants = Vec::new();
    if let Some((r, lookup, arn)) = global_endpoint_resources(model) {
        shared.add(ids::GLOBAL_ENDPOINT.into(), r)?;
        shared.add(ids::GLOBAL_ENDPOINT_LOOKUP.into(), lookup)?;
        shared.outputs.insert(
            GLOBAL_ENDPOINT_ID_OUTPUT.into(),
            json!({ "Value": get_att(ids::GLOBAL_ENDPOINT_LOOKUP, "EndpointId") }),
        );
        shared_grants.push((ENDPOINT, arn));
    }
    let mut groups: Vec<Group> = model
        .identities
        .iter()
        .map(|id| primary_group(model, id))
        .collect();
    add_records(model, records, primary, &mut shared, &mut groups)?;
    Ok(Unit {
        name: stack_name(&model.project, primary, Concern::Sending),
        region: primary.clone(),
        concern: Concern::Sending,
        shared,
        groups,
        helper: Some(helper_entry()),
        shared_grants,
    })
}

/// The secondary region's unit: configuration sets and templates again, and
/// each identity as a DEED replica or an identity of its own.
fn secondary_unit(model: &Model, secondary: &str, records: &[dns::Record]) -> Result<Unit, String> {
    let primary_name = stack_name(&model.project, &model.primary, Concern::Sending);
    let mut shared = Template {
        description: format!(
            "mailinfra {}: SES identities and DNS in {secondary} (secondary)",
            model.project
        ),
        ..Default::default()
    };
    config_set_resources(model, &mut shared, secondary)?;
    let mut groups: Vec<Group> = model
        .identities
        .iter()
        .map(|id| secondary_group(model, id, secondary, &primary_name))
        .collect();
    add_records(model, records, secondary, &mut shared, &mut groups)?;
    Ok(Unit {
        name: stack_name(&model.project, secondary, Concern::Sending),
        region: secondary.to_string(),
        concern: Concern::Sending,
        shared,
        groups,
        helper: Some(helper_entry()),
        shared_grants: Vec::new(),
    })
}

/// The primary sending stack's output with the global endpoint's `EndpointId`.
pub const GLOBAL_ENDPOINT_ID_OUTPUT: &str = "GlobalEndpointId";

/// The global endpoint routing to the secondary region, when there is one;
/// the custom resource that reads its `EndpointId`; and the endpoint's ARN,
/// all the reader may read.
fn global_endpoint_resources(model: &Model) -> Option<(Resource, Resource, Value)> {
    let (Some(g), Some(secondary)) = (&model.sending.global_endpoint, &model.secondary) else {
        return None;
    };
    let mut r = Resource::new("AWS::SES::MultiRegionEndpoint")
        .retained()
        .prop("EndpointName", json!(g.name))
        .prop(
            "Details",
            json!({ "RouteDetails": [{ "Region": secondary }] }),
        );
    if !model.tags.is_empty() {
        r = r.prop("Tags", tag_list(&model.tags));
    }
    // `AWS::SES::MultiRegionEndpoint` returns only its name (no `Fn::GetAtt`).
    // The route is a property too: a new route replaces the endpoint, and the
    // new endpoint's id is read again.
    let lookup = Resource::new("Custom::SesEndpointId")
        .prop("ServiceToken", get_att(LAMBDA_ID, "Arn"))
        .prop("EndpointName", reference(ids::GLOBAL_ENDPOINT))
        .prop("Routes", json!([secondary]));
    let arn = sub(&format!(
        "arn:${{AWS::Partition}}:ses:{}:${{AWS::AccountId}}:multi-region-endpoint/{}",
        model.primary, g.name
    ));
    Some((r, lookup, arn))
}

/// An identity in the primary region.
fn primary_group(model: &Model, id: &DomainIdentity) -> Group {
    let mut g = Group {
        key: identity_key(&id.domain),
        ..Default::default()
    };
    g.resources.push((
        ids::identity(&id.domain),
        identity_resource(model, id, false),
    ));
    if matches!(id.dkim, Dkim::Easy { .. }) {
        g.outputs.push(dkim_output(id));
    }
    if let Some(secondary) = &model.secondary
        && is_deed_replica(model, id)
    {
        g.resources.push((
            ids::deed_policy(&id.domain),
            deed_policy_resource(model, id, secondary),
        ));
        g.grants
            .push((PARENT_POLICY, identity_arn(&model.primary, &id.domain)));
    }
    g
}

/// An identity in the secondary region: a DEED replica (after its parent's
/// policy in `primary_name`) or an ordinary identity.
fn secondary_group(
    model: &Model,
    id: &DomainIdentity,
    secondary: &str,
    primary_name: &str,
) -> Group {
    let key = identity_key(&id.domain);
    let mut g = Group {
        key: key.clone(),
        ..Default::default()
    };
    if is_deed_replica(model, id) {
        g.resources
            .push((ids::identity(&id.domain), replica_resource(model, id)));
        g.grants
            .push((REPLICA, identity_arn(secondary, &id.domain)));
        g.grants
            .push((REPLICATE, identity_arn(&model.primary, &id.domain)));
        // The parent's policy must exist before the replica is created.
        g.after.push((primary_name.to_string(), key));
    } else {
        g.resources.push((
            ids::identity(&id.domain),
            identity_resource(model, id, true),
        ));
        if matches!(id.dkim, Dkim::Easy { .. }) {
            g.outputs.push(dkim_output(id));
        }
    }
    g
}

/// Adds the record sets deployed in `region`: each to its identity's group,
/// the others to the shared resources.
fn add_records(
    model: &Model,
    records: &[dns::Record],
    region: &str,
    shared: &mut Template,
    groups: &mut [Group],
) -> Result<(), String> {
    for (owner, lid, r) in record_resources(model, records, region) {
        match owner.and_then(|i| groups.get_mut(i)) {
            Some(g) => g.resources.push((lid, r)),
            None => shared.add(lid, r)?,
        }
    }
    Ok(())
}

/// The per-shard helper of sending units: how to build it, what it reserves,
/// and its logical ids.
fn helper_entry() -> (shard::Helper, Load, &'static [&'static str]) {
    (helper as shard::Helper, helper_load(), HELPER_IDS)
}

/// The helper's logical ids, present in every shard that needs them.
const HELPER_IDS: &[&str] = &[LAMBDA_ID, LAMBDA_ROLE_ID];

/// The sending stacks with a fresh placement.
pub fn compile_sending(model: &Model) -> Result<Vec<CompiledStack>, super::Error> {
    let mut stacks = shard::assemble(sending_units(model)?, None)?.0;
    pace_policies(&mut stacks);
    Ok(stacks)
}

/// Chains every stack's identity policies with `DependsOn`, in logical-id
/// order, so CloudFormation runs them one after another: SES accepts each
/// identity-policy call (Create/Update/DeleteEmailIdentityPolicy) no more than
/// once per second (SES API v2 Reference). Their handler retries what still
/// meets the limit (policies of other stacks, other tools).
pub fn pace_policies(stacks: &mut [CompiledStack]) {
    for s in stacks {
        let mut previous: Option<String> = None;
        for (id, r) in s.template.resources.iter_mut() {
            if r.resource_type != POLICY_TYPE {
                continue;
            }
            if let Some(p) = previous.replace(id.clone())
                && !r.depends_on.contains(&p)
            {
                r.depends_on.push(p);
            }
        }
    }
}

/// Merges `b` over `a`: objects key by key, `null` removes, anything else replaces.
fn merge(a: &mut serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (_, Value::Null) => {
                a.remove(k);
            }
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Applies `overrides:` to every stack holding the logical id (checks make
/// sure each names a generated resource and real properties).
pub fn apply_overrides(model: &Model, stacks: &mut [CompiledStack]) {
    for o in &model.sending.overrides {
        for s in stacks.iter_mut() {
            if let Some(r) = s.template.resources.get_mut(&o.logical_id) {
                merge(&mut r.properties, &o.properties);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::diff::{Replacement, diff_templates};

    /// The model of a YAML spec that must be valid.
    pub(crate) fn model(yaml: &str) -> Model {
        let doc = crate::load::Document::parse("t.yaml", yaml.to_string()).expect("parses");
        let spec = crate::schema::check(&doc).expect("schema-valid");
        let m = crate::model::resolve(&spec);
        let errors: Vec<_> = crate::check::check(&m)
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        m
    }

    fn spec(secondary: &str) -> String {
        format!(
            "version: 1\nproject: p\nregions: {{ primary: us-east-1, secondary: {secondary} }}\nglobal_endpoint: {{ name: g }}\n"
        )
    }

    #[test]
    fn changing_the_global_endpoint_replaces_it() {
        let a = compile_sending(&model(&spec("us-west-2"))).unwrap();
        let b = compile_sending(&model(&spec("eu-west-1"))).unwrap();
        let changes = diff_templates(
            Some(&a[0].template.to_value()),
            Some(&b[0].template.to_value()),
        );
        let c = changes
            .iter()
            .find(|c| c.logical_id == ids::GLOBAL_ENDPOINT)
            .expect("the endpoint changes");
        assert_eq!(c.replacement, Replacement::Always);
        assert!(c.destructive());
    }

    /// Inline code may zip to 4 MB (`AWS::Lambda::Function` `Code.ZipFile`),
    /// but every shard with a helper carries it: the handlers stay small.
    #[test]
    fn inline_handlers_stay_small() {
        for code in [LAMBDA_CODE, crate::compile::receiving::ACTIVATOR_CODE] {
            assert!(code.len() < 16 * 1024, "{} bytes", code.len());
        }
    }

    /// A shard's grants up to placement's hard limit, in the costliest form
    /// (the longest ARNs, every label, so every policy frames three
    /// statements), still fit one role: inline plus at most 10 managed policies.
    #[test]
    fn a_helper_filled_to_its_grant_budget_fits_one_role() {
        let long = format!("{}.{}.example", "a".repeat(63), "b".repeat(63));
        let mut grants: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
        let mut used = 0;
        for i in 0.. {
            let arn = identity_arn("ap-southeast-2", &format!("x{i}.{long}"));
            let cost = iam::measure(&arn) + 1;
            if used + cost > crate::placement::HARD.grant_chars {
                break;
            }
            used += cost;
            let label = [PARENT_POLICY, REPLICA, REPLICATE][i % 3];
            grants.entry(label).or_default().push(arn);
        }
        let out = helper(&grants).expect("the helper fits one role");
        let resources: serde_json::Map<String, Value> = out
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    json!({ "Type": r.resource_type, "Properties": r.properties }),
                )
            })
            .collect();
        let sizes = iam::role_sizes(&resources);
        assert_eq!(sizes.len(), 1);
        assert_eq!(sizes[0].1.problem(), None, "{:?}", sizes[0].1);
        assert!(sizes[0].1.managed.len() >= 8, "{:?}", sizes[0].1);
        // Every ARN is granted, none by a wildcard.
        let text = serde_json::to_string(&resources).unwrap();
        assert!(!text.contains("identity/*"));
        for arns in grants.values() {
            for a in arns {
                assert!(text.contains(a["Fn::Sub"].as_str().unwrap()));
            }
        }
    }

    #[test]
    fn deed_origin_names_the_parent_region() {
        assert_eq!(deed_origin("us-east-1"), "AWS_SES_US_EAST_1");
        assert_eq!(deed_origin("ap-southeast-2"), "AWS_SES_AP_SOUTHEAST_2");
    }

    #[test]
    fn overrides_merge_and_remove() {
        let m = model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\nconfiguration_sets: { c: { tls: require, sending: true } }\noverrides:\n  ConfigurationSetC:\n    properties:\n      DeliveryOptions: { SendingPoolName: pool }\n      SendingOptions: null\n",
        );
        let set = crate::compile::compile(&m).unwrap();
        let r = &set.stacks[0].template.resources["ConfigurationSetC"];
        assert_eq!(
            r.properties["DeliveryOptions"],
            json!({ "TlsPolicy": "REQUIRE", "SendingPoolName": "pool" })
        );
        assert!(!r.properties.contains_key("SendingOptions"));
    }
}
