//! Org users (§6): list/search/add/change role/remove, both for an explicit org
//! (`/api/orgs/:orgId/users…`) and the current org (`/api/org/users…`, whose DELETE deletes
//! orphaned users). Must not touch teams except through the state cascades.

use http::Method;
use serde_json::{json, Value};

use super::users::{bad_sort, parse_sort};
use super::{paging, query_text, Cx, Res};
use crate::dto;
use crate::reply::{bad_request_data, Reply};
use crate::state::like::LikePattern;
use crate::state::orgs::Role;
use crate::state::users::UserSort;
use crate::state::RemoveOutcome;

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        (_, ["api", "orgs", org, "users", ..]) => {
            let org = match cx.org_param(org) {
                Ok(o) => o,
                Err(e) => return Some(Err(e)),
            };
            match (m.as_str(), &segs[4..]) {
                ("GET", []) => list(cx, Some(org), false),
                ("GET", ["search"]) => list(cx, Some(org), true),
                ("POST", []) => add(cx, Some(org)),
                ("PATCH", [user]) => patch(cx, Some(org), user),
                ("DELETE", [user]) => remove(cx, Some(org), user),
                _ => return None,
            }
        }
        ("GET", ["api", "org", "users"]) => list(cx, None, false),
        ("GET", ["api", "org", "users", "search"]) => list(cx, None, true),
        ("GET", ["api", "org", "users", "lookup"]) => lookup(cx),
        ("POST", ["api", "org", "users"]) => add(cx, None),
        ("PATCH", ["api", "org", "users", user]) => patch(cx, None, user),
        ("DELETE", ["api", "org", "users", user]) => remove(cx, None, user),
        _ => return None,
    };
    Some(res)
}

fn guard(cx: &mut Cx, org: Option<i64>, action: &str) -> Result<(i64, crate::auth::Ident), Reply> {
    match org {
        Some(o) => cx.org_action_in(o, action).map(|i| (o, i)),
        None => cx.org_action(action).map(|i| (i.org_id, i)),
    }
}

fn list(cx: &mut Cx, org: Option<i64>, paged: bool) -> Res {
    let (org, _) = guard(cx, org, "org.users:read")?;
    let v = cx.st.version();
    let sort = parse_sort(cx.req.q("sort")).ok_or_else(bad_sort)?;
    let pat = LikePattern::contains(&query_text(cx.req));
    let st = &*cx.st;
    let Some(o) = st.orgs.get(org) else {
        return Ok(Reply::json(
            200,
            if paged { json!({"totalCount":0,"orgUsers":[],"page":1,"perPage":1000}) } else { json!([]) },
        ));
    };
    let mut rows: Vec<(&crate::state::users::User, Role)> = o
        .members
        .iter()
        .filter_map(|(id, role)| st.users.get(*id).map(|u| (u, *role)))
        .filter(|(u, _)| pat.matches(&u.login) || pat.matches(&u.email) || pat.matches(&u.name))
        .collect();
    let keys = if sort.is_empty() { vec![UserSort::Login(true), UserSort::Email(true)] } else { sort };
    rows.sort_by_cached_key(|(u, _)| UserSort::cells(&keys, u));
    let total = rows.len();
    if !paged {
        let limit = cx.req.q_int("limit").filter(|l| *l > 0).map(|l| l as usize).unwrap_or(usize::MAX);
        let out: Vec<Value> =
            rows.into_iter().take(limit).map(|(u, r)| dto::org_user(v, org, u, r)).collect();
        return Ok(Reply::json(200, Value::Array(out)));
    }
    let (page, per) = paging(cx.req, 1000);
    let skip = (page - 1).saturating_mul(per);
    let out: Vec<Value> =
        rows.into_iter().skip(skip).take(per).map(|(u, r)| dto::org_user(v, org, u, r)).collect();
    Ok(Reply::json(200, json!({ "totalCount": total, "orgUsers": out, "page": page, "perPage": per })))
}

fn lookup(cx: &mut Cx) -> Res {
    let (org, _) = guard(cx, None, "org.users:read")?;
    let v = cx.st.version();
    let pat = LikePattern::contains(&query_text(cx.req));
    let limit = cx.req.q_int("limit").filter(|l| *l > 0).map(|l| l as usize).unwrap_or(usize::MAX);
    let st = &*cx.st;
    let members = st.orgs.get(org).map(|o| o.members.keys().copied().collect::<Vec<_>>()).unwrap_or_default();
    let out: Vec<Value> = members
        .into_iter()
        .filter_map(|id| st.users.get(id))
        .filter(|u| pat.matches(&u.login) || pat.matches(&u.email) || pat.matches(&u.name))
        .take(limit)
        .map(|u| {
            let mut m = json!({ "userId": u.id, "login": u.login, "avatarUrl": dto::avatar(&u.email) });
            if v.user_uid_fields() {
                m["uid"] = json!(u.uid);
            }
            m
        })
        .collect();
    Ok(Reply::json(200, Value::Array(out)))
}

fn add(cx: &mut Cx, org: Option<i64>) -> Res {
    let (org, ident) = guard(cx, org, "org.users:add")?;
    let b = cx.body()?;
    let (Ok(who), Ok(role)) = (b.str("loginoremail"), b.str("role")) else {
        return Err(bad_request_data());
    };
    if who.is_empty() || role.is_empty() {
        return Err(bad_request_data());
    }
    let role = Role::parse(&role).ok_or_else(|| Reply::msg(400, "Invalid role specified"))?;
    if !ident.server_admin && ident.role.map(|r| r < role).unwrap_or(true) {
        return Err(Reply::msg(403, "Cannot assign a role higher than user's role"));
    }
    let user = cx.st.users.lookup(&who.to_lowercase()).ok_or_else(|| Reply::msg(404, "User not found"))?;
    if cx.st.orgs.get(org).is_none() {
        return Err(Reply::msg_trace(500, "Could not add user to organization"));
    }
    if cx.st.orgs.role(org, user).is_some() {
        return Err(Reply::json(
            409,
            json!({ "message": "User is already member of this organization", "userId": user }),
        ));
    }
    cx.st.add_org_user(org, user, role);
    Ok(Reply::json(200, json!({ "message": "User added to organization", "userId": user })))
}

fn patch(cx: &mut Cx, org: Option<i64>, raw: &str) -> Res {
    let (org, ident) = guard(cx, org, "org.users:write")?;
    let user = cx.user_param(raw, "userId")?;
    let b = cx.body()?;
    let role = b.str("role").map_err(|_| bad_request_data())?;
    if role.is_empty() {
        return Err(bad_request_data());
    }
    let role = Role::parse(&role).ok_or_else(|| Reply::msg(400, "Invalid role specified"))?;
    if !ident.server_admin && ident.role.map(|r| r < role).unwrap_or(true) {
        return Err(Reply::msg(403, "Cannot assign a role higher than user's role"));
    }
    let synced =
        cx.st.users.get(user).map(|u| u.auth_module.as_deref() == Some("auth.saml")).unwrap_or(false);
    if synced && cx.st.saml_role_sync() {
        return Err(Reply::errutil(
            403,
            "cannot change role for externally synced user",
            "org.externallySynced",
        ));
    }
    let Some(current) = cx.st.orgs.role(org, user) else {
        return Err(Reply::msg_trace(500, "Failed update org user"));
    };
    if current == Role::Admin && role != Role::Admin && cx.st.orgs.admin_count(org) <= 1 {
        return Err(Reply::msg(400, "Cannot change role so that there is no organization admin left"));
    }
    cx.st.orgs.set_member(org, user, role);
    Ok(Reply::msg(200, "Organization user updated"))
}

fn remove(cx: &mut Cx, org: Option<i64>, raw: &str) -> Res {
    let current_org = org.is_none();
    let (org, _) = guard(cx, org, "org.users:remove")?;
    let user = cx.user_param(raw, "userId")?;
    if cx.st.users.get(user).is_none() {
        return Err(Reply::msg_trace(500, "Failed to remove user from organization"));
    }
    match cx.st.remove_org_user(org, user, current_org) {
        RemoveOutcome::LastAdmin => Err(Reply::msg(400, "Cannot remove last organization admin")),
        RemoveOutcome::UserDeleted => Ok(Reply::msg(200, "User deleted")),
        RemoveOutcome::Removed => Ok(Reply::msg(200, "User removed from organization")),
    }
}
