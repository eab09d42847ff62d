//! `mailinfra dns`: every DNS record the topology needs, as a table, a zone
//! file fragment or JSON; `--live` fills in values known only after deploy
//! (Easy DKIM tokens) from the deployed stacks' outputs.

use super::context::{check, connect, report, runtime, summary_line};
use super::{Exit, Result};
use crate::aws::{SdkStackApi, StackApi as _};
use crate::cli::{AwsArgs, Cli, DnsFormat};
use crate::diag::Format;
use crate::dns_cmd;
use crate::pipeline;
use crate::placement::Lock;

pub(super) fn run(cli: &Cli, format: DnsFormat, live: bool, aws: &AwsArgs) -> Result<Exit> {
    let checked = check(cli);
    report(&checked, Format::Human, cli);
    let Some(model) = &checked.model else {
        eprintln!("{}", summary_line(&checked));
        return Ok(Exit::Invalid);
    };
    let values = if live {
        let lock = Lock::read(&cli.file).map_err(|e| super::Error::Invalid(format!("{e:#}")))?;
        let set = pipeline::compile_placed(model, lock.as_ref())?;
        runtime()?.block_on(live_values(&set, aws))?
    } else {
        dns_cmd::Live::new()
    };
    let rows = dns_cmd::rows(model, &values);
    print!(
        "{}",
        match format {
            DnsFormat::Table => dns_cmd::table(&rows),
            DnsFormat::Zone => dns_cmd::zone_file(&rows),
            DnsFormat::Json => dns_cmd::json(&rows),
        }
    );
    Ok(Exit::Success)
}

/// Reads the outputs of the stacks that hold deploy-time DNS values (every
/// stack with a DKIM tokens output).
async fn live_values(
    set: &crate::compile::StackSet,
    aws: &AwsArgs,
) -> anyhow::Result<dns_cmd::Live> {
    let mut live = dns_cmd::Live::new();
    let mut apis: std::collections::BTreeMap<&str, SdkStackApi> = Default::default();
    for s in &set.stacks {
        if !s.template.outputs.keys().any(|k| k.ends_with("DkimTokens")) {
            continue;
        }
        if !apis.contains_key(s.region.as_str()) {
            apis.insert(&s.region, connect(&s.region, aws).await);
        }
        let Some(api) = apis.get(s.region.as_str()) else {
            continue;
        };
        if let Some(info) = api.describe_stack(&s.name).await? {
            for (k, v) in info.outputs {
                for (key, value) in crate::dns::expand_output(&k, &v) {
                    live.insert((s.region.clone(), key), value);
                }
            }
        }
    }
    Ok(live)
}
