//! `mailinfra trace`: one message through an ingress endpoint, offline. The
//! spec is checked first (errors stop it, like `build`); the message comes
//! from the flags; the trace engine (`crate::trace`) evaluates it and the
//! renderer prints it, human or JSON.

use super::args::{Cli, Command, DmarcArg, TlsArg, TraceFormat, VerdictArg};
use super::context::{check, out, report, summary_line};
use super::{Error, Exit, Result};
use crate::render::diagnostics::Format;
use crate::spec::{AuthVerdict, DmarcValue};
use crate::trace::{self, Message, Tls, TraceError};

fn verdict(v: VerdictArg) -> AuthVerdict {
    match v {
        VerdictArg::Pass => AuthVerdict::Pass,
        VerdictArg::Fail => AuthVerdict::Fail,
        VerdictArg::Gray => AuthVerdict::Gray,
        VerdictArg::ProcessingFailed => AuthVerdict::ProcessingFailed,
    }
}

pub(super) fn run(cli: &Cli) -> Result<Exit> {
    let Command::Trace {
        ingress,
        sender_ip,
        tls,
        tls_wrapped,
        mail_from,
        rcpt,
        helo,
        header,
        spf,
        dkim,
        dmarc,
        addon,
        size,
        read_receipt,
        format,
    } = &cli.command
    else {
        unreachable!("dispatched on Command::Trace")
    };
    let checked = check(cli);
    report(&checked, Format::Human, cli);
    let (Some(model), false) = (&checked.model, checked.has_errors()) else {
        eprintln!("{}", summary_line(&checked));
        return Ok(Exit::Invalid);
    };
    let known: Vec<&str> = model
        .mail_manager
        .addons
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    if let Some((name, _)) = addon.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        return Err(Error::Usage(format!(
            "--addon {name}=…: the spec has no add-on `{name}` (add-ons: {})",
            list(&known)
        )));
    }
    let msg = Message {
        sender_ip: *sender_ip,
        tls: tls.map(|t| match t {
            TlsArg::None => Tls::None,
            TlsArg::V12 => Tls::V12,
            TlsArg::V13 => Tls::V13,
        }),
        tls_wrapped: *tls_wrapped,
        helo: helo.clone(),
        mail_from: mail_from.clone(),
        rcpt: rcpt.clone(),
        headers: header.clone(),
        spf: spf.map(verdict),
        dkim: dkim.map(verdict),
        dmarc: dmarc.map(|d| match d {
            DmarcArg::None => DmarcValue::None,
            DmarcArg::Quarantine => DmarcValue::Quarantine,
            DmarcArg::Reject => DmarcValue::Reject,
        }),
        size: *size,
        read_receipt: *read_receipt,
        addons: addon.iter().cloned().collect(),
    };
    let t = trace::trace(model, ingress, &msg).map_err(|e| match e {
        TraceError::NoIngress { known } => Error::Usage(format!(
            "--ingress {ingress}: the spec has no ingress endpoint `{ingress}` (ingress endpoints: {})",
            list(&known.iter().map(String::as_str).collect::<Vec<_>>())
        )),
        TraceError::Dangling(what) => Error::Usage(format!(
            "--ingress {ingress}: it names the {what}, which the spec lacks"
        )),
    })?;
    out(&match format {
        TraceFormat::Human => crate::render::trace::human(&t),
        TraceFormat::Json => crate::render::trace::json(&t),
    })?;
    Ok(Exit::Success)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
