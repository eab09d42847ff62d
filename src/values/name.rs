//! CloudFormation physical-name rules.

/// Why `name` breaks a CloudFormation name rule, if it does: at most `max`
/// characters, only letters, digits and the characters in `extra`, starting
/// and ending with a letter or digit.
pub(crate) fn cfn_name_problem(name: &str, max: usize, extra: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 {
        return Some("the name is empty".into());
    }
    if len > max {
        return Some(format!(
            "the name is {len} characters long; at most {max} are allowed"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
    {
        let allowed: Vec<String> = extra.chars().map(|c| format!("`{c}`")).collect();
        return Some(format!(
            "the name holds `{c}`; only letters, digits and {} are allowed",
            allowed.join(", ")
        ));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("the name must start and end with a letter or digit".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(cfn_name_problem("journal_1", 64, "_-"), None);
        assert!(
            cfn_name_problem("-bad-", 64, "_-")
                .unwrap()
                .contains("start and end")
        );
        assert!(
            cfn_name_problem("a b", 64, "_-")
                .unwrap()
                .contains("holds ` `")
        );
        assert!(
            cfn_name_problem(&"a".repeat(65), 64, "_-")
                .unwrap()
                .contains("64")
        );
    }
}
