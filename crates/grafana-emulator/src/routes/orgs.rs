//! Organisations: `GET /api/org`, `POST /api/orgs`, `GET /api/orgs`, `GET /api/orgs/:orgId`.
//! Must not manage org membership (that is `org_users`).

use http::Method;
use serde_json::{json, Value};

use super::{Cx, Res};
use crate::auth::Principal;
use crate::reply::{bad_request_data, Reply};
use crate::state::orgs::{Org, Role};

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("GET", ["api", "org"]) => current(cx),
        ("POST", ["api", "orgs"]) => create(cx),
        ("GET", ["api", "orgs"]) => list(cx),
        ("GET", ["api", "orgs", id]) => get(cx, id),
        _ => return None,
    };
    Some(res)
}

fn render(o: &Org) -> Value {
    json!({ "id": o.id, "name": o.name,
        "address": { "address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": "" } })
}

fn current(cx: &mut Cx) -> Res {
    let ident = cx.org_action("orgs:read")?;
    let org = cx.st.orgs.get(ident.org_id).ok_or_else(|| Reply::msg(404, "Organization not found"))?;
    Ok(Reply::json(200, render(org)))
}

fn create(cx: &mut Cx) -> Res {
    let ident = cx.server_admin("orgs:create")?;
    let b = cx.body()?;
    let name = b.str("name").map_err(|_| bad_request_data())?;
    if name.is_empty() {
        return Err(bad_request_data());
    }
    let id = cx.st.orgs.create(&name).ok_or_else(|| Reply::msg(409, "Organization name taken"))?;
    // Grafana makes the creating user Admin of the new org
    if let Principal::User(uid) = ident.principal {
        cx.st.add_org_user(id, uid, Role::Admin);
    }
    Ok(Reply::json(200, json!({ "orgId": id, "message": "Organization created" })))
}

fn list(cx: &mut Cx) -> Res {
    cx.server_admin("orgs:read")?;
    let list: Vec<Value> = cx.st.orgs.all().map(|o| json!({ "id": o.id, "name": o.name })).collect();
    Ok(Reply::json(200, Value::Array(list)))
}

fn get(cx: &mut Cx, raw: &str) -> Res {
    let id = cx.org_param(raw)?;
    cx.org_action_in(id, "orgs:read")?;
    let org = cx.st.orgs.get(id).ok_or_else(|| Reply::msg(404, "Organization not found"))?;
    Ok(Reply::json(200, render(org)))
}
