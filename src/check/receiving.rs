//! Semantic rules for the receiving side: Mail Manager regions, names, relays,
//! traffic policies, rule sets and ingress endpoints, the region and MX domains
//! of both Mail Manager and classic receiving, and then the classic receipt
//! rules (in `classic`). Codes MI3300–MI3499; dangling names are MI2001.

use std::collections::BTreeMap;

use crate::cfn_data;
use crate::diag::{Code, Diagnostic, suggest};
use crate::ids;
use crate::model::Model;
use crate::model::receiving::Mx;
use crate::spec::{
    AnalysisTest, HeaderTest, IngressType, IpTest, PolicyCondition, RelayPreset, RuleAction,
    RuleCondition, SizeTest, StringTest, TlsTest, Verdict,
};

use super::{region_diag, zone_help};
use crate::values::{self, CidrError, Family, domain_problem};

/// Every receiving rule, run from the main table.
pub(crate) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    regions_support(m, out);
    names(m, out);
    relays(m, out);
    traffic_policies(m, out);
    rule_sets(m, out);
    ingress(m, out);
    mx_domains(m, out);
    super::classic::check(m, out);
    super::ses_access::check(m, out);
}

pub(super) fn dangling<'a>(
    kind: &str,
    name: &str,
    declared: impl IntoIterator<Item = &'a str> + Clone,
    ptr: &str,
    where_: &str,
) -> Diagnostic {
    let help = match suggest(name, declared.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<String> = declared.into_iter().map(|d| format!("`{d}`")).collect();
            if all.is_empty() {
                format!("declare it under `{where_}`")
            } else {
                format!("declare it under `{where_}` (declared: {})", all.join(", "))
            }
        }
    };
    Diagnostic::error(Code::MI2001, format!("no {kind} named `{name}`"))
        .path(ptr)
        .help(help)
}

const MM_TYPES: &[&str] = &[
    "AWS::SES::MailManagerArchive",
    "AWS::SES::MailManagerRelay",
    "AWS::SES::MailManagerAddressList",
    "AWS::SES::MailManagerAddonSubscription",
    "AWS::SES::MailManagerAddonInstance",
    "AWS::SES::MailManagerTrafficPolicy",
    "AWS::SES::MailManagerRuleSet",
    "AWS::SES::MailManagerIngressPoint",
];

fn type_missing(t: &str, region: &str) -> bool {
    cfn_data::type_facts(t).is_some_and(|f| !f.regions.iter().any(|r| r == region))
}

fn regions_support(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    let used = !mm.is_empty() || !m.archives.is_empty();
    let mut seen = BTreeMap::new();
    for (region, ptr) in &mm.regions {
        if ptr != "/regions/primary" {
            if let Some(d) = region_diag(region, ptr) {
                out.push(d);
                continue;
            }
            if let Some(first) = seen.insert(region.clone(), ptr.clone()) {
                out.push(
                    Diagnostic::error(
                        Code::MI3300,
                        format!("the region `{region}` is listed twice"),
                    )
                    .path(ptr)
                    .related_path(first, "first listed here")
                    .help("list each region once"),
                );
                continue;
            }
        }
        if !used || !cfn_data::is_region(region) {
            continue;
        }
        if let Some(t) = MM_TYPES.iter().find(|t| type_missing(t, region)) {
            out.push(
                Diagnostic::error(
                    Code::MI3301,
                    format!("the region `{region}` has no SES Mail Manager"),
                )
                .path(ptr)
                .help(format!(
                    "CloudFormation has no `{t}` in `{region}`; put Mail Manager in a region that has it with `mail_manager.regions`, e.g. `[us-east-1]`"
                )),
            );
        }
    }
    if let Some(c) = &m.receiving {
        if c.region_ptr != "/regions/primary"
            && let Some(d) = region_diag(&c.region, &c.region_ptr)
        {
            out.push(d);
            return;
        }
        if cfn_data::is_region(&c.region) && type_missing("AWS::SES::ReceiptRuleSet", &c.region) {
            let have: Vec<&str> = cfn_data::type_facts("AWS::SES::ReceiptRuleSet")
                .map(|f| f.regions.iter().map(String::as_str).take(6).collect())
                .unwrap_or_default();
            out.push(
                Diagnostic::error(
                    Code::MI3301,
                    format!("the region `{}` has no SES email receiving", c.region),
                )
                .path(&c.region_ptr)
                .help(format!(
                    "set `receiving.region` to a region with receipt rules, e.g. {}",
                    have.iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
}

/// Mail Manager resource names are `<project>-<name>`: letters, digits, `_` and `-`.
fn names(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    let mut by_id: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    let kinds = mm
        .relays
        .iter()
        .map(|r| ("Relay", r.name.as_str(), r.ptr.as_str(), 100))
        .chain(
            mm.address_lists
                .iter()
                .map(|a| ("AddressList", a.name.as_str(), a.ptr.as_str(), 255)),
        )
        .chain(
            mm.addons
                .iter()
                .map(|a| ("Addon", a.name.as_str(), a.ptr.as_str(), 255)),
        )
        .chain(
            mm.traffic_policies
                .iter()
                .map(|t| ("TrafficPolicy", t.name.as_str(), t.ptr.as_str(), 63)),
        )
        .chain(
            mm.rule_sets
                .iter()
                .map(|r| ("RuleSet", r.name.as_str(), r.ptr.as_str(), 100)),
        )
        .chain(
            mm.ingress
                .iter()
                .map(|i| ("Ingress", i.name.as_str(), i.ptr.as_str(), 63)),
        );
    for (kind, name, ptr, max) in kinds {
        let full = format!("{}-{name}", m.project);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.push(
                Diagnostic::error(
                    Code::MI3302,
                    format!("`{name}` cannot be a Mail Manager name"),
                )
                .key_path(ptr)
                .help("use letters, digits, `_` and `-` only"),
            );
        } else if full.len() > max {
            out.push(
                Diagnostic::error(
                    Code::MI3302,
                    format!("the resource name `{full}` is longer than {max} characters"),
                )
                .key_path(ptr)
                .help("shorten the name (resources are named `<project>-<name>`)"),
            );
        }
        let id = format!("{kind}{}", ids::pascal(name));
        if let Some((first, fptr)) = by_id.get(&id) {
            out.push(
                Diagnostic::error(
                    Code::MI2002,
                    format!("`{name}` and `{first}` both become the logical id `{id}`"),
                )
                .key_path(ptr)
                .related_path(*fptr, format!("`{first}` is declared here"))
                .help("rename one of them"),
            );
        } else {
            by_id.insert(id, (name, ptr));
        }
    }
}

fn relays(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.mail_manager.relays {
        match (r.preset, &r.tenant) {
            (Some(RelayPreset::Microsoft365), None) if r.host.is_none() => out.push(
                Diagnostic::error(Code::MI3303, format!("the Microsoft 365 relay `{}` needs its tenant", r.name))
                    .key_path(&r.ptr)
                    .help("add `tenant: your-domain.com`: Microsoft 365 accepts mail at `<tenant-domain-with-dashes>.mail.protection.outlook.com`"),
            ),
            (p, Some(_)) if p != Some(RelayPreset::Microsoft365) => out.push(
                Diagnostic::error(Code::MI3303, format!("`tenant` is only used with `preset: microsoft_365` (relay `{}`)", r.name))
                    .path(format!("{}/tenant", r.ptr))
                    .help("remove `tenant`, or add `preset: microsoft_365`"),
            ),
            _ => {}
        }
        if r.preset.is_none() && r.host.is_none() {
            out.push(
                Diagnostic::error(Code::MI3303, format!("the relay `{}` has no host", r.name))
                    .key_path(&r.ptr)
                    .help("add `host: smtp.example.com` (and `port`), or a `preset: google_workspace | microsoft_365`"),
            );
        }
    }
}

fn string_test(t: &StringTest, ptr: &str, max_values: Option<usize>, out: &mut Vec<Diagnostic>) {
    let ops = t.operators();
    if ops.len() != 1 {
        out.push(
            Diagnostic::error(Code::MI3304, "a string test needs exactly one operator")
                .path(ptr)
                .help("write one of `equals`, `not_equals`, `starts_with`, `ends_with`, `contains`, e.g. `{ ends_with: \"@example.com\" }`"),
        );
        return;
    }
    let (_, values) = ops[0];
    if values.is_empty() || values.iter().any(String::is_empty) {
        out.push(
            Diagnostic::error(
                Code::MI3304,
                "a string test needs at least one non-empty value",
            )
            .path(ptr)
            .help("give a value or a list of values"),
        );
    }
    if let Some(max) = max_values.filter(|max| values.len() > *max) {
        out.push(
            Diagnostic::error(
                Code::MI3304,
                format!(
                    "a string test takes at most {max} values, not {}",
                    values.len()
                ),
            )
            .path(ptr)
            .help("split the test over several rules, or use an address list"),
        );
    }
}

/// The IP ranges of a test, by the one CIDR rule (see [`crate::values`]):
/// `family` is IPv4 (`sender_ip`), IPv6 (`sender_ipv6`) or either (`source_ip`).
fn ip_test(t: &IpTest, ptr: &str, family: Family, out: &mut Vec<Diagnostic>) {
    let (_, values) = t.parts();
    if values.is_empty() || values.len() > 10 {
        out.push(
            Diagnostic::error(Code::MI3305, "an IP test takes 1 to 10 CIDR ranges")
                .path(ptr)
                .help("list between 1 and 10 ranges"),
        );
    }
    for v in values {
        let (message, help) = match values::parse_cidr(v, family) {
            Ok(_) => continue,
            Err(CidrError::NoPrefix { suggestion }) => (
                format!("`{v}` is not a CIDR range: add the prefix length, e.g. `{suggestion}`"),
                "write `address/prefix`, e.g. `203.0.113.0/24` or `2001:db8::/32`".to_string(),
            ),
            Err(CidrError::HostBits { network, host }) => (
                format!("the CIDR range `{v}` has host bits set"),
                format!("did you mean `{network}`? (or `{host}` for the one address)"),
            ),
            Err(_) => {
                let v6 = match family {
                    Family::V4 => false,
                    Family::V6 => true,
                    Family::Any => v.contains(':'),
                };
                let help = match family {
                    Family::V4 if v.contains(':') => "IPv6 ranges go under `sender_ipv6`",
                    Family::V6 if !v.contains(':') => "IPv4 ranges go under `sender_ip`",
                    _ => "write `address/prefix`, e.g. `203.0.113.0/24` or `2001:db8::/32`",
                };
                (
                    format!(
                        "`{v}` is not an {} CIDR range",
                        if v6 { "IPv6" } else { "IPv4" }
                    ),
                    help.to_string(),
                )
            }
        };
        out.push(
            Diagnostic::error(Code::MI3305, message)
                .path(ptr)
                .help(help),
        );
    }
}

fn analysis(t: &AnalysisTest, ptr: &str, in_rule: bool, m: &Model, out: &mut Vec<Diagnostic>) {
    let addons = &m.mail_manager.addons;
    if !addons.iter().any(|a| a.name == t.addon) {
        out.push(dangling(
            "add-on",
            &t.addon,
            addons.iter().map(|a| a.name.as_str()),
            &format!("{ptr}/addon"),
            "mail_manager.addons",
        ));
    }
    let strings = t.string_test().operators().len();
    let verdicts = usize::from(t.verdict.is_some()) + usize::from(t.not_verdict.is_some());
    let n = usize::from(t.is.is_some()) + strings + verdicts;
    if n != 1 {
        out.push(
            Diagnostic::error(Code::MI3306, "an analysis test needs exactly one of `is`, a string operator, `verdict` or `not_verdict`")
                .path(ptr)
                .help("e.g. `{ addon: spamhaus, field: addon.spamhaus_dbl.result, is: true }`"),
        );
    } else if verdicts == 1 && !in_rule {
        out.push(
            Diagnostic::error(
                Code::MI3306,
                "traffic policies cannot test an add-on verdict",
            )
            .path(ptr)
            .help("use `is` or a string operator here, or move the verdict test into a rule"),
        );
    }
}

fn address_list(list: &str, ptr: &str, m: &Model, out: &mut Vec<Diagnostic>) {
    let lists = &m.mail_manager.address_lists;
    if !lists.iter().any(|a| a.name == list) {
        out.push(dangling(
            "address list",
            list,
            lists.iter().map(|a| a.name.as_str()),
            &format!("{ptr}/list"),
            "mail_manager.address_lists",
        ));
    }
}

fn tls_test(t: &TlsTest, ptr: &str, out: &mut Vec<Diagnostic>) -> bool {
    let n = [t.min.is_some(), t.is.is_some(), t.below.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if n != 1 {
        out.push(
            Diagnostic::error(
                Code::MI3307,
                "a TLS test needs exactly one of `min`, `is`, `below`",
            )
            .path(ptr)
            .help("e.g. `{ min: \"1.2\" }`"),
        );
        return false;
    }
    true
}

fn traffic_policies(m: &Model, out: &mut Vec<Diagnostic>) {
    for tp in &m.mail_manager.traffic_policies {
        if let Some(size) = &tp.max_message_size
            && let Err(why) = size.bytes()
        {
            out.push(
                Diagnostic::error(Code::MI3308, "`max_message_size` is not a size")
                    .path(format!("{}/max_message_size", tp.ptr))
                    .help(why),
            );
        }
        if tp.statements.is_empty() && tp.default == Verdict::Deny {
            out.push(
                Diagnostic::error(
                    Code::MI3309,
                    format!("the traffic policy `{}` refuses all mail", tp.name),
                )
                .key_path(&tp.ptr)
                .help("add `allow` statements, or set `default: allow`"),
            );
        }
        for (i, st) in tp.statements.iter().enumerate() {
            let key = match st.verdict() {
                Verdict::Allow => "allow",
                Verdict::Deny => "deny",
            };
            let sptr = format!("{}/statements/{i}/{key}", tp.ptr);
            if st.conditions().is_empty() {
                out.push(
                    Diagnostic::error(Code::MI3309, "a statement needs at least one condition")
                        .path(&sptr)
                        .help("add a condition, or use the policy's `default` instead"),
                );
            }
            for (j, c) in st.conditions().iter().enumerate() {
                let cptr = format!("{sptr}/{j}");
                match c {
                    PolicyCondition::Recipient(t) => {
                        string_test(t, &format!("{cptr}/recipient"), None, out)
                    }
                    PolicyCondition::SenderIp(t) => {
                        ip_test(t, &format!("{cptr}/sender_ip"), Family::V4, out)
                    }
                    PolicyCondition::SenderIpv6(t) => {
                        ip_test(t, &format!("{cptr}/sender_ipv6"), Family::V6, out)
                    }
                    PolicyCondition::Tls(t) => {
                        let p = format!("{cptr}/tls");
                        if tls_test(t, &p, out)
                            && t.below.is_some()
                            && (key != "deny" || st.conditions().len() != 1)
                        {
                            out.push(
                                Diagnostic::error(Code::MI3307, "`tls: { below: … }` must be the only condition of a `deny` statement")
                                    .path(&p)
                                    .help("write it as its own statement `- deny: [ { tls: { below: \"1.2\" } } ]`, or test `{ min: … }` here"),
                            );
                        }
                    }
                    PolicyCondition::Analysis(t) => {
                        analysis(t, &format!("{cptr}/analysis"), false, m, out)
                    }
                    PolicyCondition::AddressList(t) => {
                        let p = format!("{cptr}/address_list");
                        address_list(&t.list, &p, m, out);
                        if t.address != crate::spec::AddressAttribute::Recipient {
                            out.push(
                                Diagnostic::error(Code::MI3306, "traffic policies can look up only the recipient in an address list")
                                    .path(format!("{p}/address"))
                                    .help("remove `address`, or move the test into a rule"),
                            );
                        }
                    }
                }
            }
        }
    }
}

fn size_test(t: &SizeTest, ptr: &str, out: &mut Vec<Diagnostic>) {
    let ops = t.operators();
    if ops.len() != 1 {
        out.push(
            Diagnostic::error(Code::MI3308, "a size test needs exactly one operator")
                .path(ptr)
                .help("one of `equals`, `not_equals`, `less_than`, `greater_than`, `at_most`, `at_least`, e.g. `{ greater_than: 10MB }`"),
        );
        return;
    }
    if let Err(why) = ops[0].2.bytes() {
        out.push(
            Diagnostic::error(Code::MI3308, "not a size")
                .path(format!("{ptr}/{}", ops[0].0))
                .help(why),
        );
    }
}

fn header_name_ok(name: &str) -> bool {
    (name.starts_with("X-") || name.starts_with("x-"))
        && name.len() > 2
        && name.len() <= 64
        && name[2..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn header_test(t: &HeaderTest, ptr: &str, out: &mut Vec<Diagnostic>) {
    string_test(&t.test(), ptr, Some(10), out);
}

fn rule_condition(c: &RuleCondition, ptr: &str, m: &Model, out: &mut Vec<Diagnostic>) {
    use RuleCondition as C;
    match c {
        C::MailFrom(t) => string_test(t, &format!("{ptr}/mail_from"), Some(10), out),
        C::Helo(t) => string_test(t, &format!("{ptr}/helo"), Some(10), out),
        C::Recipient(t) => string_test(t, &format!("{ptr}/recipient"), Some(10), out),
        C::Sender(t) => string_test(t, &format!("{ptr}/sender"), Some(10), out),
        C::From(t) => string_test(t, &format!("{ptr}/from"), Some(10), out),
        C::Subject(t) => string_test(t, &format!("{ptr}/subject"), Some(10), out),
        C::To(t) => string_test(t, &format!("{ptr}/to"), Some(10), out),
        C::Cc(t) => string_test(t, &format!("{ptr}/cc"), Some(10), out),
        C::MimeHeader(t) => header_test(t, &format!("{ptr}/mime_header"), out),
        C::ClientCertificate(t) => {
            let st = StringTest {
                equals: t.equals.clone(),
                not_equals: t.not_equals.clone(),
                starts_with: t.starts_with.clone(),
                ends_with: t.ends_with.clone(),
                contains: t.contains.clone(),
            };
            string_test(&st, &format!("{ptr}/client_certificate"), Some(10), out);
        }
        C::Spf(_) | C::Dkim(_) | C::Dmarc(_) | C::Tls(_) | C::TlsWrapped(_) | C::ReadReceipt(_) => {
        }
        C::SourceIp(t) => ip_test(t, &format!("{ptr}/source_ip"), Family::Any, out),
        C::MessageSize(t) => size_test(t, &format!("{ptr}/message_size"), out),
        C::Analysis(t) => analysis(t, &format!("{ptr}/analysis"), true, m, out),
        C::AddressList(t) => address_list(&t.list, &format!("{ptr}/address_list"), m, out),
    }
}

pub(super) fn rule_name_problem(name: &str, max: usize) -> Option<String> {
    if name.is_empty() || name.len() > max {
        return Some(format!("rule names are 1 to {max} characters long"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Some("use letters, digits, `_`, `.` and `-` only".into());
    }
    None
}

pub(super) fn topic_ok(m: &Model, topic: &str) -> bool {
    topic.starts_with("arn:")
        || m.receiving
            .as_ref()
            .is_some_and(|c| c.topics.iter().any(|t| t.name == topic))
}

pub(super) fn topic_dangling(m: &Model, topic: &str, ptr: &str) -> Diagnostic {
    let topics: Vec<&str> = m
        .receiving
        .iter()
        .flat_map(|c| c.topics.iter().map(|t| t.name.as_str()))
        .collect();
    dangling(
        "topic",
        topic,
        topics.iter().copied(),
        ptr,
        "receiving.topics",
    )
    .help(match suggest(topic, topics.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? (or give a topic ARN)"),
        None => "declare it under `receiving.topics`, or give an existing topic's ARN".into(),
    })
}

fn rule_sets(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    for rs in &mm.rule_sets {
        if rs.rules.is_empty() {
            out.push(
                Diagnostic::error(
                    Code::MI3310,
                    format!("the rule set `{}` has no rules", rs.name),
                )
                .key_path(&rs.ptr)
                .help("add at least one rule"),
            );
        }
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        for (i, rule) in rs.rules.iter().enumerate() {
            let rptr = format!("{}/rules/{i}", rs.ptr);
            if let Some(why) = rule_name_problem(&rule.name, 32) {
                out.push(
                    Diagnostic::error(
                        Code::MI3311,
                        format!("`{}` is not a valid rule name", rule.name),
                    )
                    .path(format!("{rptr}/name"))
                    .help(why),
                );
            }
            if let Some(first) = seen.insert(&rule.name, rptr.clone()) {
                out.push(
                    Diagnostic::error(Code::MI3311, format!("two rules are named `{}`", rule.name))
                        .path(format!("{rptr}/name"))
                        .related_path(format!("{first}/name"), "first used here")
                        .help("give every rule of a rule set its own name"),
                );
            }
            for (key, conds) in [("when", &rule.when), ("unless", &rule.unless)] {
                if conds.len() > 10 {
                    out.push(
                        Diagnostic::error(
                            Code::MI3312,
                            format!(
                                "a rule takes at most 10 `{key}` conditions, not {}",
                                conds.len()
                            ),
                        )
                        .path(format!("{rptr}/{key}"))
                        .help("split the rule, or use an address list"),
                    );
                }
                for (j, c) in conds.iter().enumerate() {
                    rule_condition(c, &format!("{rptr}/{key}/{j}"), m, out);
                }
            }
            if rule.actions.is_empty() || rule.actions.len() > 10 {
                out.push(
                    Diagnostic::error(
                        Code::MI3312,
                        format!("a rule takes 1 to 10 actions, not {}", rule.actions.len()),
                    )
                    .path(format!("{rptr}/actions"))
                    .help("split the actions over several rules with the same conditions"),
                );
            }
            for (k, a) in rule.actions.iter().enumerate() {
                rule_action(a, &format!("{rptr}/actions/{k}"), m, out);
            }
        }
    }
}

fn rule_action(a: &RuleAction, ptr: &str, m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    match a {
        RuleAction::Archive(t) if !m.archives.iter().any(|x| x.name == t.name()) => {
            let p = match t {
                crate::spec::ArchiveTarget::Name(_) => format!("{ptr}/archive"),
                crate::spec::ArchiveTarget::Full(_) => format!("{ptr}/archive/to"),
            };
            out.push(dangling(
                "archive",
                t.name(),
                m.archives.iter().map(|x| x.name.as_str()),
                &p,
                "mail_manager.archives",
            ));
        }
        RuleAction::Relay(t) if mm.relay(&t.to).is_none() => {
            out.push(dangling(
                "relay",
                &t.to,
                mm.relays.iter().map(|x| x.name.as_str()),
                &format!("{ptr}/relay/to"),
                "mail_manager.relays",
            ));
        }
        RuleAction::PublishToSns(t) if !topic_ok(m, &t.topic) => {
            out.push(topic_dangling(
                m,
                &t.topic,
                &format!("{ptr}/publish_to_sns/topic"),
            ));
        }
        RuleAction::AddHeader(h) => {
            if !header_name_ok(&h.name) {
                out.push(
                    Diagnostic::error(Code::MI3313, format!("`{}` cannot be an added header name", h.name))
                        .path(format!("{ptr}/add_header/name"))
                        .help("Mail Manager adds only `X-` headers of letters, digits and `-`, at most 64 characters, e.g. `X-Archived`"),
                );
            }
            if h.value.is_empty() || h.value.chars().count() > 128 {
                out.push(
                    Diagnostic::error(Code::MI3313, "a header value is 1 to 128 characters long")
                        .path(format!("{ptr}/add_header/value"))
                        .help("shorten the value"),
                );
            }
        }
        RuleAction::ReplaceRecipients(list) => {
            let v = list.as_slice();
            if v.is_empty() || v.len() > 100 {
                out.push(
                    Diagnostic::error(
                        Code::MI3314,
                        "`replace_recipients` takes 1 to 100 addresses",
                    )
                    .path(format!("{ptr}/replace_recipients"))
                    .help("list the new recipients"),
                );
            }
            for addr in v {
                if let Some(why) = values::email_problem(addr) {
                    out.push(
                        Diagnostic::error(
                            Code::MI3314,
                            format!("`{addr}` is not an email address"),
                        )
                        .path(format!("{ptr}/replace_recipients"))
                        .help(why),
                    );
                }
            }
        }
        RuleAction::Bounce(b) if values::email_problem(&b.sender).is_some() => {
            out.push(
                    Diagnostic::error(Code::MI3314, format!("`{}` is not an email address", b.sender))
                        .path(format!("{ptr}/bounce/sender"))
                        .help("the bounce sender is an address on a verified identity, e.g. `postmaster@example.com`"),
                );
        }
        RuleAction::Drop(false) => out.push(
            Diagnostic::error(Code::MI3315, "`drop: false` does nothing")
                .path(format!("{ptr}/drop"))
                .help("remove the action, or write `drop: true`"),
        ),
        _ => {}
    }
}

fn ingress(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    for i in &mm.ingress {
        let s = &i.spec;
        if mm.traffic_policy(&s.traffic_policy).is_none() {
            out.push(dangling(
                "traffic policy",
                &s.traffic_policy,
                mm.traffic_policies.iter().map(|x| x.name.as_str()),
                &format!("{}/traffic_policy", i.ptr),
                "mail_manager.traffic_policies",
            ));
        }
        if mm.rule_set(&s.rule_set).is_none() {
            out.push(dangling(
                "rule set",
                &s.rule_set,
                mm.rule_sets.iter().map(|x| x.name.as_str()),
                &format!("{}/rule_set", i.ptr),
                "mail_manager.rule_sets",
            ));
        }
        match s.kind {
            IngressType::Auth if s.password.is_none() => out.push(
                Diagnostic::error(Code::MI3316, format!("the `auth` ingress `{}` has no password", i.name))
                    .key_path(&i.ptr)
                    .help("add `password: generate` (a random password in a new secret) or `password: { secret: arn:aws:secretsmanager:… }`"),
            ),
            IngressType::Mtls if s.trust_store.is_none() => out.push(
                Diagnostic::error(Code::MI3316, format!("the `mtls` ingress `{}` has no trust store", i.name))
                    .key_path(&i.ptr)
                    .help("add `trust_store: { ca: \"-----BEGIN CERTIFICATE-----…\" }`"),
            ),
            _ => {}
        }
        if s.kind != IngressType::Auth && s.password.is_some() {
            out.push(
                Diagnostic::error(
                    Code::MI3316,
                    "only `auth` ingress endpoints take a password",
                )
                .path(format!("{}/password", i.ptr))
                .help("remove `password`, or set `type: auth`"),
            );
        }
        if s.kind != IngressType::Mtls && s.trust_store.is_some() {
            out.push(
                Diagnostic::error(
                    Code::MI3316,
                    "only `mtls` ingress endpoints take a trust store",
                )
                .path(format!("{}/trust_store", i.ptr))
                .help("remove `trust_store`, or set `type: mtls`"),
            );
        }
    }
}

fn mx_check(m: &Model, mx: &[Mx], out: &mut Vec<Diagnostic>) {
    for x in mx {
        if let Some(why) = domain_problem(&x.domain) {
            out.push(
                Diagnostic::error(
                    Code::MI3003,
                    format!("`{}` is not a valid domain name", x.domain),
                )
                .path(&x.ptr)
                .help(why),
            );
        } else if x.zone.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MI3002,
                    format!("the MX domain `{}` is in no declared DNS zone", x.domain),
                )
                .path(&x.ptr)
                .help(zone_help(m, &x.domain)),
            );
        }
        if let Some(id) = m.identities.iter().find(|id| {
            id.mail_from
                .as_ref()
                .is_some_and(|mf| mf.regional(&m.primary).any(|(_, d, _, _)| d == x.domain))
        }) {
            out.push(
                Diagnostic::error(
                    Code::MI3317,
                    format!(
                        "`{}` is the MAIL FROM domain of `{}` and cannot receive mail",
                        x.domain, id.domain
                    ),
                )
                .path(&x.ptr)
                .help("receive on another name; the MAIL FROM domain's MX points at SES feedback"),
            );
        }
    }
}

/// An endpoint's `mx_priority` gives each region of `mail_manager.regions`
/// one preference (0–65535, RFC 5321 §5.1's 16-bit preference).
fn mx_priority(m: &Model, i: &crate::model::receiving::Ingress, out: &mut Vec<Diagnostic>) {
    use crate::spec::MxPriority;
    let regions = &m.mail_manager.regions;
    let ptr = format!("{}/mx_priority", i.ptr);
    let listed = || {
        regions
            .iter()
            .map(|(r, _)| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &i.spec.mx_priority {
        Some(MxPriority::PerRegion(by)) => {
            for region in by.keys().filter(|k| !regions.iter().any(|(r, _)| r == *k)) {
                out.push(
                    Diagnostic::error(
                        Code::MI3326,
                        format!("`{region}` is not a Mail Manager region"),
                    )
                    .key_path(format!("{ptr}/{}", crate::load::escape_pointer(region)))
                    .help(format!(
                        "give a preference to each region of `mail_manager.regions` ({}), or add `{region}` there",
                        listed()
                    )),
                );
            }
            for (region, _) in regions.iter().filter(|(r, _)| !by.contains_key(r)) {
                out.push(
                    Diagnostic::error(
                        Code::MI3326,
                        format!("`mx_priority` of the ingress `{}` gives `{region}` no preference", i.name),
                    )
                    .path(&ptr)
                    .help(format!("add `{region}: 20` (lower numbers are tried first; equal numbers share the load)")),
                );
            }
        }
        Some(MxPriority::First(first)) if regions.len() > 1 => {
            let last = regions.len() - 1;
            let highest = u32::from(*first)
                + u32::try_from(last).unwrap_or(u32::MAX / 16)
                    * u32::from(crate::spec::MX_PRIORITY_STEP);
            if highest > u32::from(u16::MAX) {
                out.push(
                    Diagnostic::error(
                        Code::MI3326,
                        format!(
                            "the ingress `{}` in `{}` would get the MX preference {highest}, beyond 65535",
                            i.name, regions[last].0
                        ),
                    )
                    .path(&ptr)
                    .help("each following region gets 10 more than the one before: lower `mx_priority`, or give each region its own number"),
                );
            }
        }
        _ => {}
    }
}

fn mx_domains(m: &Model, out: &mut Vec<Diagnostic>) {
    for i in &m.mail_manager.ingress {
        mx_check(m, &i.mx, out);
        mx_priority(m, i, out);
        if !i.mx.is_empty() && matches!(i.spec.network, Some(crate::spec::Network::Vpc(_))) {
            out.push(
                Diagnostic::error(
                    Code::MI3318,
                    format!("the VPC ingress `{}` cannot receive internet mail", i.name),
                )
                .path(format!("{}/mx", i.ptr))
                .help("remove `mx`, or make the endpoint public (`network: ipv4` or `dual_stack`)"),
            );
        }
    }
    if let Some(c) = &m.receiving {
        mx_check(m, &c.mx, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(ranges: &[&str], family: Family) -> Vec<(String, String)> {
        let t = IpTest::In(crate::spec::OneOrMany::Many(
            ranges.iter().map(|r| r.to_string()).collect(),
        ));
        let mut out = Vec::new();
        ip_test(&t, "/x", family, &mut out);
        out.into_iter()
            .map(|d| (d.message, d.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn cidrs() {
        assert!(ip(&["10.0.0.0/8", "0.0.0.0/0"], Family::V4).is_empty());
        assert!(ip(&["2001:db8::/32"], Family::V6).is_empty());
        assert!(ip(&["2001:db8::/32", "203.0.113.0/24"], Family::Any).is_empty());
        let d = ip(&["10.0.0.0"], Family::V4);
        assert!(
            d[0].0.contains("add the prefix length, e.g. `10.0.0.0/32`"),
            "{d:?}"
        );
        let d = ip(&["10.0.0.0/33"], Family::V4);
        assert_eq!(d[0].0, "`10.0.0.0/33` is not an IPv4 CIDR range");
        let d = ip(&["2001:db8::/32"], Family::V4);
        assert_eq!(d[0].1, "IPv6 ranges go under `sender_ipv6`");
        let d = ip(&["10.0.0.1/24"], Family::Any);
        assert_eq!(d[0].0, "the CIDR range `10.0.0.1/24` has host bits set");
        assert!(d[0].1.contains("did you mean `10.0.0.0/24`?"), "{d:?}");
        assert_eq!(ip(&[], Family::Any).len(), 1);
    }

    #[test]
    fn headers() {
        assert!(header_name_ok("X-Archived"));
        assert!(!header_name_ok("Subject"));
    }
}
