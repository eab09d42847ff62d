//! The receiving side of the model: Mail Manager (beyond archives) and classic
//! SES receiving, defaults applied, each element with its spec pointer.
//! Conditions and actions keep their spec form (already typed); names they
//! refer to are looked up with the `*_index` helpers, checked by `check`.

use crate::load::escape_pointer;
use crate::spec::{self, AddonName, RelayPreset, Verdict};

use super::Zone;

#[derive(Clone, Debug, Default)]
pub struct MailManager {
    /// Regions Mail Manager lives in (default: the primary), with the pointer of each.
    pub regions: Vec<(String, String)>,
    pub relays: Vec<Relay>,
    pub address_lists: Vec<Named>,
    pub addons: Vec<Addon>,
    pub traffic_policies: Vec<TrafficPolicy>,
    pub rule_sets: Vec<RuleSet>,
    pub ingress: Vec<Ingress>,
}

#[derive(Clone, Debug)]
pub struct Named {
    pub name: String,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Relay {
    pub name: String,
    pub preset: Option<RelayPreset>,
    pub tenant: Option<String>,
    /// Resolved from the preset when there is one; `None` only when missing (a check error).
    pub host: Option<String>,
    pub port: u16,
    pub secret: Option<String>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Addon {
    pub name: String,
    pub addon: AddonName,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct TrafficPolicy {
    pub name: String,
    pub default: Verdict,
    pub max_message_size: Option<spec::Size>,
    pub statements: Vec<spec::PolicyStatement>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct RuleSet {
    pub name: String,
    pub rules: Vec<spec::Rule>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Mx {
    pub domain: String,
    pub zone: Option<usize>,
    pub priority: u16,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Ingress {
    pub name: String,
    pub spec: spec::Ingress,
    pub mx: Vec<Mx>,
    /// The MX preference of this endpoint in each region of
    /// [`MailManager::regions`], in that order (a region `mx_priority` does
    /// not list, or a sum beyond 65535, is a check error).
    pub mx_priorities: Vec<u16>,
    pub ptr: String,
}

/// Classic SES receiving.
#[derive(Clone, Debug)]
pub struct Classic {
    pub region: String,
    pub region_ptr: String,
    pub mx: Vec<Mx>,
    pub buckets: Vec<Bucket>,
    pub topics: Vec<Named>,
    /// Each topic's subscriptions, by topic name.
    pub subscriptions: std::collections::BTreeMap<String, Vec<spec::Subscription>>,
    pub rule_sets: Vec<ReceiptRuleSet>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub name: String,
    pub expire_after_days: Option<u32>,
    pub kms_key: Option<String>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct ReceiptRuleSet {
    pub name: String,
    pub active: bool,
    /// The rule set, made outside the spec, that activating this one may replace.
    pub replaces: Option<String>,
    pub rules: Vec<spec::ReceiptRule>,
    pub ptr: String,
}

/// The M365 inbound host for a tenant: `nutrition.co` → `nutrition-co.mail.protection.outlook.com`.
pub(crate) fn m365_host(tenant: &str) -> String {
    let t = tenant.trim_end_matches('.').to_ascii_lowercase();
    let prefix = t
        .strip_suffix(".mail.protection.outlook.com")
        .unwrap_or(&t)
        .replace('.', "-");
    format!("{prefix}.mail.protection.outlook.com")
}

pub(crate) const GOOGLE_WORKSPACE_HOST: &str = "aspmx.l.google.com";

fn mx_list(domains: &[String], priority: u16, base: &str, zones: &[Zone]) -> Vec<Mx> {
    domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let domain = d.trim_end_matches('.').to_string();
            Mx {
                zone: super::zone_of(zones, &domain),
                domain,
                priority,
                ptr: format!("{base}/{i}"),
            }
        })
        .collect()
}

pub(crate) fn resolve_mail_manager(
    mm: Option<&spec::MailManager>,
    primary: &str,
    zones: &[Zone],
) -> MailManager {
    let Some(mm) = mm else {
        return MailManager::default();
    };
    let base = "/mail_manager";
    let key = |kind: &str, name: &str| format!("{base}/{kind}/{}", escape_pointer(name));
    let regions = if mm.regions.is_empty() {
        vec![(primary.to_string(), "/regions/primary".to_string())]
    } else {
        mm.regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.clone(), format!("{base}/regions/{i}")))
            .collect()
    };
    MailManager {
        relays: mm
            .relays
            .iter()
            .map(|(name, r)| Relay {
                name: name.clone(),
                preset: r.preset,
                tenant: r.tenant.clone(),
                host: match (r.preset, &r.host) {
                    (_, Some(h)) => Some(h.clone()),
                    (Some(RelayPreset::GoogleWorkspace), None) => {
                        Some(GOOGLE_WORKSPACE_HOST.to_string())
                    }
                    (Some(RelayPreset::Microsoft365), None) => r.tenant.as_deref().map(m365_host),
                    (None, None) => None,
                },
                port: r.port.unwrap_or(25),
                secret: r.secret.clone(),
                ptr: key("relays", name),
            })
            .collect(),
        address_lists: mm
            .address_lists
            .keys()
            .map(|name| Named {
                name: name.clone(),
                ptr: key("address_lists", name),
            })
            .collect(),
        addons: mm
            .addons
            .iter()
            .map(|(name, a)| Addon {
                name: name.clone(),
                addon: a.addon,
                ptr: key("addons", name),
            })
            .collect(),
        traffic_policies: mm
            .traffic_policies
            .iter()
            .map(|(name, t)| TrafficPolicy {
                name: name.clone(),
                default: t.default.unwrap_or(Verdict::Deny),
                max_message_size: t.max_message_size.clone(),
                statements: t.statements.clone(),
                ptr: key("traffic_policies", name),
            })
            .collect(),
        rule_sets: mm
            .rule_sets
            .iter()
            .map(|(name, r)| RuleSet {
                name: name.clone(),
                rules: r.rules.clone(),
                ptr: key("rule_sets", name),
            })
            .collect(),
        ingress: mm
            .ingress
            .iter()
            .map(|(name, i)| {
                let ptr = key("ingress", name);
                let mx_priorities = mx_priorities(i.mx_priority.as_ref(), &regions);
                Ingress {
                    name: name.clone(),
                    mx: mx_list(
                        &i.mx,
                        mx_priorities
                            .first()
                            .copied()
                            .unwrap_or(DEFAULT_MX_PRIORITY),
                        &format!("{ptr}/mx"),
                        zones,
                    ),
                    mx_priorities,
                    spec: i.clone(),
                    ptr,
                }
            })
            .collect(),
        regions,
    }
}

/// The MX preference everything receives at unless the spec says otherwise.
pub(crate) const DEFAULT_MX_PRIORITY: u16 = 10;

/// An endpoint's MX preference in each region: one number for the first
/// region and [`spec::MX_PRIORITY_STEP`] more for each following one (so
/// senders try the regions in their listed order), or the number the spec
/// gives each region.
fn mx_priorities(p: Option<&spec::MxPriority>, regions: &[(String, String)]) -> Vec<u16> {
    regions
        .iter()
        .enumerate()
        .map(|(i, (region, _))| match p {
            Some(spec::MxPriority::PerRegion(by)) => {
                by.get(region).copied().unwrap_or(DEFAULT_MX_PRIORITY)
            }
            Some(spec::MxPriority::First(first)) => step_from(*first, i),
            None => step_from(DEFAULT_MX_PRIORITY, i),
        })
        .collect()
}

/// `first` plus one step per region before this one, saturating.
pub(crate) fn step_from(first: u16, index: usize) -> u16 {
    let steps = u16::try_from(index).unwrap_or(u16::MAX);
    first.saturating_add(steps.saturating_mul(spec::MX_PRIORITY_STEP))
}

pub(crate) fn resolve_classic(
    r: Option<&spec::Receiving>,
    primary: &str,
    zones: &[Zone],
) -> Option<Classic> {
    let r = r?;
    let base = "/receiving";
    let (region, region_ptr) = match &r.region {
        Some(reg) => (reg.clone(), format!("{base}/region")),
        None => (primary.to_string(), "/regions/primary".to_string()),
    };
    let only_one = r.rule_sets.len() == 1;
    Some(Classic {
        region,
        region_ptr,
        mx: mx_list(&r.mx, DEFAULT_MX_PRIORITY, &format!("{base}/mx"), zones),
        buckets: r
            .buckets
            .iter()
            .map(|(name, b)| Bucket {
                name: name.clone(),
                expire_after_days: b.expire_after_days,
                kms_key: b.kms_key.clone(),
                ptr: format!("{base}/buckets/{}", escape_pointer(name)),
            })
            .collect(),
        topics: r
            .topics
            .keys()
            .map(|name| Named {
                name: name.clone(),
                ptr: format!("{base}/topics/{}", escape_pointer(name)),
            })
            .collect(),
        subscriptions: r
            .topics
            .iter()
            .map(|(name, t)| (name.clone(), t.subscribe.clone()))
            .collect(),
        rule_sets: r
            .rule_sets
            .iter()
            .map(|(name, s)| ReceiptRuleSet {
                name: name.clone(),
                active: s.active.unwrap_or(only_one),
                replaces: s.replaces.clone(),
                rules: s.rules.clone(),
                ptr: format!("{base}/rule_sets/{}", escape_pointer(name)),
            })
            .collect(),
        ptr: base.to_string(),
    })
}

impl MailManager {
    pub(crate) fn relay(&self, name: &str) -> Option<&Relay> {
        self.relays.iter().find(|r| r.name == name)
    }
    pub(crate) fn traffic_policy(&self, name: &str) -> Option<&TrafficPolicy> {
        self.traffic_policies.iter().find(|r| r.name == name)
    }
    pub(crate) fn rule_set(&self, name: &str) -> Option<&RuleSet> {
        self.rule_sets.iter().find(|r| r.name == name)
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.relays.is_empty()
            && self.address_lists.is_empty()
            && self.addons.is_empty()
            && self.traffic_policies.is_empty()
            && self.rule_sets.is_empty()
            && self.ingress.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m365_hosts() {
        assert_eq!(
            m365_host("nutrition.co"),
            "nutrition-co.mail.protection.outlook.com"
        );
        assert_eq!(
            m365_host("nutrition-co.mail.protection.outlook.com"),
            "nutrition-co.mail.protection.outlook.com"
        );
    }
}
