//! AWS regions: the ones CloudFormation knows (`src/data/cfn.json`).

use crate::cfn_data;
use crate::diag::suggest;

/// How to fix `region`, if it is not an AWS region: the region it is likely a
/// typo of, or an example.
pub(crate) fn region_problem(region: &str) -> Option<String> {
    if cfn_data::is_region(region) {
        return None;
    }
    let normalised = region.replace('_', "-").to_ascii_lowercase();
    Some(if cfn_data::is_region(&normalised) {
        format!("did you mean `{normalised}`?")
    } else {
        match suggest(region, cfn_data::data().regions.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use an AWS region code such as `us-east-1` or `eu-west-1`".into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(region_problem("eu-west-1"), None);
        assert_eq!(
            region_problem("eu_west_1").as_deref(),
            Some("did you mean `eu-west-1`?")
        );
        assert!(
            region_problem("us-east-7")
                .unwrap()
                .starts_with("did you mean")
        );
        assert!(region_problem("mars").unwrap().contains("such as"));
    }
}
