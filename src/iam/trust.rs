//! Trust policies of sending roles: who may assume the role, and on which
//! conditions. An account trust (`arn:…:iam::<account>:root`) lets every
//! principal of that account that is allowed `sts:AssumeRole` in; the
//! conditions the spec writes narrow it: `sts:ExternalId` (the guard against
//! the confused deputy, IAM User Guide "Access to AWS accounts owned by third
//! parties"), `aws:PrincipalArn` and `aws:PrincipalOrgID` (global condition
//! keys, available in every request).

use serde_json::{Map, Value, json};

use crate::model::sending::{Principal, TrustConditions};
use crate::spec::TrustedService;

/// The `Principal` of a sending role's trust policy.
pub(crate) fn principal(p: &Principal) -> Value {
    match p {
        Principal::Service(s) => json!({ "Service": match s {
            TrustedService::Ec2 => "ec2.amazonaws.com",
            TrustedService::Lambda => "lambda.amazonaws.com",
            TrustedService::EcsTasks => "ecs-tasks.amazonaws.com",
        }}),
        Principal::Account(a) => {
            json!({ "AWS": { "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::{a}:root") } })
        }
    }
}

/// The trust policy's `Condition` for an account trust (`None`: no condition).
fn condition(c: &TrustConditions) -> Option<Value> {
    let mut cond = Map::new();
    let mut equals = Map::new();
    if let Some(id) = &c.external_id {
        equals.insert("sts:ExternalId".into(), json!(id));
    }
    if let Some(org) = &c.organization {
        equals.insert("aws:PrincipalOrgID".into(), json!(org));
    }
    if !equals.is_empty() {
        cond.insert("StringEquals".into(), Value::Object(equals));
    }
    if !c.principals.is_empty() {
        let mut p = c.principals.clone();
        p.sort();
        p.dedup();
        cond.insert("ArnLike".into(), json!({ "aws:PrincipalArn": p }));
    }
    (!cond.is_empty()).then_some(Value::Object(cond))
}

/// A sending role's trust policy document. The conditions apply to account
/// trust only (a service principal is an AWS service, `check` rejects them there).
pub(crate) fn policy(p: &Principal, c: &TrustConditions) -> Value {
    let mut statement =
        json!({ "Effect": "Allow", "Principal": principal(p), "Action": "sts:AssumeRole" });
    if let (Principal::Account(_), Some(cond)) = (p, condition(c)) {
        statement["Condition"] = cond;
    }
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_trust_carries_the_conditions_written() {
        let account = Principal::Account("210987654321".into());
        let none = policy(&account, &TrustConditions::default());
        assert!(none["Statement"][0].get("Condition").is_none());
        let c = TrustConditions {
            external_id: Some("acme-7f3a".into()),
            principals: vec![
                "arn:aws:iam::210987654321:role/b".into(),
                "arn:aws:iam::210987654321:role/a".into(),
            ],
            organization: Some("o-a1b2c3d4e5".into()),
        };
        let p = policy(&account, &c);
        assert_eq!(
            p["Statement"][0]["Condition"],
            json!({
                "StringEquals": { "sts:ExternalId": "acme-7f3a", "aws:PrincipalOrgID": "o-a1b2c3d4e5" },
                "ArnLike": { "aws:PrincipalArn": ["arn:aws:iam::210987654321:role/a", "arn:aws:iam::210987654321:role/b"] }
            })
        );
        let service = policy(&Principal::Service(TrustedService::Ec2), &c);
        assert!(service["Statement"][0].get("Condition").is_none());
    }
}
