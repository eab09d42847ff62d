//! Resolve, sending side: identity groups expanded, configuration sets,
//! templates, sending roles, the global endpoint and overrides, with every
//! reference resolved to an index (or `None`, which `check` reports).

use serde_json::{Map, Value};

use crate::load::escape_pointer;
use crate::spec::{self, SendAction, Spec, TrustedService};

/// A reference by name: the index it resolves to (`None`: dangling, MI2001).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedRef {
    pub name: String,
    pub index: Option<usize>,
    pub ptr: String,
}

#[derive(Clone, Debug, Default)]
pub struct Sending {
    pub global_endpoint: Option<GlobalEndpoint>,
    /// Reputation alarms, in every sending region.
    pub reputation_alarms: Option<spec::ReputationAlarms>,
    pub config_sets: Vec<ConfigSet>,
    pub templates: Vec<EmailTemplate>,
    pub roles: Vec<SendingRole>,
    pub overrides: Vec<Override>,
}

#[derive(Clone, Debug)]
pub struct GlobalEndpoint {
    pub name: String,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct ConfigSet {
    pub name: String,
    pub spec: spec::ConfigurationSet,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct EmailTemplate {
    pub name: String,
    pub spec: spec::EmailTemplate,
    pub ptr: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Service(TrustedService),
    Account(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleScope {
    /// Every declared identity.
    All,
    /// These identities.
    Listed(Vec<NamedRef>),
    /// `"*"`, written explicitly.
    Any,
}

/// What narrows an account trust: the conditions of the trust policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustConditions {
    /// `sts:ExternalId`.
    pub external_id: Option<String>,
    /// `aws:PrincipalArn` (ARN patterns).
    pub principals: Vec<String>,
    /// `aws:PrincipalOrgID`.
    pub organization: Option<String>,
}

impl TrustConditions {
    pub fn is_empty(&self) -> bool {
        self.external_id.is_none() && self.principals.is_empty() && self.organization.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct SendingRole {
    pub name: String,
    /// `None` when the trust names neither or both (judged by `check`).
    pub principal: Option<Principal>,
    /// The trust policy's conditions (they apply to account trust only, judged by `check`).
    pub conditions: TrustConditions,
    pub allow: Vec<SendAction>,
    pub scope: RoleScope,
    pub configuration_set: Option<NamedRef>,
    pub from: Vec<String>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Override {
    pub logical_id: String,
    pub properties: Map<String, Value>,
    pub ptr: String,
}

/// One identity before resolution: a plain entry, or one domain of a group.
pub(crate) struct IdentityEntry<'a> {
    pub domain: String,
    pub id: &'a spec::Identity,
    /// Where the identity is named (the key, or the group's list item).
    pub ptr: String,
    /// Where its settings are written (the entry, or the group).
    pub settings_ptr: String,
}

/// Every identity in spec order, groups expanded in place.
pub(crate) fn identity_entries(spec: &Spec) -> Vec<IdentityEntry<'_>> {
    let mut out = Vec::new();
    for (key, id) in &spec.identities {
        let ptr = format!("/identities/{}", escape_pointer(key));
        if id.domains.is_empty() {
            out.push(IdentityEntry {
                domain: key.trim_end_matches('.').to_string(),
                id,
                ptr: ptr.clone(),
                settings_ptr: ptr,
            });
        } else {
            for (i, d) in id.domains.iter().enumerate() {
                out.push(IdentityEntry {
                    domain: d.trim_end_matches('.').to_string(),
                    id,
                    ptr: format!("{ptr}/domains/{i}"),
                    settings_ptr: ptr.clone(),
                });
            }
        }
    }
    out
}

/// The name of the entry an identity reference may use: the identity key, or
/// any domain of a group.
pub(crate) fn identity_names(spec: &Spec) -> Vec<String> {
    identity_entries(spec)
        .into_iter()
        .map(|e| e.domain)
        .collect()
}

pub(crate) fn resolve(spec: &Spec) -> Sending {
    let set_index = |n: &str| spec.configuration_sets.keys().position(|k| k == n);
    let names = identity_names(spec);
    let config_sets = spec
        .configuration_sets
        .iter()
        .map(|(name, c)| ConfigSet {
            name: name.clone(),
            spec: c.clone(),
            ptr: format!("/configuration_sets/{}", escape_pointer(name)),
        })
        .collect();
    let templates = spec
        .templates
        .iter()
        .map(|(name, t)| EmailTemplate {
            name: name.clone(),
            spec: t.clone(),
            ptr: format!("/templates/{}", escape_pointer(name)),
        })
        .collect();
    let roles = spec
        .iam
        .iter()
        .flat_map(|i| i.roles.iter())
        .map(|(name, r)| {
            let ptr = format!("/iam/roles/{}", escape_pointer(name));
            let principal = match (&r.trust.service, &r.trust.account) {
                (Some(s), None) => Some(Principal::Service(*s)),
                (None, Some(a)) => Some(Principal::Account(a.clone())),
                _ => None,
            };
            let scope = match &r.identities {
                None => RoleScope::All,
                Some(spec::RoleIdentities::Any(_)) => RoleScope::Any,
                Some(spec::RoleIdentities::List(l)) => RoleScope::Listed(
                    l.iter()
                        .enumerate()
                        .map(|(i, n)| NamedRef {
                            name: n.clone(),
                            index: names.iter().position(|d| d == n.trim_end_matches('.')),
                            ptr: format!("{ptr}/identities/{i}"),
                        })
                        .collect(),
                ),
            };
            let mut allow = r.allow.clone();
            allow.sort();
            allow.dedup();
            SendingRole {
                name: name.clone(),
                principal,
                conditions: TrustConditions {
                    external_id: r.trust.external_id.clone(),
                    principals: r.trust.principals.clone(),
                    organization: r.trust.organization.clone(),
                },
                allow,
                scope,
                configuration_set: r.configuration_set.as_ref().map(|n| NamedRef {
                    name: n.clone(),
                    index: set_index(n),
                    ptr: format!("{ptr}/configuration_set"),
                }),
                from: r.from.clone(),
                ptr,
            }
        })
        .collect();
    let overrides = spec
        .overrides
        .iter()
        .map(|(id, o)| Override {
            logical_id: id.clone(),
            properties: o.properties.clone(),
            ptr: format!("/overrides/{}", escape_pointer(id)),
        })
        .collect();
    Sending {
        global_endpoint: spec.global_endpoint.as_ref().map(|g| GlobalEndpoint {
            name: g.name.clone(),
            ptr: "/global_endpoint".into(),
        }),
        reputation_alarms: spec.alarms.as_ref().and_then(|a| a.reputation.clone()),
        config_sets,
        templates,
        roles,
        overrides,
    }
}
