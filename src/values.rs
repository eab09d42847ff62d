//! Values: validators for the small languages inside spec strings — domain
//! names (with IDN), CIDRs, email addresses, ports, sizes and durations with
//! units, partitions, CloudFormation names.
//!
//! Input: one value as written. Output: the parsed value or the reason it is
//! wrong, phrased for a diagnostic's help (lowercase, names in backticks, no
//! trailing period). Pure functions with no I/O; any stage may call them. The
//! `*_diag` helpers wrap a reason into a diagnostic with its `MI30xx` code.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::{Code, Diagnostic};

/// Why `name` is not a valid DNS domain name, if it is not. Internationalised
/// names are rejected with their A-label (or the reason they have none).
pub fn domain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.trim() != name {
        return Some("the name has leading or trailing white space".into());
    }
    if !name.is_ascii() {
        return Some(match idn_to_ascii(name) {
            Ok(a) => format!("internationalised names are written as their A-label here: `{a}`"),
            Err(why) => why,
        });
    }
    if name.len() > 253 {
        return Some(format!(
            "the name is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "domain names are written in lowercase here: `{}`",
            name.to_ascii_lowercase()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some("a domain needs at least two labels, e.g. `example.com`".into());
    }
    for label in labels {
        if label.is_empty() {
            return Some(
                "the name has an empty label (two dots in a row, or a leading dot)".into(),
            );
        }
        if label.len() > 63 {
            return Some(format!(
                "the label `{label}` is {} characters long; at most 63 are allowed",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("the label `{label}` starts or ends with a hyphen"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!(
                "the label `{label}` holds `{c}`; only letters, digits and hyphens are allowed"
            ));
        }
    }
    None
}

/// Invisible and direction-changing characters that make two names look alike.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

impl Script {
    fn of(c: char) -> Option<Script> {
        if !c.is_alphabetic() {
            return None;
        }
        Some(match c as u32 {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F => {
                Script::Latin
            }
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
            _ => Script::Other,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Greek => "Greek",
            Script::Cyrillic => "Cyrillic",
            Script::Other => "other",
        }
    }
}

/// Converts an internationalised domain name to A-labels (UTS #46), refusing
/// invisible characters and labels that mix Latin, Greek and Cyrillic letters
/// (look-alikes such as `exаmple.com` with a Cyrillic `а`).
pub fn idn_to_ascii(name: &str) -> Result<String, String> {
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return Err(format!(
            "the name holds the invisible character U+{:04X}; retype it without it",
            c as u32
        ));
    }
    for label in name.split('.') {
        let mut first: Option<Script> = None;
        for s in label.chars().filter_map(Script::of) {
            if s == Script::Other {
                continue;
            }
            match first {
                None => first = Some(s),
                Some(f) if f != s => {
                    return Err(format!(
                        "the label `{label}` mixes {} and {} letters, a look-alike of another name; use one script per label",
                        f.name(),
                        s.name()
                    ));
                }
                Some(_) => {}
            }
        }
    }
    match idna::domain_to_ascii_strict(name) {
        Ok(a) => match domain_problem(&a) {
            None => Ok(a),
            Some(why) => Err(format!("its A-label `{a}` is not valid: {why}")),
        },
        Err(_) => {
            Err("it is not a valid internationalised domain name (UTS #46 rejects it)".into())
        }
    }
}

/// An address family a CIDR list accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
    Any,
}

/// A parsed CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses a CIDR block strictly: a prefix is required, octets have no leading
/// zeros, and host bits must be zero (the error names the network meant).
pub fn parse_cidr(text: &str, family: Family) -> Result<Cidr, String> {
    let Some((addr, prefix)) = text.split_once('/') else {
        return Err(format!(
            "a CIDR block needs a prefix length, e.g. `{text}/32` for one address"
        ));
    };
    let addr: IpAddr = if let Ok(a) = addr.parse::<Ipv4Addr>() {
        IpAddr::V4(a)
    } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
        IpAddr::V6(a)
    } else {
        return Err(format!(
            "`{addr}` is not an IP address (IPv4 octets are 0 to 255 without leading zeros)"
        ));
    };
    match (family, addr) {
        (Family::V4, IpAddr::V6(_)) => {
            return Err("this is an IPv6 block in an IPv4 list; move it to the IPv6 list".into());
        }
        (Family::V6, IpAddr::V4(_)) => {
            return Err("this is an IPv4 block in an IPv6 list; move it to the IPv4 list".into());
        }
        _ => {}
    }
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match prefix.parse::<u8>() {
        Ok(p) if !(prefix.len() > 1 && prefix.starts_with('0')) && p <= max => p,
        _ => {
            return Err(format!("the prefix length `{prefix}` is not 0 to {max}"));
        }
    };
    let network = mask(addr, prefix);
    if network != addr {
        return Err(format!(
            "host bits are set: the block starting at `{network}/{prefix}` is meant, or `{addr}/{max}` for the one address"
        ));
    }
    Ok(Cidr { addr, prefix })
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Why `addr` is not an email address mailinfra accepts, if it is not: an
/// unquoted ASCII local part (`+` tags allowed) at a valid domain, at most 254
/// characters.
pub fn email_problem(addr: &str) -> Option<String> {
    if addr.chars().count() > 254 {
        return Some(format!(
            "the address is {} characters long; at most 254 are allowed",
            addr.chars().count()
        ));
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Some("an email address needs an `@`, e.g. `postmaster@example.com`".into());
    };
    if local.is_empty() {
        return Some("the part before `@` is empty".into());
    }
    if local.starts_with('"') {
        return Some(
            "quoted local parts are valid email but SES and Mail Manager do not accept them".into(),
        );
    }
    if local.len() > 64 {
        return Some(format!(
            "the part before `@` is {} characters long; at most 64 are allowed",
            local.len()
        ));
    }
    if !local.is_ascii() {
        return Some(
            "internationalised local parts are not supported; use ASCII before `@`".into(),
        );
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("the part before `@` has a leading, trailing or doubled dot".into());
    }
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(*c)))
    {
        return Some(format!(
            "the part before `@` holds `{c}`, which needs quoting"
        ));
    }
    domain_problem(domain).map(|why| format!("the domain `{domain}` is invalid: {why}"))
}

/// Why `port` is not a TCP port, if it is not.
pub fn port_problem(port: i64) -> Option<String> {
    (!(1..=65535).contains(&port)).then(|| format!("`{port}` is not a port: ports are 1 to 65535"))
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Parses a size with a unit (`10MB`, `512 KiB`; KB = 1000 bytes, KiB = 1024) into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let units = "`B`, `KB`, `MB`, `GB`, `KiB`, `MiB` or `GiB`";
    let (num, unit) = split_number(text);
    if num.is_empty() {
        return Err(format!(
            "a size is a number and a unit, e.g. `10MB` ({units})"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "`{text}` has no unit: write e.g. `{num}B` or `{num}MB` ({units})"
        ));
    }
    let Some((_, mult)) = SIZE_UNITS
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(unit))
    else {
        return Err(format!("`{unit}` is not a size unit: use {units}"));
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*mult))
        .ok_or_else(|| format!("`{text}` is too large"))
}

const DURATION_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3_600),
    ("d", 86_400),
    ("w", 604_800),
];

/// Parses a duration with a unit (`30s`, `5m`, `2h`, `1d`, `1w`) into seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let units = "`s`, `m`, `h`, `d` or `w`";
    let (num, unit) = split_number(text);
    if num.is_empty() {
        return Err(format!(
            "a duration is a number and a unit, e.g. `5m` ({units})"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "`{text}` has no unit: write e.g. `{num}s` ({units})"
        ));
    }
    let Some((_, mult)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("`{unit}` is not a duration unit: use {units}"));
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*mult))
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Splits `10 MB` into (`10`, `MB`).
fn split_number(text: &str) -> (&str, &str) {
    let t = text.trim();
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    (&t[..end], t[end..].trim_start())
}

/// The AWS partition a region belongs to.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// Why an ARN cannot be used from `region`, if it cannot: a partition other
/// than the region's, or a malformed ARN.
pub fn arn_partition_problem(arn: &str, region: &str) -> Option<String> {
    let mut parts = arn.splitn(3, ':');
    let (Some("arn"), Some(partition)) = (parts.next(), parts.next()) else {
        return Some("an ARN starts with `arn:PARTITION:`".into());
    };
    let want = partition_of_region(region);
    (partition != want).then(|| {
        format!(
            "the ARN is in the `{partition}` partition but `{region}` is in `{want}`; resources cannot refer across partitions"
        )
    })
}

/// Why `name` breaks a CloudFormation name rule, if it does: at most `max`
/// characters, only letters, digits and the characters in `extra`, starting
/// and ending with a letter or digit.
pub fn cfn_name_problem(name: &str, max: usize, extra: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 {
        return Some("the name is empty".into());
    }
    if len > max {
        return Some(format!(
            "the name is {len} characters long; at most {max} are allowed"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
    {
        let allowed: Vec<String> = extra.chars().map(|c| format!("`{c}`")).collect();
        return Some(format!(
            "the name holds `{c}`; only letters, digits and {} are allowed",
            allowed.join(", ")
        ));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("the name must start and end with a letter or digit".into());
    }
    None
}

/// An `MI3009` diagnostic for a bad CIDR at `ptr`, if `text` is one.
pub fn cidr_diag(text: &str, family: Family, ptr: &str) -> Option<Diagnostic> {
    parse_cidr(text, family).err().map(|why| {
        Diagnostic::error(Code::MI3009, format!("`{text}` is not a valid CIDR block"))
            .path(ptr)
            .help(why)
    })
}

/// An `MI3010` diagnostic for a bad email address at `ptr`, if `addr` is one.
pub fn email_diag(addr: &str, ptr: &str) -> Option<Diagnostic> {
    email_problem(addr).map(|why| {
        Diagnostic::error(
            Code::MI3010,
            format!("`{addr}` is not a valid email address"),
        )
        .path(ptr)
        .help(why)
    })
}

/// An `MI3011` diagnostic for a bad port at `ptr`, if `port` is one.
pub fn port_diag(port: i64, ptr: &str) -> Option<Diagnostic> {
    port_problem(port).map(|why| {
        Diagnostic::error(Code::MI3011, format!("`{port}` is not a valid port"))
            .path(ptr)
            .help(why)
    })
}

/// An `MI3012` diagnostic for a bad size at `ptr`, if `text` is one.
pub fn size_diag(text: &str, ptr: &str) -> Option<Diagnostic> {
    parse_size(text).err().map(|why| {
        Diagnostic::error(Code::MI3012, format!("`{text}` is not a size"))
            .path(ptr)
            .help(why)
    })
}

/// An `MI3013` diagnostic for a bad duration at `ptr`, if `text` is one.
pub fn duration_diag(text: &str, ptr: &str) -> Option<Diagnostic> {
    parse_duration(text).err().map(|why| {
        Diagnostic::error(Code::MI3013, format!("`{text}` is not a duration"))
            .path(ptr)
            .help(why)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules() {
        assert_eq!(domain_problem("example.com"), None);
        assert!(
            domain_problem("example..com")
                .unwrap()
                .contains("empty label")
        );
        assert!(domain_problem("com").unwrap().contains("two labels"));
        assert!(domain_problem("Example.com").unwrap().contains("lowercase"));
        assert!(
            domain_problem(&format!("{}.com", "a".repeat(64)))
                .unwrap()
                .contains("63")
        );
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(domain_problem(&long).unwrap().contains("253"));
        assert!(domain_problem("-a.com").unwrap().contains("hyphen"));
        assert!(domain_problem("").unwrap().contains("empty"));
        assert!(domain_problem(" a.com").unwrap().contains("white space"));
    }

    #[test]
    fn idn_is_converted_or_rejected_with_reason() {
        assert_eq!(
            idn_to_ascii("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(
            domain_problem("bücher.example")
                .unwrap()
                .contains("`xn--bcher-kva.example`")
        );
        // Cyrillic а (U+0430) among Latin letters.
        let why = domain_problem("ex\u{0430}mple.com").unwrap();
        assert!(why.contains("mixes Latin and Cyrillic"), "{why}");
        let why = domain_problem("exam\u{200D}ple.com").unwrap();
        assert!(why.contains("U+200D"), "{why}");
        // An all-Cyrillic label is a real IDN.
        assert!(idn_to_ascii("пример.рф").unwrap().starts_with("xn--"));
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8", Family::V4).unwrap().prefix, 8);
        assert!(
            parse_cidr("10.0.0.1/33", Family::V4)
                .unwrap_err()
                .contains("0 to 32")
        );
        let e = parse_cidr("10.0.0.1/24", Family::V4).unwrap_err();
        assert!(
            e.contains("`10.0.0.0/24`") && e.contains("`10.0.0.1/32`"),
            "{e}"
        );
        assert!(
            parse_cidr("010.0.0.1/8", Family::V4)
                .unwrap_err()
                .contains("leading zeros")
        );
        assert!(
            parse_cidr("::/0", Family::V4)
                .unwrap_err()
                .contains("IPv6 block in an IPv4 list")
        );
        assert!(
            parse_cidr("10.0.0.0/8", Family::V6)
                .unwrap_err()
                .contains("IPv4 block")
        );
        assert!(parse_cidr("2001:db8::/32", Family::Any).is_ok());
        assert!(parse_cidr("2001:db8::1/129", Family::V6).is_err());
        assert!(
            parse_cidr("10.0.0.0", Family::V4)
                .unwrap_err()
                .contains("prefix length")
        );
        assert!(parse_cidr("10.0.0.0/08", Family::V4).is_err());
        assert!(parse_cidr("0.0.0.0/0", Family::V4).is_ok());
        assert!(cidr_diag("1.2.3.4/40", Family::V4, "/x").is_some_and(|d| d.code == "MI3009"));
    }

    #[test]
    fn emails() {
        assert_eq!(email_problem("a+tag@example.com"), None);
        assert!(email_problem("example.com").unwrap().contains("`@`"));
        assert!(
            email_problem("\"a b\"@example.com")
                .unwrap()
                .contains("quoted")
        );
        assert!(
            email_problem("a..b@example.com")
                .unwrap()
                .contains("doubled")
        );
        assert!(email_problem("a@exa_mple..com").unwrap().contains("domain"));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert!(email_problem(&long).unwrap().contains("254"));
        assert!(email_problem("é@example.com").unwrap().contains("ASCII"));
    }

    #[test]
    fn ports_sizes_durations() {
        assert_eq!(port_problem(25), None);
        assert!(port_problem(0).is_some() && port_problem(70000).is_some());
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("10mb"), Ok(10_000_000));
        assert!(parse_size("10").unwrap_err().contains("no unit"));
        assert!(
            parse_size("10 parsecs")
                .unwrap_err()
                .contains("not a size unit")
        );
        assert!(
            parse_size("99999999999999999999GB")
                .unwrap_err()
                .contains("too large")
        );
        assert_eq!(parse_duration("5m"), Ok(300));
        assert!(parse_duration("300").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn partitions_and_names() {
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(
            arn_partition_problem("arn:aws:kms:eu-west-1:1:key/x", "eu-west-1"),
            None
        );
        assert!(arn_partition_problem("arn:aws-cn:kms:cn-north-1:1:key/x", "eu-west-1").is_some());
        assert_eq!(cfn_name_problem("journal_1", 64, "_-"), None);
        assert!(
            cfn_name_problem("-bad-", 64, "_-")
                .unwrap()
                .contains("start and end")
        );
        assert!(
            cfn_name_problem("a b", 64, "_-")
                .unwrap()
                .contains("holds ` `")
        );
        assert!(
            cfn_name_problem(&"a".repeat(65), 64, "_-")
                .unwrap()
                .contains("64")
        );
    }
}
