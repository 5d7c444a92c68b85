//! The client's address behind a proxy: the address every per-address
//! limit counts ([`Client`]), taken from `Forwarded` or `X-Forwarded-For`
//! only when the socket peer is one of `limits.trusted_proxies`.
//!
//! The rule is the right-most untrusted hop: the forwarded hops are read
//! from the right (the one the nearest proxy added) and the first that is
//! not itself a trusted proxy is the client. Hops further left were written
//! by whoever that client is, so they are never believed. From a peer that
//! is not a trusted proxy the headers are ignored: a client cannot pick the
//! address it is counted as. A hop that is not an address (`unknown`, an
//! obfuscated name) ends the walk at the trusted proxy that passed it on.
//! `Forwarded` (RFC 7239) wins over `X-Forwarded-For` when both are there.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use omni_core::config::Cidr;

/// The client's address as the limits count it, set by [`crate::serve()`]
/// on every request beside the socket peer ([`crate::Peer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client(pub IpAddr);

/// Whether `ip` is one of `trusted`.
pub fn is_trusted(ip: IpAddr, trusted: &[Cidr]) -> bool {
    trusted.iter().any(|c| c.contains(ip))
}

/// The client's address of a request from socket peer `peer` (see the
/// module doc).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut client = peer;
    for hop in hops(headers).into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip, trusted) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// The forwarded hops, left to right: from `Forwarded`'s `for=` if any,
/// else from `X-Forwarded-For`; `None` for a hop that is not an address.
fn hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_hop(value.trim().trim_matches('"')))
                })
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect()
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        h
    }

    fn proxies() -> Vec<Cidr> {
        vec![
            Cidr::parse("10.0.0.0/8").expect("cidr"),
            Cidr::parse("2001:db8:ff::/48").expect("cidr"),
        ]
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let h = headers(&[("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(
            client_address(ip("203.0.113.5"), &h, &proxies()),
            ip("203.0.113.5")
        );
        let h = headers(&[("forwarded", "for=198.51.100.9")]);
        assert_eq!(
            client_address(ip("203.0.113.5"), &h, &[]),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        // The client wrote a fake first hop; two trusted proxies appended.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.9, 10.1.1.1")]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &h, &proxies()),
            ip("198.51.100.9")
        );
        // Split over two header lines, as some proxies send it.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &h, &proxies()),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn forwarded_wins_and_ports_and_brackets_are_read() {
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            (
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https, for=10.2.2.2:80",
            ),
        ]);
        assert_eq!(
            client_address(ip("2001:db8:ff::1"), &h, &proxies()),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_proxy_that_passed_it_on() {
        let h = headers(&[("x-forwarded-for", "198.51.100.9, unknown, 10.3.3.3")]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &h, &proxies()),
            ip("10.3.3.3")
        );
        // No header at all: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &proxies()),
            ip("10.0.0.2")
        );
    }
}
