//! `mailinfra status`: where every stack of the spec stands now, next to
//! what the last apply recorded in its journal — the command to run after an
//! apply was interrupted, timed out or lost its credentials.

use futures_util::StreamExt as _;

use super::args::{AwsArgs, Cli, StatusFormat};
use super::context::{
    connect, first_region, front, out, per_region, runtime, select_region, whoami,
};
use super::{Exit, Result};
use crate::aws::StackApi as _;
use crate::build::Artifact;
use crate::deploy::{journal, status};

pub(super) fn run(cli: &Cli, format: StatusFormat, aws: &AwsArgs) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
    let artifacts = select_region(front.artifacts, aws.region.as_deref())?;
    let all = journal::read(&cli.file)?;
    let unsettled = status::unsettled(&all);
    let (last, words) = status::summarise(&journal::last_apply(&all));
    let mut stacks = runtime()?.block_on(async {
        whoami(first_region(&artifacts), aws).await?;
        super::Result::Ok(read_stacks(&artifacts, aws).await)
    })?;
    for s in &mut stacks {
        s.last_apply = words
            .iter()
            .find(|(stack, _)| stack == &s.stack)
            .map(|(_, w)| w.clone());
    }
    out(&match format {
        StatusFormat::Human => crate::render::status::human(last.as_ref(), &unsettled, &stacks),
        StatusFormat::Json => crate::render::status::json(last.as_ref(), &unsettled, &stacks),
    })?;
    Ok(if stacks.iter().any(|s| s.error.is_some()) {
        Exit::Failed
    } else {
        Exit::Success
    })
}

/// Reads every stack of the build, a few at a time, in the build's order.
async fn read_stacks(artifacts: &[Artifact], aws: &AwsArgs) -> Vec<status::StackStatus> {
    let apis = per_region(artifacts, async |r| connect(r, aws).await).await;
    let apis = &apis;
    futures_util::stream::iter(artifacts)
        .map(|a| async move {
            let mut s = status::StackStatus {
                stack: a.entry.name.clone(),
                region: a.entry.region.clone(),
                status: None,
                last_updated: None,
                error: None,
                last_apply: None,
                global_endpoint_id: None,
            };
            let Some(api) = apis.get(&a.entry.region) else {
                return s;
            };
            match api.describe_stack(&a.entry.name).await {
                Ok(Some(info)) => {
                    s.status = Some(info.status.to_string());
                    s.last_updated = info.last_updated;
                    s.global_endpoint_id = endpoint_id(&info.outputs);
                }
                Ok(None) => {}
                Err(e) => s.error = Some(format!("{e:#}")),
            }
            s
        })
        .buffered(8)
        .collect()
        .await
}

/// The `GlobalEndpointId` output among a stack's outputs.
pub(super) fn endpoint_id(outputs: &[(String, String)]) -> Option<String> {
    outputs
        .iter()
        .find(|(k, _)| k == crate::compile::sending::GLOBAL_ENDPOINT_ID_OUTPUT)
        .map(|(_, v)| v.clone())
}
