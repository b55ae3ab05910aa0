//! Guard for the roles of SCIM-managed users while role sync is on (`[scim.roles] enabled`):
//! their org role, and (with `grafana_admin_values` set) their server-admin flag, come from the
//! IdP, so manual changes through the proxy are refused. With role sync off they stay allowed.
//!
//! Refused for a managed user: `PATCH /api/org/users/:userId`, `PATCH
//! /api/orgs/:orgId/users/:userId` (`:userId` numeric or, in recent Grafana, a uid), adding them
//! to an org with a role (`POST /api/org/users`, `POST /api/orgs/:orgId/users`, the user named by
//! the body's `loginOrEmail`, resolved as Grafana resolves it; `POST /api/org/invites` too, which
//! adds an existing user at once), and `PUT
//! /api/admin/users/:id/permissions` while server admin is synced. Paths are matched as
//! Grafana's router resolves them ([`crate::route_path`]).

use http::{Method, StatusCode};
use serde_json::Value;
use tracing::warn;

use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::users::{managed_uid, Subject};
use super::{Guards, Write};
use crate::go_json::Members;

const MESSAGE: &str =
    "User's role is managed by SCIM role sync: change the user's roles in your identity provider";
const MESSAGE_ID: &str = "scim-sidecar.managed-role";

/// What a guarded role write is about.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target<'a> {
    /// The org role of this user.
    OrgRole(Subject<'a>),
    /// An org add naming the user in the body (`loginOrEmail`).
    OrgAdd,
    /// The server-admin flag of this user.
    ServerAdmin(Subject<'a>),
}

/// The target of `method path` when the route changes a role, `path` as Grafana resolves it.
pub(super) fn classify<'a>(method: &Method, path: &'a str) -> Option<Target<'a>> {
    let segs: Vec<&str> = crate::route_path::segments(path).collect();
    let is = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    if !is(0, "api") {
        return None;
    }
    let user = |raw: &'a str| match raw.parse::<i64>() {
        Ok(id) => Subject::Id(id),
        Err(_) => Subject::Uid(raw),
    };
    match (method.as_str(), segs.len()) {
        ("PATCH", 4) if is(1, "org") && is(2, "users") => Some(Target::OrgRole(user(segs[3]))),
        ("PATCH", 5) if is(1, "orgs") && is(3, "users") => Some(Target::OrgRole(user(segs[4]))),
        ("POST", 3) if is(1, "org") && is(2, "users") => Some(Target::OrgAdd),
        // An invite naming an existing user adds them to the org with the invite's role at once
        // (Grafana's `AddOrgInvite` → `inviteExistingUserToOrg`): an org add by another door.
        ("POST", 3) if is(1, "org") && is(2, "invites") => Some(Target::OrgAdd),
        ("POST", 4) if is(1, "orgs") && is(3, "users") => Some(Target::OrgAdd),
        ("PUT", 5) if is(1, "admin") && is(2, "users") && is(4, "permissions") => {
            Some(Target::ServerAdmin(user(segs[3])))
        }
        _ => None,
    }
}

/// Whether the pipeline must ask who sends `method path` (role sync on and a role route).
pub(super) fn guards(role_sync: bool, admin_sync: bool, method: &Method, path: &str) -> bool {
    match classify(method, path) {
        Some(Target::ServerAdmin(_)) => admin_sync,
        Some(_) => role_sync,
        None => false,
    }
}

/// Refuses a role change of a managed user while role sync is on; reads the body only for an
/// org add.
pub(super) async fn check(guards: &Guards, write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    if !self::guards(write.policy.role_sync, write.policy.admin_sync, &write.head.method, write.path) {
        return Ok(());
    }
    let managed = match classify(&write.head.method, write.path) {
        Some(Target::OrgRole(subject) | Target::ServerAdmin(subject)) => match subject {
            Subject::Id(id) => guards.store.is_managed_grafana_user(id).await.map_err(|e| e.to_string()),
            Subject::Uid(uid) => managed_uid(guards, uid).await,
            Subject::Caller => Ok(false),
        },
        Some(Target::OrgAdd) => {
            let bytes = body.bytes().await?;
            let who = Members::of_body(&bytes)
                .and_then(|m| m.field("loginOrEmail").and_then(Value::as_str).map(str::to_string));
            match who.filter(|w| !w.trim().is_empty()) {
                // No name Grafana would bind: Grafana answers the request itself.
                None => Ok(false),
                Some(who) => match guards.grafana.lookup_user(&who).await {
                    Ok(None) => Ok(false),
                    Ok(Some(user)) => {
                        guards.store.is_managed_grafana_user(user.id).await.map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                },
            }
        }
        None => Ok(false),
    };
    match managed {
        Ok(true) => Err(Refusal::new(
            Kind::Role,
            StatusCode::FORBIDDEN,
            Dialect::Grafana { message_id: MESSAGE_ID },
            MESSAGE,
        )),
        Ok(false) => Ok(()),
        Err(e) => {
            warn!(error = %e, "cannot tell whether a role change is for a scim-managed user");
            Err(Refusal::new(
                Kind::UserUnknown,
                StatusCode::SERVICE_UNAVAILABLE,
                Dialect::Grafana { message_id: "scim-sidecar.guard-unavailable" },
                "Cannot verify whether the user is managed by SCIM; try again",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_routes() {
        let c = |m: Method, p: &'static str| classify(&m, p);
        assert_eq!(c(Method::PATCH, "/api/org/users/7"), Some(Target::OrgRole(Subject::Id(7))));
        assert_eq!(c(Method::PATCH, "/API//Org/Users/7/"), Some(Target::OrgRole(Subject::Id(7))));
        assert_eq!(c(Method::PATCH, "/api/orgs/2/users/u-1"), Some(Target::OrgRole(Subject::Uid("u-1"))));
        assert_eq!(c(Method::POST, "/api/org/users"), Some(Target::OrgAdd));
        assert_eq!(c(Method::POST, "/api/orgs/3/users/"), Some(Target::OrgAdd));
        assert_eq!(c(Method::POST, "/api/Org/Invites"), Some(Target::OrgAdd));
        assert_eq!(c(Method::GET, "/api/org/invites"), None);
        assert_eq!(
            c(Method::PUT, "/api/admin/users/7/permissions"),
            Some(Target::ServerAdmin(Subject::Id(7)))
        );
        // Not role changes: reads, removals, lookups, other resources.
        assert_eq!(c(Method::GET, "/api/org/users/7"), None);
        assert_eq!(c(Method::DELETE, "/api/orgs/2/users/7"), None);
        assert_eq!(c(Method::GET, "/api/orgs/2/users"), None);
        assert_eq!(c(Method::PATCH, "/api/orgs/2/users/7/x"), None);
        assert_eq!(c(Method::POST, "/api/org/users/lookup"), None);
        assert!(guards(true, false, &Method::PATCH, "/api/org/users/7"));
        assert!(!guards(false, false, &Method::PATCH, "/api/org/users/7"));
        assert!(!guards(true, false, &Method::PUT, "/api/admin/users/7/permissions"));
        assert!(guards(true, true, &Method::PUT, "/api/admin/users/7/permissions"));
    }
}
