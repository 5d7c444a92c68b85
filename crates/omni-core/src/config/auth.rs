//! The `[auth]` section: how long desk sessions hold, how fast sign-in
//! attempts may come, which reverse proxies may sign people in by header
//! (single sign-on), and how many audit log entries are kept.

use std::net::IpAddr;

use serde::Deserialize;

use super::ConfigError;

/// Sign-in and session settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused this long ends (seconds).
    pub session_idle_secs: u64,
    /// A session ends this long after sign-in, used or not (seconds).
    pub session_max_secs: u64,
    /// Sign-in attempts allowed per account per minute (also the burst).
    pub sign_in_per_account_per_minute: u32,
    /// Sign-in attempts allowed per client address per minute (also the burst).
    pub sign_in_per_address_per_minute: u32,
    /// Addresses (`10.0.0.5`) and networks (`10.0.0.0/8`, `fd00::/8`) of
    /// the single sign-on proxies whose `X-Forwarded-User` and
    /// `X-Forwarded-Email` headers are believed; from anywhere else those
    /// headers are ignored. Empty: no single sign-on.
    pub trusted_proxies: Vec<String>,
    /// Audit log entries kept: the newest, older ones are deleted as new
    /// ones come (both stores).
    pub max_audit_entries: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_secs: 30 * 60,
            session_max_secs: 12 * 60 * 60,
            sign_in_per_account_per_minute: 5,
            sign_in_per_address_per_minute: 30,
            trusted_proxies: Vec::new(),
            max_audit_entries: 100_000,
        }
    }
}

/// An address with a prefix length: a network of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8`, or a lone address (a network of one).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an address or network such as 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{text:?}: the prefix length must be 0-{max}")),
            },
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is in this network (an IPv4 address mapped into IPv6
    /// counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, bits) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (
                u128::from(u32::from(n)) << 96,
                u128::from(u32::from(i)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), self.prefix),
            _ => return false,
        };
        let mask = if bits == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(bits))
        };
        net & mask == ip & mask
    }
}

impl AuthConfig {
    /// The trusted proxies' networks.
    pub fn proxies(&self) -> Result<Vec<Cidr>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                Cidr::parse(p)
                    .map_err(|e| ConfigError::Invalid(format!("auth.trusted_proxies: {e}")))
            })
            .collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.session_idle_secs == 0 || self.session_max_secs == 0 {
            return invalid("auth.session_idle_secs and auth.session_max_secs must be at least 1");
        }
        if self.sign_in_per_account_per_minute == 0 || self.sign_in_per_address_per_minute == 0 {
            return invalid(
                "auth.sign_in_per_account_per_minute and auth.sign_in_per_address_per_minute must be at least 1",
            );
        }
        if self.max_audit_entries == 0 {
            return invalid("auth.max_audit_entries must be at least 1");
        }
        self.proxies().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hold_their_addresses_only() {
        let net = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let one = Cidr::parse("127.0.0.1").expect("cidr");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        let v6 = Cidr::parse("fd00::/8").expect("cidr");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!(!v6.contains("fe80::1".parse().expect("ip")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("cidr")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("proxy.local").is_err());
    }
}
