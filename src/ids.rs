//! Logical ids: the identity of every deployed resource.
//!
//! A logical id is a kind prefix plus the element's name in PascalCase, letters
//! and digits only (`mail.example.com` → `IdentityMailExampleCom`). The scheme is
//! frozen — changing it renames, and so replaces, deployed resources — and is
//! pinned by golden tests. Names that collide after conversion are rejected by
//! `check`, never suffixed.

/// `mail.example-1.com` → `MailExample1Com`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

pub fn identity(domain: &str) -> String {
    format!("Identity{}", pascal(domain))
}

pub fn archive(name: &str) -> String {
    format!("Archive{}", pascal(name))
}

/// A DNS record set: purpose plus the owning element (`DkimExampleCom1`).
pub fn record(purpose: &str, owner: &str) -> String {
    format!("{purpose}{}", pascal(owner))
}

pub fn config_set(name: &str) -> String {
    format!("ConfigurationSet{}", pascal(name))
}

pub fn event_destination(set: &str, name: &str) -> String {
    format!("EventDestination{}{}", pascal(set), pascal(name))
}

pub fn email_template(name: &str) -> String {
    format!("Template{}", pascal(name))
}

pub fn role(name: &str) -> String {
    format!("Role{}", pascal(name))
}

pub fn instance_profile(name: &str) -> String {
    format!("InstanceProfile{}", pascal(name))
}

/// The DEED parent policy of an identity.
pub fn deed_policy(domain: &str) -> String {
    format!("DeedPolicy{}", pascal(domain))
}

pub const GLOBAL_ENDPOINT: &str = "GlobalEndpoint";

/// The custom resource that reads the global endpoint's `EndpointId`.
pub const GLOBAL_ENDPOINT_LOOKUP: &str = "GlobalEndpointIdLookup";

/// The logical id of a Mail Manager ingress endpoint (its A record output is
/// read by other stacks, so the id is shared by compile and the DNS records).
pub fn ingress(name: &str) -> String {
    format!("Ingress{}", pascal(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_logical_ids() {
        assert_eq!(identity("mail.example.com"), "IdentityMailExampleCom");
        assert_eq!(
            identity("xn--bcher-kva.example"),
            "IdentityXnBcherKvaExample"
        );
        assert_eq!(archive("journal"), "ArchiveJournal");
        assert_eq!(archive("legal_hold-2"), "ArchiveLegalHold2");
        assert_eq!(record("Dmarc", "example.com"), "DmarcExampleCom");
        assert_eq!(pascal("mail-example.com"), pascal("mail.example.com"));
        assert_eq!(config_set("default"), "ConfigurationSetDefault");
        assert_eq!(
            event_destination("default", "to-sns"),
            "EventDestinationDefaultToSns"
        );
        assert_eq!(role("web-sender"), "RoleWebSender");
        assert_eq!(deed_policy("example.com"), "DeedPolicyExampleCom");
    }
}
