//! The saved plan (`plan --out`): what `apply PLAN` executes, and what it must
//! still match. Its checksum detects corruption and accidental edits; it is
//! not a signature.

use serde::{Deserialize, Serialize};

use super::*;
use crate::build::Artifact;

/// A saved plan: what `apply PLAN` executes, and what it must still match.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: u32,
    pub spec_sha256: String,
    pub stacks: Vec<StackPlan>,
    /// The one region the plan was made for (`plan --region`); absent: every
    /// region of the spec. `apply` refuses a plan of another scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// SHA-256 of the rest of the file (canonical JSON): a damaged or edited
    /// plan is refused instead of half-executed.
    #[serde(default)]
    pub checksum: String,
}

impl PlanFile {
    pub const FORMAT: u32 = 2;

    pub fn new(spec_sha256: &str, stacks: Vec<StackPlan>) -> PlanFile {
        let mut file = PlanFile {
            format_version: Self::FORMAT,
            spec_sha256: spec_sha256.to_string(),
            stacks,
            region: None,
            checksum: String::new(),
        };
        file.checksum = file.digest();
        file
    }

    /// The plan, made for only `region` (`plan --region`) or for every region.
    pub fn scoped(mut self, region: Option<&str>) -> PlanFile {
        self.region = region.map(str::to_string);
        self.checksum = self.digest();
        self
    }

    /// Whether the plan was made for the scope `apply` runs with: a plan of
    /// one region applied to all would leave the others unplanned, and the
    /// reverse would miss stacks it reviewed.
    pub fn check_scope(&self, region: Option<&str>) -> Result<(), String> {
        let name = |r: Option<&str>| match r {
            Some(r) => format!("`--region {r}`"),
            None => "every region of the spec".to_string(),
        };
        if self.region.as_deref() == region {
            return Ok(());
        }
        Err(format!(
            "it was made for {}, and this apply runs for {}; apply it with the scope it was planned with",
            name(self.region.as_deref()),
            name(region)
        ))
    }

    fn digest(&self) -> String {
        let mut body = serde_json::json!({
            "format_version": self.format_version,
            "spec_sha256": self.spec_sha256,
            "stacks": self.stacks,
        });
        if let Some(r) = &self.region {
            body["region"] = serde_json::Value::String(r.clone());
        }
        let text = crate::template::render_value(&body);
        crate::hash::sha256_hex(text.as_bytes())
    }

    /// The file's text, canonical JSON.
    pub fn render(&self) -> String {
        crate::template::render_value(&serde_json::to_value(self).unwrap_or_default())
    }

    /// Reads a plan file; `Err` says why it cannot be used.
    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let file: PlanFile = serde_json::from_str(text)
            .map_err(|e| format!("it is not a mailinfra plan file ({e})"))?;
        if file.format_version != Self::FORMAT {
            return Err(format!(
                "it has format {}, this mailinfra reads {}",
                file.format_version,
                Self::FORMAT
            ));
        }
        if file.checksum != file.digest() {
            return Err("it is damaged or was edited (its checksum does not match)".into());
        }
        Ok(file)
    }

    /// Whether the plan was made from this spec and these templates.
    pub fn matches(&self, spec_sha256: &str, artifacts: &[Artifact]) -> Result<(), String> {
        if self.format_version != Self::FORMAT {
            return Err(format!(
                "it has format {}, this mailinfra reads {}",
                self.format_version,
                Self::FORMAT
            ));
        }
        if self.spec_sha256 != spec_sha256 {
            return Err("the spec changed since it was planned".into());
        }
        for p in &self.stacks {
            let produced = artifacts.iter().find(|a| a.entry.name == p.stack);
            if p.status == PlanStatus::Delete {
                // Whether the stack is this project's is asked of AWS at apply.
                if produced.is_some() {
                    return Err(format!(
                        "it deletes the stack `{}`, which the spec produces",
                        p.stack
                    ));
                }
                continue;
            }
            match produced {
                Some(a) if a.entry.sha256 == p.template_sha256 => {}
                Some(_) => {
                    return Err(format!(
                        "the template of `{}` changed since it was planned",
                        p.stack
                    ));
                }
                None => return Err(format!("the spec no longer has the stack `{}`", p.stack)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan_file() -> PlanFile {
        let mut p = StackPlan::new(&Artifact {
            entry: crate::build::StackEntry {
                name: "demo-us-east-1-mail-manager".into(),
                region: "us-east-1".into(),
                concern: "mail-manager".into(),
                template: "t.json".into(),
                sha256: "ab".repeat(32),
                bytes: 10,
                resources: 1,
                depends_on: Vec::new(),
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: String::new(),
        });
        p.change_set_arn =
            Some("arn:aws:cloudformation:us-east-1:1:changeSet/mailinfra-x/1".into());
        PlanFile::new(&"cd".repeat(32), vec![p])
    }

    #[test]
    fn a_plan_keeps_its_scope_and_refuses_another() {
        let all = plan_file();
        assert!(all.check_scope(None).is_ok());
        let why = all.check_scope(Some("us-east-1")).unwrap_err();
        assert!(why.contains("made for every region of the spec"), "{why}");
        let east = plan_file().scoped(Some("us-east-1"));
        let back = PlanFile::parse(&east.render()).unwrap();
        assert_eq!(back.region.as_deref(), Some("us-east-1"));
        assert!(back.check_scope(Some("us-east-1")).is_ok());
        let why = back.check_scope(None).unwrap_err();
        assert!(why.contains("made for `--region us-east-1`"), "{why}");
        // The scope is under the checksum: widening it by hand is an edit.
        let widened = east.render().replace("\"region\": \"us-east-1\",\n", "");
        assert_ne!(widened, east.render());
        assert!(PlanFile::parse(&widened).is_err());
    }

    #[test]
    fn a_plan_file_reads_back_and_an_edit_is_refused() {
        let text = plan_file().render();
        assert!(PlanFile::parse(&text).is_ok());
        let edited = text.replace("mailinfra-x", "mailinfra-y");
        assert!(PlanFile::parse(&edited).unwrap_err().contains("checksum"));
        let old = text.replace("\"format_version\": 2", "\"format_version\": 1");
        assert!(PlanFile::parse(&old).unwrap_err().contains("format 1"));
    }

    #[test]
    fn a_name_removed_under_one_id_and_added_under_another_is_a_rename() {
        use serde_json::json;
        let old = json!({"Resources": {
            "RecordMxOld": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "Example.com.", "Type": "MX", "ResourceRecords": ["10 a"]}},
            "ConfigSetMarketing": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "marketing"}},
        }});
        let new = json!({"Resources": {
            "RecordMxExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "example.com", "Type": "MX", "ResourceRecords": ["10 a"]}},
            "RecordTxtExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "example.com", "Type": "TXT", "ResourceRecords": ["\"v=spf1 -all\""]}},
        }});
        let moved = json!({"Resources": {
            "ConfigSetMarketingShared": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "marketing"}},
            "ConfigSetOther": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "other"}},
        }});
        let mut a = plan_file().stacks[0].clone();
        a.changes = crate::diff::diff_templates(Some(&old), Some(&new));
        let mut b = plan_file().stacks[0].clone();
        b.stack = "demo-us-east-1-sending-01".into();
        b.changes = crate::diff::diff_templates(None, Some(&moved));
        let mut plans = [a, b];
        assert_eq!(mark_renames(&mut plans), 2);
        let mark = |p: usize, id: &str| {
            plans[p]
                .changes
                .iter()
                .find(|c| c.logical_id == id)
                .and_then(|c| c.renamed_from.clone())
        };
        // The zone, the name (case and final dot aside) and the type make a record.
        assert_eq!(
            mark(0, "RecordMxExampleCom").as_deref(),
            Some("`RecordMxOld`")
        );
        assert_eq!(mark(0, "RecordTxtExampleCom"), None);
        assert_eq!(
            mark(1, "ConfigSetMarketingShared").as_deref(),
            Some("`ConfigSetMarketing` in `demo-us-east-1-mail-manager`")
        );
        assert_eq!(mark(1, "ConfigSetOther"), None);
    }

    proptest! {
        /// A plan file cut short anywhere is refused cleanly, never half-read.
        #[test]
        fn a_truncated_plan_file_is_refused(cut in 0usize..1000) {
            let text = plan_file().render();
            // Only the content counts: a cut that removes the final newline leaves it whole.
            let cut = cut % text.trim_end().len();
            prop_assert!(PlanFile::parse(&text[..cut]).is_err());
        }
    }
}
