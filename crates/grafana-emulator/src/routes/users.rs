//! `/api/users…` (§5) and `GET /api/user`: search, lookup (reduced DTO), profile, update with
//! Grafana's "empty means unchanged" rule, a user's orgs and teams. Must not create or delete.

use http::Method;
use serde_json::{json, Value};

use super::{paging, query_text, Cx, Res};
use crate::auth::Principal;
use crate::dto;
use crate::reply::{bad_request_data, Reply};
use crate::state::users::UserSort;

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("GET", ["api", "user"]) => current(cx),
        ("GET", ["api", "users"]) => search(cx, false),
        ("GET", ["api", "users", "search"]) => search(cx, true),
        ("GET", ["api", "users", "lookup"]) => lookup(cx),
        ("GET", ["api", "users", id]) => get(cx, id),
        ("PUT", ["api", "users", id]) => update(cx, id),
        ("PUT", ["api", "user"]) => update_signed_in(cx),
        ("GET", ["api", "users", id, "orgs"]) => orgs(cx, id),
        ("GET", ["api", "users", id, "teams"]) => teams(cx, id),
        _ => return None,
    };
    Some(res)
}

/// The terms of a `sort=` list (`login-asc,email-desc`) as (key, ascending); at most 8 are read.
/// `None` when a term lacks an `-asc`/`-desc` suffix (Grafana's 400).
pub fn sort_terms(raw: Option<&str>) -> Option<Vec<(&str, bool)>> {
    raw.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(8)
        .map(|part| match part.rsplit_once('-') {
            Some((k, "asc")) => Some((k, true)),
            Some((k, "desc")) => Some((k, false)),
            _ => None,
        })
        .collect()
}

/// Parses `sort=`; `None` for an unknown option.
pub fn parse_sort(raw: Option<&str>) -> Option<Vec<UserSort>> {
    let mut out = Vec::new();
    for (key, asc) in sort_terms(raw)? {
        out.push(match key {
            "login" => UserSort::Login(asc),
            "email" => UserSort::Email(asc),
            "name" => UserSort::Name(asc),
            "lastSeenAtAge" => UserSort::LastSeen(asc),
            _ => return None,
        });
    }
    // Grafana applies the options in a fixed order whatever order they were given in
    out.sort_by_key(|s| match s {
        UserSort::Login(_) => 0,
        UserSort::Email(_) => 1,
        UserSort::Name(_) => 2,
        UserSort::LastSeen(_) => 3,
    });
    Some(out)
}

/// The 400 for an unknown sort option.
pub fn bad_sort() -> Reply {
    Reply::errutil(400, "Bad request", "unknown sorting option")
}

fn search(cx: &mut Cx, paged: bool) -> Res {
    cx.server_admin("users:read")?;
    let v = cx.st.version();
    let sort = parse_sort(cx.req.q("sort")).ok_or_else(bad_sort)?;
    let (page, per) = paging(cx.req, 1000);
    let q = query_text(cx.req);
    let (total, hits) = cx.st.users.search(&q, &sort, page, per);
    let users: Vec<Value> = hits.into_iter().map(|u| dto::user_hit(v, u)).collect();
    if !paged {
        return Ok(Reply::json(200, Value::Array(users)));
    }
    Ok(Reply::json(200, json!({ "totalCount": total, "users": users, "page": page, "perPage": per })))
}

fn lookup(cx: &mut Cx) -> Res {
    cx.server_admin("users:read")?;
    let key = cx.req.q("loginOrEmail").unwrap_or("").to_lowercase();
    let v = cx.st.version();
    match cx.st.users.lookup(&key).and_then(|id| cx.st.users.get(id)) {
        Some(u) => Ok(Reply::json(200, dto::user_lookup(v, u))),
        None => Err(Reply::msg(404, "user not found")),
    }
}

fn get(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users:read")?;
    let id = cx.user_param(raw, "id")?;
    let v = cx.st.version();
    match cx.st.users.get(id) {
        Some(u) => Ok(Reply::json(200, dto::user_profile(v, u))),
        None => Err(Reply::msg(404, "user not found")),
    }
}

fn current(cx: &mut Cx) -> Res {
    let ident = cx.ident()?;
    let v = cx.st.version();
    match ident.principal {
        Principal::User(id) => {
            let u = cx.st.users.get(id).ok_or_else(|| Reply::msg(404, "user not found"))?;
            let mut body = dto::user_profile(v, u);
            body["orgId"] = json!(ident.org_id);
            Ok(Reply::json(200, body))
        }
        Principal::ServiceAccount { sa_id, .. } => Ok(Reply::json(
            200,
            json!({ "id": sa_id, "login": format!("sa-{sa_id}"), "email": "", "name": format!("sa-{sa_id}"),
                "orgId": ident.org_id, "isGrafanaAdmin": false, "isDisabled": false, "authLabels": [] }),
        )),
    }
}

fn update(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users:write")?;
    let id = cx.user_param(raw, "id")?;
    apply_update(cx, id)
}

/// `PUT /api/user`: the signed-in user edits their own login, email and name, with the same
/// validation as the admin edit; a service account has no profile to edit here.
fn update_signed_in(cx: &mut Cx) -> Res {
    match cx.ident()?.principal {
        Principal::User(id) => apply_update(cx, id),
        Principal::ServiceAccount { .. } => Err(Reply::msg(400, "Failed to parse user id")),
    }
}

fn apply_update(cx: &mut Cx, id: i64) -> Res {
    let v = cx.st.version();
    let b = cx.body()?;
    let (Ok(email), Ok(name), Ok(login)) = (b.str("email"), b.str("name"), b.str("login")) else {
        return Err(bad_request_data());
    };
    let (email, mut login) = (email.trim().to_string(), login.trim().to_string());
    let Some(user) = cx.st.users.get(id) else {
        return match v {
            crate::profile::VersionProfile::V10 => Ok(Reply::msg(200, "User updated")),
            crate::profile::VersionProfile::V11 => Err(Reply::msg_trace(500, "Failed to update user")),
            crate::profile::VersionProfile::V12 => Err(Reply::msg(404, "user not found")),
        };
    };
    if user.auth_module.is_some() {
        return Err(Reply::msg(403, "User info cannot be updated for external Users"));
    }
    if login.is_empty() {
        login.clone_from(&email);
        if login.is_empty() {
            return Err(if v.errutil_validation() {
                Reply::errutil(
                    400,
                    "Need to specify either username or email",
                    "user.empty-username-and-email",
                )
            } else {
                Reply::msg(400, "Validation error, need to specify either username or email")
            });
        }
    }
    let new_email = if email.is_empty() { user.email.clone() } else { cx.st.normalise(&email) };
    let new_login = cx.st.normalise(&login);
    if cx.st.users.conflicts(&new_login, &new_email, Some(id)) {
        return Err(Reply::msg_trace(409, "Update would result in user login conflict"));
    }
    cx.st.users.rename(id, new_login, new_email);
    if let Some(u) = cx.st.users.get_mut(id) {
        if !name.is_empty() {
            u.name = name;
        }
    }
    Ok(Reply::msg(200, "User updated"))
}

fn orgs(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users:read")?;
    let id = cx.user_param(raw, "id")?;
    let mut list: Vec<(String, Value)> = cx
        .st
        .orgs
        .orgs_of(id)
        .into_iter()
        .filter_map(|o| {
            let org = cx.st.orgs.get(o)?;
            let role = org.members.get(&id)?;
            Some((org.name.to_lowercase(), json!({ "orgId": o, "name": org.name, "role": role.as_str() })))
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Reply::json(200, Value::Array(list.into_iter().map(|(_, v)| v).collect())))
}

fn teams(cx: &mut Cx, raw: &str) -> Res {
    let action = cx.st.version().user_teams_action();
    let ident = cx.server_admin(action)?;
    let id = cx.user_param(raw, "id")?;
    let st = &*cx.st;
    let list: Vec<Value> = st
        .teams
        .teams_of(id)
        .into_iter()
        .filter_map(|t| st.teams.get(t))
        .filter(|t| t.org_id == ident.org_id)
        .map(|t| dto::team(st, t))
        .collect();
    Ok(Reply::json(200, Value::Array(list)))
}
