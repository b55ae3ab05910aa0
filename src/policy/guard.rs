//! Passthrough guards: Grafana API calls that would break the policy while SCIM is active are
//! refused before they reach Grafana, with a Grafana-style `{"message": …}` 403.
//!
//! Refused: `POST /api/teams/:id/groups` (a Team Sync link) while SCIM group sync is on, and
//! `PUT`/`DELETE /api/v1/sso-settings/saml` that would turn SAML off while SAML is required.
//! `api_path` is the request path as Grafana's router resolves it (percent-decoded, without
//! Grafana's sub-path: [`crate::route_path`]); segments match case-insensitively, ignoring empty
//! ones. Must not touch any other request.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::Value;

use super::engine::PolicyEngine;
use super::saml::lenient_bool;
use crate::body::{full, read_capped, Body, ReadError};
use crate::metrics::KindLabels;

/// Guard refusal kinds, as metrics labels.
pub mod kind {
    pub const TEAM_SYNC_LINK: &str = "team_sync_link";
    pub const SAML_DISABLE: &str = "saml_disable";
}

/// The path's segments, lowercased, without empty ones.
fn segments(api_path: &str) -> Vec<String> {
    crate::route_path::segments(api_path).map(str::to_ascii_lowercase).collect()
}

fn is_saml_sso_settings(segs: &[String]) -> bool {
    matches!(segs, [a, v, s, p] if a == "api" && v == "v1" && s == "sso-settings" && p == "saml")
}

fn is_team_groups(segs: &[String]) -> bool {
    matches!(segs, [a, t, _, g] if a == "api" && t == "teams" && g == "groups")
}

/// Whether [`check`] needs the request body for this request.
pub fn wants_body(method: &Method, api_path: &str) -> bool {
    method == Method::PUT && is_saml_sso_settings(&segments(api_path))
}

/// A body that could leave SAML disabled: anything but a `settings` object whose `enabled` is
/// true, read as Grafana reads it ([`crate::guard::go_json`]: the last `settings` key in any case
/// wins, trailing bytes are ignored). Every key of `settings` that equals `enabled` in any case
/// must say true, and a body that cannot be read so counts as disabling.
fn disables_saml(body: &[u8]) -> bool {
    use crate::guard::go_json::{folds_equal, Members};
    let Some(members) = Members::of_body(body) else { return true };
    let Some(Value::Object(settings)) = members.field("settings") else { return true };
    let mut enabled = settings.iter().filter(|(k, _)| folds_equal(k, "enabled")).peekable();
    enabled.peek().is_none() || enabled.any(|(_, v)| lenient_bool(Some(v)) != Some(true))
}

/// The refusal for this request, if any.
pub async fn check(
    engine: &PolicyEngine,
    method: &Method,
    api_path: &str,
    body: Option<&[u8]>,
) -> Option<Response<Body>> {
    // Only writes are guarded (the router skips this for reads; see `guard::may_refuse`).
    if !engine.scim_active() || !crate::guard::may_refuse(method) {
        return None;
    }
    let segs = segments(api_path);
    let config = engine.config();
    if method == Method::POST && config.group_sync && is_team_groups(&segs) {
        return Some(refusal(
            engine,
            kind::TEAM_SYNC_LINK,
            "Team Sync group links are refused by scim-sidecar: SCIM group sync manages team membership and \
             Team Sync would undo it at the next login. Manage this team through your identity provider's \
             SCIM groups, or set [policy] group_sync = false in the sidecar to use Team Sync instead",
        ));
    }
    if config.require_saml && is_saml_sso_settings(&segs) {
        let disabling =
            (method == Method::DELETE) || (method == Method::PUT && body.is_some_and(disables_saml));
        if disabling {
            return Some(refusal(
                engine,
                kind::SAML_DISABLE,
                "turning SAML off is refused by scim-sidecar while SCIM provisioning is active: SCIM only works \
                 with SAML logins. Keep settings.enabled = true, or set [policy] require_saml = false in the \
                 sidecar first",
            ));
        }
    }
    None
}

fn refusal(engine: &PolicyEngine, kind: &'static str, message: &str) -> Response<Body> {
    engine.metrics().guard_refusals.get_or_create(&KindLabels { kind }).inc();
    tracing::info!(kind, "passthrough request refused by policy guard");
    json_response(StatusCode::FORBIDDEN, message)
}

fn json_response(status: StatusCode, message: &str) -> Response<Body> {
    let mut res = Response::new(full(serde_json::json!({ "message": message }).to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
}

/// What the router does with a passthrough request after the guard looked at it.
pub enum Screened {
    /// Forward unchanged (streaming body).
    Pass(Request<Incoming>),
    /// Forward the request rebuilt around its buffered body.
    Buffered(Request<Full<Bytes>>),
    /// Answer this instead of forwarding.
    Refused(Response<Body>),
}

/// Screens one passthrough request, buffering its body (up to `max_body_bytes`) only when
/// [`wants_body`] says the decision depends on it.
///
/// `api_path` is the request path as Grafana resolves it ([`crate::route_path`]), so
/// `/grafana/api/...` is screened like `/api/...`.
pub async fn screen(
    engine: &PolicyEngine,
    req: Request<Incoming>,
    api_path: &str,
    max_body_bytes: usize,
) -> Screened {
    let method = req.method().clone();
    if !engine.scim_active() {
        return Screened::Pass(req);
    }
    if !wants_body(&method, api_path) {
        return match check(engine, &method, api_path, None).await {
            Some(res) => Screened::Refused(res),
            None => Screened::Pass(req),
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = match read_capped(body, max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge { .. }) => {
            return Screened::Refused(json_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"))
        }
        Err(ReadError::Stream(_)) => {
            return Screened::Refused(json_response(
                StatusCode::BAD_REQUEST,
                "could not read the request body",
            ))
        }
    };
    match check(engine, &method, api_path, Some(&bytes)).await {
        Some(res) => Screened::Refused(res),
        None => Screened::Buffered(Request::from_parts(parts, Full::new(bytes))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_as_grafana_resolves_them() {
        assert!(is_team_groups(&segments("/api/teams/7/groups")));
        assert!(is_team_groups(&segments("//api/Teams/7/groups/")));
        assert!(is_team_groups(&segments(&crate::route_path::route_path("/api/teams/7/%67roups", ""))));
        assert!(!is_team_groups(&segments("/api/teams/7/members")));
        assert!(!is_team_groups(&segments("/api/teams/7/groups/x")));
        assert!(wants_body(&Method::PUT, "/api/v1/sso-settings/saml"));
        assert!(wants_body(&Method::PUT, "/api/v1/sso-settings/SAML/"));
        assert!(!wants_body(&Method::PUT, "/api/v1/sso-settings/github"));
        assert!(!wants_body(&Method::GET, "/api/v1/sso-settings/saml"));
    }

    #[test]
    fn saml_disabling_bodies() {
        assert!(disables_saml(br#"{"settings":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":"false"}}"#));
        assert!(disables_saml(br#"{"settings":{"allowSignUp":true}}"#));
        assert!(!disables_saml(br#"{"settings":{"enabled":"true"}}"#));
        // Read as Grafana reads it: any case, the last key wins, trailing bytes ignored.
        assert!(disables_saml(br#"{"Settings":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true},"SETTINGS":{"enabled":false}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":false}} {"settings":{"enabled":true}}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true,"Enabled":false}}"#));
        assert!(!disables_saml(br#"{"settings":{"enabled":true}} trailing"#));
        // What cannot be read so, or says nothing, could disable SAML.
        assert!(disables_saml(b"not json"));
        assert!(disables_saml(br#"{"id":"x"}"#));
        assert!(disables_saml(br#"{"settings":{"enabled":true,"name":"\ud800"}}"#));
    }
}
