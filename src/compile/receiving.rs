//! Compile, classic SES receiving: one `<project>-<region>-receiving` stack in
//! the receiving region.
//!
//! It holds the buckets (retained, with the bucket policy that lets SES write
//! to them), the topics (with a topic policy for SES), the receipt rule sets
//! and their rules (ordered with `After`), a Lambda permission for every
//! `lambda` action, and the MX records (added by [`super::compile`]).
//! CloudFormation cannot activate a rule set: a `Custom::SesActiveReceiptRuleSet`
//! served by a small inline Lambda (`lambda/receiving/active_rule_set.py`) does.
//! It takes over from another active rule set only when the spec names it
//! (`replaces`, passed as `Replaces`), and makes that one active again on delete.

use serde_json::{Value, json};

use super::mail_manager::{bucket_name, topic_arn};
use crate::ids::pascal;
use crate::model::Model;
use crate::model::receiving::Classic;
use crate::spec::{Invocation, ReceiptAction, ReceiptRule, ReceiptTls, SnsEncoding};
use crate::template::{Resource, Template, get_att, reference, tag_list};

/// The activation handler, inlined as the Lambda's `ZipFile`.
pub const ACTIVATOR_CODE: &str = include_str!("lambda/receiving/active_rule_set.py");
pub const ACTIVATOR_ID: &str = "ReceiptRuleSetActivatorFunction";
pub const ACTIVATOR_ROLE_ID: &str = "ReceiptRuleSetActivatorRole";
pub const ACTIVE_RULE_SET_ID: &str = "ActiveReceiptRuleSet";

pub fn bucket_id(name: &str) -> String {
    format!("Bucket{}", pascal(name))
}
pub fn topic_id(name: &str) -> String {
    format!("Topic{}", pascal(name))
}
pub fn rule_set_id(name: &str) -> String {
    format!("ReceiptRuleSet{}", pascal(name))
}
pub fn rule_id(set: &str, rule: &str) -> String {
    format!("ReceiptRule{}{}", pascal(set), pascal(rule))
}

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

/// The deployed name of a rule set: `<project>-<name>`.
pub fn rule_set_name(m: &Model, set: &str) -> String {
    format!("{}-{set}", m.project)
}

/// The ARN pattern SES uses as `aws:SourceArn` for the rules of one rule set.
fn rules_arn(m: &Model, set: &str, rule: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:receipt-rule-set/{}:receipt-rule/{rule}",
        rule_set_name(m, set)
    ))
}

fn declared_topic(c: &Classic, topic: &str) -> bool {
    c.topics.iter().any(|t| t.name == topic)
}

fn action_topic(a: &ReceiptAction) -> Option<&String> {
    match a {
        ReceiptAction::S3(s) => s.topic.as_ref(),
        ReceiptAction::Sns(s) => Some(&s.topic),
        ReceiptAction::Lambda(l) => l.topic.as_ref(),
        ReceiptAction::Bounce(b) => b.topic.as_ref(),
        ReceiptAction::Stop(s) => s.topic.as_ref(),
        ReceiptAction::AddHeader(_) => None,
    }
}

/// Adds `TopicArn` when the action notifies a topic.
fn with_topic(m: &Model, mut v: Value, topic: Option<&String>) -> Value {
    if let Some(t) = topic {
        v["TopicArn"] = topic_arn(&m.project, t);
    }
    v
}

fn action(m: &Model, a: &ReceiptAction) -> Value {
    let topic = action_topic(a);
    match a {
        ReceiptAction::S3(s) => {
            let mut v = json!({ "BucketName": bucket_name(m, &s.bucket) });
            if let Some(p) = &s.prefix {
                v["ObjectKeyPrefix"] = json!(p);
            }
            if let Some(k) = &s.kms_key {
                v["KmsKeyArn"] = json!(k);
            }
            json!({ "S3Action": with_topic(m, v, topic) })
        }
        ReceiptAction::Sns(s) => json!({ "SNSAction": {
            "TopicArn": topic_arn(&m.project, &s.topic),
            "Encoding": match s.encoding { SnsEncoding::Utf8 => "UTF-8", SnsEncoding::Base64 => "Base64" },
        }}),
        ReceiptAction::Lambda(l) => {
            let v = json!({
                "FunctionArn": l.function,
                "InvocationType": match l.invocation { Invocation::Event => "Event", Invocation::RequestResponse => "RequestResponse" },
            });
            json!({ "LambdaAction": with_topic(m, v, topic) })
        }
        ReceiptAction::Bounce(b) => {
            let v = json!({
                "Sender": b.sender,
                "SmtpReplyCode": b.smtp_reply_code,
                "StatusCode": b.status_code,
                "Message": b.message,
            });
            json!({ "BounceAction": with_topic(m, v, topic) })
        }
        ReceiptAction::AddHeader(h) => {
            json!({ "AddHeaderAction": { "HeaderName": h.name, "HeaderValue": h.value } })
        }
        ReceiptAction::Stop(_) => {
            json!({ "StopAction": with_topic(m, json!({ "Scope": "RuleSet" }), topic) })
        }
    }
}

fn rule(m: &Model, r: &ReceiptRule) -> Value {
    let mut v = json!({
        "Name": r.name,
        "Enabled": r.enabled.unwrap_or(true),
        "ScanEnabled": r.scan.unwrap_or(true),
        "TlsPolicy": match r.tls { ReceiptTls::Optional => "Optional", ReceiptTls::Required => "Require" },
        "Actions": r.actions.iter().map(|a| action(m, a)).collect::<Vec<_>>(),
    });
    if !r.recipients.is_empty() {
        v["Recipients"] = json!(r.recipients);
    }
    v
}

fn tagged(m: &Model, r: Resource) -> Resource {
    if m.tags.is_empty() {
        r
    } else {
        r.prop("Tags", tag_list(&m.tags))
    }
}

/// The rules (as `aws:SourceArn` values) that use a bucket or topic; all rules when none does.
fn users(m: &Model, c: &Classic, uses: impl Fn(&ReceiptAction) -> bool) -> Vec<Value> {
    let mut v = Vec::new();
    for rs in &c.rule_sets {
        for r in &rs.rules {
            if r.actions.iter().any(&uses) {
                v.push(rules_arn(m, &rs.name, &r.name));
            }
        }
    }
    if v.is_empty() {
        v = c
            .rule_sets
            .iter()
            .map(|rs| rules_arn(m, &rs.name, "*"))
            .collect();
    }
    v
}

fn ses_condition(source_arns: Vec<Value>) -> Value {
    json!({
        "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } },
        "ArnLike": { "aws:SourceArn": source_arns }
    })
}

fn buckets(m: &Model, c: &Classic, t: &mut Template) -> Result<(), String> {
    for b in &c.buckets {
        let id = bucket_id(&b.name);
        let encryption = match &b.kms_key {
            Some(k) => json!({ "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": k }),
            None => json!({ "SSEAlgorithm": "AES256" }),
        };
        let mut r = Resource::new("AWS::S3::Bucket")
            .retained()
            .prop("BucketName", bucket_name(m, &b.name))
            .prop(
                "BucketEncryption",
                json!({ "ServerSideEncryptionConfiguration": [{ "ServerSideEncryptionByDefault": encryption }] }),
            )
            .prop(
                "PublicAccessBlockConfiguration",
                json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true }),
            );
        if let Some(days) = b.expire_after_days {
            r = r.prop(
                "LifecycleConfiguration",
                json!({ "Rules": [{ "Id": "expire-received-mail", "Status": "Enabled", "ExpirationInDays": days }] }),
            );
        }
        t.add(id.clone(), tagged(m, r))?;
        let sources = users(
            m,
            c,
            |a| matches!(a, ReceiptAction::S3(s) if s.bucket == b.name),
        );
        t.add(
            format!("{id}Policy"),
            Resource::new("AWS::S3::BucketPolicy")
                .prop("Bucket", reference(&id))
                .prop(
                    "PolicyDocument",
                    json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AllowSesPuts",
                            "Effect": "Allow",
                            "Principal": { "Service": "ses.amazonaws.com" },
                            "Action": "s3:PutObject",
                            "Resource": sub(&format!("arn:${{AWS::Partition}}:s3:::${{{id}}}/*")),
                            "Condition": ses_condition(sources),
                        }]
                    }),
                ),
        )?;
    }
    Ok(())
}

fn topics(m: &Model, c: &Classic, t: &mut Template) -> Result<(), String> {
    for topic in &c.topics {
        let id = topic_id(&topic.name);
        t.add(
            id.clone(),
            tagged(
                m,
                Resource::new("AWS::SNS::Topic")
                    .prop("TopicName", json!(format!("{}-{}", m.project, topic.name))),
            ),
        )?;
        if let Some(subs) = c.subscriptions.get(&topic.name) {
            super::sns::subscriptions(t, &id, subs)?;
        }
        let sources = users(m, c, |a| action_topic(a) == Some(&topic.name));
        t.add(
            format!("{id}Policy"),
            Resource::new("AWS::SNS::TopicPolicy")
                .prop("Topics", json!([reference(&id)]))
                .prop(
                    "PolicyDocument",
                    json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AllowSesPublish",
                            "Effect": "Allow",
                            "Principal": { "Service": "ses.amazonaws.com" },
                            "Action": "sns:Publish",
                            "Resource": reference(&id),
                            "Condition": ses_condition(sources),
                        }]
                    }),
                ),
        )?;
    }
    Ok(())
}

/// The activation Lambda and its role: it may only read and set the active rule set
/// (these SES actions take no resource-level permissions, hence `*`).
fn activator(t: &mut Template) -> Result<(), String> {
    let statements = [
        json!({
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*")
        }),
        json!({
            "Effect": "Allow",
            "Action": ["ses:SetActiveReceiptRuleSet", "ses:DescribeActiveReceiptRuleSet"],
            "Resource": "*"
        }),
    ];
    let parts = crate::iam::attach(
        ACTIVATOR_ROLE_ID,
        crate::template::lambda_role(),
        "ses-active-receipt-rule-set",
        &statements,
    )
    .map_err(|o| o.describe(ACTIVATOR_ROLE_ID))?;
    for (id, r) in parts {
        t.add(id, r)?;
    }
    t.add(
        ACTIVATOR_ID.into(),
        Resource::new("AWS::Lambda::Function")
            .prop("Runtime", json!("python3.12"))
            .prop("Handler", json!("index.handler"))
            .prop("Timeout", json!(60))
            .prop("Role", get_att(ACTIVATOR_ROLE_ID, "Arn"))
            .prop("Code", json!({ "ZipFile": ACTIVATOR_CODE })),
    )
}

/// The receiving stack's template (without MX records). `None` when there is no `receiving:`.
pub fn template(m: &Model) -> Result<Option<Template>, String> {
    let Some(c) = &m.receiving else {
        return Ok(None);
    };
    let mut t = Template {
        description: format!("mailinfra {}: SES receipt rules in {}", m.project, c.region),
        ..Default::default()
    };
    buckets(m, c, &mut t)?;
    topics(m, c, &mut t)?;
    for rs in &c.rule_sets {
        let set_id = rule_set_id(&rs.name);
        t.add(
            set_id.clone(),
            Resource::new("AWS::SES::ReceiptRuleSet")
                .prop("RuleSetName", json!(rule_set_name(m, &rs.name))),
        )?;
        let mut previous: Option<(&str, String)> = None;
        let mut rule_ids = Vec::new();
        for r in &rs.rules {
            let id = rule_id(&rs.name, &r.name);
            let mut res = Resource::new("AWS::SES::ReceiptRule")
                .prop("RuleSetName", reference(&set_id))
                .prop("Rule", rule(m, r));
            if let Some((name, prev_id)) = &previous {
                res = res.prop("After", json!(name));
                res.depends_on.push(prev_id.clone());
            }
            // SES checks its access when the rule is created: policies and permissions first.
            for (k, a) in r.actions.iter().enumerate() {
                match a {
                    ReceiptAction::S3(s) if c.buckets.iter().any(|b| b.name == s.bucket) => {
                        res.depends_on
                            .push(format!("{}Policy", bucket_id(&s.bucket)));
                    }
                    ReceiptAction::Lambda(l) => {
                        let perm = format!("{id}Lambda{k}");
                        t.add(
                            perm.clone(),
                            Resource::new("AWS::Lambda::Permission")
                                .prop("FunctionName", json!(l.function))
                                .prop("Action", json!("lambda:InvokeFunction"))
                                .prop("Principal", json!("ses.amazonaws.com"))
                                .prop("SourceAccount", reference("AWS::AccountId"))
                                .prop("SourceArn", rules_arn(m, &rs.name, &r.name)),
                        )?;
                        res.depends_on.push(perm);
                    }
                    _ => {}
                }
                if let Some(topic) = action_topic(a)
                    && declared_topic(c, topic)
                {
                    res.depends_on.push(format!("{}Policy", topic_id(topic)));
                }
            }
            res.depends_on.sort();
            res.depends_on.dedup();
            t.add(id.clone(), res)?;
            rule_ids.push(id.clone());
            previous = Some((&r.name, id));
        }
        if rs.active {
            let mut res = Resource::new("Custom::SesActiveReceiptRuleSet")
                .prop("ServiceToken", get_att(ACTIVATOR_ID, "Arn"))
                .prop("RuleSetName", reference(&set_id));
            if let Some(other) = &rs.replaces {
                res = res.prop("Replaces", json!(other));
            }
            // Activated after its rules exist; deactivated before they go.
            res.depends_on = rule_ids;
            t.add(ACTIVE_RULE_SET_ID.into(), res)?;
        }
    }
    if c.rule_sets.iter().any(|rs| rs.active) {
        activator(&mut t)?;
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::sending::tests::model;

    const SPEC: &str = "version: 1\nproject: p\nregions: { primary: us-east-1 }\nreceiving:\n  rule_sets:\n    a: { active: false, rules: [ { name: one, actions: [ { stop: {} } ] }, { name: two, actions: [ { stop: {} } ] } ] }\n";

    #[test]
    fn inactive_rule_sets_need_no_activator_and_rules_follow_each_other() {
        let t = template(&model(SPEC)).unwrap().unwrap();
        assert!(!t.resources.contains_key(ACTIVE_RULE_SET_ID));
        assert!(!t.resources.contains_key(ACTIVATOR_ID));
        let two = &t.resources["ReceiptRuleATwo"];
        assert_eq!(two.properties["After"], json!("one"));
        assert_eq!(two.depends_on, ["ReceiptRuleAOne"]);
        assert_eq!(
            t.resources["ReceiptRuleSetA"].properties["RuleSetName"],
            json!("p-a")
        );
    }

    #[test]
    fn the_activator_replaces_only_the_rule_set_the_spec_names() {
        let spec = |replaces: &str| {
            format!(
                "version: 1\nproject: p\nregions: {{ primary: us-east-1 }}\nreceiving:\n  rule_sets:\n    a: {{ {replaces}rules: [ {{ name: one, actions: [ {{ stop: {{}} }} ] }} ] }}\n"
            )
        };
        let t = template(&model(&spec(""))).unwrap().unwrap();
        assert!(
            !t.resources[ACTIVE_RULE_SET_ID]
                .properties
                .contains_key("Replaces")
        );
        let t = template(&model(&spec("replaces: legacy, ")))
            .unwrap()
            .unwrap();
        assert_eq!(
            t.resources[ACTIVE_RULE_SET_ID].properties["Replaces"],
            json!("legacy")
        );
    }

    #[test]
    fn no_receiving_no_stack() {
        let m = model("version: 1\nproject: p\nregions: { primary: us-east-1 }\n");
        assert!(template(&m).unwrap().is_none());
    }
}
