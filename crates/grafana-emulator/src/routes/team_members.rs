//! Team members (§7.7, §7.8): list, add, change permission, remove, and the bulk replace of
//! ≥ 11.1 with its quirks (§13.6). Must not create teams.

use std::collections::{BTreeMap, HashSet};

use http::Method;
use serde_json::Value;

use super::{team_not_found, Cx, Res};
use crate::dto;
use crate::reply::{bad_request_data, Reply};
use crate::state::teams::{Membership, ADMIN, MEMBER};

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("GET", ["api", "teams", id, "members"]) => list(cx, id),
        ("POST", ["api", "teams", id, "members"]) => add(cx, id),
        ("PUT", ["api", "teams", id, "members"]) => {
            if !cx.st.version().bulk_members() {
                return None;
            }
            bulk(cx, id)
        }
        ("PUT", ["api", "teams", id, "members", user]) => set_permission(cx, id, user),
        ("DELETE", ["api", "teams", id, "members", user]) => remove(cx, id, user),
        _ => return None,
    };
    Some(res)
}

fn list(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:read")?;
    let Ok(id) = cx.team_param(raw, ident.org_id) else {
        return Ok(Reply::json(200, Value::Array(Vec::new())));
    };
    let st = &*cx.st;
    let Some(team) = st.teams.get(id) else {
        return Ok(Reply::json(200, Value::Array(Vec::new())));
    };
    let mut rows: Vec<_> =
        st.teams.members(id).into_iter().filter_map(|(u, ms)| st.users.get(u).map(|u| (u, ms))).collect();
    rows.sort_by(|(a, _), (b, _)| a.login.cmp(&b.login).then(a.email.cmp(&b.email)));
    let out: Vec<Value> = rows.into_iter().map(|(u, ms)| dto::team_member(st, team, u, ms)).collect();
    Ok(Reply::json(200, Value::Array(out)))
}

fn add(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let b = cx.body()?;
    let user = b.int("userid").map_err(|_| bad_request_data())?;
    if user == 0 {
        return Err(bad_request_data());
    }
    let team = cx.team_param(raw, ident.org_id)?;
    provisioned_guard(cx, team)?;
    if cx.st.users.get(user).is_none() {
        return Err(Reply::msg_trace(500, "Failed to add Member to Team"));
    }
    if cx.st.teams.membership(team, user).is_some() {
        return Err(Reply::msg(400, "User is already added to this team"));
    }
    cx.st.teams.set_member(team, user, Membership { permission: MEMBER, external: false });
    Ok(Reply::msg(200, "Member added to Team"))
}

fn provisioned_guard(cx: &Cx, team: i64) -> Result<(), Reply> {
    let provisioned = cx.st.teams.get(team).map(|t| t.is_provisioned).unwrap_or(false);
    if provisioned && cx.st.version().provisioned_fields() {
        return Err(Reply::msg_trace(400, "Team memberships cannot be updated for provisioned teams"));
    }
    Ok(())
}

fn set_permission(cx: &mut Cx, raw: &str, user_raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let team = cx.team_param(raw, ident.org_id)?;
    provisioned_guard(cx, team)?;
    let user = cx.user_param(user_raw, "userId")?;
    let b = cx.body()?;
    let perm = b.int("permission").map_err(|_| bad_request_data())?;
    let Some(mut ms) = cx.st.teams.membership(team, user) else {
        return Err(Reply::msg(404, "Team member not found."));
    };
    ms.permission = if perm == ADMIN { ADMIN } else { MEMBER };
    cx.st.teams.set_member(team, user, ms);
    Ok(Reply::msg(200, "Team member updated"))
}

fn remove(cx: &mut Cx, raw: &str, user_raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let team = cx.team_param(raw, ident.org_id)?;
    provisioned_guard(cx, team)?;
    let user = cx.user_param(user_raw, "userId")?;
    if !cx.st.teams.remove_member(team, user) {
        return Err(Reply::msg(404, "Team member not found"));
    }
    Ok(Reply::msg(200, "Team Member removed"))
}

fn bulk(cx: &mut Cx, raw: &str) -> Res {
    let ident = cx.org_action("teams.permissions:write")?;
    let team = cx.team_param(raw, ident.org_id).map_err(|_| team_not_found())?;
    provisioned_guard(cx, team)?;
    let b = cx.body()?;
    let (Ok(members), Ok(admins)) = (b.str_list("members"), b.str_list("admins")) else {
        return Err(bad_request_data());
    };
    // resolve every email first: one unknown email aborts without applying anything
    let mut wanted: BTreeMap<i64, i64> = BTreeMap::new();
    for (list, perm) in [(&admins, ADMIN), (&members, MEMBER)] {
        for email in list {
            let id = cx.st.users.id_by_email(email).ok_or_else(|| Reply::msg(404, "user not found"))?;
            // members are applied after admins, so a user in both lists ends up a Member
            wanted.insert(id, perm);
        }
    }
    let sent: HashSet<&str> = admins.iter().chain(members.iter()).map(String::as_str).collect();
    let current = cx.st.teams.members(team);
    let mut removed = HashSet::new();
    for (user, _) in &current {
        let email = cx.st.users.get(*user).map(|u| u.email.clone()).unwrap_or_default();
        // the removal decision compares emails case-sensitively (§13.6)
        if !sent.contains(email.as_str()) {
            cx.st.teams.remove_member(team, *user);
            removed.insert(*user);
        }
    }
    for (user, perm) in wanted {
        if removed.contains(&user) {
            continue;
        }
        let external = cx.st.teams.membership(team, user).map(|m| m.external).unwrap_or(false);
        cx.st.teams.set_member(team, user, Membership { permission: perm, external });
    }
    Ok(Reply::msg(200, "Team memberships have been updated"))
}
