//! Placement: which stack holds each named element, kept stable by a lock file.
//!
//! A region's concern (its sending side, say) is one stack while it fits and
//! several *shards* when it does not: `<project>-<region>-<concern>` is shard
//! 0, `…-01`, `…-02` the others. An *element* (a domain identity with its DNS
//! records and DEED policy) is indivisible and lives in exactly one shard; the
//! concern's shared resources (configuration sets, templates, roles, the global
//! endpoint) always live in shard 0.
//!
//! # Why a lock file
//!
//! Moving a resource to another stack deletes and recreates it (new DKIM
//! tokens, lost data), so an element, once placed, must never move. A placement
//! computed from the current spec alone cannot do that: if adding an element
//! never moves the others, then by induction an element's shard depends on its
//! name only, and a fixed function of the name into a fixed number of shards
//! overflows some shard as the topology grows (or wastes stacks while it is
//! small). Placement therefore needs a memory: `mailinfra.lock`, next to the
//! spec, a reviewable JSON file listing for every stack the elements it holds.
//!
//! - `build` reads the lock, keeps every listed element where it is, puts new
//!   elements in the newest shard while it stays within the fill targets
//!   ([`TARGET`]: 80 % of every CloudFormation limit, the rest is headroom for
//!   existing elements that grow), else in the lowest shard with room (the room
//!   of removed elements), else in a new shard, and forgets removed elements. It writes the lock
//!   when one exists or when some concern needs more than one shard; a topology
//!   that fits in one stack per concern never needs a lock file.
//! - `plan` and `apply` compute the same placement and refuse to run while the
//!   lock does not record it (run `build` and commit the lock), so what is
//!   deployed is what the reviewed lock says.
//! - Logical ids do not depend on placement, so adding shards renames nothing.
//!
//! Without a lock every element is new: the first split of a topology follows
//! spec order. An element moves only when someone edits the lock by hand.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

pub const LOCK_FORMAT: u32 = 1;

/// CloudFormation's per-template limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub resources: usize,
    pub outputs: usize,
    pub parameters: usize,
    /// `{{resolve:…}}` dynamic references.
    pub dynamic_refs: usize,
    /// Template body bytes (through S3).
    pub bytes: usize,
    /// Characters of the resources the shard's helper role is granted: IAM
    /// holds at most 10,240 characters of inline policy and 10 managed
    /// policies of 6,144 per role (see `crate::iam`). 56,000 leaves, of those
    /// 71,680, room for every statement's actions and each policy's frame
    /// (a test in `compile::sending` fills a helper to it).
    pub grant_chars: usize,
}

/// The hard limits.
pub const HARD: Limits = Limits {
    resources: 500,
    outputs: 200,
    parameters: 200,
    dynamic_refs: 60,
    bytes: 1_000_000,
    grant_chars: 56_000,
};

/// What new elements may fill a shard to: 80 % of [`HARD`].
pub const TARGET: Limits = Limits {
    resources: 400,
    outputs: 160,
    parameters: 160,
    dynamic_refs: 48,
    bytes: 800_000,
    grant_chars: 44_800,
};

/// What a group of resources costs against [`Limits`] (parameters are counted
/// by name, see [`Shard`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub resources: usize,
    pub outputs: usize,
    pub dynamic_refs: usize,
    pub bytes: usize,
    /// IAM policy characters of the helper grants (see [`Limits::grant_chars`]).
    pub grant_chars: usize,
}

impl Load {
    pub fn add(&mut self, o: &Load) {
        self.resources += o.resources;
        self.outputs += o.outputs;
        self.dynamic_refs += o.dynamic_refs;
        self.bytes += o.bytes;
        self.grant_chars += o.grant_chars;
    }

    /// The first limit this load (with `parameters` parameters) exceeds, in words.
    pub fn exceeds(&self, parameters: usize, l: &Limits) -> Option<String> {
        let over = |what: &str, n: usize, max: usize| {
            (n > max).then(|| format!("{n} {what} (limit {max})"))
        };
        over("resources", self.resources, l.resources)
            .or_else(|| over("outputs", self.outputs, l.outputs))
            .or_else(|| over("parameters", parameters, l.parameters))
            .or_else(|| over("dynamic references", self.dynamic_refs, l.dynamic_refs))
            .or_else(|| over("template bytes", self.bytes, l.bytes))
            .or_else(|| {
                over(
                    "characters of helper IAM policy",
                    self.grant_chars,
                    l.grant_chars,
                )
            })
    }
}

/// One element to place: its key (unique within its concern), load, and the
/// names it needs from other stacks (they become parameters).
pub struct Item<'a> {
    pub key: &'a str,
    pub load: Load,
    pub imports: &'a BTreeSet<String>,
}

/// A shard's running totals.
#[derive(Clone, Debug, Default)]
struct Shard {
    load: Load,
    parameters: BTreeSet<String>,
}

impl Shard {
    fn fits(&self, item: &Item<'_>, l: &Limits) -> bool {
        let mut load = self.load;
        load.add(&item.load);
        let params = self.parameters.len()
            + item
                .imports
                .iter()
                .filter(|n| !self.parameters.contains(*n))
                .count();
        load.exceeds(params, l).is_none()
    }

    fn take(&mut self, item: &Item<'_>) {
        self.load.add(&item.load);
        self.parameters.extend(item.imports.iter().cloned());
    }
}

/// Shard index → stack name: the base name, then `-01`, `-02`, ….
pub fn shard_name(base: &str, shard: usize) -> String {
    if shard == 0 {
        base.to_string()
    } else {
        format!("{base}-{shard:02}")
    }
}

/// The shard index of `stack` if it is a shard of `base`.
fn shard_of(base: &str, stack: &str) -> Option<usize> {
    if stack == base {
        return Some(0);
    }
    let rest = stack.strip_prefix(base)?.strip_prefix('-')?;
    if rest.len() < 2 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|n| *n > 0)
}

/// The lock file: for every sharded stack, the elements it holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub format_version: u32,
    /// Stack name → element keys.
    pub stacks: BTreeMap<String, BTreeSet<String>>,
}

/// The lock file that belongs to a spec: `mailinfra.yaml` → `mailinfra.lock`.
pub fn lock_path(spec: &Path) -> PathBuf {
    spec.with_extension("lock")
}

impl Lock {
    /// Reads the lock next to `spec`; `None` when there is none.
    pub fn read(spec: &Path) -> anyhow::Result<Option<Lock>> {
        let path = lock_path(spec);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        let lock: Lock = serde_json::from_str(&text).with_context(|| {
            format!(
                "`{}` is not a mailinfra lock file; restore it from version control",
                path.display()
            )
        })?;
        if lock.format_version != LOCK_FORMAT {
            anyhow::bail!(
                "`{}` has lock format {}, this mailinfra reads {LOCK_FORMAT}",
                path.display(),
                lock.format_version
            );
        }
        Ok(Some(lock))
    }

    /// The canonical text: pretty JSON, sorted, one element per line.
    pub fn render(&self) -> String {
        crate::template::render_value(&serde_json::to_value(self).unwrap_or_default())
    }

    /// Whether this placement needs recording: some stack beyond a concern's first.
    pub fn is_sharded(&self) -> bool {
        self.stacks.keys().any(|s| {
            s.rsplit_once('-')
                .is_some_and(|(_, n)| n.len() >= 2 && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }
}

/// Places one concern's items into shards of `base`: listed items stay where
/// the lock has them, new ones go to the newest shard with room, else the
/// lowest with room, else a new one. `fixed` is the
/// load of shard 0's shared resources, `per_shard` what every shard reserves
/// for its own helpers. Returns each item's shard, in item order, and records
/// the placement in `out`.
pub fn place(
    base: &str,
    fixed: (&Load, &BTreeSet<String>),
    per_shard: &Load,
    items: &[Item<'_>],
    lock: Option<&Lock>,
    out: &mut Lock,
) -> Vec<usize> {
    let mut known: HashMap<&str, usize> = HashMap::new();
    if let Some(lock) = lock {
        for (stack, keys) in &lock.stacks {
            if let Some(shard) = shard_of(base, stack) {
                for k in keys {
                    known.insert(k.as_str(), shard);
                }
            }
        }
    }
    let mut shards: Vec<Shard> = vec![Shard::default()];
    shards[0].load.add(fixed.0);
    shards[0].parameters.extend(fixed.1.iter().cloned());
    let mut placed: Vec<Option<usize>> = vec![None; items.len()];
    for (i, item) in items.iter().enumerate() {
        if let Some(&s) = known.get(item.key) {
            while shards.len() <= s {
                shards.push(Shard::default());
            }
            shards[s].take(item);
            placed[i] = Some(s);
        }
    }
    for s in &mut shards {
        s.load.add(per_shard);
    }
    // The newest shard while it has room, else the lowest with room (the room
    // of removed elements), else a new one: linear time for a fresh placement.
    for (i, item) in items.iter().enumerate() {
        if placed[i].is_some() {
            continue;
        }
        let newest = shards.len() - 1;
        let found = if shards[newest].fits(item, &TARGET) {
            Some(newest)
        } else {
            shards.iter().position(|s| s.fits(item, &TARGET))
        };
        let s = match found {
            Some(s) => s,
            None => {
                let mut fresh = Shard::default();
                fresh.load.add(per_shard);
                shards.push(fresh);
                shards.len() - 1
            }
        };
        shards[s].take(item);
        placed[i] = Some(s);
    }
    let placed: Vec<usize> = placed.into_iter().map(|p| p.unwrap_or(0)).collect();
    for (item, s) in items.iter().zip(&placed) {
        out.stacks
            .entry(shard_name(base, *s))
            .or_default()
            .insert(item.key.to_string());
    }
    out.format_version = LOCK_FORMAT;
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items<'a>(keys: &'a [String], none: &'a BTreeSet<String>) -> Vec<Item<'a>> {
        keys.iter()
            .map(|k| Item {
                key: k,
                load: Load {
                    resources: 8,
                    outputs: 1,
                    dynamic_refs: 0,
                    bytes: 4000,
                    grant_chars: 0,
                },
                imports: none,
            })
            .collect()
    }

    fn keys(r: std::ops::Range<usize>) -> Vec<String> {
        r.map(|i| format!("identity:d{i}.example")).collect()
    }

    #[test]
    fn shard_names_round_trip() {
        assert_eq!(shard_name("p-r-sending", 0), "p-r-sending");
        assert_eq!(shard_name("p-r-sending", 7), "p-r-sending-07");
        assert_eq!(shard_of("p-r-sending", "p-r-sending-07"), Some(7));
        assert_eq!(shard_of("p-r-sending", "p-r-sending"), Some(0));
        assert_eq!(shard_of("p-r-sending", "p-r-sending-x"), None);
        assert_eq!(shard_of("p-r-sending", "p-r-sending-00"), None);
        assert_eq!(shard_of("p-r-sending", "p-r-mail-manager"), None);
    }

    #[test]
    fn fills_to_the_target_and_keeps_placement() {
        let none = BTreeSet::new();
        let k = keys(0..150);
        let mut lock = Lock::default();
        let p = place(
            "s",
            (&Load::default(), &none),
            &Load::default(),
            &items(&k, &none),
            None,
            &mut lock,
        );
        // 400 / 8 = 50 per shard.
        assert_eq!(p.iter().filter(|s| **s == 0).count(), 50);
        assert_eq!(*p.iter().max().unwrap(), 2);
        assert!(lock.is_sharded());
        // Remove one from shard 0, add two at the front of the spec: every shard
        // is full, so the first new one takes the hole and the second opens a
        // new shard; nobody moves.
        let mut k2 = vec!["identity:new1".to_string(), "identity:new2".to_string()];
        k2.extend(k.iter().filter(|x| *x != &k[3]).cloned());
        let mut lock2 = Lock::default();
        let p2 = place(
            "s",
            (&Load::default(), &none),
            &Load::default(),
            &items(&k2, &none),
            Some(&lock),
            &mut lock2,
        );
        assert_eq!(p2[0], 0);
        assert_eq!(p2[1], 3);
        for (key, s) in k2.iter().zip(&p2).skip(2) {
            let old = k.iter().position(|x| x == key).unwrap();
            assert_eq!(p[old], *s, "{key} moved");
        }
        let text = lock2.render();
        let back: Lock = serde_json::from_str(&text).unwrap();
        assert_eq!(back, lock2);
    }

    #[test]
    fn parameters_count_by_name() {
        let one: BTreeSet<String> = ["A".to_string()].into();
        let mut s = Shard::default();
        let big = Load {
            resources: 1,
            ..Default::default()
        };
        let item = Item {
            key: "k",
            load: big,
            imports: &one,
        };
        for _ in 0..1000 {
            assert!(s.fits(&item, &TARGET));
            s.take(&item);
            if s.load.resources == TARGET.resources {
                break;
            }
        }
        assert_eq!(s.parameters.len(), 1);
        assert!(!s.fits(&item, &TARGET));
        assert_eq!(
            s.load.exceeds(
                0,
                &Limits {
                    resources: 10,
                    ..HARD
                }
            ),
            Some("400 resources (limit 10)".into())
        );
    }
}
