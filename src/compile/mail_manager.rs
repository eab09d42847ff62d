//! Mail Manager: one `<project>-<region>-mail-manager` stack per region of
//! `mail_manager.regions`, with archives, relays, address lists, add-ons,
//! traffic policies, rule sets (and the roles their actions run as), ingress
//! endpoints (and generated SMTP secrets).

use serde_json::{Map, Value, json};

use crate::iam::scope;
use crate::ids::pascal;
use crate::model::Model;
use crate::model::receiving::{Ingress, RuleSet, TrafficPolicy};
use crate::spec::{
    AnalysisTest, IngressPassword, IngressTls, IngressType, Invocation, Network, PolicyCondition,
    PolicyStatement, PublicNetwork, Rule, RuleAction, RuleCondition, S3Target, SnsEncoding,
    SnsPayload, StringTest, TlsTest, TlsVersion, Verdict,
};
use crate::template::{Resource, Template, get_att, reference, tag_list};

pub fn archive_id(name: &str) -> String {
    crate::ids::archive(name)
}
pub fn relay_id(name: &str) -> String {
    format!("Relay{}", pascal(name))
}
pub fn address_list_id(name: &str) -> String {
    format!("AddressList{}", pascal(name))
}
pub fn addon_subscription_id(name: &str) -> String {
    format!("AddonSubscription{}", pascal(name))
}
pub fn addon_instance_id(name: &str) -> String {
    format!("AddonInstance{}", pascal(name))
}
pub fn traffic_policy_id(name: &str) -> String {
    format!("TrafficPolicy{}", pascal(name))
}
pub fn rule_set_id(name: &str) -> String {
    format!("RuleSet{}", pascal(name))
}
fn action_role_id(rule_set: &str, rule: usize, action: usize) -> String {
    format!("RuleSet{}Rule{rule}Action{action}Role", pascal(rule_set))
}

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

fn values(v: &[String]) -> Value {
    json!(v)
}

fn string_expr(evaluate: Value, t: &StringTest) -> Result<Value, String> {
    let ops = t.operators();
    let (op, v) = ops.first().ok_or("string test without operator")?;
    Ok(json!({ "StringExpression": { "Evaluate": evaluate, "Operator": op, "Values": values(v) } }))
}

fn analysis_value(m: &Model, t: &AnalysisTest) -> Value {
    let _ = m;
    json!({ "Analyzer": get_att(&addon_instance_id(&t.addon), "AddonInstanceArn"), "ResultField": t.field })
}

fn policy_condition(m: &Model, c: &PolicyCondition) -> Result<Value, String> {
    Ok(match c {
        PolicyCondition::Recipient(t) => string_expr(json!({ "Attribute": "RECIPIENT" }), t)?,
        PolicyCondition::SenderIp(t) => {
            let (neg, v) = t.parts();
            json!({ "IpExpression": { "Evaluate": { "Attribute": "SENDER_IP" }, "Operator": if neg { "NOT_CIDR_MATCHES" } else { "CIDR_MATCHES" }, "Values": values(v) } })
        }
        PolicyCondition::SenderIpv6(t) => {
            let (neg, v) = t.parts();
            json!({ "Ipv6Expression": { "Evaluate": { "Attribute": "SENDER_IPV6" }, "Operator": if neg { "NOT_CIDR_MATCHES" } else { "CIDR_MATCHES" }, "Values": values(v) } })
        }
        PolicyCondition::Tls(TlsTest { min: Some(v), .. }) => tls_min(*v),
        PolicyCondition::Tls(TlsTest { is: Some(v), .. }) => {
            json!({ "TlsExpression": { "Evaluate": { "Attribute": "TLS_PROTOCOL" }, "Operator": "IS", "Value": v.cfn() } })
        }
        PolicyCondition::Tls(_) => return Err("tls below outside a rewritten statement".into()),
        PolicyCondition::Analysis(t) => {
            let a = json!({ "Analysis": analysis_value(m, t) });
            if let Some(is) = t.is {
                json!({ "BooleanExpression": { "Evaluate": a, "Operator": if is { "IS_TRUE" } else { "IS_FALSE" } } })
            } else {
                string_expr(a, &t.string_test())?
            }
        }
        PolicyCondition::AddressList(t) => json!({ "BooleanExpression": {
            "Evaluate": { "IsInAddressList": { "Attribute": "RECIPIENT", "AddressLists": [get_att(&address_list_id(&t.list), "AddressListArn")] } },
            "Operator": if t.member { "IS_TRUE" } else { "IS_FALSE" } } }),
    })
}

fn tls_min(v: TlsVersion) -> Value {
    json!({ "TlsExpression": { "Evaluate": { "Attribute": "TLS_PROTOCOL" }, "Operator": "MINIMUM_TLS_VERSION", "Value": v.cfn() } })
}

/// Statements and default action, with `deny: [tls below V]` rewritten: Mail
/// Manager cannot test "below", so every later `allow` statement also requires
/// TLS ≥ V, and an `allow` default becomes `deny` plus a final `allow: [tls min V]`.
pub fn policy_statements(m: &Model, tp: &TrafficPolicy) -> Result<(Vec<Value>, Verdict), String> {
    let mut floor: Option<TlsVersion> = None;
    let mut out = Vec::new();
    for st in &tp.statements {
        if let [PolicyCondition::Tls(TlsTest { below: Some(v), .. })] = st.conditions() {
            floor = Some(floor.map_or(*v, |f| f.max(*v)));
            continue;
        }
        let mut conds = st
            .conditions()
            .iter()
            .map(|c| policy_condition(m, c))
            .collect::<Result<Vec<_>, _>>()?;
        let action = match st {
            PolicyStatement::Allow(_) => {
                if let Some(f) = floor {
                    conds.push(tls_min(f));
                }
                "ALLOW"
            }
            PolicyStatement::Deny(_) => "DENY",
        };
        out.push(json!({ "Action": action, "Conditions": conds }));
    }
    let mut default = tp.default;
    if let (Some(f), Verdict::Allow) = (floor, tp.default) {
        out.push(json!({ "Action": "ALLOW", "Conditions": [tls_min(f)] }));
        default = Verdict::Deny;
    }
    Ok((out, default))
}

fn verdict_cfn(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "ALLOW",
        Verdict::Deny => "DENY",
    }
}

fn rule_condition(m: &Model, c: &RuleCondition) -> Result<Value, String> {
    use RuleCondition as C;
    let attr = |a: &str| json!({ "Attribute": a });
    let string_like = |evaluate: Value,
                       e: &Option<crate::spec::OneOrMany>,
                       ne: &Option<crate::spec::OneOrMany>,
                       sw: &Option<crate::spec::OneOrMany>,
                       ew: &Option<crate::spec::OneOrMany>,
                       co: &Option<crate::spec::OneOrMany>| {
        string_expr(
            evaluate,
            &StringTest {
                equals: e.clone(),
                not_equals: ne.clone(),
                starts_with: sw.clone(),
                ends_with: ew.clone(),
                contains: co.clone(),
            },
        )
    };
    let boolean = |a: &str, b: bool| json!({ "BooleanExpression": { "Evaluate": { "Attribute": a }, "Operator": if b { "IS_TRUE" } else { "IS_FALSE" } } });
    Ok(match c {
        C::MailFrom(t) => string_expr(attr("MAIL_FROM"), t)?,
        C::Helo(t) => string_expr(attr("HELO"), t)?,
        C::Recipient(t) => string_expr(attr("RECIPIENT"), t)?,
        C::Sender(t) => string_expr(attr("SENDER"), t)?,
        C::From(t) => string_expr(attr("FROM"), t)?,
        C::Subject(t) => string_expr(attr("SUBJECT"), t)?,
        C::To(t) => string_expr(attr("TO"), t)?,
        C::Cc(t) => string_expr(attr("CC"), t)?,
        C::MimeHeader(h) => string_like(
            json!({ "MimeHeaderAttribute": h.name }),
            &h.equals,
            &h.not_equals,
            &h.starts_with,
            &h.ends_with,
            &h.contains,
        )?,
        C::ClientCertificate(h) => string_like(
            json!({ "ClientCertificateAttribute": h.field.cfn() }),
            &h.equals,
            &h.not_equals,
            &h.starts_with,
            &h.ends_with,
            &h.contains,
        )?,
        C::Spf(t) | C::Dkim(t) => {
            let a = if matches!(c, C::Spf(_)) {
                "SPF"
            } else {
                "DKIM"
            };
            let (neg, v) = t.parts();
            json!({ "VerdictExpression": { "Evaluate": { "Attribute": a }, "Operator": if neg { "NOT_EQUALS" } else { "EQUALS" }, "Values": v.iter().map(|x| x.cfn()).collect::<Vec<_>>() } })
        }
        C::Dmarc(t) => {
            let (neg, v) = t.parts();
            json!({ "DmarcExpression": { "Operator": if neg { "NOT_EQUALS" } else { "EQUALS" }, "Values": v.iter().map(|x| x.cfn()).collect::<Vec<_>>() } })
        }
        C::SourceIp(t) => {
            let (neg, v) = t.parts();
            json!({ "IpExpression": { "Evaluate": { "Attribute": "SOURCE_IP" }, "Operator": if neg { "NOT_CIDR_MATCHES" } else { "CIDR_MATCHES" }, "Values": values(v) } })
        }
        C::Tls(b) => boolean("TLS", *b),
        C::TlsWrapped(b) => boolean("TLS_WRAPPED", *b),
        C::ReadReceipt(b) => boolean("READ_RECEIPT_REQUESTED", *b),
        C::MessageSize(t) => {
            let ops = t.operators();
            let (_, op, size) = ops.first().ok_or("size test without operator")?;
            json!({ "NumberExpression": { "Evaluate": { "Attribute": "MESSAGE_SIZE" }, "Operator": op, "Value": size.bytes()? } })
        }
        C::Analysis(t) => {
            let a = json!({ "Analysis": analysis_value(m, t) });
            if let Some(is) = t.is {
                json!({ "BooleanExpression": { "Evaluate": a, "Operator": if is { "IS_TRUE" } else { "IS_FALSE" } } })
            } else if let Some(v) = t
                .verdict
                .as_ref()
                .map(|v| ("EQUALS", v))
                .or(t.not_verdict.as_ref().map(|v| ("NOT_EQUALS", v)))
            {
                json!({ "VerdictExpression": { "Evaluate": a, "Operator": v.0, "Values": v.1.as_slice().iter().map(|x| x.cfn()).collect::<Vec<_>>() } })
            } else {
                string_expr(a, &t.string_test())?
            }
        }
        C::AddressList(t) => json!({ "BooleanExpression": {
            "Evaluate": { "IsInAddressList": { "Attribute": t.address.cfn(), "AddressLists": [get_att(&address_list_id(&t.list), "AddressListArn")] } },
            "Operator": if t.member { "IS_TRUE" } else { "IS_FALSE" } } }),
    })
}

/// The ARN of a topic given by name (declared under `receiving.topics`) or ARN.
pub fn topic_arn(project: &str, topic: &str) -> Value {
    if topic.starts_with("arn:") {
        json!(topic)
    } else {
        sub(&format!(
            "arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{project}-{topic}"
        ))
    }
}

/// The name of a bucket given by name (declared under `receiving.buckets`) or as an existing bucket.
pub fn bucket_name(m: &Model, bucket: &str) -> Value {
    let declared = m
        .receiving
        .as_ref()
        .is_some_and(|c| c.buckets.iter().any(|b| b.name == bucket));
    if declared {
        sub(&format!(
            "{}-{bucket}-${{AWS::AccountId}}-${{AWS::Region}}",
            m.project
        ))
    } else {
        json!(bucket)
    }
}

/// A role SES assumes for one action: trusted only by SES for this account's
/// Mail Manager rule sets (its permissions are laid out by `iam::attach`).
fn ses_role() -> Resource {
    Resource::new("AWS::IAM::Role").prop(
        "AssumeRolePolicyDocument",
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "ses.amazonaws.com" },
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
                    "ArnLike": { "aws:SourceArn": sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:mailmanager-rule-set/*") }
                }
            }]
        }),
    )
}

fn allow(actions: &[&str], resource: Value) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resource })
}

/// `RoleArn`: the user's role, or a generated one added to the template.
fn role_arn(
    t: &mut Template,
    user: &Option<String>,
    id: String,
    statements: Vec<Value>,
) -> Result<Value, String> {
    if let Some(arn) = user {
        return Ok(json!(arn));
    }
    let parts = crate::iam::attach(&id, ses_role(), "action", &statements)
        .map_err(|o| format!("{} (see `mailinfra explain MI3114`)", o.describe(&id)))?;
    for (pid, r) in parts {
        t.add(pid, r)?;
    }
    Ok(get_att(&id, "Arn"))
}

/// A `WriteToS3` action, with the role allowed to put objects under its prefix
/// (and to encrypt with its KMS key).
fn write_to_s3(
    m: &Model,
    t: &mut Template,
    x: &S3Target,
    role_id: String,
) -> Result<Value, String> {
    let bucket = bucket_name(m, &x.bucket);
    let prefix = x.prefix.clone().unwrap_or_default();
    let object = json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::", bucket.clone(), "/", prefix.clone(), "*"]] });
    let mut st = vec![allow(&["s3:PutObject"], object)];
    if let Some(k) = &x.kms_key {
        st.push(allow(&["kms:Encrypt", "kms:GenerateDataKey"], json!(k)));
    }
    let role = role_arn(t, &x.role, role_id, st)?;
    let mut v =
        json!({ "RoleArn": role, "S3Bucket": bucket, "ActionFailurePolicy": x.on_failure.cfn() });
    if let Some(p) = &x.prefix {
        v["S3Prefix"] = json!(p);
    }
    if let Some(k) = &x.kms_key {
        v["S3SseKmsKeyId"] = json!(k);
    }
    Ok(json!({ "WriteToS3": v }))
}

fn rule_action(
    m: &Model,
    t: &mut Template,
    a: &RuleAction,
    role_id: String,
) -> Result<Value, String> {
    Ok(match a {
        RuleAction::Archive(x) => {
            json!({ "Archive": { "TargetArchive": get_att(&archive_id(x.name()), "ArchiveArn"), "ActionFailurePolicy": x.on_failure().cfn() } })
        }
        RuleAction::WriteToS3(x) => write_to_s3(m, t, x, role_id)?,
        RuleAction::Relay(x) => {
            let mut v = json!({ "Relay": get_att(&relay_id(&x.to), "RelayArn"), "ActionFailurePolicy": x.on_failure.cfn() });
            if let Some(mf) = x.mail_from {
                v["MailFrom"] = json!(match mf {
                    crate::spec::MailFromMode::Preserve => "PRESERVE",
                    crate::spec::MailFromMode::Replace => "REPLACE",
                });
            }
            json!({ "Relay": v })
        }
        RuleAction::SendToInternet(x) => {
            let role = role_arn(
                t,
                &x.role,
                role_id,
                scope::mail_manager_send_statements(m, x.identities.as_ref()),
            )?;
            json!({ "Send": { "RoleArn": role, "ActionFailurePolicy": x.on_failure.cfn() } })
        }
        RuleAction::DeliverToMailbox(x) => {
            let role = role_arn(
                t,
                &x.role,
                role_id,
                vec![allow(&["workmail:DeliverToMailbox"], json!(x.mailbox))],
            )?;
            json!({ "DeliverToMailbox": { "MailboxArn": x.mailbox, "RoleArn": role, "ActionFailurePolicy": x.on_failure.cfn() } })
        }
        RuleAction::DeliverToQBusiness(x) => {
            let index = sub(&format!(
                "arn:${{AWS::Partition}}:qbusiness:${{AWS::Region}}:${{AWS::AccountId}}:application/{}/index/{}",
                x.application, x.index
            ));
            let role = role_arn(
                t,
                &x.role,
                role_id,
                vec![allow(&["qbusiness:BatchPutDocument"], index)],
            )?;
            json!({ "DeliverToQBusiness": { "ApplicationId": x.application, "IndexId": x.index, "RoleArn": role, "ActionFailurePolicy": x.on_failure.cfn() } })
        }
        RuleAction::ReplaceRecipients(v) => {
            json!({ "ReplaceRecipient": { "ReplaceWith": v.as_slice() } })
        }
        RuleAction::AddHeader(h) => {
            json!({ "AddHeader": { "HeaderName": h.name, "HeaderValue": h.value } })
        }
        RuleAction::PublishToSns(x) => {
            let topic = topic_arn(&m.project, &x.topic);
            let role = role_arn(
                t,
                &x.role,
                role_id,
                vec![allow(&["sns:Publish"], topic.clone())],
            )?;
            json!({ "PublishToSns": { "TopicArn": topic, "RoleArn": role, "ActionFailurePolicy": x.on_failure.cfn(),
                "Encoding": match x.encoding { SnsEncoding::Utf8 => "UTF-8", SnsEncoding::Base64 => "BASE64" },
                "PayloadType": match x.payload { SnsPayload::Content => "CONTENT", SnsPayload::Headers => "HEADERS" } } })
        }
        RuleAction::InvokeLambda(x) => {
            let role = role_arn(
                t,
                &x.role,
                role_id,
                vec![allow(&["lambda:InvokeFunction"], json!(x.function))],
            )?;
            let mut v = json!({ "FunctionArn": x.function, "RoleArn": role, "ActionFailurePolicy": x.on_failure.cfn(),
                "InvocationType": match x.invocation { Invocation::Event => "EVENT", Invocation::RequestResponse => "REQUEST_RESPONSE" } });
            if let Some(r) = x.retry_minutes {
                v["RetryTimeMinutes"] = json!(r);
            }
            json!({ "InvokeLambda": v })
        }
        RuleAction::Bounce(x) => {
            let role = role_arn(
                t,
                &x.role,
                role_id,
                scope::mail_manager_bounce_statements(m, &x.sender),
            )?;
            let mut v = json!({ "RoleArn": role, "Sender": x.sender, "SmtpReplyCode": x.smtp_reply_code, "StatusCode": x.status_code,
                "DiagnosticMessage": x.diagnostic, "ActionFailurePolicy": x.on_failure.cfn() });
            if let Some(msg) = &x.message {
                v["Message"] = json!(msg);
            }
            json!({ "Bounce": v })
        }
        RuleAction::Drop(_) => json!({ "Drop": {} }),
    })
}

/// What the resources of one Mail Manager template share: the project's name
/// prefix and its tags.
struct Common<'a> {
    m: &'a Model,
    tags: Value,
}

impl Common<'_> {
    /// `<project>-<n>`.
    fn name(&self, n: &str) -> Value {
        json!(format!("{}-{n}", self.m.project))
    }

    /// The resource with the project's tags, when there are any.
    fn tagged(&self, r: Resource) -> Resource {
        if self.m.tags.is_empty() {
            r
        } else {
            r.prop("Tags", self.tags.clone())
        }
    }
}

/// The Mail Manager template of one region.
pub fn template(m: &Model, region: &str) -> Result<Template, String> {
    let c = Common {
        m,
        tags: tag_list(&m.tags),
    };
    let mut t = Template {
        description: format!("mailinfra {}: SES Mail Manager in {region}", m.project),
        ..Default::default()
    };
    add_archives(&c, &mut t)?;
    add_relays(&c, &mut t)?;
    add_address_lists(&c, &mut t)?;
    add_addons(&c, &mut t)?;
    add_traffic_policies(&c, &mut t)?;
    for rs in &m.mail_manager.rule_sets {
        add_rule_set(&c, &mut t, rs)?;
    }
    for i in &m.mail_manager.ingress {
        add_ingress(&c, &mut t, i)?;
    }
    Ok(t)
}

/// The archives (retained), each with an output of its ARN.
fn add_archives(c: &Common, t: &mut Template) -> Result<(), String> {
    for a in &c.m.archives {
        let id = archive_id(&a.name);
        let mut r = Resource::new("AWS::SES::MailManagerArchive")
            .retained()
            .prop("ArchiveName", c.name(&a.name))
            .prop("Retention", json!({ "RetentionPeriod": a.retention.cfn() }));
        if let Some(key) = &a.kms_key {
            r = r.prop("KmsKeyArn", json!(key));
        }
        t.outputs.insert(
            format!("{id}Arn"),
            json!({ "Value": get_att(&id, "ArchiveArn") }),
        );
        t.add(id, c.tagged(r))?;
    }
    Ok(())
}

fn add_relays(c: &Common, t: &mut Template) -> Result<(), String> {
    for r in &c.m.mail_manager.relays {
        let auth = match &r.secret {
            Some(arn) if crate::values::secret_arn_problem(arn).is_some() => {
                return Err(format!(
                    "the secret of the relay `{}` is not a secret ARN",
                    r.name
                ));
            }
            Some(arn) => json!({ "SecretArn": arn }),
            None => json!({ "NoAuthentication": {} }),
        };
        let host = r.host.clone().ok_or("relay without host")?;
        t.add(
            relay_id(&r.name),
            c.tagged(
                Resource::new("AWS::SES::MailManagerRelay")
                    .prop("RelayName", c.name(&r.name))
                    .prop("ServerName", json!(host))
                    .prop("ServerPort", json!(r.port))
                    .prop("Authentication", auth),
            ),
        )?;
    }
    Ok(())
}

/// The address lists (retained): their members are imported with the Mail
/// Manager API, outside the template, so a deleted or replaced list (its
/// name is create-only) comes back empty.
fn add_address_lists(c: &Common, t: &mut Template) -> Result<(), String> {
    for a in &c.m.mail_manager.address_lists {
        t.add(
            address_list_id(&a.name),
            c.tagged(
                Resource::new("AWS::SES::MailManagerAddressList")
                    .retained()
                    .prop("AddressListName", c.name(&a.name)),
            ),
        )?;
    }
    Ok(())
}

/// Each add-on as a subscription and an instance of it.
fn add_addons(c: &Common, t: &mut Template) -> Result<(), String> {
    for a in &c.m.mail_manager.addons {
        let sub_id = addon_subscription_id(&a.name);
        t.add(
            sub_id.clone(),
            c.tagged(
                Resource::new("AWS::SES::MailManagerAddonSubscription")
                    .prop("AddonName", json!(a.addon.cfn())),
            ),
        )?;
        t.add(
            addon_instance_id(&a.name),
            c.tagged(Resource::new("AWS::SES::MailManagerAddonInstance").prop(
                "AddonSubscriptionId",
                get_att(&sub_id, "AddonSubscriptionId"),
            )),
        )?;
    }
    Ok(())
}

fn add_traffic_policies(c: &Common, t: &mut Template) -> Result<(), String> {
    for tp in &c.m.mail_manager.traffic_policies {
        let (statements, default) = policy_statements(c.m, tp)?;
        let mut r = Resource::new("AWS::SES::MailManagerTrafficPolicy")
            .prop("TrafficPolicyName", c.name(&tp.name))
            .prop("DefaultAction", json!(verdict_cfn(default)))
            .prop("PolicyStatements", Value::Array(statements));
        if let Some(size) = &tp.max_message_size {
            r = r.prop("MaxMessageSizeBytes", json!(size.bytes()?));
        }
        t.add(traffic_policy_id(&tp.name), c.tagged(r))?;
    }
    Ok(())
}

/// A rule set, and the roles its rules' actions run as.
fn add_rule_set(c: &Common, t: &mut Template, rs: &RuleSet) -> Result<(), String> {
    let mut rules = Vec::new();
    for (i, rule) in rs.rules.iter().enumerate() {
        rules.push(rule_value(c.m, t, &rs.name, i, rule)?);
    }
    t.add(
        rule_set_id(&rs.name),
        c.tagged(
            Resource::new("AWS::SES::MailManagerRuleSet")
                .prop("RuleSetName", c.name(&rs.name))
                .prop("Rules", Value::Array(rules)),
        ),
    )
}

/// Rule `index` of the rule set `rule_set`: its conditions, exceptions and
/// actions (the roles the actions run as are added to the template).
fn rule_value(
    m: &Model,
    t: &mut Template,
    rule_set: &str,
    index: usize,
    rule: &Rule,
) -> Result<Value, String> {
    let mut r = Map::new();
    r.insert("Name".into(), json!(rule.name));
    let when = rule
        .when
        .iter()
        .map(|c| rule_condition(m, c))
        .collect::<Result<Vec<_>, _>>()?;
    let unless = rule
        .unless
        .iter()
        .map(|c| rule_condition(m, c))
        .collect::<Result<Vec<_>, _>>()?;
    if !when.is_empty() {
        r.insert("Conditions".into(), Value::Array(when));
    }
    if !unless.is_empty() {
        r.insert("Unless".into(), Value::Array(unless));
    }
    let mut actions = Vec::new();
    for (k, a) in rule.actions.iter().enumerate() {
        actions.push(rule_action(m, t, a, action_role_id(rule_set, index, k))?);
    }
    r.insert("Actions".into(), Value::Array(actions));
    Ok(Value::Object(r))
}

/// An ingress endpoint (retained) with its authentication, network and an
/// output of its `ARecord` (the MX target).
fn add_ingress(c: &Common, t: &mut Template, i: &Ingress) -> Result<(), String> {
    let s = &i.spec;
    let id = crate::ids::ingress(&i.name);
    let mut r = Resource::new("AWS::SES::MailManagerIngressPoint")
        .retained()
        .prop("IngressPointName", c.name(&i.name))
        .prop(
            "Type",
            json!(match s.kind {
                IngressType::Open => "OPEN",
                IngressType::Auth => "AUTH",
                IngressType::Mtls => "MTLS",
            }),
        )
        .prop(
            "TrafficPolicyId",
            get_att(&traffic_policy_id(&s.traffic_policy), "TrafficPolicyId"),
        )
        .prop("RuleSetId", get_att(&rule_set_id(&s.rule_set), "RuleSetId"));
    if let Some(tls) = s.tls {
        r = r.prop(
            "TlsPolicy",
            json!(match tls {
                IngressTls::Optional => "OPTIONAL",
                IngressTls::Required => "REQUIRED",
                IngressTls::Fips => "FIPS",
            }),
        );
    }
    r = ingress_configuration(c, t, i, &id, r)?;
    if let Some(n) = ingress_network(&s.network) {
        r = r.prop("NetworkConfiguration", n);
    }
    t.outputs.insert(
        format!("{id}ARecord"),
        json!({ "Value": get_att(&id, "ARecord") }),
    );
    t.add(id, c.tagged(r))
}

/// The endpoint's `IngressPointConfiguration`: the user's password secret, a
/// generated one (added to the template), or the trust store of an `mtls`
/// endpoint. Secret ARNs and trust stores that `check` refuses never reach
/// the template (and the error does not repeat them).
fn ingress_configuration(
    c: &Common,
    t: &mut Template,
    i: &Ingress,
    id: &str,
    mut r: Resource,
) -> Result<Resource, String> {
    let generated_key = match &i.spec.password {
        Some(IngressPassword::Generate(_)) => Some(None),
        Some(IngressPassword::GenerateWithKey(g)) => Some(Some(g.generate.kms_key.as_str())),
        _ => None,
    };
    Ok(match (&i.spec.password, &i.spec.trust_store) {
        (Some(IngressPassword::Secret(sr)), _) => {
            if crate::values::secret_arn_problem(&sr.secret).is_some() {
                return Err(format!(
                    "the password secret of `{}` is not a secret ARN",
                    i.name
                ));
            }
            r.prop(
                "IngressPointConfiguration",
                json!({ "SecretArn": sr.secret }),
            )
        }
        (Some(_), _) => {
            let (secret_id, policy_id) =
                add_generated_password(c, t, i, id, generated_key.flatten())?;
            r.depends_on.push(policy_id);
            r.prop(
                "IngressPointConfiguration",
                json!({ "SecretArn": reference(&secret_id) }),
            )
        }
        (None, Some(ts)) => {
            let certificates_only = |text: &str, label: &str| {
                !text.contains("PRIVATE KEY")
                    && crate::values::pem_blocks(text)
                        .is_ok_and(|b| b.iter().all(|b| b.label == label))
            };
            if !certificates_only(&ts.ca, "CERTIFICATE")
                || ts
                    .crl
                    .as_ref()
                    .is_some_and(|crl| !certificates_only(crl, "X509 CRL"))
            {
                return Err(format!(
                    "the trust store of `{}` holds more than certificates",
                    i.name
                ));
            }
            let mut store = json!({ "CAContent": ts.ca });
            if let Some(crl) = &ts.crl {
                store["CrlContent"] = json!(crl);
            }
            if let Some(k) = &ts.kms_key {
                store["KmsKeyArn"] = json!(k);
            }
            r.prop(
                "IngressPointConfiguration",
                json!({ "TlsAuthConfiguration": { "TrustStore": store } }),
            )
        }
        (None, None) => r,
    })
}

/// Logical id of the KMS key that encrypts the generated ingress passwords
/// of a Mail Manager stack (one per stack, shared by its endpoints).
pub const SECRETS_KEY_ID: &str = "GeneratedSecretsKey";

/// The condition that confines a grant to SES acting for this account's
/// Mail Manager ingress endpoints (SES developer guide, "Permission policies
/// for Mail Manager"). The endpoint's own ARN is not known before it exists,
/// and the secret must exist first, so the ARN is matched up to the id.
fn ingress_points_condition() -> Value {
    json!({
        "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
        "ArnLike": { "aws:SourceArn": sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:mailmanager-ingress-point/*") }
    })
}

/// The key (retained) and its alias that encrypt the generated passwords, added
/// once per template; returns the key's ARN.
///
/// Mail Manager requires the secret of an ingress endpoint to be encrypted
/// with a customer managed key whose policy lets `ses.amazonaws.com`
/// `kms:Decrypt` through Secrets Manager for this account's ingress endpoints
/// (SES developer guide, "Permission policies for Mail Manager"); the default
/// `aws/secretsmanager` key cannot be given such a statement. The first
/// statement is KMS's default key policy statement that keeps the key
/// manageable by the account ("Default key policy", AWS KMS developer guide):
/// CloudFormation refuses a key policy that would lock its caller out.
fn secrets_key(c: &Common, t: &mut Template) -> Result<Value, String> {
    if !t.resources.contains_key(SECRETS_KEY_ID) {
        let mut ses = ingress_points_condition();
        ses["StringEquals"]["kms:ViaService"] = sub("secretsmanager.${AWS::Region}.amazonaws.com");
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountManagesTheKey",
                    "Effect": "Allow",
                    "Principal": { "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                    "Action": "kms:*",
                    "Resource": "*"
                },
                {
                    "Sid": "MailManagerDecryptsIngressPasswords",
                    "Effect": "Allow",
                    "Principal": { "Service": "ses.amazonaws.com" },
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": ses
                }
            ]
        });
        let key = Resource::new("AWS::KMS::Key")
            .retained()
            .prop(
                "Description",
                json!(format!(
                    "mailinfra {}: encrypts the generated SMTP passwords of Mail Manager ingress endpoints",
                    c.m.project
                )),
            )
            .prop("EnableKeyRotation", json!(true))
            .prop("KeyPolicy", policy);
        t.add(SECRETS_KEY_ID.to_string(), c.tagged(key))?;
        t.add(
            format!("{SECRETS_KEY_ID}Alias"),
            Resource::new("AWS::KMS::Alias")
                .prop(
                    "AliasName",
                    json!(format!(
                        "alias/{}/mail-manager/ingress-passwords",
                        c.m.project
                    )),
                )
                .prop("TargetKeyId", reference(SECRETS_KEY_ID)),
        )?;
    }
    Ok(get_att(SECRETS_KEY_ID, "Arn"))
}

/// A generated SMTP password for the ingress endpoint `id` (a retained secret
/// encrypted with `user_key`, or else the generated key) and the resource
/// policy that lets Mail Manager read it; returns their ids.
fn add_generated_password(
    c: &Common,
    t: &mut Template,
    i: &Ingress,
    id: &str,
    user_key: Option<&str>,
) -> Result<(String, String), String> {
    let m = c.m;
    let secret_id = format!("{id}Password");
    let key = match user_key {
        Some(k) => json!(k),
        None => secrets_key(c, t)?,
    };
    t.add(
        secret_id.clone(),
        c.tagged(
            Resource::new("AWS::SecretsManager::Secret")
                .retained()
                .prop(
                    "Name",
                    json!(format!("{}/mail-manager/{}", m.project, i.name)),
                )
                .prop(
                    "Description",
                    json!(format!(
                        "SMTP password of the Mail Manager ingress endpoint {}-{}",
                        m.project, i.name
                    )),
                )
                .prop("KmsKeyId", key)
                .prop(
                    "GenerateSecretString",
                    json!({ "PasswordLength": 32, "ExcludeCharacters": "\"'/\\:;<>`~ " }),
                ),
        ),
    )?;
    // Mail Manager reads the password with its service principal: the
    // secret needs a resource policy allowing `ses.amazonaws.com` to get
    // its value for this account's ingress endpoints (SES developer guide,
    // "Permission policies for Mail Manager").
    let policy_id = format!("{secret_id}Policy");
    t.add(
        policy_id.clone(),
        Resource::new("AWS::SecretsManager::ResourcePolicy")
            .prop("SecretId", reference(&secret_id))
            .prop("BlockPublicPolicy", json!(true))
            .prop(
                "ResourcePolicy",
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Service": "ses.amazonaws.com" },
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": ingress_points_condition()
                    }]
                }),
            ),
    )?;
    Ok((secret_id, policy_id))
}

/// The endpoint's `NetworkConfiguration`, when it is not the default (public IPv4).
fn ingress_network(network: &Option<Network>) -> Option<Value> {
    match network {
        None | Some(Network::Public(PublicNetwork::Ipv4)) => None,
        Some(Network::Public(PublicNetwork::DualStack)) => {
            Some(json!({ "PublicNetworkConfiguration": { "IpType": "DUAL_STACK" } }))
        }
        Some(Network::Vpc(v)) => {
            Some(json!({ "PrivateNetworkConfiguration": { "VpcEndpointId": v.vpc_endpoint } }))
        }
    }
}
