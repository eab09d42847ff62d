//! Shards: a region's concern as one or more stacks, wired together.
//!
//! A [`Unit`] is what one stack would hold if stacks had no limits: shared
//! resources (always in shard 0) and named [`Group`]s, each indivisible (an
//! identity with its records). [`assemble`] places the groups with
//! [`crate::placement`], builds one template per shard, and wires references
//! that cross stacks: a `Ref` or `Fn::GetAtt` to a resource in another stack
//! becomes a template parameter of the consumer, an output of the producer, a
//! [`Wire`] the deployer fills from the producer's outputs, and a dependency.
//! Values never cross stacks any other way (CloudFormation exports do not cross
//! regions). The stacks come out in a dependency order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::Error;
use super::{CompiledStack, Concern, Wire};
use crate::placement::{self, HARD, Item, Load, Lock};
use crate::template::{Resource, Template};

/// An indivisible set of resources named by `key`.
#[derive(Clone, Debug, Default)]
pub struct Group {
    /// Unique within its unit: `identity:example.com`.
    pub key: String,
    pub resources: Vec<(String, Resource)>,
    pub outputs: Vec<(String, Value)>,
    /// Elements of other units that must be deployed first: (unit base name, key).
    pub after: Vec<(String, String)>,
    /// Permissions the shard's helper needs for this group: (statement label, resource).
    pub grants: Vec<(&'static str, Value)>,
}

/// Builds the per-shard helper resources from the grants of the shard's groups.
pub type Helper = fn(&BTreeMap<&'static str, Vec<Value>>) -> Result<Vec<(String, Resource)>, Error>;

/// One region's concern before sharding.
pub struct Unit {
    /// Shard 0's stack name: `<project>-<region>-<concern>`.
    pub name: String,
    pub region: String,
    pub concern: Concern,
    /// Shard 0's template with the shared resources (its description is every shard's).
    pub shared: Template,
    pub groups: Vec<Group>,
    /// Helper resources each shard with grants holds, and their ids.
    pub helper: Option<(Helper, Load, &'static [&'static str])>,
    /// Permissions shard 0's helper needs for the shared resources.
    pub shared_grants: Vec<(&'static str, Value)>,
}

/// Every `Ref`/`Fn::GetAtt` target in `v` as `id` or `id.Attr` (pseudo parameters excluded).
fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(id)) = m.get("Ref") {
                    if !id.starts_with("AWS::") {
                        out.insert(id.clone());
                    }
                    return;
                }
                if let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                    && let [Value::String(id), Value::String(attr)] = a.as_slice()
                {
                    out.insert(format!("{id}.{attr}"));
                    return;
                }
            }
            for x in m.values() {
                references(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn target_id(reference: &str) -> &str {
    reference.split_once('.').map_or(reference, |(id, _)| id)
}

/// The parameter (in the consumer) and output (in the producer) for a reference.
fn wire_names(reference: &str) -> (String, String) {
    match reference.split_once('.') {
        // A `Ref` keeps its text: the parameter takes the resource's name.
        None => (reference.to_string(), format!("{reference}Ref")),
        Some((id, attr)) => {
            let n = format!("{id}{}", attr.replace('.', ""));
            (n.clone(), n)
        }
    }
}

/// Replaces `Fn::GetAtt [id, attr]` of imported attributes with `Ref` of their parameter.
fn rewrite(v: &mut Value, imported: &BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                && let [Value::String(id), Value::String(attr)] = a.as_slice()
            {
                let r = format!("{id}.{attr}");
                if imported.contains(&r) {
                    *v = json!({ "Ref": wire_names(&r).0 });
                }
                return;
            }
            m.values_mut().for_each(|x| rewrite(x, imported));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, imported)),
        _ => {}
    }
}

fn map_references(m: &Map<String, Value>, out: &mut BTreeSet<String>) {
    m.values().for_each(|x| references(x, out));
}

/// Size (compact JSON bytes, roughly) and dynamic references of a value, in
/// one walk with [`references`]'s job.
#[derive(Default)]
struct Scan {
    bytes: usize,
    dynamic_refs: usize,
    refs: BTreeSet<String>,
}

impl Scan {
    fn value(&mut self, v: &Value) {
        match v {
            Value::String(s) => {
                self.bytes += s.len() + 2;
                if s.contains("{{resolve:") {
                    self.dynamic_refs += s.matches("{{resolve:").count();
                }
            }
            Value::Array(a) => {
                self.bytes += 2 + a.len();
                a.iter().for_each(|x| self.value(x));
            }
            Value::Object(m) => {
                if m.len() == 1 {
                    if let Some(Value::String(id)) = m.get("Ref")
                        && !id.starts_with("AWS::")
                    {
                        self.refs.insert(id.clone());
                    }
                    if let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                        && let [Value::String(id), Value::String(attr)] = a.as_slice()
                    {
                        self.refs.insert(format!("{id}.{attr}"));
                    }
                }
                self.map(m);
            }
            _ => self.bytes += 8,
        }
    }

    fn map(&mut self, m: &Map<String, Value>) {
        self.bytes += 2;
        for (k, x) in m {
            self.bytes += k.len() + 4;
            self.value(x);
        }
    }
}

/// What a group costs (bytes estimated from the compact size: pretty printing
/// at template depth roughly doubles it), and the names it needs from elsewhere.
fn measure(g: &Group, local: &[&str]) -> (Load, BTreeSet<String>) {
    let mut scan = Scan::default();
    for (id, r) in &g.resources {
        scan.bytes += id.len() + r.resource_type.len() + 100;
        scan.map(&r.properties);
    }
    for (k, v) in &g.outputs {
        scan.bytes += k.len() + 30;
        scan.value(v);
    }
    // A grant is one more resource in a statement of the helper's role policy.
    let mut grant_chars = 0;
    for (_, arn) in &g.grants {
        scan.value(arn);
        grant_chars += crate::iam::measure(arn) + 1;
    }
    let load = Load {
        resources: g.resources.len(),
        outputs: g.outputs.len(),
        dynamic_refs: scan.dynamic_refs,
        bytes: 2 * scan.bytes,
        grant_chars,
    };
    let mut refs = scan.refs;
    let own: BTreeSet<&str> = g.resources.iter().map(|(id, _)| id.as_str()).collect();
    refs.retain(|r| {
        let id = target_id(r);
        !own.contains(id) && !local.contains(&id)
    });
    (load, refs)
}

fn template_load(t: &Template, local: &[&str]) -> (Load, BTreeSet<String>) {
    let g = Group {
        resources: t
            .resources
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        outputs: t
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    };
    measure(&g, local)
}

/// An element of a unit: (unit base name, element key).
type Element = (String, String);

struct Built {
    stack: CompiledStack,
    /// Unit index and shard, for ordering.
    rank: (usize, usize),
    /// Stack names that must come first (beyond parameter producers).
    after: BTreeSet<String>,
}

/// Places, builds and wires every unit's shards; returns the stacks in
/// dependency order and the placement to record.
pub fn assemble(
    units: Vec<Unit>,
    lock: Option<&Lock>,
) -> Result<(Vec<CompiledStack>, Lock), Error> {
    let mut out_lock = Lock::default();
    let mut built: Vec<Built> = Vec::new();
    // (unit name, element key) → stack name, for `after`.
    let mut home: HashMap<Element, String> = HashMap::new();
    let mut pending_after: Vec<(usize, Vec<Element>)> = Vec::new();
    for (u_index, unit) in units.into_iter().enumerate() {
        let placed = place_groups(&unit, lock, &mut out_lock)?;
        let (name, region, concern) = (unit.name.clone(), unit.region.clone(), unit.concern);
        let shards = fill_shards(unit, &placed, &mut home)?;
        for (i, (t, shard_after)) in shards.into_iter().enumerate() {
            if t.resources.is_empty() {
                continue;
            }
            pending_after.push((built.len(), shard_after));
            built.push(Built {
                stack: CompiledStack {
                    name: placement::shard_name(&name, i),
                    region: region.clone(),
                    concern,
                    template: t,
                    depends_on: Vec::new(),
                    parameters: Vec::new(),
                },
                rank: (u_index, i),
                after: BTreeSet::new(),
            });
        }
    }
    resolve_after(&mut built, pending_after, &home)?;
    wire(&mut built)?;
    Ok((order(built)?, out_lock))
}

/// The shard of each of the unit's groups, after checking that the shared
/// resources and every group alone fit in a stack.
fn place_groups(
    unit: &Unit,
    lock: Option<&Lock>,
    out_lock: &mut Lock,
) -> Result<Vec<usize>, Error> {
    let helper_ids: &[&str] = unit.helper.as_ref().map_or(&[], |h| h.2);
    let per_shard = unit.helper.as_ref().map(|h| h.1).unwrap_or_default();
    let (shared_load, shared_refs) = template_load(&unit.shared, helper_ids);
    if let Some(why) = shared_load.exceeds(shared_refs.len(), &HARD) {
        return Err(Error::Limit(format!(
            "the stack `{}` would hold {why} in its shared resources alone (configuration sets, templates, roles, endpoints), which cannot be split (see `mailinfra explain MI3113`)",
            unit.name
        )));
    }
    let measured: Vec<(Load, BTreeSet<String>)> =
        unit.groups.iter().map(|g| measure(g, helper_ids)).collect();
    for (g, (load, refs)) in unit.groups.iter().zip(&measured) {
        let mut l = *load;
        l.add(&per_shard);
        if let Some(why) = l.exceeds(refs.len(), &HARD) {
            return Err(Error::Limit(format!(
                "the element `{}` alone would need {why} in a stack of `{}` (see `mailinfra explain MI3113`)",
                g.key, unit.name
            )));
        }
    }
    if unit.groups.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<Item<'_>> = unit
        .groups
        .iter()
        .zip(&measured)
        .map(|(g, (load, refs))| Item {
            key: &g.key,
            load: *load,
            imports: refs,
        })
        .collect();
    Ok(placement::place(
        &unit.name,
        (&shared_load, &shared_refs),
        &per_shard,
        &items,
        lock,
        out_lock,
    ))
}

/// The unit's shard templates (shard 0 with the shared resources), each with
/// its groups and, when they have grants, the helper resources, and each with
/// the elements it must come after. Records every group's stack in `home`.
fn fill_shards(
    unit: Unit,
    placed: &[usize],
    home: &mut HashMap<Element, String>,
) -> Result<Vec<(Template, Vec<Element>)>, Error> {
    let shards = placed.iter().max().map_or(1, |m| m + 1);
    let mut templates: Vec<Template> = (0..shards)
        .map(|i| {
            if i == 0 {
                unit.shared.clone()
            } else {
                Template {
                    description: format!("{} (shard {i:02})", unit.shared.description),
                    ..Default::default()
                }
            }
        })
        .collect();
    let mut grants: Vec<BTreeMap<&'static str, Vec<Value>>> = vec![BTreeMap::new(); shards];
    for (label, arn) in unit.shared_grants {
        grants[0].entry(label).or_default().push(arn);
    }
    let mut after: Vec<Vec<Element>> = vec![Vec::new(); shards];
    for (g, s) in unit.groups.into_iter().zip(placed) {
        home.insert(
            (unit.name.clone(), g.key.clone()),
            placement::shard_name(&unit.name, *s),
        );
        let t = &mut templates[*s];
        for (id, r) in g.resources {
            t.add(id, r)?;
        }
        t.outputs.extend(g.outputs);
        for (label, arn) in g.grants {
            grants[*s].entry(label).or_default().push(arn);
        }
        after[*s].extend(g.after);
    }
    if let Some((helper, _, _)) = &unit.helper {
        for (t, g) in templates.iter_mut().zip(&grants) {
            if g.is_empty() {
                continue;
            }
            for (id, r) in helper(g)? {
                t.add(id, r)?;
            }
        }
    }
    Ok(templates.into_iter().zip(after).collect())
}

/// Turns every stack's `after` elements into the stacks holding them.
fn resolve_after(
    built: &mut [Built],
    pending_after: Vec<(usize, Vec<Element>)>,
    home: &HashMap<Element, String>,
) -> Result<(), String> {
    for (b, list) in pending_after {
        for key in list {
            let Some(stack) = home.get(&key) else {
                return Err(format!(
                    "`{}` depends on unknown element `{}`",
                    built[b].stack.name, key.1
                ));
            };
            if *stack != built[b].stack.name {
                built[b].after.insert(stack.clone());
            }
        }
    }
    Ok(())
}

/// Turns references to resources of other stacks (same region and concern)
/// into parameters, outputs and dependencies.
fn wire(built: &mut [Built]) -> Result<(), String> {
    // (unit, logical id) → index of the stack defining it.
    let mut defined: HashMap<(usize, &str), usize> = HashMap::new();
    let ids: Vec<Vec<String>> = built
        .iter()
        .map(|b| b.stack.template.resources.keys().cloned().collect())
        .collect();
    for (i, list) in ids.iter().enumerate() {
        for id in list {
            defined.insert((built[i].rank.0, id.as_str()), i);
        }
    }
    let mut outputs: Vec<(usize, String, Value)> = Vec::new();
    for i in 0..built.len() {
        let mut refs = BTreeSet::new();
        for r in built[i].stack.template.resources.values() {
            map_references(&r.properties, &mut refs);
        }
        for v in built[i].stack.template.outputs.values() {
            references(v, &mut refs);
        }
        // A `Ref` to one of the template's own parameters is filled by the
        // compiler's own wiring (values from other regions), not imported.
        let t = &built[i].stack.template;
        let imported: BTreeSet<String> = refs
            .into_iter()
            .filter(|r| !t.resources.contains_key(target_id(r)) && !t.parameters.contains_key(r))
            .collect();
        if imported.is_empty() {
            continue;
        }
        let mut wires = Vec::new();
        for r in &imported {
            let Some(&p) = defined.get(&(built[i].rank.0, target_id(r))) else {
                return Err(format!(
                    "`{}` refers to `{r}`, which no stack defines",
                    built[i].stack.name
                ));
            };
            let (param, output) = wire_names(r);
            let value = match r.split_once('.') {
                None => json!({ "Ref": r }),
                Some((id, attr)) => json!({ "Fn::GetAtt": [id, attr] }),
            };
            outputs.push((p, output.clone(), json!({ "Value": value })));
            wires.push(Wire {
                name: param.clone(),
                stack: built[p].stack.name.clone(),
                output,
            });
            built[i].stack.template.parameters.insert(
                param,
                json!({ "Type": "String", "Description": format!("{r} from the stack {}", built[p].stack.name) }),
            );
            let producer = built[p].stack.name.clone();
            built[i].after.insert(producer);
        }
        let t = &mut built[i].stack.template;
        for r in t.resources.values_mut() {
            let mut v = Value::Object(std::mem::take(&mut r.properties));
            rewrite(&mut v, &imported);
            if let Value::Object(m) = v {
                r.properties = m;
            }
        }
        for v in t.outputs.values_mut() {
            rewrite(v, &imported);
        }
        built[i].stack.parameters = wires;
    }
    for (p, key, value) in outputs {
        built[p].stack.template.outputs.insert(key, value);
    }
    Ok(())
}

/// Kahn's algorithm, ties broken by (unit, shard): deterministic, and the
/// original order when nothing forces another.
fn order(built: Vec<Built>) -> Result<Vec<CompiledStack>, String> {
    let index: HashMap<String, usize> = built
        .iter()
        .enumerate()
        .map(|(i, b)| (b.stack.name.clone(), i))
        .collect();
    let mut indegree = vec![0usize; built.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); built.len()];
    for (i, b) in built.iter().enumerate() {
        for a in &b.after {
            let Some(&j) = index.get(a) else {
                return Err(format!("`{}` depends on unknown stack `{a}`", b.stack.name));
            };
            indegree[i] += 1;
            dependents[j].push(i);
        }
    }
    let mut ready: BTreeSet<((usize, usize), usize)> = built
        .iter()
        .enumerate()
        .filter(|(i, _)| indegree[*i] == 0)
        .map(|(i, b)| (b.rank, i))
        .collect();
    let mut sequence = Vec::new();
    while let Some(first) = ready.pop_first() {
        let i = first.1;
        sequence.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.insert((built[d].rank, d));
            }
        }
    }
    if sequence.len() != built.len() {
        return Err("the stacks depend on each other in a cycle".into());
    }
    let mut slots: Vec<Option<Built>> = built.into_iter().map(Some).collect();
    Ok(sequence
        .into_iter()
        .filter_map(|i| slots[i].take())
        .map(|b| {
            let mut s = b.stack;
            s.depends_on = b.after.into_iter().collect();
            s
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_rewrites_references() {
        let v = json!({ "A": { "Ref": "X" }, "B": [{ "Fn::GetAtt": ["Y", "Arn"] }], "C": { "Ref": "AWS::Region" } });
        let mut refs = BTreeSet::new();
        references(&v, &mut refs);
        assert_eq!(refs, ["X".to_string(), "Y.Arn".to_string()].into());
        let mut w = v.clone();
        rewrite(&mut w, &refs);
        assert_eq!(w["A"], json!({ "Ref": "X" }));
        assert_eq!(w["B"][0], json!({ "Ref": "YArn" }));
        assert_eq!(wire_names("X"), ("X".into(), "XRef".into()));
    }
}
