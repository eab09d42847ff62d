//! Email addresses, as SES and Mail Manager take them.

use super::domain_problem;

/// Why `addr` is not an email address mailinfra accepts, if it is not: an
/// unquoted ASCII local part of at most 64 characters (`+` tags allowed; no
/// leading, trailing or doubled dot) at a valid domain, at most 254 characters
/// in all. Quoted local parts are valid email that SES and Mail Manager refuse.
pub(crate) fn email_problem(addr: &str) -> Option<String> {
    if addr.chars().count() > 254 {
        return Some(format!(
            "the address is {} characters long; at most 254 are allowed",
            addr.chars().count()
        ));
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Some("an email address needs an `@`, e.g. `postmaster@example.com`".into());
    };
    if local.is_empty() {
        return Some("the part before `@` is empty".into());
    }
    if local.starts_with('"') {
        return Some(
            "quoted local parts are valid email but SES and Mail Manager do not accept them".into(),
        );
    }
    if local.len() > 64 {
        return Some(format!(
            "the part before `@` is {} characters long; at most 64 are allowed",
            local.len()
        ));
    }
    if !local.is_ascii() {
        return Some(
            "internationalised local parts are not supported; use ASCII before `@`".into(),
        );
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("the part before `@` has a leading, trailing or doubled dot".into());
    }
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(*c)))
    {
        return Some(format!(
            "the part before `@` holds `{c}`, which needs quoting"
        ));
    }
    domain_problem(domain).map(|why| format!("the domain `{domain}` is invalid: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email_problem("a+tag@example.com"), None);
        assert_eq!(email_problem("first.last_1@mail.example.com"), None);
        assert!(email_problem("example.com").unwrap().contains("`@`"));
        assert!(email_problem("@example.com").unwrap().contains("empty"));
        assert!(
            email_problem("a@b@example.com")
                .unwrap()
                .contains("holds `@`")
        );
        assert!(
            email_problem("a b@example.com")
                .unwrap()
                .contains("holds ` `")
        );
        assert!(email_problem("a@com").unwrap().contains("two labels"));
        assert!(
            email_problem("\"a b\"@example.com")
                .unwrap()
                .contains("quoted")
        );
        assert!(
            email_problem("a..b@example.com")
                .unwrap()
                .contains("doubled")
        );
        assert!(email_problem("a@exa_mple..com").unwrap().contains("domain"));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert!(email_problem(&long).unwrap().contains("254"));
        assert!(
            email_problem(&format!("{}@example.com", "a".repeat(65)))
                .unwrap()
                .contains("64")
        );
        assert!(email_problem("é@example.com").unwrap().contains("ASCII"));
    }
}
