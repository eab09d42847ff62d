//! CIDR blocks, as Mail Manager traffic policies and rules test them.
//!
//! One rule everywhere (traffic policies, rules, blueprints): a block is
//! `ADDRESS/PREFIX`; the prefix is required (`/32` or `/128` for one address),
//! written in decimal without leading zeros, at most 32 for IPv4 and 128 for
//! IPv6; IPv4 octets have no leading zeros; and the host bits are zero. AWS
//! would take `10.0.0.1/24` and match the whole `10.0.0.0/24`, but an address
//! with host bits set usually means one host was meant, and in an allow-list
//! the difference is 255 hosts: such a block is refused, and the error names
//! both readings (`10.0.0.0/24`, `10.0.0.1/32`) so the spec says which.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The address family a CIDR list takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
    Any,
}

/// Why a text is not a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CidrError {
    /// No `/PREFIX`: `suggestion` is the text as one address (`/32`, `/128`).
    NoPrefix { suggestion: String },
    /// The part before `/` is not an IP address.
    BadAddress { addr: String },
    /// An IPv6 block in an IPv4 list, or the other way round.
    WrongFamily { v6: bool },
    /// The prefix is not a decimal number up to `max`.
    BadPrefix { prefix: String, max: u8 },
    /// The address has bits set beyond the prefix.
    HostBits { network: IpNet, host: IpNet },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::NoPrefix { suggestion } => write!(
                f,
                "a CIDR block needs a prefix length, e.g. `{suggestion}` for one address"
            ),
            CidrError::BadAddress { addr } => write!(
                f,
                "`{addr}` is not an IP address (IPv4 octets are 0 to 255 without leading zeros)"
            ),
            CidrError::WrongFamily { v6: true } => {
                f.write_str("this is an IPv6 block in an IPv4 list; move it to the IPv6 list")
            }
            CidrError::WrongFamily { v6: false } => {
                f.write_str("this is an IPv4 block in an IPv6 list; move it to the IPv4 list")
            }
            CidrError::BadPrefix { prefix, max } => {
                write!(f, "the prefix length `{prefix}` is not 0 to {max}")
            }
            CidrError::HostBits { network, host } => write!(
                f,
                "host bits are set: did you mean `{network}`? (or `{host}` for the one address)"
            ),
        }
    }
}

/// Parses a CIDR block of `family` by the one rule above.
pub(crate) fn parse_cidr(text: &str, family: Family) -> Result<IpNet, CidrError> {
    let looks_v6 = match family {
        Family::V4 => false,
        Family::V6 => true,
        Family::Any => text.contains(':'),
    };
    let Some((addr_text, prefix_text)) = text.split_once('/') else {
        return Err(CidrError::NoPrefix {
            suggestion: format!("{text}/{}", if looks_v6 { 128 } else { 32 }),
        });
    };
    let addr: IpAddr = if let Ok(a) = addr_text.parse::<Ipv4Addr>() {
        IpAddr::V4(a)
    } else if let Ok(a) = addr_text.parse::<Ipv6Addr>() {
        IpAddr::V6(a)
    } else {
        return Err(CidrError::BadAddress {
            addr: addr_text.to_string(),
        });
    };
    match (family, addr) {
        (Family::V4, IpAddr::V6(_)) => return Err(CidrError::WrongFamily { v6: true }),
        (Family::V6, IpAddr::V4(_)) => return Err(CidrError::WrongFamily { v6: false }),
        _ => {}
    }
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let decimal = !prefix_text.is_empty()
        && prefix_text.bytes().all(|b| b.is_ascii_digit())
        && !(prefix_text.len() > 1 && prefix_text.starts_with('0'));
    let bad_prefix = || CidrError::BadPrefix {
        prefix: prefix_text.to_string(),
        max,
    };
    let prefix: u8 = match prefix_text.parse::<u8>() {
        Ok(p) if decimal && p <= max => p,
        _ => return Err(bad_prefix()),
    };
    let net = IpNet::new(addr, prefix).map_err(|_| bad_prefix())?;
    if net.network() != addr {
        let host = IpNet::new(addr, max).map_err(|_| bad_prefix())?;
        return Err(CidrError::HostBits {
            network: net.trunc(),
            host,
        });
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(text: &str, family: Family) -> String {
        parse_cidr(text, family).unwrap_err().to_string()
    }

    #[test]
    fn cidrs() {
        assert_eq!(
            parse_cidr("10.0.0.0/8", Family::V4).unwrap().prefix_len(),
            8
        );
        assert!(parse_cidr("0.0.0.0/0", Family::V4).is_ok());
        assert!(parse_cidr("203.0.113.7/32", Family::V4).is_ok());
        assert!(parse_cidr("2001:db8::/32", Family::Any).is_ok());
        assert!(parse_cidr("::/0", Family::V6).is_ok());
        assert!(why("10.0.0.1/33", Family::V4).contains("0 to 32"));
        assert!(why("2001:db8::1/129", Family::V6).contains("0 to 128"));
        let e = why("10.0.0.1/24", Family::V4);
        assert!(
            e.contains("did you mean `10.0.0.0/24`") && e.contains("`10.0.0.1/32`"),
            "{e}"
        );
        let e = why("2001:db8::1/32", Family::Any);
        assert!(
            e.contains("`2001:db8::/32`") && e.contains("`2001:db8::1/128`"),
            "{e}"
        );
        assert!(why("010.0.0.1/8", Family::V4).contains("leading zeros"));
        assert!(why("10.0.0.300/8", Family::V4).contains("`10.0.0.300`"));
        assert!(why("::/0", Family::V4).contains("IPv6 block in an IPv4 list"));
        assert!(why("10.0.0.0/8", Family::V6).contains("IPv4 block"));
        assert!(why("10.0.0.0", Family::V4).contains("`10.0.0.0/32`"));
        assert!(why("2001:db8::1", Family::Any).contains("`2001:db8::1/128`"));
        for prefix in ["08", "+8", "", " 8", "8 "] {
            assert!(
                matches!(
                    parse_cidr(&format!("10.0.0.0/{prefix}"), Family::V4),
                    Err(CidrError::BadPrefix { .. })
                ),
                "{prefix:?}"
            );
        }
    }
}
