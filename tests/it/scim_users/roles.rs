//! Role sync (issue 29): `[scim.roles]` maps SCIM role values to Grafana org roles, replayed
//! with the shapes Entra (`AppRoleAssignmentsComplex`: full objects on create, `Add` of the whole
//! assignment in PATCH) and Okta (`roles` on PUT) send, and Grafana's state asserted after each
//! step. Also the server-admin flag, `/Roles` and its discovery.

use scim_sidecar::config::Config;
use serde_json::{json, Value};

use super::{grafana_id, in_org, patch_op, user_body};
use crate::support::client::body_string;
use crate::support::scim::{assert_scim_error, Harness};

/// Role sync on: admins, editors, viewers and a value that removes the org role; org 2 maps the
/// admins group to Editor only.
pub fn roles_on(config: &mut Config) {
    config.scim.roles = toml::from_str(
        "enabled = true\ngrafana_admin_values = [\"grafana-server-admins\"]\n[map]\n\
         \"grafana-admins\" = \"Admin\"\n\"grafana-editors\" = \"Editor\"\n\"grafana-viewers\" = \"Viewer\"\n\
         [namespaces.\"org-2\".map]\n\"grafana-admins\" = \"Editor\"\n",
    )
    .unwrap();
}

/// Entra's create body with `AppRoleAssignmentsComplex` roles.
fn entra_create(user: &str, roles: &[(&str, &str)]) -> Value {
    let mut b = user_body(user, user, Some("8c9d2b3a-entra-oid"));
    b["roles"] = roles
        .iter()
        .map(|(value, name)| {
            json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "displayName": name, "value": value})
        })
        .collect();
    b
}

/// The admin token of the tests that set one (ignored where none is configured).
const ADMIN_TOKEN: &str = "roles-admin-token-0123456789";

async fn admin_get(h: &Harness, path: &str) -> String {
    let req = http::Request::builder()
        .uri(format!("{}{path}", h.sidecar.admin_url))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(scim_sidecar::body::empty())
        .unwrap();
    body_string(h.client.request(req).await.unwrap()).await
}

async fn metrics(h: &Harness) -> String {
    admin_get(h, "/metrics").await
}

#[tokio::test]
async fn org_role_follows_entra_roles_on_create_and_patch() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    let a = h.post("Users", entra_create("ana@contoso.com", &[("grafana-editors", "Grafana Editors")])).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "ana@contoso.com");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"), "the create carries the mapped role");
    // What Entra sent round-trips, displayName included.
    assert_eq!(a.json()["roles"][0]["displayName"], "Grafana Editors");
    assert_eq!(a.json()["roles"][0]["type"], "WindowsAzureActiveDirectoryRole");

    // Entra's PATCH: an `Add` of the whole current assignment replaces it.
    let add = patch_op(json!([{"op": "Add", "path": "roles",
        "value": [{"id": "3f1c-assignment", "value": "grafana-admins", "displayName": "Grafana Admins"}]}]));
    let a = h.patch(&format!("Users/{id}"), add).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        a.json()["roles"],
        json!([{"id": "3f1c-assignment", "value": "grafana-admins", "displayName": "Grafana Admins"}])
    );
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Admin"));

    // The primary-value form adds a role: the highest wins.
    let primary = patch_op(
        json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "grafana-viewers"}]),
    );
    let a = h.patch(&format!("Users/{id}"), primary).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["roles"].as_array().unwrap().len(), 2, "{a:?}");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Admin"), "Admin outranks Viewer");

    // Entra never sends removals on their own: the next full assignment is the truth.
    let add = patch_op(json!([{"op": "Add", "path": "roles", "value": [{"value": "grafana-viewers"}]}]));
    h.grafana.reset_calls();
    assert_eq!(h.patch(&format!("Users/{id}"), add).await.status, 200);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Viewer"));
    // One Grafana call for the role; none for the server-admin flag the roles do not touch.
    assert_eq!(h.grafana.count("PATCH", &format!("/api/orgs/1/users/{gid}")), 1);
    assert_eq!(h.grafana.count("PUT", &format!("/api/admin/users/{gid}/permissions")), 0);

    // A write without role changes makes no role call.
    h.grafana.reset_calls();
    let rename = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Ana B"}]));
    assert_eq!(h.patch(&format!("Users/{id}"), rename).await.status, 200);
    assert_eq!(h.grafana.count("PATCH", &format!("/api/orgs/1/users/{gid}")), 0);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Viewer"));
}

#[tokio::test]
async fn okta_put_replaces_roles_and_unmapped_values_fall_back_to_default_role() {
    let h = Harness::start_with(Default::default(), |c| {
        roles_on(c);
        c.scim.default_role = "None".into();
        c.admin.token = Some(scim_sidecar::config::Secret::new(ADMIN_TOKEN));
    })
    .await;
    let mut body = user_body("olga@example.com", "olga@example.com", Some("00u-okta-roles"));
    body["roles"] = json!([{"value": "grafana-editors", "display": "Editors"}]);
    let a = h.post("Users", body.clone()).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "olga@example.com");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));

    // Okta's PUT with every role mapped nowhere: kept in SCIM, reported, default_role in Grafana.
    body["roles"] = json!([{"value": "finance-team", "display": "Finance"}]);
    let a = h.put(&format!("Users/{id}"), body.clone()).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["roles"], json!([{"value": "finance-team", "display": "Finance"}]));
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("None"));
    let m = metrics(&h).await;
    assert!(m.contains(r#"scim_sidecar_unmapped_roles_total{namespace="default"} 1"#), "{m}");
    assert!(!m.contains("finance-team"), "a value is never a label");
    // ...and the write's audit record names them.
    let text = admin_get(&h, "/audit?user=olga@example.com&kind=scim").await;
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let replace = records.iter().find(|r| r["operation"] == "replace").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(replace["reason"], "unmapped role values: finance-team", "{replace}");
    assert_eq!(replace["outcome"], "applied", "{replace}");

    // Roles removed: default_role too; an admin value and a mapped one: the mapped role.
    body["roles"] = json!([{"value": "grafana-admins"}]);
    assert_eq!(h.put(&format!("Users/{id}"), body.clone()).await.status, 200);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Admin"));
    body["roles"] = json!([]);
    assert_eq!(h.put(&format!("Users/{id}"), body.clone()).await.status, 200);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("None"));

    // Org 2 lays its own map over the global one.
    let org2 = h.grafana.create_org("Second");
    let mut other = user_body("omar@example.com", "omar@example.com", None);
    other["roles"] = json!([{"value": "GRAFANA-ADMINS"}]);
    let path = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}/Users");
    let a = h.call(http::Method::POST, &path, Some(other)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(in_org(&h, org2, grafana_id(&h, "omar@example.com")).as_deref(), Some("Editor"));
}

#[tokio::test]
async fn roles_apply_on_reactivation_and_deactivated_users_keep_their_org_out() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    let mut body = user_body("rae@example.com", "rae@example.com", None);
    body["roles"] = json!([{"value": "grafana-viewers"}]);
    let id = h.post("Users", body).await.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "rae@example.com");
    let off = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(h.patch(&format!("Users/{id}"), off).await.status, 200);
    // A role change while deactivated is stored, not applied.
    let roles =
        patch_op(json!([{"op": "replace", "path": "roles", "value": [{"value": "grafana-editors"}]}]));
    assert_eq!(h.patch(&format!("Users/{id}"), roles).await.status, 200);
    assert!(h.grafana.user(gid).unwrap().is_disabled);
    // Reactivation restores access with the role the roles give now.
    let on = patch_op(json!([{"op": "replace", "path": "active", "value": "True"}]));
    assert_eq!(h.patch(&format!("Users/{id}"), on).await.status, 200);
    assert!(!h.grafana.user(gid).unwrap().is_disabled);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));
}

#[tokio::test]
async fn server_admin_is_granted_and_revoked_only_for_listed_values() {
    let h = Harness::start_with(Default::default(), |c| {
        roles_on(c);
        c.scim.accept_grafana_tokens = true;
        c.scim.adoptable_admins = vec!["boss".into()];
    })
    .await;
    let mut body = user_body("sam@example.com", "sam@example.com", None);
    body["roles"] = json!([{"value": "grafana-admins"}]);
    let id = h.post("Users", body).await.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "sam@example.com");
    assert!(!h.grafana.user(gid).unwrap().is_admin, "an org Admin role is not server admin");

    let grant = patch_op(json!([{"op": "add", "path": "roles",
        "value": [{"value": "grafana-admins"}, {"value": "grafana-server-admins"}]}]));
    assert_eq!(h.patch(&format!("Users/{id}"), grant).await.status, 200);
    assert!(h.grafana.user(gid).unwrap().is_admin, "granted");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Admin"));
    let revoke = patch_op(json!([{"op": "remove", "path": "roles[value eq \"grafana-server-admins\"]"}]));
    assert_eq!(h.patch(&format!("Users/{id}"), revoke).await.status, 200);
    assert!(!h.grafana.user(gid).unwrap().is_admin, "revoked");

    // A server admin SCIM adopted keeps the flag its roles never gave.
    let boss = h.grafana.create_user("boss", "boss@example.com", "Boss");
    h.grafana.set_server_admin(boss, true);
    let mut body = user_body("boss", "boss@example.com", None);
    body["roles"] = json!([{"value": "grafana-editors"}]);
    let a = h.post("Users", body.clone()).await;
    assert_eq!(a.status, 201, "{a:?}");
    let boss_id = a.json()["id"].as_str().unwrap().to_string();
    body["roles"] = json!([{"value": "grafana-viewers"}]);
    assert_eq!(h.put(&format!("Users/{boss_id}"), body).await.status, 200);
    assert!(h.grafana.user(boss).unwrap().is_admin);
    assert_eq!(in_org(&h, 1, boss).as_deref(), Some("Viewer"));

    // A Grafana service-account token never makes anyone a server admin.
    let token = h.grafana.create_service_account_token(1, "Admin");
    let mut body = user_body("tina@example.com", "tina@example.com", None);
    body["roles"] = json!([{"value": "grafana-server-admins"}]);
    let a = h.call_as(http::Method::POST, "Users", Some(body.clone()), Some(&token)).await;
    assert_scim_error(&a, 403, None);
    assert!(a.json()["detail"].as_str().unwrap().contains("static SCIM token"), "{a:?}");
    assert!(h.grafana.user_by_login("tina@example.com").is_none(), "nothing created");
    // The same token may still write org roles.
    body["roles"] = json!([{"value": "grafana-editors"}]);
    let a = h.call_as(http::Method::POST, "Users", Some(body), Some(&token)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(in_org(&h, 1, grafana_id(&h, "tina@example.com")).as_deref(), Some("Editor"));
}

#[tokio::test]
async fn roles_endpoint_lists_the_configured_values_and_discovery_advertises_it() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    let a = h.get("Roles").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    let list = a.json();
    assert_eq!(list["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    let ids: Vec<&str> =
        list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["grafana-admins", "grafana-editors", "grafana-server-admins", "grafana-viewers"]);
    assert_eq!(list["totalResults"], 4);
    let admins = &list["Resources"][0];
    assert_eq!(
        (admins["value"].as_str(), admins["supported"].as_bool()),
        (Some("grafana-admins"), Some(true))
    );
    assert!(admins["display"].as_str().unwrap().contains("Admin"));
    assert!(admins["meta"]["location"].as_str().unwrap().ends_with("/scim/v2/Roles/grafana-admins"));
    let one = h.get("Roles/Grafana-Editors").await;
    assert_eq!((one.status, one.json()["value"].as_str()), (200, Some("grafana-editors")));
    assert_scim_error(&h.get("Roles/nope").await, 404, None);
    // Org 2's view names its own mapping.
    let org2 = h.grafana.create_org("Second");
    let path = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}/Roles/grafana-admins");
    let a = h.call(http::Method::GET, &path, None).await;
    assert!(a.json()["display"].as_str().unwrap().contains("Editor"), "{a:?}");
    // Read-only, and authenticated like every SCIM endpoint.
    assert_scim_error(&h.post("Roles", json!({"value": "x"})).await, 405, None);
    assert_scim_error(&h.call_as(http::Method::GET, "Roles", None, None).await, 401, None);
    assert_scim_error(
        &h.call_as(http::Method::GET, "Roles", None, Some("wrong-token-0123456789")).await,
        401,
        None,
    );

    let types = h.get("ResourceTypes").await;
    let role =
        types.json()["Resources"].as_array().unwrap().iter().find(|r| r["id"] == "Role").cloned().unwrap();
    assert_eq!(role["endpoint"], "/Roles");
    let urn = role["schema"].as_str().unwrap().to_string();
    assert_eq!(h.get("ResourceTypes/Role").await.status, 200);
    let schemas = h.get("Schemas").await;
    assert!(schemas.json()["Resources"].as_array().unwrap().iter().any(|s| s["id"] == urn.as_str()));
    let schema = h.get(&format!("Schemas/{urn}")).await;
    assert_eq!(schema.status, 200);
    let names: Vec<&str> =
        schema.json()["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    for want in ["value", "display", "type", "supported"] {
        assert!(names.contains(&want), "{names:?}");
    }
}

#[tokio::test]
async fn without_role_sync_roles_are_only_stored_and_roles_is_not_served() {
    let h = Harness::start().await;
    let mut body = user_body("stay@example.com", "stay@example.com", None);
    body["roles"] = json!([{"value": "grafana-admins"}]);
    let a = h.post("Users", body).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(in_org(&h, 1, grafana_id(&h, "stay@example.com")).as_deref(), Some("Viewer"));
    assert_scim_error(&h.get("Roles").await, 404, None);
    let types = h.get("ResourceTypes").await;
    assert_eq!(types.json()["totalResults"], 2);
}

#[tokio::test]
async fn the_last_org_admin_keeps_the_role_and_the_write_succeeds() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    let _org2 = h.grafana.create_org("Overridden");
    let org = h.grafana.create_org("Lonely");
    let users = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org}/Users");
    let mut body = user_body("lone@example.com", "lone@example.com", None);
    body["roles"] = json!([{"value": "grafana-admins"}]);
    let a = h.call(http::Method::POST, &users, Some(body.clone())).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "lone@example.com");
    assert_eq!(in_org(&h, org, gid).as_deref(), Some("Admin"));
    // Grafana refuses to leave the org without an admin: kept, and the IdP's write still succeeds.
    body["roles"] = json!([{"value": "grafana-viewers"}]);
    let a = h.call(http::Method::PUT, &format!("{users}/{id}"), Some(body)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["roles"], json!([{"value": "grafana-viewers"}]));
    assert_eq!(in_org(&h, org, gid).as_deref(), Some("Admin"));
}

#[tokio::test]
async fn a_group_write_joins_a_member_to_the_org_with_the_role_their_roles_give() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    let mut body = user_body("gina@example.com", "gina@example.com", None);
    body["roles"] = json!([{"value": "grafana-editors"}]);
    let id = h.post("Users", body).await.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "gina@example.com");
    // Out of the org behind SCIM's back; a group naming her brings her back with her role.
    h.grafana.remove_org_user(1, gid);
    assert!(in_org(&h, 1, gid).is_none());
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Editors",
        "members": [{"value": id}]});
    let a = h.post("Groups", group).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));
}
