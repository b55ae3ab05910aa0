//! The request path as Grafana's router resolves it, for everything that decides on a path before
//! forwarding the request unchanged: the passthrough guards and the SAML login gate.
//!
//! Grafana (`pkg/web`) first trims its sub-path (`serve_from_sub_path`) from the percent-decoded
//! path, as a plain string prefix (Go's `strings.TrimPrefix`, no segment boundary), then matches
//! static routes against that decoded path and parameterised routes segment by segment,
//! unescaping each segment and each parameter, after dropping one leading and one trailing slash
//! if present. So `PUT /api/%75sers/%37` updates user 7, `POST /saml/acs/` reaches the ACS
//! handler, and with a sub-path `/grafana/api/…`, `/api/…` and even `/grafanaapi/…` reach the
//! same handler. A decision made on the raw path would let every such spelling past it.
//!
//! [`route_path`] decodes the path once and trims the sub-path; [`segments`] drops empty segments.
//! The router resolves each request's path once into a [`RoutePath`] and hands that to the login
//! gate's routing and the guards.
//! Deciders then compare segments case-insensitively. That is broader than Grafana, whose routes
//! are case-sensitive and which routes no path with an empty segment, so a decider sees a superset
//! of the spellings Grafana would route to a guarded handler: one that Grafana would answer with
//! 404 may be refused or gated first, never the other way round.

use std::borrow::Cow;

/// `raw` (a request path as received, without the query) percent-decoded, with `sub_path` (e.g.
/// `/grafana`, or empty) trimmed when the decoded path starts with it, as Grafana trims it: as a
/// string, so `/grafanaapi/users/7` is `api/users/7`, which Grafana's router matches.
/// Invalid UTF-8 after decoding becomes U+FFFD: no route or id Grafana matches contains it.
pub fn route_path<'a>(raw: &'a str, sub_path: &str) -> Cow<'a, str> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    if sub_path.is_empty() {
        return decoded;
    }
    match decoded.strip_prefix(sub_path) {
        Some(rest) => Cow::Owned(rest.to_string()),
        None => decoded,
    }
}

/// A request's path as Grafana's router resolves it, computed once per request by the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePath {
    resolved: String,
    utf8: bool,
}

impl RoutePath {
    /// The path `raw` (as received) once `sub_path` (Grafana's, percent-decoded, or empty) is
    /// trimmed: see [`route_path`].
    pub fn resolve(raw: &str, sub_path: &str) -> Self {
        Self::new(raw, route_path(raw, sub_path))
    }

    /// The path `raw` (as received), given `resolved`, its [`route_path`] under Grafana's
    /// sub-path (as the SCIM edge, which knows that sub-path, resolves it).
    pub fn new(raw: &str, resolved: Cow<'_, str>) -> Self {
        Self { resolved: resolved.into_owned(), utf8: decodes_to_utf8(raw) }
    }

    /// The resolved path.
    pub fn as_str(&self) -> &str {
        &self.resolved
    }

    /// Whether the raw path percent-decodes to valid UTF-8 ([`decodes_to_utf8`]); when it does
    /// not, [`Self::as_str`] holds U+FFFD in its place and nothing may decide on it.
    pub fn decodes_to_utf8(&self) -> bool {
        self.utf8
    }

    /// Whether this path reaches the route `route` (itself resolved, e.g. the ACS path):
    /// [`same_route`].
    pub fn reaches(&self, route: &str) -> bool {
        same_route(&self.resolved, route)
    }
}

/// Whether `raw` percent-decodes to valid UTF-8. Grafana routes the raw bytes; a decider that
/// reads them as text (with U+FFFD for what is not) must not decide on such a path.
pub fn decodes_to_utf8(raw: &str) -> bool {
    percent_encoding::percent_decode_str(raw).decode_utf8().is_ok()
}

/// The non-empty segments of a path from [`route_path`].
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether two paths from [`route_path`] name the same route: the same segments, compared
/// case-insensitively.
pub fn same_route(a: &str, b: &str) -> bool {
    segments(a).map(str::to_ascii_lowercase).eq(segments(b).map(str::to_ascii_lowercase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_once_and_the_sub_path_trimmed() {
        assert_eq!(route_path("/api/%75sers/%37", ""), "/api/users/7");
        assert_eq!(route_path("/api%2Fuser", ""), "/api/user");
        // Grafana unescapes once: a double-encoded byte stays encoded once.
        assert_eq!(route_path("/api/users/%2537", ""), "/api/users/%37");
        assert_eq!(route_path("/grafana/api/users/7", "/grafana"), "/api/users/7");
        assert_eq!(route_path("/gr%61fana/api/users/7", "/grafana"), "/api/users/7");
        assert_eq!(route_path("/api/users/7", "/grafana"), "/api/users/7");
        assert_eq!(route_path("/grafana", "/grafana"), "");
        // Trimmed as a string, as Grafana does: its router then matches `api/users/7`.
        assert_eq!(route_path("/grafanaapi/users/7", "/grafana"), "api/users/7");
        assert_eq!(route_path("/gr%61fanasaml/acs", "/grafana"), "saml/acs");
        assert_eq!(route_path("/api/users/%FF", ""), "/api/users/\u{FFFD}");
        assert_eq!(route_path("/api/users/%", ""), "/api/users/%");
        assert!(decodes_to_utf8("/api/users/%C3%A9t%C3%A9"));
        assert!(!decodes_to_utf8("/api/users/%FF"));
        assert!(!decodes_to_utf8("/api/users/%C3"));
    }

    #[test]
    fn routes_compare_by_segments_ignoring_case_and_empty_segments() {
        assert!(same_route("/saml/acs", "/saml/acs"));
        assert!(same_route("/saml/acs/", "/saml/acs"));
        assert!(same_route("//SAML//Acs", "/saml/acs"));
        assert!(!same_route("/saml/acs/x", "/saml/acs"));
        assert!(!same_route("/saml", "/saml/acs"));
        assert_eq!(segments("//api//users/7/").collect::<Vec<_>>(), ["api", "users", "7"]);
    }

    #[test]
    fn a_resolved_path_keeps_what_deciders_need() {
        let p = RoutePath::resolve("/gr%61fana/saml/%61cs/", "/grafana");
        assert_eq!(p.as_str(), "/saml/acs/");
        assert!(p.decodes_to_utf8() && p.reaches("/saml/acs"));
        assert!(!RoutePath::resolve("/api/users/%FF", "").decodes_to_utf8());
    }
}
