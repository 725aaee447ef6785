//! Proxy headers and who sent them. `Forwarded` and `X-Forwarded-*` count only when
//! the peer is a configured trusted proxy: from anyone else they would let a client
//! choose the host of the links Roster returns, or the address it is logged and
//! rate-limited under.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;
use actix_web::http::header::{FORWARDED, HeaderMap, X_FORWARDED_FOR};
use ipnet::IpNet;

/// The peers whose proxy headers are believed; none by default.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }

    /// Whether `req` came straight from a trusted proxy.
    pub fn sent(&self, req: &HttpRequest) -> bool {
        !self.is_empty() && req.peer_addr().is_some_and(|peer| self.contains(peer.ip()))
    }
}

/// Parses `--trusted-proxies`: comma-separated entries, none when empty.
pub fn parse_trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(parse_trusted_proxy)
        .collect::<Result<_, _>>()
        .map(TrustedProxies)
}

/// Parses a `--trusted-proxies` entry: an address (`10.0.0.7`) or a CIDR range
/// (`10.0.0.0/8`, `fd00::/8`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("'{text}' is neither an IP address nor a CIDR range"))
}

/// The address a request comes from: its peer, or, when the peer is a trusted proxy,
/// the nearest address of the `Forwarded: for=` (else `X-Forwarded-For`) chain that
/// is not itself a trusted proxy. Addresses a client wrote further left are ignored.
pub fn client_address(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if trusted.is_empty() || !trusted.contains(peer) {
        return Some(peer);
    }
    Some(nearest_untrusted(
        peer,
        &forwarded_chain(req.headers()),
        trusted,
    ))
}

/// Walks the proxy chain from the right (the hop closest to Roster) and stops at the
/// first untrusted or unreadable hop.
fn nearest_untrusted(peer: IpAddr, chain: &[&str], trusted: &TrustedProxies) -> IpAddr {
    let mut current = peer;
    for hop in chain.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            return current;
        };
        current = address;
        if !trusted.contains(address) {
            return address;
        }
    }
    current
}

/// The hops a request names, leftmost (the original client, as claimed) first.
fn forwarded_chain(headers: &HeaderMap) -> Vec<&str> {
    let values = |name| {
        headers
            .get_all(name)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
    };
    if headers.contains_key(FORWARDED) {
        values(FORWARDED)
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim().trim_matches('"'))
                })
            })
            .collect()
    } else {
        values(X_FORWARDED_FOR).map(str::trim).collect()
    }
}

/// An address as a hop names it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`
/// or `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Some(rest) = hop.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    let (host, _port) = hop.rsplit_once(':')?;
    host.parse::<IpAddr>()
        .ok()
        .map(|address| address.to_canonical())
}

/// Whether `value` is a `host[:port]` fit to put in a URL: a DNS name, an IPv4
/// address or a bracketed IPv6 address, and an optional numeric port. Anything else
/// (user info, paths, spaces, quotes) is refused.
pub fn is_valid_host(value: &str) -> bool {
    if value.is_empty() || value.len() > 261 {
        return false;
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        if inside.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
    });
    let host_ok = value.starts_with('[') || is_dns_name(host);
    port_ok && host_ok
}

/// A DNS name (which covers dotted IPv4): labels of letters, digits, `-` and `_`.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            list.iter()
                .map(|s| parse_trusted_proxy(s).unwrap())
                .collect(),
        )
    }

    fn from(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    #[test]
    fn proxies_are_addresses_or_ranges() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.7", " fd00::/8"]);
        assert!(proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(proxies.contains("192.0.2.7".parse().unwrap()));
        assert!(!proxies.contains("192.0.2.8".parse().unwrap()));
        assert!(proxies.contains("fd12::1".parse().unwrap()));
        assert!(proxies.contains("::ffff:10.9.9.9".parse().unwrap()));
        assert!(parse_trusted_proxy("proxy.example").is_err());
        assert!(parse_trusted_proxies("").unwrap().is_empty());
        let listed = parse_trusted_proxies("10.0.0.1, 10.0.1.0/24,").unwrap();
        assert!(listed.contains("10.0.1.9".parse().unwrap()));
        assert!(!listed.contains("10.0.2.9".parse().unwrap()));
        assert!(parse_trusted_proxies("10.0.0.1,nope").is_err());
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = from("203.0.113.5:5000", &[("X-Forwarded-For", "198.51.100.1")]);
        assert_eq!(
            client_address(&req, &trusted(&["10.0.0.0/8"])),
            Some("203.0.113.5".parse().unwrap())
        );
        assert_eq!(
            client_address(&req, &TrustedProxies::default()),
            Some("203.0.113.5".parse().unwrap())
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let req = from(
            "10.0.0.2:5000",
            &[("X-Forwarded-For", "1.1.1.1, 198.51.100.1, 10.0.0.3")],
        );
        assert_eq!(
            client_address(&req, &proxies),
            Some("198.51.100.1".parse().unwrap())
        );
        let req = from(
            "10.0.0.2:5000",
            &[(
                "Forwarded",
                "for=1.1.1.1, for=\"[2001:db8::1]:4711\";proto=https",
            )],
        );
        assert_eq!(
            client_address(&req, &proxies),
            Some("2001:db8::1".parse().unwrap())
        );
        let req = from("10.0.0.2:5000", &[("X-Forwarded-For", "unknown, 10.0.0.3")]);
        assert_eq!(
            client_address(&req, &proxies),
            Some("10.0.0.3".parse().unwrap())
        );
        let req = from("10.0.0.2:5000", &[]);
        assert_eq!(
            client_address(&req, &proxies),
            Some("10.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn hosts_are_names_or_addresses_with_an_optional_port() {
        for good in [
            "roster.example.com",
            "roster.example.com:8443",
            "localhost",
            "127.0.0.1:8080",
            "[::1]",
            "[2001:db8::1]:443",
            "under_score.example.",
        ] {
            assert!(is_valid_host(good), "{good}");
        }
        for bad in [
            "",
            "evil.example/path",
            "user@evil.example",
            "a b",
            "host:",
            "host:80:80",
            "host:http",
            "[::1",
            "[not-v6]:80",
            "[::1]x",
            "-lead.example",
            "a..b",
            "\"quoted\"",
            "host:123456",
        ] {
            assert!(!is_valid_host(bad), "{bad}");
        }
    }
}
