//! Refuses, through the proxy, writes to SCIM-managed teams that Grafana itself refuses for
//! provisioned teams: renames, deletion, membership writes and team permission edits. Bodies are
//! Grafana's (`{"message": …, "traceID": ""}`, status 400).
//!
//! A team is SCIM-managed when a live group record written by SCIM maps it
//! (`MappingStore::is_managed_grafana_team`). Only numeric team ids are recognised; team UIDs in
//! paths pass (the store has no UID index yet). Must not touch any other request, and reads a
//! body only for `PUT /api/teams/:id` of a managed team (to tell a rename from an email change).

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::app::App;
use crate::body::{full, read_capped, Body};

pub const RENAME: &str = "Team name cannot be changed for provisioned teams";
pub const MEMBERS: &str = "Team memberships cannot be updated for provisioned teams";
pub const DELETE: &str = "Cannot delete provisioned teams";
pub const PERMISSIONS: &str = "Team permissions cannot be updated for provisioned teams";

/// What the router should do with a request.
pub enum Verdict {
    /// Not a guarded route or not a managed team: forward as is.
    Pass(Request<Incoming>),
    /// The body was read to decide; forward this copy.
    PassRead(Request<Body>),
    /// Answer this instead of forwarding.
    Refuse(Response<Body>),
}

/// Which protected action a request is, and on which team id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Update(i64),
    Delete(i64),
    Members(i64),
    Permissions(i64),
}

/// The action of `method path`, `path` as Grafana resolves it ([`crate::route_path`]).
pub(super) fn classify(method: &Method, path: &str) -> Option<Action> {
    let write = matches!(*method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH);
    if !write {
        return None;
    }
    let segs: Vec<String> = crate::route_path::segments(path).map(str::to_ascii_lowercase).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
    match segs.as_slice() {
        ["api", "teams", t] if *method == Method::PUT => id(t).map(Action::Update),
        ["api", "teams", t] if *method == Method::DELETE => id(t).map(Action::Delete),
        ["api", "teams", t, "members"] if matches!(*method, Method::POST | Method::PUT) => {
            id(t).map(Action::Members)
        }
        ["api", "teams", t, "members", _] if matches!(*method, Method::PUT | Method::DELETE) => {
            id(t).map(Action::Members)
        }
        ["api", "access-control", "teams", t, ..] => id(t).map(Action::Permissions),
        _ => None,
    }
}

/// Decides whether `req` may reach Grafana. `path` is its path as Grafana resolves it
/// ([`crate::route_path`]).
pub async fn check(app: &App, req: Request<Incoming>, path: &str) -> Verdict {
    let Some(action) = classify(req.method(), path) else { return Verdict::Pass(req) };
    let (Action::Update(team) | Action::Delete(team) | Action::Members(team) | Action::Permissions(team)) =
        action;
    match app.store.is_managed_grafana_team(team).await {
        Ok(true) => {}
        Ok(false) => return Verdict::Pass(req),
        Err(e) => {
            // Failing open would let a write undo SCIM's state; failing closed costs a retry.
            tracing::warn!(error = %e, "cannot tell whether a team is managed");
            return Verdict::Refuse(grafana_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "mapping store unavailable",
            ));
        }
    }
    let message = match action {
        Action::Delete(_) => DELETE,
        Action::Members(_) => MEMBERS,
        Action::Permissions(_) => PERMISSIONS,
        Action::Update(t) => {
            let org = req
                .headers()
                .get("x-grafana-org-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(1);
            let (parts, body) = req.into_parts();
            let Ok(bytes) = read_capped(body, app.config.server.max_body_bytes).await else {
                return Verdict::Refuse(grafana_error(StatusCode::BAD_REQUEST, "bad request data"));
            };
            if !renames(app, org, t, &bytes).await {
                return Verdict::PassRead(Request::from_parts(parts, full(bytes)));
            }
            RENAME
        }
    };
    app.metrics.guard_refusals.get_or_create(&crate::metrics::KindLabels { kind: "team" }).inc();
    Verdict::Refuse(grafana_error(StatusCode::BAD_REQUEST, message))
}

/// Whether an update body changes the name of managed team `team_id` (in the caller's org).
async fn renames(app: &App, org: i64, team_id: i64, body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return false };
    let Some(name) = value.get("name").and_then(Value::as_str) else { return false };
    match app.store.group_by_grafana_id(org, team_id).await {
        Ok(Some(r)) => r.display_name != name,
        // The record lives in another org (or the store failed): refuse rather than guess.
        _ => true,
    }
}

fn grafana_error(status: StatusCode, message: &str) -> Response<Body> {
    let mut res = Response::new(full(json!({"message": message, "traceID": ""}).to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_routes() {
        assert_eq!(classify(&Method::PUT, "/api/teams/7"), Some(Action::Update(7)));
        assert_eq!(classify(&Method::GET, "/api/teams/7"), None);
        assert_eq!(classify(&Method::DELETE, "/api/teams/7"), Some(Action::Delete(7)));
        assert_eq!(classify(&Method::POST, "/api/teams/7/members"), Some(Action::Members(7)));
        assert_eq!(classify(&Method::PUT, "/api/teams/7/members"), Some(Action::Members(7)));
        assert_eq!(classify(&Method::DELETE, "/api/teams/7/members/3"), Some(Action::Members(7)));
        assert_eq!(classify(&Method::PUT, "//api/Teams/7/members/3"), Some(Action::Members(7)));
        assert_eq!(classify(&Method::GET, "/api/teams/7/members"), None);
        assert_eq!(
            classify(&Method::POST, "/api/access-control/teams/7/users/3"),
            Some(Action::Permissions(7))
        );
        assert_eq!(classify(&Method::DELETE, "/api/teams/abc"), None);
        assert_eq!(classify(&Method::POST, "/api/teams"), None);
    }
}
