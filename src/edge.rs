//! The request as every component sees it: normalised once, where it enters, before routing.
//!
//! SCIM, the login gate, the passthrough guards (and the questions they ask Grafana as the
//! caller) and the proxy all read the same header map, so none of them can decide on a header
//! Grafana never receives. [`Edge::normalise`]:
//! - removes every hop-by-hop field and every field the client names in `Connection`
//!   ([`crate::proxy::headers::strip_hop_by_hop`]); `Upgrade` survives only for a real HTTP/1.1
//!   upgrade;
//! - removes the identity headers of `[server] strip_headers` (Grafana's auth-proxy
//!   `X-WEBAUTH-*` by default) and the header names Grafana's own `[auth.proxy]` and
//!   `[auth.jwt]` settings use, as last read from Grafana;
//! - unless the TCP peer is in `[server] trusted_proxies`, removes the client's `X-Forwarded-*`
//!   (`-For`, `-Host`, `-Proto`, `-Port`, …), `Forwarded` and `X-Real-IP`, so the proxy rebuilds
//!   the chain from the connection alone.
//!
//! Pure header work: this module neither routes nor sends anything.

use std::net::IpAddr;

use http::header::HeaderName;
use http::{Request, Version};

use crate::config::ServerConfig;
use crate::proxy::headers;

/// Headers that carry the chain of proxies a request went through (besides every `X-Forwarded-*`);
/// kept only from trusted peers.
const FORWARDING: [&str; 2] = ["forwarded", "x-real-ip"];

/// Headers no strip rule may remove: the sidecar's and Grafana's own authentication and the
/// message's framing depend on them.
const NEVER_STRIPPED: [&str; 5] = ["authorization", "cookie", "host", "content-length", "content-type"];

/// An address range, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address (a single host).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` lies in the range (an IPv4-mapped IPv6 peer counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One `strip_headers` entry: an exact name, or a prefix when it ends with `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderRule {
    Exact(String),
    Prefix(String),
}

impl HeaderRule {
    /// Parses an entry; `None` when it is not a header name (or a name prefix and `*`), or
    /// names a header no rule may remove ([`NEVER_STRIPPED`]).
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, prefix) = match lower.strip_suffix('*') {
            Some(p) => (p.to_string(), true),
            None => (lower, false),
        };
        if name.is_empty() || HeaderName::from_bytes(name.as_bytes()).is_err() {
            return None;
        }
        if prefix {
            return NEVER_STRIPPED
                .iter()
                .all(|n| !n.starts_with(name.as_str()))
                .then_some(Self::Prefix(name));
        }
        (!NEVER_STRIPPED.contains(&name.as_str())).then_some(Self::Exact(name))
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Exact(n) => n == name,
            Self::Prefix(p) => name.starts_with(p.as_str()),
        }
    }
}

/// The configured edge rules.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    trusted: Vec<Cidr>,
    strip: Vec<HeaderRule>,
}

impl Edge {
    /// The rules of `[server]`; entries that do not parse (refused by `check-config`) are left out.
    pub fn new(server: &ServerConfig) -> Self {
        Self {
            trusted: server.trusted_proxies.iter().filter_map(|c| Cidr::parse(c)).collect(),
            strip: server.strip_headers.iter().filter_map(|h| HeaderRule::parse(h)).collect(),
        }
    }

    /// Whether the TCP peer `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }

    /// Normalises `req` in place (see the module docs). `grafana_names` are the identity header
    /// names Grafana's settings use (lower case, exact names); those no rule may remove
    /// ([`NEVER_STRIPPED`]) are ignored.
    pub fn normalise<B>(&self, req: &mut Request<B>, peer: IpAddr, grafana_names: &[String]) {
        let upgrade = req.version() == Version::HTTP_11 && headers::is_upgrade_request(req.headers());
        let map = req.headers_mut();
        headers::strip_hop_by_hop(map, upgrade);
        let trusted = self.trusts(peer);
        let doomed: Vec<HeaderName> = map
            .keys()
            .filter(|name| {
                let n = name.as_str();
                self.strip.iter().any(|r| r.matches(n))
                    || (grafana_names.iter().any(|g| g == n) && !NEVER_STRIPPED.contains(&n))
                    || (!trusted && (FORWARDING.contains(&n) || n.starts_with("x-forwarded-")))
            })
            .cloned()
            .collect();
        for name in doomed {
            map.remove(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().version(Version::HTTP_11);
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(!Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.2")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Cidr::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "x", "::/129", "10.0.0.0/-1"] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_rules() {
        assert_eq!(HeaderRule::parse("X-WEBAUTH-*"), Some(HeaderRule::Prefix("x-webauth-".into())));
        assert_eq!(HeaderRule::parse("X-Remote-User"), Some(HeaderRule::Exact("x-remote-user".into())));
        for bad in ["", "*", "Authorization", "cookie", "co*", "bad name", "x:y"] {
            assert_eq!(HeaderRule::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalises_hop_by_hop_identity_and_forwarding_headers() {
        let edge = Edge::new(&ServerConfig::default());
        let mut req = request(&[
            ("connection", "close, X-Grafana-Org-Id, authorization"),
            ("x-grafana-org-id", "2"),
            ("authorization", "Basic eA=="),
            ("cookie", "grafana_session=abc"),
            ("x-webauth-user", "admin"),
            ("X-WEBAUTH-email", "admin@example.com"),
            ("x-jwt-assertion", "eyJ"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("forwarded", "for=1.2.3.4"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-port", "443"),
            ("te", "trailers"),
            ("accept", "*/*"),
        ]);
        edge.normalise(&mut req, ip("192.0.2.7"), &["x-jwt-assertion".into(), "authorization".into()]);
        let mut left: Vec<&str> = req.headers().keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "cookie"]);
    }

    #[test]
    fn trusted_peers_keep_their_forwarding_chain() {
        let cfg = ServerConfig { trusted_proxies: vec!["192.0.2.0/24".into()], ..ServerConfig::default() };
        let edge = Edge::new(&cfg);
        let mut req = request(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "1.2.3.4")]);
        edge.normalise(&mut req, ip("192.0.2.7"), &[]);
        assert_eq!(req.headers()["x-forwarded-for"], "1.2.3.4");
        assert_eq!(req.headers()["x-real-ip"], "1.2.3.4");
        edge.normalise(&mut req, ip("198.51.100.1"), &[]);
        assert!(req.headers().is_empty());
    }

    #[test]
    fn a_real_upgrade_keeps_its_upgrade_fields() {
        let edge = Edge::new(&ServerConfig::default());
        let mut req =
            request(&[("connection", "Upgrade, X-Secret"), ("upgrade", "websocket"), ("x-secret", "1")]);
        edge.normalise(&mut req, ip("192.0.2.7"), &[]);
        assert_eq!(req.headers()["upgrade"], "websocket");
        assert_eq!(req.headers()["connection"], "upgrade");
        assert!(!req.headers().contains_key("x-secret"));
        let mut h2 = request(&[("upgrade", "websocket")]);
        *h2.version_mut() = Version::HTTP_2;
        edge.normalise(&mut h2, ip("192.0.2.7"), &[]);
        assert!(h2.headers().is_empty());
    }
}
