//! Resolve: raw [`Spec`] → complete [`Model`].
//!
//! Input: the typed spec. Output: a model with every default applied and every
//! reference resolved to an index, each element carrying the JSON pointer of its
//! place in the spec so that checks can point at it. No diagnostics here beyond
//! what cannot be represented; judging the model is `check`'s job.

pub mod receiving;

use crate::load::escape_pointer;
use crate::spec::{self, DkimMode, KeyLength, MailFrom, MxFailure, Retention, Spec};

/// Default TTL of the records mailinfra creates.
pub const DEFAULT_TTL: u32 = 300;

#[derive(Clone, Debug)]
pub struct Model {
    pub project: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
    pub primary: String,
    pub zones: Vec<Zone>,
    pub identities: Vec<DomainIdentity>,
    pub archives: Vec<Archive>,
    /// Mail Manager beyond archives (relays, policies, rule sets, ingress, …).
    pub mail_manager: receiving::MailManager,
    /// Classic SES receiving, when declared.
    pub receiving: Option<receiving::Classic>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneKind {
    Route53 { zone_id: String },
    External,
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub apex: String,
    pub kind: ZoneKind,
    pub ttl: u32,
    pub ptr: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dkim {
    Easy { key_length: KeyLength },
    None,
}

#[derive(Clone, Debug)]
pub struct MailFromDomain {
    pub domain: String,
    pub on_mx_failure: MxFailure,
    pub zone: Option<usize>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Dmarc {
    pub spec: spec::Dmarc,
    pub zone: Option<usize>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct DomainIdentity {
    pub domain: String,
    pub zone: Option<usize>,
    pub dkim: Dkim,
    pub mail_from: Option<MailFromDomain>,
    pub dmarc: Option<Dmarc>,
    pub feedback_forwarding: bool,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct Archive {
    pub name: String,
    pub retention: Retention,
    pub kms_key: Option<String>,
    pub ptr: String,
}

impl Model {
    /// The zone a DNS name lies in: the declared zone with the longest apex that
    /// equals the name or is a suffix of it at a label boundary.
    pub fn zone_of(&self, name: &str) -> Option<usize> {
        zone_of(&self.zones, name)
    }
}

fn zone_of(zones: &[Zone], name: &str) -> Option<usize> {
    zones
        .iter()
        .enumerate()
        .filter(|(_, z)| name == z.apex || name.ends_with(&format!(".{}", z.apex)))
        .max_by_key(|(_, z)| z.apex.len())
        .map(|(i, _)| i)
}

/// Builds the model. Infallible: anything wrong is judged by `check`.
pub fn resolve(spec: &Spec) -> Model {
    let zones: Vec<Zone> = spec
        .dns
        .iter()
        .map(|(apex, z)| {
            let ptr = format!("/dns/{}", escape_pointer(apex));
            let apex = apex.trim_end_matches('.').to_string();
            match z {
                spec::Zone::External(_) => Zone {
                    apex,
                    kind: ZoneKind::External,
                    ttl: DEFAULT_TTL,
                    ptr,
                },
                spec::Zone::Route53(r) => Zone {
                    apex,
                    kind: ZoneKind::Route53 {
                        zone_id: r.route53_zone_id.clone(),
                    },
                    ttl: r.ttl.unwrap_or(DEFAULT_TTL),
                    ptr,
                },
            }
        })
        .collect();

    let identities = spec
        .identities
        .iter()
        .map(|(domain, id)| {
            let ptr = format!("/identities/{}", escape_pointer(domain));
            let domain = domain.trim_end_matches('.').to_string();
            let mail_from = id.mail_from.as_ref().map(|m| {
                let (d, on_mx_failure, mptr) = match m {
                    MailFrom::Domain(d) => {
                        (d.clone(), MxFailure::UseDefault, format!("{ptr}/mail_from"))
                    }
                    MailFrom::Full(f) => (
                        f.domain.clone(),
                        f.on_mx_failure,
                        format!("{ptr}/mail_from/domain"),
                    ),
                };
                let d = d.trim_end_matches('.').to_string();
                MailFromDomain {
                    zone: zone_of(&zones, &d),
                    domain: d,
                    on_mx_failure,
                    ptr: mptr,
                }
            });
            let dmarc = id.dmarc.as_ref().map(|d| Dmarc {
                spec: d.clone(),
                zone: zone_of(&zones, &format!("_dmarc.{domain}")),
                ptr: format!("{ptr}/dmarc"),
            });
            DomainIdentity {
                zone: zone_of(&zones, &domain),
                dkim: match id.dkim {
                    DkimMode::Easy => Dkim::Easy {
                        key_length: id.dkim_key_length.unwrap_or_default(),
                    },
                    DkimMode::None => Dkim::None,
                },
                mail_from,
                dmarc,
                feedback_forwarding: id.feedback_forwarding.unwrap_or(true),
                domain,
                ptr,
            }
        })
        .collect();

    let archives = spec
        .mail_manager
        .iter()
        .flat_map(|mm| mm.archives.iter())
        .map(|(name, a)| Archive {
            name: name.clone(),
            retention: a.retention,
            kms_key: a.kms_key.clone(),
            ptr: format!("/mail_manager/archives/{}", escape_pointer(name)),
        })
        .collect();

    let mail_manager =
        receiving::resolve_mail_manager(spec.mail_manager.as_ref(), &spec.regions.primary, &zones);
    let receiving =
        receiving::resolve_classic(spec.receiving.as_ref(), &spec.regions.primary, &zones);

    Model {
        project: spec.project.clone(),
        tags: spec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        primary: spec.regions.primary.clone(),
        zones,
        identities,
        archives,
        mail_manager,
        receiving,
    }
}
