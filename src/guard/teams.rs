//! Refuses, through the proxy, writes to SCIM-managed teams that Grafana itself refuses for
//! provisioned teams: renames, deletion, membership writes and team permission edits. Bodies are
//! Grafana's (`{"message": …, "traceID": ""}`, status 400).
//!
//! A team is SCIM-managed when a live group record written by SCIM maps it
//! (`MappingStore::is_managed_grafana_team`). Grafana (10.2 and later) also takes a team UID
//! wherever it takes a team id; a UID is first looked up in the store's own records
//! (`MappingStore::managed_team_by_uid`), whatever org the caller selects, and only otherwise
//! resolved by asking Grafana for the team as the caller, so it resolves in the org the caller's
//! own request would (a record made before Grafana's create answer carried UIDs has none). Must not touch any other request,
//! and reads a body only for `PUT /api/teams/:id` of a managed team (to tell a rename from an
//! email change).

use http::{Method, StatusCode};
use serde_json::Value;

use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::{Guards, Write};

pub const RENAME: &str = "Team name cannot be changed for provisioned teams";
pub const MEMBERS: &str = "Team memberships cannot be updated for provisioned teams";
pub const DELETE: &str = "Cannot delete provisioned teams";
pub const PERMISSIONS: &str = "Team permissions cannot be updated for provisioned teams";

/// Which protected action a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Update,
    Delete,
    Members,
    Permissions,
}

/// The team a path names, as Grafana reads its `:teamId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TeamRef {
    Id(i64),
    Uid(String),
}

impl TeamRef {
    /// A numeric segment is an id (none at or below zero exists); anything else a UID.
    fn parse(segment: &str) -> Option<Self> {
        match segment.parse::<i64>() {
            Ok(id) if id > 0 => Some(Self::Id(id)),
            Ok(_) => None,
            Err(_) => Some(Self::Uid(segment.to_string())),
        }
    }
}

/// The action of `method path` and the team it names, `path` as Grafana resolves it
/// ([`crate::route_path`]).
pub(super) fn classify(method: &Method, path: &str) -> Option<(Action, TeamRef)> {
    let write = matches!(*method, Method::POST | Method::PUT | Method::DELETE | Method::PATCH);
    if !write {
        return None;
    }
    let segs: Vec<&str> = crate::route_path::segments(path).collect();
    let is = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    let (action, team) = match segs.len() {
        3 if is(0, "api") && is(1, "teams") && *method == Method::PUT => (Action::Update, segs[2]),
        3 if is(0, "api") && is(1, "teams") && *method == Method::DELETE => (Action::Delete, segs[2]),
        4 if is(0, "api")
            && is(1, "teams")
            && is(3, "members")
            && matches!(*method, Method::POST | Method::PUT) =>
        {
            (Action::Members, segs[2])
        }
        5 if is(0, "api")
            && is(1, "teams")
            && is(3, "members")
            && matches!(*method, Method::PUT | Method::DELETE) =>
        {
            (Action::Members, segs[2])
        }
        n if n >= 4 && is(0, "api") && is(1, "access-control") && is(2, "teams") => {
            (Action::Permissions, segs[3])
        }
        _ => return None,
    };
    Some((action, TeamRef::parse(team)?))
}

/// Refuses a protected write to a managed team; reads the body (through `body`) only for an
/// update of a managed team.
pub(super) async fn check(guards: &Guards, write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    let Some((action, team)) = classify(&write.head.method, write.path) else { return Ok(()) };
    let team = match team {
        TeamRef::Id(id) => id,
        TeamRef::Uid(uid) => match resolve_uid(guards, write, &uid).await? {
            Some(id) => id,
            // No such team where the caller would act: Grafana answers the request itself.
            None => return Ok(()),
        },
    };
    match guards.store.is_managed_grafana_team(team).await {
        Ok(true) => {}
        Ok(false) => return Ok(()),
        Err(e) => {
            // Failing open would let a write undo SCIM's state; failing closed costs a retry.
            tracing::warn!(error = %e, "cannot tell whether a team is managed");
            return Err(refused(
                Kind::TeamUnknown,
                StatusCode::SERVICE_UNAVAILABLE,
                "mapping store unavailable",
            ));
        }
    }
    let message = match action {
        Action::Delete => DELETE,
        Action::Members => MEMBERS,
        Action::Permissions => PERMISSIONS,
        Action::Update => match renames(guards, team, &body.bytes().await?).await {
            Some(false) => return Ok(()),
            Some(true) => RENAME,
            None => return Err(refused(Kind::Unreadable, StatusCode::BAD_REQUEST, "bad request data")),
        },
    };
    Err(refused(Kind::Team, StatusCode::BAD_REQUEST, message))
}

/// The id of the team `uid` names: a managed team's, by the store's own record, whatever org the
/// caller names; else the team's where the caller's request would act (`None`: no such team
/// there, or the caller is not signed in, so Grafana refuses the request itself). When neither
/// can say, the request is refused: letting it pass could undo SCIM's state.
async fn resolve_uid(guards: &Guards, write: &Write<'_>, uid: &str) -> Result<Option<i64>, Refusal> {
    team_id_by_uid(guards, &write.head.headers, write.head.uri.query(), uid).await.map_err(|e| {
        tracing::warn!(error = %e, "cannot resolve a team uid in a guarded path");
        refused(
            Kind::TeamUnknown,
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot verify whether the team is managed by SCIM",
        )
    })
}

/// The id of the team `uid` names: first the managed team the store's own record gives that UID
/// (independent of any org the caller selects), else asked of Grafana as the caller whose
/// request carried `headers` and `query`, so it resolves in the org that request acts in (a
/// record made before Grafana's create answer carried UIDs has none); `None` when Grafana finds
/// none there or does not know the caller (it then refuses the caller's request itself).
pub(super) async fn team_id_by_uid(
    guards: &Guards,
    headers: &http::HeaderMap,
    query: Option<&str>,
    uid: &str,
) -> Result<Option<i64>, String> {
    match guards.store.managed_team_by_uid(uid).await {
        Ok(Some(id)) => return Ok(Some(id)),
        Ok(None) => {}
        Err(e) => return Err(e.to_string()),
    }
    if uid == "search" {
        // `GET /api/teams/search` is Grafana's team search, not a lookup; no team SCIM made has
        // that UID (Grafana generates them).
        return Ok(None);
    }
    match guards.grafana.team_as(uid, headers, query).await {
        Ok(team) => Ok(Some(team.id)),
        Err(e) if e.is_not_found() || e.is_unauthorized() => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether an update body renames managed team `team_id`, compared with the store's own record
/// of that team (whatever org the caller selects), the body read as Grafana reads it
/// ([`crate::go_json`]); `None` when it cannot be read so. Grafana keeps the name
/// when the body's is absent, null or empty (its update skips empty columns) and refuses a name
/// that is not a string.
async fn renames(guards: &Guards, team_id: i64, body: &[u8]) -> Option<bool> {
    let members = crate::go_json::Members::of_body(body)?;
    let name = match members.field("name") {
        None | Some(Value::Null) => return Some(false),
        Some(Value::String(name)) if name.is_empty() => return Some(false),
        Some(Value::String(name)) => name,
        Some(_) => return None,
    };
    let managed = |r: &&crate::store::GroupRecord| r.attributes.get("_managed") == Some(&Value::Bool(true));
    Some(match guards.store.live_groups_by_team(team_id).await {
        Ok(records) => match records.iter().find(managed) {
            Some(r) => r.display_name != *name,
            None => true,
        },
        // The store failed: refuse rather than guess.
        Err(_) => true,
    })
}

/// A refusal in Grafana's team API error shape.
fn refused(kind: Kind, status: StatusCode, message: &'static str) -> Refusal {
    Refusal::new(kind, status, Dialect::GrafanaTeam, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_routes() {
        let id = |a: Action, n: i64| Some((a, TeamRef::Id(n)));
        assert_eq!(classify(&Method::PUT, "/api/teams/7"), id(Action::Update, 7));
        assert_eq!(classify(&Method::GET, "/api/teams/7"), None);
        assert_eq!(classify(&Method::DELETE, "/api/teams/7"), id(Action::Delete, 7));
        assert_eq!(classify(&Method::POST, "/api/teams/7/members"), id(Action::Members, 7));
        assert_eq!(classify(&Method::PUT, "/api/teams/7/members"), id(Action::Members, 7));
        assert_eq!(classify(&Method::DELETE, "/api/teams/7/members/3"), id(Action::Members, 7));
        assert_eq!(classify(&Method::PUT, "//api/Teams/7/members/3"), id(Action::Members, 7));
        assert_eq!(classify(&Method::GET, "/api/teams/7/members"), None);
        assert_eq!(
            classify(&Method::POST, "/api/access-control/teams/7/users/3"),
            id(Action::Permissions, 7)
        );
        // Grafana takes a team UID wherever it takes an id.
        assert_eq!(
            classify(&Method::DELETE, "/api/teams/abc"),
            Some((Action::Delete, TeamRef::Uid("abc".into())))
        );
        assert_eq!(
            classify(&Method::POST, "/api/teams/abc/members"),
            Some((Action::Members, TeamRef::Uid("abc".into())))
        );
        assert_eq!(classify(&Method::DELETE, "/api/teams/0"), None);
        assert_eq!(classify(&Method::POST, "/api/teams"), None);
    }
}
