//! Guard for SCIM-managed users: through the proxy, their login, email, name, password,
//! enabled state and existence are changed only by the IdP (as Grafana Enterprise does for
//! provisioned users). Org role changes stay allowed: roles are not SCIM's.
//!
//! Refused: `PUT /api/users/:id`, `PUT /api/admin/users/:id/password`,
//! `POST /api/admin/users/:id/disable|enable`, `DELETE /api/admin/users/:id`,
//! `DELETE /api/org/users/:id` (which deletes the user when the org is their last one; the
//! `/api/orgs/:orgId/users/:id` form only removes the membership and stays allowed), with `:id`
//! numeric or, from Grafana 11.4, a uid; and `PUT /api/user`, `PUT /api/user/password` when the
//! caller (asked of Grafana with the caller's own credentials) is managed.

use http::{Method, StatusCode};
use tracing::warn;

use super::caller::Caller;
use super::refusal::{Dialect, Kind, Refusal};
use super::{Guards, Write};

const MESSAGE: &str = "User is managed by SCIM: change it in your identity provider";
const MESSAGE_ID: &str = "scim-sidecar.managed-user";

/// Who a guarded request is about.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Subject<'a> {
    Id(i64),
    Uid(&'a str),
    Caller,
}

/// The subject of `method path` when the route is guarded, `path` as Grafana resolves it
/// ([`crate::route_path`]: decoded, so `/api/%75sers/%37` is user 7). Segments compare
/// case-insensitively and empty segments are ignored, so `/API//users/7/` cannot slip past.
pub(super) fn subject<'a>(method: &Method, path: &'a str) -> Option<Subject<'a>> {
    let segs: Vec<&str> = crate::route_path::segments(path).collect();
    let is = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    if !is(0, "api") {
        return None;
    }
    // Anything else is a uid to look up: users created through Grafana's Kubernetes-style API
    // take their object's name as uid, which may hold dots and is not limited to Grafana's own
    // uid alphabet.
    let user = |raw: &'a str| match raw.parse::<i64>() {
        Ok(id) => Some(Subject::Id(id)),
        Err(_) => Some(Subject::Uid(raw)),
    };
    match (method.as_str(), segs.len()) {
        ("PUT", 3) if is(1, "users") => user(segs[2]),
        ("PUT", 2) if is(1, "user") => Some(Subject::Caller),
        ("PUT", 3) if is(1, "user") && is(2, "password") => Some(Subject::Caller),
        ("DELETE", 4) if is(1, "admin") && is(2, "users") => user(segs[3]),
        ("DELETE", 4) if is(1, "org") && is(2, "users") => user(segs[3]),
        ("PUT", 5) if is(1, "admin") && is(2, "users") && is(4, "password") => user(segs[3]),
        ("POST", 5) if is(1, "admin") && is(2, "users") && (is(4, "disable") || is(4, "enable")) => {
            user(segs[3])
        }
        _ => None,
    }
}

/// Refuses a write to a managed user; `write.caller` is who Grafana says sent it
/// ([`super::caller`]), asked of Grafana with the request's own headers and query when unknown.
pub(super) async fn check(guards: &Guards, write: &Write<'_>) -> Result<(), Refusal> {
    let Some(subject) = subject(&write.head.method, write.path) else { return Ok(()) };
    let store = &guards.store;
    let managed = match subject {
        Subject::Id(id) => store.is_managed_grafana_user(id).await.map_err(|e| e.to_string()),
        Subject::Uid(uid) => managed_uid(guards, uid).await,
        Subject::Caller => {
            let me = match write.caller {
                Some(known) => Ok(known),
                None => {
                    let head = write.head;
                    guards.callers.identify(&guards.grafana, &head.headers, head.uri.query()).await
                }
            };
            match me {
                Ok(Caller::User(id)) => store.is_managed_grafana_user(id).await.map_err(|e| e.to_string()),
                // Grafana refuses the caller the same way when the request goes through.
                Ok(Caller::Unauthenticated | Caller::Other) => return Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    match managed {
        Ok(true) => Err(Refusal::new(
            Kind::User,
            StatusCode::FORBIDDEN,
            Dialect::Grafana { message_id: MESSAGE_ID },
            MESSAGE,
        )),
        Ok(false) => Ok(()),
        Err(e) => {
            // Fail closed: letting an edit through could silently fork Grafana from the IdP.
            warn!(error = %e, "cannot tell whether a user is managed by scim");
            Err(Refusal::new(
                Kind::UserUnknown,
                StatusCode::SERVICE_UNAVAILABLE,
                Dialect::Grafana { message_id: "scim-sidecar.guard-unavailable" },
                "Cannot verify whether the user is managed by SCIM; try again",
            ))
        }
    }
}

/// Whether the user a UID names is managed: by the store's record, else by the Grafana user the
/// UID names ([`managed_by_uid_in_grafana`]).
pub(super) async fn managed_uid(guards: &Guards, uid: &str) -> Result<bool, String> {
    match guards.store.is_managed_grafana_uid(uid).await {
        Ok(false) => managed_by_uid_in_grafana(guards, uid).await,
        known => known.map_err(|e| e.to_string()),
    }
}

/// Whether the user a UID names is managed, asked of Grafana: a record written before Grafana's
/// create answer carried UIDs (before 11.4) has none, yet Grafana resolves UIDs in paths once
/// upgraded. A Grafana that resolves no UIDs answers 400 or 404, and refuses the request alike.
async fn managed_by_uid_in_grafana(guards: &Guards, uid: &str) -> Result<bool, String> {
    match guards.grafana.get_user_by_uid(uid).await {
        Ok(profile) => guards.store.is_managed_grafana_user(profile.id).await.map_err(|e| e.to_string()),
        Err(e) if e.is_not_found() || e.status() == Some(StatusCode::BAD_REQUEST) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_routes() {
        let s = |m: Method, p: &'static str| subject(&m, p);
        assert_eq!(s(Method::PUT, "/api/users/7"), Some(Subject::Id(7)));
        assert_eq!(s(Method::PUT, "/API//users/7/"), Some(Subject::Id(7)));
        assert_eq!(s(Method::PUT, "/api/users/abc-DEF"), Some(Subject::Uid("abc-DEF")));
        assert_eq!(s(Method::DELETE, "/api/admin/users/7"), Some(Subject::Id(7)));
        assert_eq!(s(Method::DELETE, "/api/org/users/7"), Some(Subject::Id(7)));
        assert_eq!(s(Method::PUT, "/api/admin/users/7/password"), Some(Subject::Id(7)));
        assert_eq!(s(Method::POST, "/api/admin/users/7/disable"), Some(Subject::Id(7)));
        assert_eq!(s(Method::POST, "/api/admin/users/7/enable"), Some(Subject::Id(7)));
        assert_eq!(s(Method::PUT, "/api/user"), Some(Subject::Caller));
        assert_eq!(s(Method::PUT, "/api/user/password"), Some(Subject::Caller));
        // Allowed: reads, org role changes, logout, other resources.
        assert_eq!(s(Method::GET, "/api/users/7"), None);
        assert_eq!(s(Method::PATCH, "/api/orgs/1/users/7"), None);
        assert_eq!(s(Method::PATCH, "/api/org/users/7"), None);
        assert_eq!(s(Method::DELETE, "/api/orgs/1/users/7"), None);
        assert_eq!(s(Method::POST, "/api/admin/users/7/logout"), None);
        assert_eq!(s(Method::PUT, "/api/users/7/extra"), None);
        assert_eq!(s(Method::PUT, "/api/teams/7"), None);
        // A uid taken from a Kubernetes object name.
        assert_eq!(s(Method::PUT, "/api/users/john.doe"), Some(Subject::Uid("john.doe")));
    }
}
