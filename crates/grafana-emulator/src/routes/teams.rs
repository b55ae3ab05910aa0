//! Teams (§7.2–§7.6): create (creator becomes Admin when a user calls), search, get, update,
//! delete, all in the caller's current org. Must not manage members (`team_members`).

use http::Method;
use serde_json::{json, Map, Value};

use super::{paging, query_text, team_not_found, Cx, Res};
use crate::auth::Principal;
use crate::dto;
use crate::reply::{bad_request_data, Reply};
use crate::state::teams::TeamSort;

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("POST", ["api", "teams"]) => create(cx),
        ("GET", ["api", "teams", "search"]) => search(cx),
        ("GET", ["api", "teams", id]) => get(cx, id),
        ("PUT", ["api", "teams", id]) => update(cx, id),
        ("DELETE", ["api", "teams", id]) => delete(cx, id),
        _ => return None,
    };
    Some(res)
}

fn create(cx: &mut Cx) -> Res {
    let ident = cx.org_action("teams:create")?;
    let b = cx.body()?;
    let (Ok(name), Ok(email)) = (b.str("name"), b.str("email")) else {
        return Err(bad_request_data());
    };
    if name.is_empty() {
        return Err(bad_request_data());
    }
    let creator = match ident.principal {
        Principal::User(id) => Some(id),
        Principal::ServiceAccount { .. } => None,
    };
    let id = cx
        .st
        .create_team(ident.org_id, &name, &email, creator)
        .ok_or_else(|| Reply::msg_trace(409, "Team name taken"))?;
    let mut body = Map::new();
    body.insert("teamId".into(), json!(id));
    if cx.st.version().team_create_uid() {
        let uid = cx.st.teams.get(id).map(|t| t.uid.clone()).unwrap_or_default();
        body.insert("uid".into(), json!(uid));
    }
    body.insert("message".into(), json!("Team created"));
    Ok(Reply::json(200, Value::Object(body)))
}

fn parse_sort(raw: Option<&str>) -> Option<Vec<TeamSort>> {
    let mut out = Vec::new();
    for (key, asc) in super::users::sort_terms(raw)? {
        out.push(match key {
            "name" => TeamSort::Name(asc),
            "email" => TeamSort::Email(asc),
            "memberCount" => TeamSort::MemberCount(asc),
            _ => return None,
        });
    }
    Some(out)
}

fn search(cx: &mut Cx) -> Res {
    let ident = cx.org_action("teams:read")?;
    let sort = parse_sort(cx.req.q("sort")).ok_or_else(super::users::bad_sort)?;
    let (page, per) = paging(cx.req, 1000);
    let q = query_text(cx.req);
    let ids: Vec<i64> = cx.req.q_all("teamId").iter().filter_map(|v| v.parse().ok()).collect();
    let st = &*cx.st;
    let name_ci = st.version().team_name_filter_ci();
    let (total, hits) = st.teams.search(ident.org_id, &q, cx.req.q("name"), name_ci, &ids, &sort, page, per);
    let teams: Vec<Value> = hits.into_iter().map(|t| dto::team(st, t)).collect();
    Ok(Reply::json(200, json!({ "totalCount": total, "teams": teams, "page": page, "perPage": per })))
}

fn get(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams:read")?;
    let id = cx.team_param(raw, ident.org_id)?;
    let st = &*cx.st;
    let t = st.teams.get(id).ok_or_else(team_not_found)?;
    Ok(Reply::json(200, dto::team(st, t)))
}

fn update(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams:write")?;
    let id = cx.team_param(raw, ident.org_id)?;
    let b = cx.body()?;
    let (Ok(name), Ok(email)) = (b.str("name"), b.str("email")) else {
        return Err(bad_request_data());
    };
    let team = cx.st.teams.get(id).ok_or_else(team_not_found)?;
    if team.is_provisioned && team.name != name && cx.st.version().provisioned_fields() {
        return Err(Reply::msg_trace(400, "Team name cannot be changed for provisioned teams"));
    }
    if !cx.st.teams.update(id, &name, &email) {
        return Err(Reply::msg_trace(400, "Team name taken"));
    }
    Ok(Reply::msg(200, "Team updated"))
}

fn delete(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams:delete")?;
    let id = match cx.team_param(raw, ident.org_id) {
        Ok(id) => id,
        Err(_) if !cx.st.version().team_delete_checks_first() => {
            return Err(Reply::msg(404, "Failed to delete Team. ID not found"));
        }
        Err(e) => return Err(e),
    };
    cx.st.teams.delete(id);
    Ok(Reply::msg(200, "Team deleted"))
}
