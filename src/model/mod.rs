//! Resolve: raw [`Spec`] → complete [`Model`].
//!
//! Input: the typed spec. Output: a model with every default applied and every
//! reference resolved to an index, each element carrying the JSON pointer of its
//! place in the spec so that checks can point at it. No diagnostics here beyond
//! what cannot be represented; judging the model is `check`'s job.

pub(crate) mod keys;
pub(crate) mod receiving;

use crate::load::escape_pointer;
use crate::spec::{self, DkimMode, KeyLength, MailFrom, MxFailure, Replication, Retention, Spec};

pub(crate) mod sending;
pub(crate) use sending::NamedRef;

/// Default TTL of the records mailinfra creates.
pub(crate) const DEFAULT_TTL: u32 = 300;

#[derive(Clone, Debug)]
pub struct Model {
    pub project: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
    pub primary: String,
    /// The secondary sending region.
    pub secondary: Option<String>,
    pub zones: Vec<Zone>,
    pub identities: Vec<DomainIdentity>,
    pub archives: Vec<Archive>,
    /// Mail Manager beyond archives (relays, policies, rule sets, ingress, …).
    pub mail_manager: receiving::MailManager,
    /// Classic SES receiving, when declared.
    pub receiving: Option<receiving::Classic>,
    /// Configuration sets, templates, roles, the global endpoint, overrides.
    pub sending: sending::Sending,
    /// How `plan` and `apply` deploy (the spec's `deploy`, or its defaults).
    pub deploy: crate::spec::Deploy,
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
    Easy {
        key_length: KeyLength,
    },
    Byodkim {
        selector: String,
        /// `None` when the spec has no usable secret reference (judged by `check`).
        private_key: Option<spec::SecretRef>,
        public_key: Option<String>,
        ptr: String,
    },
    None,
}

/// A custom MAIL FROM domain: the primary region's, and with a secondary
/// region the secondary's, which differs. SES reads the MX record of a MAIL
/// FROM domain and expects one value, `feedback-smtp.<region>.amazonses.com`
/// of the region the identity sends from (SES Developer Guide, "Setting up a
/// custom MAIL FROM domain"); bounces sent to it return to that region's
/// feedback endpoint. One MAIL FROM domain for two regions would send half the
/// bounces to the region that did not send the mail.
#[derive(Clone, Debug)]
pub struct MailFromDomain {
    pub domain: String,
    pub on_mx_failure: MxFailure,
    pub zone: Option<usize>,
    pub ptr: String,
    /// The secondary region's MAIL FROM domain.
    pub secondary: Option<RegionalMailFrom>,
    /// The pointer of a `secondary` written in a spec without a secondary
    /// region (judged by `check`).
    pub stray_secondary: Option<String>,
}

/// The MAIL FROM domain an identity uses in the secondary region.
#[derive(Clone, Debug)]
pub struct RegionalMailFrom {
    pub region: String,
    pub domain: String,
    pub zone: Option<usize>,
    /// The spec's `secondary`, or the MAIL FROM domain it is derived from.
    pub ptr: String,
}

impl MailFromDomain {
    /// The MAIL FROM domain in the primary region (`secondary` false) or the
    /// secondary one.
    pub fn domain_in(&self, secondary: bool) -> &str {
        match (&self.secondary, secondary) {
            (Some(s), true) => &s.domain,
            _ => &self.domain,
        }
    }

    /// Every MAIL FROM domain with its region, zone and spec pointer: the
    /// primary's first.
    pub fn regional<'a>(
        &'a self,
        primary: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str, Option<usize>, &'a str)> + 'a {
        std::iter::once((primary, self.domain.as_str(), self.zone, self.ptr.as_str())).chain(
            self.secondary
                .iter()
                .map(|s| (s.region.as_str(), s.domain.as_str(), s.zone, s.ptr.as_str())),
        )
    }

    /// The MAIL FROM domains the spec writes, with zone and pointer: the
    /// primary's, and the secondary's when written (a derived one is valid,
    /// a subdomain and in a zone whenever the primary's is).
    pub fn written(&self) -> impl Iterator<Item = (&str, Option<usize>, &str)> {
        std::iter::once((self.domain.as_str(), self.zone, self.ptr.as_str())).chain(
            self.secondary
                .iter()
                .filter(|s| s.ptr != self.ptr)
                .map(|s| (s.domain.as_str(), s.zone, s.ptr.as_str())),
        )
    }
}

#[derive(Clone, Debug)]
pub struct Dmarc {
    pub spec: spec::Dmarc,
    pub zone: Option<usize>,
    pub ptr: String,
}

#[derive(Clone, Debug)]
pub struct DomainIdentity {
    /// The domain, or the address of an email address identity.
    pub domain: String,
    /// An email address identity (no DKIM, MAIL FROM or DMARC of its own).
    pub is_email: bool,
    /// How it exists in the secondary region (only meaningful with one).
    pub replication: Replication,
    /// Whether `replication` was written (a BYODKIM identity cannot be a DEED parent).
    pub replication_written: bool,
    /// Spec pointer of the identity's settings (a group's entry for group members).
    pub settings_ptr: String,
    pub configuration_set: Option<NamedRef>,
    /// A byodkim identity that wrote inline key material, with its pointer.
    pub plain_key: Option<String>,
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

/// The zone a DNS name lies in: the declared zone with the longest apex that
/// equals the name or is a suffix of it at a label boundary.
pub(crate) fn zone_of(zones: &[Zone], name: &str) -> Option<usize> {
    zones
        .iter()
        .enumerate()
        .filter(|(_, z)| name == z.apex || name.ends_with(&format!(".{}", z.apex)))
        .max_by_key(|(_, z)| z.apex.len())
        .map(|(i, _)| i)
}

/// Builds the model. Infallible: anything wrong is judged by `check`.
pub(crate) fn resolve(spec: &Spec) -> Model {
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

    let identities = sending::identity_entries(spec)
        .into_iter()
        .map(|e| resolve_identity(&zones, spec, e))
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
        secondary: spec.regions.secondary.clone(),
        sending: sending::resolve(spec),
        zones,
        identities,
        archives,
        mail_manager,
        receiving,
        deploy: spec.deploy.clone().unwrap_or_default(),
    }
}

fn resolve_identity(zones: &[Zone], spec: &Spec, e: sending::IdentityEntry<'_>) -> DomainIdentity {
    let sending::IdentityEntry {
        domain,
        id,
        ptr,
        settings_ptr,
    } = e;
    let subst = |v: &str| v.replace("{domain}", &domain);
    let is_email = domain.contains('@');
    let mail_from = id.mail_from.as_ref().map(|m| {
        let (d, on_mx_failure, mptr, written) = match m {
            MailFrom::Domain(d) => (
                d.clone(),
                MxFailure::UseDefault,
                format!("{settings_ptr}/mail_from"),
                None,
            ),
            MailFrom::Full(f) => (
                f.domain.clone(),
                f.on_mx_failure,
                format!("{settings_ptr}/mail_from/domain"),
                f.secondary.as_ref(),
            ),
        };
        let d = subst(&d).trim_end_matches('.').to_string();
        let secondary = spec.regions.secondary.as_ref().map(|region| {
            let (domain, ptr) = match written {
                Some(w) => (
                    subst(w).trim_end_matches('.').to_string(),
                    format!("{settings_ptr}/mail_from/secondary"),
                ),
                None => (format!("{region}.{d}"), mptr.clone()),
            };
            RegionalMailFrom {
                region: region.clone(),
                zone: zone_of(zones, &domain),
                domain,
                ptr,
            }
        });
        let stray_secondary = written
            .filter(|_| secondary.is_none())
            .map(|_| format!("{settings_ptr}/mail_from/secondary"));
        MailFromDomain {
            zone: zone_of(zones, &d),
            domain: d,
            on_mx_failure,
            ptr: mptr,
            secondary,
            stray_secondary,
        }
    });
    let dmarc = id.dmarc.as_ref().map(|d| {
        let mut d = d.clone();
        let sub = |l: &spec::OneOrMany| match l {
            spec::OneOrMany::One(s) => spec::OneOrMany::One(subst(s)),
            spec::OneOrMany::Many(v) => spec::OneOrMany::Many(v.iter().map(|s| subst(s)).collect()),
        };
        d.rua = sub(&d.rua);
        d.ruf = sub(&d.ruf);
        Dmarc {
            spec: d,
            zone: zone_of(zones, &format!("_dmarc.{domain}")),
            ptr: format!("{settings_ptr}/dmarc"),
        }
    });
    let mut plain_key = None;
    let dkim = match id.dkim {
        DkimMode::Easy => Dkim::Easy {
            key_length: id.dkim_key_length.unwrap_or_default(),
        },
        DkimMode::Byodkim => {
            let b = id.byodkim.as_ref();
            let private_key = match b.map(|b| &b.private_key) {
                Some(spec::SecretValue::Secret(r)) => Some(r.clone()),
                Some(spec::SecretValue::Plain(_)) => {
                    plain_key = Some(format!("{settings_ptr}/byodkim/private_key"));
                    None
                }
                None => None,
            };
            Dkim::Byodkim {
                selector: b.map(|b| b.selector.clone()).unwrap_or_default(),
                private_key,
                public_key: b.and_then(|b| b.public_key.clone()),
                ptr: format!("{settings_ptr}/byodkim"),
            }
        }
        DkimMode::None => Dkim::None,
    };
    let _ = spec;
    DomainIdentity {
        zone: if is_email {
            None
        } else {
            zone_of(zones, &domain)
        },
        is_email,
        replication: id.replication.unwrap_or_default(),
        replication_written: id.replication.is_some(),
        settings_ptr: settings_ptr.clone(),
        configuration_set: id.configuration_set.as_ref().map(|n| NamedRef {
            name: n.clone(),
            index: spec.configuration_sets.keys().position(|k| k == n),
            ptr: format!("{settings_ptr}/configuration_set"),
        }),
        plain_key,
        dkim: if is_email { Dkim::None } else { dkim },
        mail_from,
        dmarc,
        feedback_forwarding: id.feedback_forwarding.unwrap_or(true),
        domain,
        ptr,
    }
}
