//! Facts about CloudFormation resource types, derived from the official resource
//! schemas (`scripts/gen-cfn-data.py` writes `src/data/cfn.json`): where each type
//! exists, which property changes replace a resource, which properties exist.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct TypeFacts {
    pub regions: Vec<String>,
    pub create_only: Vec<String>,
    pub properties: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CfnData {
    /// The cfn-lint whose bundled schemas the facts were read from (a test
    /// holds it to the version `scripts/test` installs).
    #[cfg_attr(not(test), allow(dead_code))]
    pub cfn_lint_version: String,
    pub regions: Vec<String>,
    pub types: BTreeMap<String, TypeFacts>,
}

pub(crate) fn data() -> &'static CfnData {
    static DATA: OnceLock<CfnData> = OnceLock::new();
    DATA.get_or_init(|| {
        // The file is committed and parsed by a unit test, so this cannot fail at run time.
        serde_json::from_str(include_str!("data/cfn.json")).expect("src/data/cfn.json is valid")
    })
}

/// Whether `region` is a region CloudFormation knows.
pub(crate) fn is_region(region: &str) -> bool {
    data().regions.iter().any(|r| r == region)
}

pub(crate) fn type_facts(resource_type: &str) -> Option<&'static TypeFacts> {
    data().types.get(resource_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts come from the cfn-lint the test suite lints templates with.
    #[test]
    fn facts_match_the_pinned_cfn_lint() {
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test"),
        )
        .unwrap();
        let pinned = script
            .lines()
            .find_map(|l| l.strip_prefix("CFN_LINT_VERSION="))
            .expect("scripts/test pins cfn-lint");
        assert_eq!(
            data().cfn_lint_version,
            pinned,
            "src/data/cfn.json is from another cfn-lint: run scripts/gen-cfn-data.py"
        );
    }

    #[test]
    fn data_parses_and_knows_ses() {
        assert!(is_region("us-east-1"));
        assert!(!is_region("us-east-7"));
        let archive = &type_facts("AWS::SES::MailManagerArchive")
            .unwrap()
            .create_only;
        assert!(archive.iter().any(|p| p == "KmsKeyArn"));
        assert!(!archive.iter().any(|p| p == "Retention"));
    }
}
