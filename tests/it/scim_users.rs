//! SCIM Users end to end: the real sidecar in front of the Grafana emulator, with Grafana's state
//! asserted after each step and upstream call counts checked against the budgets.

mod authority;
mod budgets;
mod entra;
mod external_ids;
mod faults;
mod guard;
mod lifecycle;
mod okta;
mod password_reset;
mod replicas;
mod reprovision;
pub mod roles;
mod roles_policy;
mod tokens;
mod validator;

use serde_json::{json, Value};

use crate::support::scim::{Answer, Harness};

/// A realistic User body.
pub fn user_body(user_name: &str, email: &str, external_id: Option<&str>) -> Value {
    let mut b = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "displayName": format!("Given Family {user_name}"),
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    });
    if let Some(x) = external_id {
        b["externalId"] = json!(x);
    }
    b
}

/// Creates a user and returns its SCIM id.
pub async fn create(h: &Harness, user_name: &str, email: &str) -> String {
    let a = h.post("Users", user_body(user_name, email, None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    a.json()["id"].as_str().unwrap().to_string()
}

/// `GET /Users?filter=<f>` (URL-encoded here).
pub async fn filter(h: &Harness, f: &str) -> Answer {
    let q: String = url::form_urlencoded::byte_serialize(f.as_bytes()).collect();
    h.get(&format!("Users?filter={q}")).await
}

/// The Grafana user with this login (the emulator lowercases on the 12.x profile).
pub fn grafana_id(h: &Harness, login: &str) -> i64 {
    h.grafana.user_by_login(login).unwrap_or_else(|| panic!("no grafana user {login}")).id
}

pub fn in_org(h: &Harness, org: i64, user: i64) -> Option<String> {
    h.grafana.org_users(org).into_iter().find(|(id, _)| *id == user).map(|(_, role)| role)
}

pub fn patch_op(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}
