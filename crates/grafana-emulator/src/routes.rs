//! Request dispatch: splits the path, authenticates lazily (an unregistered route answers 404
//! before any authentication, as in Grafana) and hands over to one module per API family.
//! Also the guard helpers every family uses. Must not hold handler logic itself.

mod admin_users;
mod iam;
mod misc;
mod org_users;
mod orgs;
mod saml;
mod sso;
mod team_groups;
mod team_members;
mod teams;
mod users;

use http::Method;

use crate::auth::{authenticate, Ident, Principal};
use crate::reply::{bad_request_data, Reply};
use crate::request::{Body, Req};
use crate::state::State;

/// What a handler returns: both arms are complete responses.
pub type Res = Result<Reply, Reply>;

/// Per-request context.
pub struct Cx<'a> {
    /// State (locked for the whole request, which keeps every request atomic).
    pub st: &'a mut State,
    /// The request.
    pub req: &'a Req,
    auth: Option<Result<Ident, Reply>>,
}

impl<'a> Cx<'a> {
    /// The caller, or the 401 to send.
    pub fn ident(&mut self) -> Result<Ident, Reply> {
        if self.auth.is_none() {
            self.auth = Some(authenticate(self.st, self.req));
        }
        self.auth.clone().unwrap_or_else(|| Err(Reply::unauthorized("Unauthorized", "auth.unauthorized")))
    }

    /// A server-admin (global) route: RBAC body, or "Permission denied" under 10.x's legacy guard.
    pub fn server_admin(&mut self, action: &str) -> Result<Ident, Reply> {
        let id = self.ident()?;
        if id.server_admin {
            return Ok(id);
        }
        if self.st.version().legacy_admin_guard() {
            return Err(Reply::msg(403, "Permission denied"));
        }
        Err(Reply::rbac_denied(action))
    }

    /// An action in the caller's current org.
    pub fn org_action(&mut self, action: &str) -> Result<Ident, Reply> {
        let id = self.ident()?;
        if id.org_id > 0 && id.can(action) {
            return Ok(id);
        }
        Err(Reply::rbac_denied(action))
    }

    /// An action in an org named by the path (`/api/orgs/:orgId/...`); the header is ignored.
    pub fn org_action_in(&mut self, org: i64, action: &str) -> Result<Ident, Reply> {
        let mut id = self.ident()?;
        match id.principal {
            Principal::User(uid) => {
                id.role = self.st.orgs.role(org, uid);
                id.org_id = org;
            }
            Principal::ServiceAccount { .. } if id.org_id != org => {
                return Err(Reply::rbac_denied(action));
            }
            Principal::ServiceAccount { .. } => {}
        }
        if id.can(action) {
            return Ok(id);
        }
        Err(Reply::rbac_denied(action))
    }

    /// The JSON body, or `bad request data`.
    pub fn body(&self) -> Result<Body, Reply> {
        self.req.json().ok_or_else(bad_request_data)
    }

    /// A user id path segment: numeric, or a uid where the profile accepts one (§3.4, §13.1).
    pub fn user_param(&self, raw: &str, invalid: &str) -> Result<i64, Reply> {
        if let Ok(n) = raw.parse::<i64>() {
            return Ok(n);
        }
        if self.st.version().user_uid_paths() && !raw.is_empty() {
            return self.st.users.id_by_uid(raw).ok_or_else(|| Reply::msg(404, "User not found"));
        }
        Err(Reply::msg_trace(400, &format!("{invalid} is invalid")))
    }

    /// A team id path segment (numeric or uid) that must exist in `org`.
    pub fn team_param(&self, raw: &str, org: i64) -> Result<i64, Reply> {
        let id = match raw.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => self.st.teams.id_by_uid(raw),
        };
        match id.and_then(|id| self.st.teams.get(id)) {
            Some(t) if t.org_id == org => Ok(t.id),
            _ => Err(team_not_found()),
        }
    }

    /// Org path segment.
    pub fn org_param(&self, raw: &str) -> Result<i64, Reply> {
        raw.parse::<i64>().map_err(|_| Reply::msg_trace(400, "orgId is invalid"))
    }
}

/// `{"message":"Team not found","traceID":""}`.
pub fn team_not_found() -> Reply {
    Reply::msg_trace(404, "Team not found")
}

/// Page and per-page with Grafana's defaults (1000 and 1, also for out-of-range values).
pub fn paging(req: &Req, default_per_page: i64) -> (usize, usize) {
    let per = req.q_int("perpage").filter(|p| *p > 0).unwrap_or(default_per_page);
    let page = req.q_int("page").filter(|p| *p >= 1).unwrap_or(1);
    (usize::try_from(page).unwrap_or(1), usize::try_from(per.min(1_000_000)).unwrap_or(1000))
}

/// Search text capped so wildcard matching stays cheap.
pub fn query_text(req: &Req) -> String {
    req.q("query").unwrap_or("").chars().take(100).collect()
}

/// One API family's router: `None` when no route of the family matches.
type Family = fn(&mut Cx, &Method, &[&str]) -> Option<Res>;

/// Answers one request against the state.
pub fn dispatch(st: &mut State, req: &Req) -> Reply {
    // As Grafana's router (`pkg/web/tree.go`): one leading and one trailing slash are dropped,
    // the raw path is split on `/`, and each segment is percent-decoded before it is matched or
    // read as a parameter, so `/api/%75sers/%37` is user 7. (Grafana also matches static routes
    // against the whole decoded path, where `%2F` separates; the emulator does not.)
    let path = req.path.strip_prefix('/').unwrap_or(&req.path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let decoded: Vec<std::borrow::Cow<'_, str>> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/')
            .take(16)
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy())
            .collect()
    };
    let segs: Vec<&str> = decoded.iter().map(|s| s.as_ref()).collect();
    let mut cx = Cx { st, req, auth: None };
    let families: [Family; 10] = [
        misc::route,
        admin_users::route,
        users::route,
        orgs::route,
        org_users::route,
        team_members::route,
        team_groups::route,
        teams::route,
        sso::route,
        iam::route,
    ];
    for family in families {
        if let Some(res) = family(&mut cx, &req.method, &segs) {
            return res.unwrap_or_else(|e| e);
        }
    }
    if segs.first() == Some(&"api") {
        Reply::api_not_found()
    } else {
        Reply::html_not_found()
    }
}
