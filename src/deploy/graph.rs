//! Stack order: stacks run in dependency order, independent ones in parallel
//! with a bounded concurrency; outputs of applied stacks become parameters of
//! their dependents.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use anyhow::Context as _;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use super::plan::*;
use super::*;
use crate::build::Artifact;

/// Runs `work` over a dependency graph: a node starts once every dependency in
/// the graph succeeded (dependencies outside the graph count as met), at most
/// `concurrency` at once. After the first failure, or once `interrupt` is
/// raised, no new node starts; running ones finish. Returns each node's result,
/// `None` for nodes never started.
pub async fn run_graph<T, F, Fut>(
    nodes: &[(String, Vec<String>)],
    concurrency: usize,
    interrupt: &Interrupt,
    work: F,
) -> Vec<Option<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = (T, bool)>,
{
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Waiting,
        Running,
        Done(bool),
    }
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let mut state = vec![State::Waiting; nodes.len()];
    let mut results: Vec<Option<T>> = nodes.iter().map(|_| None).collect();
    let mut running = FuturesUnordered::new();
    let mut stopped = false;
    let work = &work;
    loop {
        if !stopped && !interrupt.is_raised() {
            for i in 0..nodes.len() {
                if running.len() >= concurrency.max(1) {
                    break;
                }
                let ready = state[i] == State::Waiting
                    && nodes[i].1.iter().all(|d| {
                        index
                            .get(d.as_str())
                            .is_none_or(|&j| state[j] == State::Done(true))
                    });
                if ready {
                    state[i] = State::Running;
                    running.push(async move { (i, work(i).await) });
                }
            }
        }
        match running.next().await {
            None => break,
            Some((i, (t, ok))) => {
                state[i] = State::Done(ok);
                results[i] = Some(t);
                stopped |= !ok;
            }
        }
    }
    results
}

pub(crate) fn graph(artifacts: &[Artifact]) -> Vec<(String, Vec<String>)> {
    artifacts
        .iter()
        .map(|a| {
            let mut deps = a.entry.depends_on.clone();
            deps.extend(a.entry.parameters.iter().map(|p| p.stack.clone()));
            deps.sort();
            deps.dedup();
            (a.entry.name.clone(), deps)
        })
        .collect()
}

/// Parameter values from producers' outputs; `Err` names what is not known yet.
pub(crate) fn resolve_parameters(
    artifact: &Artifact,
    outputs: &HashMap<String, Vec<(String, String)>>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for p in &artifact.entry.parameters {
        let value = outputs
            .get(&p.stack)
            .and_then(|o| o.iter().find(|(k, _)| k == &p.output))
            .map(|(_, v)| v.clone());
        match value {
            Some(v) => out.push((p.name.clone(), v)),
            None => {
                return Err(format!(
                    "waits for output `{}` of `{}`, known once that stack is applied",
                    p.output, p.stack
                ));
            }
        }
    }
    Ok(sorted(&out))
}

/// Looks up the region of a stack.
pub(crate) fn region_of<'a, A, S>(
    regions: &'a BTreeMap<String, Region<A, S>>,
    region: &str,
) -> anyhow::Result<&'a Region<A, S>> {
    regions
        .get(region)
        .with_context(|| format!("no connection to region {region}"))
}
