//! Team sync groups (§7.9): Enterprise with a teamsync licence only; on OSS (or unlicensed) the
//! routes are not registered and answer 404 `Not found`. Must not sync memberships.

use http::Method;
use serde_json::{json, Value};

use super::{paging, Cx, Res};
use crate::reply::{bad_request_data, Reply};

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    if !matches!(segs, ["api", "teams", _, "groups", ..]) || !cx.st.team_sync_active() {
        return None;
    }
    let res = match (m.as_str(), segs) {
        ("GET", ["api", "teams", id, "groups"]) => list(cx, id),
        ("GET", ["api", "teams", id, "groups", "search"]) => search(cx, id),
        ("POST", ["api", "teams", id, "groups"]) => add(cx, id),
        ("DELETE", ["api", "teams", id, "groups"]) => {
            let g = cx.req.q("groupId").unwrap_or("").to_string();
            remove(cx, id, &g)
        }
        ("DELETE", ["api", "teams", id, "groups", group]) => {
            let g = percent_decode(group);
            remove(cx, id, &g)
        }
        _ => return None,
    };
    Some(res)
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("g={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn rows(cx: &Cx, team: i64, org: i64) -> Vec<Value> {
    let uid = cx.st.teams.get(team).map(|t| t.uid.clone()).unwrap_or_default();
    cx.st
        .teams
        .groups(team)
        .into_iter()
        .map(|g| json!({ "orgId": org, "teamId": team, "teamUid": uid, "groupId": g }))
        .collect()
}

fn list(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:read")?;
    let team = cx.team_param(raw, ident.org_id)?;
    Ok(Reply::json(200, Value::Array(rows(cx, team, ident.org_id))))
}

fn search(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:read")?;
    let team = cx.team_param(raw, ident.org_id)?;
    let (page, per) = paging(cx.req, 10);
    let q = cx.req.q("query").unwrap_or("").to_lowercase();
    let all: Vec<Value> = rows(cx, team, ident.org_id)
        .into_iter()
        .filter(|g| g["groupId"].as_str().map(|s| s.to_lowercase().contains(&q)).unwrap_or(false))
        .collect();
    let total = all.len();
    let page_rows: Vec<Value> = all.into_iter().skip((page - 1).saturating_mul(per)).take(per).collect();
    Ok(Reply::json(
        200,
        json!({ "totalCount": total, "teamGroups": page_rows, "page": page, "perPage": per }),
    ))
}

fn add(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let team = cx.team_param(raw, ident.org_id)?;
    let b = cx.body()?;
    let group = b.str("groupid").map_err(|_| bad_request_data())?;
    if group.is_empty() {
        return Err(bad_request_data());
    }
    if !cx.st.teams.add_group(team, &group) {
        return Err(Reply::msg(400, "Group is already added to this team"));
    }
    Ok(Reply::msg(200, "Group added to Team"))
}

fn remove(cx: &mut Cx, raw: &str, group: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let team = cx.team_param(raw, ident.org_id)?;
    if !cx.st.teams.remove_group(team, group) {
        return Err(Reply::msg(404, "Group not found"));
    }
    Ok(Reply::msg(200, "Team Group removed"))
}
