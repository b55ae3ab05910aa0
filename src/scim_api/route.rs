//! Which SCIM endpoint a request path names (RFC 7644 §3.2), and for which Grafana org.
//!
//! Two base paths serve SCIM: `/apis/scim.grafana.app/v0alpha1/namespaces/{ns}` (the path Grafana's
//! own docs give IdPs; `default` is org 1, `org-<N>` is org N) and `/scim/v2` (= `default`).
//! Pure: no I/O, so every shape is unit-tested.

/// The Grafana-compatible SCIM base path, followed by a namespace.
pub const GRAFANA_BASE: &str = "/apis/scim.grafana.app/v0alpha1/namespaces/";
/// The short base path, always the `default` namespace.
pub const SHORT_BASE: &str = "/scim/v2";

/// The org a namespace names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// `default`, or the `/scim/v2` base: org 1.
    Default,
    /// `org-<N>`.
    Org(i64),
    /// Anything else: answered with a SCIM 404.
    Unknown(String),
}

impl Namespace {
    fn parse(text: &str) -> Self {
        match crate::namespace::org_of(text) {
            Some(1) => Namespace::Default,
            Some(n) => Namespace::Org(n),
            None => Namespace::Unknown(text.to_string()),
        }
    }

    /// The Grafana org id, when the namespace is well formed.
    pub fn org_id(&self) -> Option<i64> {
        match self {
            Namespace::Default => Some(1),
            Namespace::Org(n) => Some(*n),
            Namespace::Unknown(_) => None,
        }
    }
}

/// A SCIM resource kind served under a base path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

/// The endpoint a path names, relative to the base path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/Users` or `/Groups`.
    Collection(Kind),
    /// `/Users/{id}` or `/Groups/{id}`.
    Resource(Kind, String),
    /// `/Users/.search` or `/Groups/.search`.
    Search(Kind),
    /// `/.search` at the base (RFC 7644 §3.4.3).
    RootSearch,
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType(String),
    Schemas,
    Schema(String),
    /// `/Roles` (read-only, role sync's values).
    Roles,
    /// `/Roles/{id}`.
    Role(String),
    /// `/Me`: not supported (501).
    Me,
    /// `/Bulk`: not supported (501; `bulk.supported` is false).
    Bulk,
    /// Anything else under a SCIM base path: 404.
    Unknown,
}

/// A parsed SCIM request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimPath {
    pub namespace: Namespace,
    pub endpoint: Endpoint,
    /// The base path as the client used it (for `meta.location` and `Location`).
    pub base: String,
}

/// True when `path` is under a SCIM base path and must never be proxied to Grafana.
pub fn is_scim_path(path: &str) -> bool {
    under(path, SHORT_BASE).is_some() || path.starts_with(GRAFANA_BASE)
}

/// `rest` after `base` when `path` is `base` itself or `base/...`.
fn under<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Parses a request path (without query). `None` when it is not a SCIM path.
pub fn parse(path: &str) -> Option<ScimPath> {
    let (namespace, base, rest) = if let Some(rest) = under(path, SHORT_BASE) {
        (Namespace::Default, SHORT_BASE.to_string(), rest)
    } else {
        let after = path.strip_prefix(GRAFANA_BASE)?;
        let (ns, rest) = after
            .split_once('/')
            .map_or((after, ""), |(ns, rest)| (ns, &path[path.len() - rest.len() - 1..]));
        let ns = percent_decode(ns);
        (Namespace::parse(&ns), format!("{GRAFANA_BASE}{ns}"), rest)
    };
    Some(ScimPath { namespace, endpoint: endpoint(rest), base })
}

fn endpoint(rest: &str) -> Endpoint {
    let segments: Vec<String> = rest.trim_end_matches('/').split('/').skip(1).map(percent_decode).collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let kind = |s: &str| match s {
        "users" => Some(Kind::Users),
        "groups" => Some(Kind::Groups),
        _ => None,
    };
    match lower.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => Endpoint::Unknown,
        [".search"] => Endpoint::RootSearch,
        ["serviceproviderconfig"] | ["serviceproviderconfigs"] => Endpoint::ServiceProviderConfig,
        ["resourcetypes"] => Endpoint::ResourceTypes,
        ["resourcetypes", _] => Endpoint::ResourceType(segments[1].clone()),
        ["schemas"] => Endpoint::Schemas,
        ["schemas", _] => Endpoint::Schema(segments[1].clone()),
        ["roles"] => Endpoint::Roles,
        ["roles", _] if !segments[1].is_empty() => Endpoint::Role(segments[1].clone()),
        ["me", ..] => Endpoint::Me,
        ["bulk"] => Endpoint::Bulk,
        [k] => kind(k).map_or(Endpoint::Unknown, Endpoint::Collection),
        [k, ".search"] => kind(k).map_or(Endpoint::Unknown, Endpoint::Search),
        [k, _] if !segments[1].is_empty() => {
            kind(k).map_or(Endpoint::Unknown, |k| Endpoint::Resource(k, segments[1].clone()))
        }
        _ => Endpoint::Unknown,
    }
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(path: &str) -> Endpoint {
        parse(path).unwrap().endpoint
    }

    #[test]
    fn recognises_both_base_paths() {
        assert!(is_scim_path("/scim/v2"));
        assert!(is_scim_path("/scim/v2/Users"));
        assert!(!is_scim_path("/scim/v22/Users"));
        assert!(!is_scim_path("/api/users"));
        assert!(is_scim_path("/apis/scim.grafana.app/v0alpha1/namespaces/default/Users"));
        let p = parse("/apis/scim.grafana.app/v0alpha1/namespaces/org-7/Groups/abc").unwrap();
        assert_eq!(p.namespace, Namespace::Org(7));
        assert_eq!(p.endpoint, Endpoint::Resource(Kind::Groups, "abc".into()));
        assert_eq!(p.base, "/apis/scim.grafana.app/v0alpha1/namespaces/org-7");
        assert_eq!(parse("/scim/v2/Users").unwrap().base, "/scim/v2");
    }

    #[test]
    fn namespaces() {
        let ns = |s: &str| parse(&format!("{GRAFANA_BASE}{s}/Users")).unwrap().namespace;
        assert_eq!(ns("default"), Namespace::Default);
        assert_eq!(ns("org-1"), Namespace::Default);
        assert_eq!(ns("org-12"), Namespace::Org(12));
        for bad in ["org-0", "org-", "org-x", "stacks-5", "Default", "org--1", "org-99999999999999999999"] {
            assert!(matches!(ns(bad), Namespace::Unknown(_)), "{bad}");
        }
        assert_eq!(parse(GRAFANA_BASE).unwrap().namespace, Namespace::Unknown(String::new()));
    }

    #[test]
    fn endpoints_are_case_insensitive_and_ids_are_kept_verbatim() {
        assert_eq!(ep("/scim/v2/users"), Endpoint::Collection(Kind::Users));
        assert_eq!(ep("/scim/v2/Users/"), Endpoint::Collection(Kind::Users));
        assert_eq!(ep("/scim/v2/Users/AbC-1"), Endpoint::Resource(Kind::Users, "AbC-1".into()));
        assert_eq!(ep("/scim/v2/Users/a%20b"), Endpoint::Resource(Kind::Users, "a b".into()));
        assert_eq!(ep("/scim/v2/Users/.search"), Endpoint::Search(Kind::Users));
        assert_eq!(ep("/scim/v2/Groups/.SEARCH"), Endpoint::Search(Kind::Groups));
        assert_eq!(ep("/scim/v2/.search"), Endpoint::RootSearch);
        assert_eq!(ep("/scim/v2/ServiceProviderConfig"), Endpoint::ServiceProviderConfig);
        assert_eq!(ep("/scim/v2/ResourceTypes/User"), Endpoint::ResourceType("User".into()));
        let urn = "urn:ietf:params:scim:schemas:core:2.0:User";
        assert_eq!(ep(&format!("/scim/v2/Schemas/{urn}")), Endpoint::Schema(urn.into()));
        assert_eq!(ep("/scim/v2/Me"), Endpoint::Me);
        assert_eq!(ep("/scim/v2/Roles"), Endpoint::Roles);
        assert_eq!(ep("/scim/v2/roles/grafana%20admins"), Endpoint::Role("grafana admins".into()));
        assert_eq!(ep("/scim/v2/Bulk"), Endpoint::Bulk);
        assert_eq!(ep("/scim/v2"), Endpoint::Unknown);
        assert_eq!(ep("/scim/v2/Users/a/b"), Endpoint::Unknown);
        assert_eq!(ep("/scim/v2/Nope"), Endpoint::Unknown);
    }
}
