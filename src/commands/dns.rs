//! `mailinfra dns`: every DNS record the topology needs, as a table, a zone
//! file fragment or JSON; `--live` fills in values known only after deploy
//! (Easy DKIM tokens) from the deployed stacks' outputs.

use super::args::{AwsArgs, Cli, DnsFormat};
use super::context::{check, connect, out, report, runtime, summary_line, whoami};
use super::{Exit, Result};
use crate::aws::{SdkStackApi, StackApi as _};
use crate::dns::{Record, Text, output_key, records};
use crate::model::{Model, ZoneKind};
use crate::pipeline;
use crate::placement::Lock;
use crate::render::diagnostics::Format;
use crate::render::dns::{self as dns_render, Row};

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
        runtime()?.block_on(async {
            if let Some(first) = set.stacks.first() {
                whoami(&first.region, aws).await?;
            }
            super::Result::Ok(live_values(&set, aws).await?)
        })?
    } else {
        Live::new()
    };
    let rows = rows(model, &values);
    out(&match format {
        DnsFormat::Table => dns_render::table(&rows),
        DnsFormat::Zone => dns_render::zone_file(&rows),
        DnsFormat::Json => dns_render::json(&rows),
    })?;
    Ok(Exit::Success)
}

/// Reads the outputs of the stacks that hold deploy-time DNS values (every
/// stack with a DKIM tokens output or an ingress endpoint's `ARecord`).
pub(super) async fn live_values(
    set: &crate::compile::StackSet,
    aws: &AwsArgs,
) -> anyhow::Result<Live> {
    let mut live = Live::new();
    let mut apis: std::collections::BTreeMap<&str, SdkStackApi> = Default::default();
    for s in &set.stacks {
        if !s
            .template
            .outputs
            .keys()
            .any(|k| k.ends_with("DkimTokens") || k.ends_with("ARecord"))
        {
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

/// Deployed values by `(region, output key)`.
pub(super) type Live = std::collections::BTreeMap<(String, String), String>;

fn resolve(t: &Text, region: &str, live: &Live, placeholder: &mut bool) -> String {
    match t {
        Text::Literal(s) => s.clone(),
        Text::Deferred {
            logical_id,
            attribute,
            prefix,
            region: from,
            placeholder: p,
        } => match live.get(&(
            from.as_deref().unwrap_or(region).to_string(),
            output_key(logical_id, attribute),
        )) {
            Some(v) => format!("{prefix}{}", v.trim_end_matches('.')),
            None => {
                *placeholder = true;
                p.clone()
            }
        },
    }
}

/// A record's name and values with the deployed values in `live` put in,
/// and whether any of them is still unknown (shown as its placeholder).
fn resolved(r: &Record, live: &Live) -> (String, Vec<String>, bool) {
    let mut unknown = false;
    let name = resolve(&r.name, &r.region, live, &mut unknown);
    let values = r
        .values
        .iter()
        .map(|v| resolve(v, &r.region, live, &mut unknown))
        .collect();
    (name, values, unknown)
}

/// Every record the topology needs, resolved with the deployed values in
/// `live` as far as they go, for `check --dns`.
pub(super) fn needed(model: &Model, live: &Live) -> Vec<crate::dns::conform::Needed> {
    records(model)
        .iter()
        .map(|r| {
            let zone = &model.zones[r.zone];
            let (name, values, unknown) = resolved(r, live);
            crate::dns::conform::Needed {
                zone: zone.apex.clone(),
                zone_ptr: zone.ptr.clone(),
                deployed: matches!(zone.kind, ZoneKind::Route53 { .. }),
                name,
                rtype: r.rtype,
                values,
                purpose: r.purpose.clone(),
                owner: r.owner.clone(),
                region: r.region.clone(),
                identity: r.identity,
                unknown,
            }
        })
        .collect()
}

fn rows(model: &Model, live: &Live) -> Vec<Row> {
    records(model)
        .iter()
        .map(|r: &Record| {
            let zone = &model.zones[r.zone];
            let (name, values, placeholder) = resolved(r, live);
            Row {
                zone: zone.apex.clone(),
                deployed: matches!(zone.kind, ZoneKind::Route53 { .. }),
                name,
                rtype: r.rtype,
                ttl: r.ttl,
                values,
                placeholder,
                purpose: r.purpose.clone(),
                region: r.region.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_values_replace_placeholders() {
        let m = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\nidentities: { example.com: {} }\n",
        );
        let mut live = Live::new();
        for n in 1..=3 {
            live.insert(
                (
                    "us-east-1".into(),
                    format!("IdentityExampleComDkimDNSTokenName{n}"),
                ),
                format!("tok{n}._domainkey.example.com"),
            );
            live.insert(
                (
                    "us-east-1".into(),
                    format!("IdentityExampleComDkimDNSTokenValue{n}"),
                ),
                format!("tok{n}.dkim.amazonses.com"),
            );
        }
        let offline = rows(&m, &Live::new());
        assert!(offline.iter().all(|r| r.placeholder));
        let rows = rows(&m, &live);
        assert!(rows.iter().all(|r| !r.placeholder));
        assert_eq!(rows[0].name, "tok1._domainkey.example.com");
        assert_eq!(rows[2].values, vec!["tok3.dkim.amazonses.com".to_string()]);
    }

    /// Each region's ingress endpoint is read from its own stack's outputs and
    /// keeps its MX preference.
    #[test]
    fn live_mx_values_come_from_each_regions_stack_with_their_preference() {
        let m = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\n\
             mail_manager:\n  regions: [us-east-1, eu-west-1]\n\
             \x20 traffic_policies: { tp: { default: deny, statements: [ { allow: [ { recipient: { ends_with: \"@example.com\" } } ] } ] } }\n\
             \x20 rule_sets: { rs: { rules: [ { name: drop, actions: [ { drop: true } ] } ] } }\n\
             \x20 ingress: { in: { type: open, traffic_policy: tp, rule_set: rs, mx: [example.com] } }\n",
        );
        let offline = rows(&m, &Live::new());
        assert_eq!(
            offline[0].values,
            [
                "10 <a-record-of-ingress-in-us-east-1>",
                "20 <a-record-of-ingress-in-eu-west-1>"
            ]
        );
        let mut live = Live::new();
        for (region, host) in [
            ("us-east-1", "a.mail-manager-smtp.amazonaws.com."),
            ("eu-west-1", "b.mail-manager-smtp.amazonaws.com"),
        ] {
            live.insert((region.into(), "IngressInARecord".into()), host.into());
        }
        let rows = rows(&m, &live);
        assert!(!rows[0].placeholder);
        assert_eq!(rows[0].region, "us-east-1");
        assert_eq!(
            rows[0].values,
            [
                "10 a.mail-manager-smtp.amazonaws.com",
                "20 b.mail-manager-smtp.amazonaws.com"
            ]
        );
    }
}
