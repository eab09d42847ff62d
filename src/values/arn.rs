//! ARNs and AWS partitions.

/// The AWS partition a region belongs to.
pub(crate) fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// Checks an ARN, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, and returns
/// its partition. The partition starts with `aws`; the service and the
/// resource are not empty; the region may be empty; the account is empty or
/// 12 digits; and the whole holds only letters, digits and `:/._+=@-`.
pub(crate) fn parse_arn(text: &str) -> Result<&str, String> {
    let form = "an ARN looks like `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`";
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, _region, account, resource] = parts[..] else {
        return Err(form.to_string());
    };
    let ok = arn == "arn"
        && partition.starts_with("aws")
        && !service.is_empty()
        && !resource.is_empty()
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._+=@-".contains(c));
    if ok {
        Ok(partition)
    } else {
        Err(form.to_string())
    }
}

/// The partition an ARN names, `arn:PARTITION:…`, however the rest looks.
fn partition_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(partition)) => Some(partition),
        _ => None,
    }
}

/// Why an ARN cannot be used from `region`, if it cannot: it names a partition
/// other than the region's, or no partition (the schema judges the rest).
pub(crate) fn arn_partition_problem(arn: &str, region: &str) -> Option<String> {
    let Some(partition) = partition_of_arn(arn) else {
        return Some("an ARN starts with `arn:PARTITION:`".into());
    };
    let want = partition_of_region(region);
    (partition != want).then(|| {
        format!(
            "the ARN is in the `{partition}` partition but `{region}` is in `{want}`; resources cannot refer across partitions"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_partitions() {
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(
            parse_arn("arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/relay-AbCdEf"),
            Ok("aws")
        );
        assert_eq!(parse_arn("arn:aws:s3:::bucket"), Ok("aws"));
        assert!(parse_arn("arn:aws:kms:us-east-1:1234:key/x").is_err());
        assert!(parse_arn("not-an-arn").is_err());
        assert!(parse_arn("arn:aws:kms:us-east-1:111122223333:").is_err());
        assert!(parse_arn("arn:aws:kms:us-east-1:111122223333:key/a b").is_err());
        assert_eq!(
            arn_partition_problem("arn:aws:kms:eu-west-1:111122223333:key/x", "eu-west-1"),
            None
        );
        assert!(
            arn_partition_problem("arn:aws-cn:kms:cn-north-1:111122223333:key/x", "eu-west-1")
                .unwrap()
                .contains("`aws-cn` partition")
        );
        assert!(arn_partition_problem("kms-key", "eu-west-1").is_some());
    }
}
