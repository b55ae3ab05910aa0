//! Role sync against Grafana's own SAML role sync (issue 29): the `role_sync` check reports the
//! conflict (`/readyz`, metrics, `scim-sidecar check`), SCIM role writes are refused with the
//! Grafana setting to change while user writes without role changes keep working; and the
//! passthrough guard refuses manual role changes of managed users while role sync is on.

use grafana_emulator::{Emulator, EmulatorOptions};
use http::{Method, Request};
use serde_json::{json, Value};

use super::roles::roles_on;
use super::{create, grafana_id, in_org, patch_op, user_body};
use crate::support::client::{body_string, get, http1};
use crate::support::scim::{assert_scim_error, sidecar_config, Harness};
use crate::support::sidecar::spawn_sidecar;

/// A harness whose Grafana has `[auth.saml]` `key = value` set before the sidecar first looks.
async fn with_saml_ini(settings: &[(&str, &str)]) -> Harness {
    let grafana = Emulator::start(EmulatorOptions::enterprise()).await.unwrap();
    for (k, v) in settings {
        grafana.set_ini("auth.saml", k, v);
    }
    let mut config = sidecar_config(&grafana);
    roles_on(&mut config);
    let sidecar = spawn_sidecar(config).await;
    let base = format!("{}/scim/v2", sidecar.url);
    Harness { grafana, sidecar, client: http1(), base }
}

async fn admin_json(h: &Harness, path: &str) -> Value {
    serde_json::from_str(&body_string(get(&h.client, &format!("{}{path}", h.sidecar.admin_url)).await).await)
        .unwrap()
}

async fn admin_text(h: &Harness, path: &str) -> String {
    body_string(get(&h.client, &format!("{}{path}", h.sidecar.admin_url)).await).await
}

#[tokio::test]
async fn saml_role_sync_conflict_is_reported_and_only_role_writes_are_refused() {
    let h = with_saml_ini(&[("assertion_attribute_role", "Role")]).await;
    let ready = admin_json(&h, "/readyz").await;
    assert_eq!(ready["policy"]["role_sync"], "violated", "{ready}");
    assert_eq!(ready["policy"]["saml"], "satisfied", "{ready}");

    // A create carrying roles is refused, naming the Grafana setting; nothing reaches Grafana.
    let mut body = user_body("conflict@example.com", "conflict@example.com", None);
    body["roles"] = json!([{"value": "grafana-admins"}]);
    let a = h.post("Users", body.clone()).await;
    assert_scim_error(&a, 403, None);
    let detail = a.json()["detail"].as_str().unwrap();
    assert!(detail.contains("role_sync") && detail.contains("skip_org_role_sync = true"), "{detail}");
    assert!(h.grafana.user_by_login("conflict@example.com").is_none());

    // User writes without role changes keep working.
    body["roles"] = json!([]);
    let a = h.post("Users", body.clone()).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]));
    assert_eq!(h.patch(&format!("Users/{id}"), rename).await.status, 200);
    body["name"] = json!({"givenName": "Put", "familyName": "Works"});
    assert_eq!(h.put(&format!("Users/{id}"), body).await.status, 200);
    // A role change through PATCH is refused, and the stored roles stay as they were.
    let roles = patch_op(json!([{"op": "add", "path": "roles", "value": [{"value": "grafana-admins"}]}]));
    assert_scim_error(&h.patch(&format!("Users/{id}"), roles).await, 403, None);
    let stored = h.get(&format!("Users/{id}")).await;
    assert!(stored.json().get("roles").is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)), "{stored:?}");
    let gid = grafana_id(&h, "conflict@example.com");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Viewer"));
    // Deactivation and reactivation (no role change) keep working; Grafana's role is left alone.
    h.grafana.add_org_user(1, gid, "Editor");
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(h.patch(&format!("Users/{id}"), off).await.status, 200);
    let on = patch_op(json!([{"op": "replace", "path": "active", "value": true}]));
    assert_eq!(h.patch(&format!("Users/{id}"), on).await.status, 200);
    assert!(!h.grafana.user(gid).unwrap().is_disabled);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));

    let metrics = admin_text(&h, "/metrics").await;
    assert!(metrics.contains(r#"scim_sidecar_policy_state{check="role_sync"} 0"#), "{metrics}");
    assert!(metrics.contains(r#"scim_sidecar_policy_refusals_total{check="role_sync"} 2"#), "{metrics}");

    // Skipping Grafana's org role sync ends the conflict (a fresh sidecar observes anew).
    h.grafana.set_ini("auth.saml", "skip_org_role_sync", "true");
    let mut config = sidecar_config(&h.grafana);
    roles_on(&mut config);
    let replica = h.replica(config).await;
    let mut other = user_body("fixed@example.com", "fixed@example.com", None);
    other["roles"] = json!([{"value": "grafana-editors"}]);
    let a = h.post_via(&replica, "Users", other).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(in_org(&h, 1, grafana_id(&h, "fixed@example.com")).as_deref(), Some("Editor"));
}

#[tokio::test]
async fn sso_settings_org_mapping_is_a_conflict_and_check_reports_it() {
    let g = Emulator::start(EmulatorOptions::enterprise()).await.unwrap();
    let h = {
        // Saved through Grafana's SSO settings API, as an operator would.
        let settings = json!({"settings": {"enabled": true, "orgMapping": "Engineering:1:Editor",
            "skipOrgRoleSync": false, "idpMetadataUrl": "https://idp.example.com/metadata"}});
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("{}/api/v1/sso-settings/saml", g.url()))
            .header("authorization", g.admin_basic_auth())
            .header("content-type", "application/json")
            .body(scim_sidecar::body::full(settings.to_string()))
            .unwrap();
        let client = http1();
        assert_eq!(client.request(req).await.unwrap().status(), 204);
        let mut config = sidecar_config(&g);
        roles_on(&mut config);
        let sidecar = spawn_sidecar(config).await;
        let base = format!("{}/scim/v2", sidecar.url);
        Harness { grafana: g, sidecar, client, base }
    };
    let ready = admin_json(&h, "/readyz").await;
    assert_eq!(ready["policy"]["role_sync"], "violated", "{ready}");
    assert_eq!(ready["policy"]["overall"], "violated", "{ready}");

    // `scim-sidecar check` names it; without [scim.roles] it is not enforced.
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("roles.toml");
    std::fs::write(&toml, "[scim.roles]\nenabled = true\n[scim.roles.map]\n\"grafana-admins\" = \"Admin\"\n")
        .unwrap();
    let url = h.grafana.url();
    let run = move |with_roles: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scim-sidecar"));
        cmd.arg("check")
            .args(["--grafana-url", &url])
            .args(["--store-url", &format!("sqlite://{}", dir.path().join("s.db").display())])
            .env("SIDECAR_SCIM_TOKEN", crate::support::scim::TOKEN)
            .env_remove("SIDECAR_CONFIG")
            .current_dir(dir.path());
        if with_roles {
            cmd.args(["--config", toml.to_str().unwrap()]);
        }
        let out = cmd.output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text, code_off, text_off) = tokio::task::spawn_blocking(move || {
        let (c, t) = run(true);
        let (c2, t2) = run(false);
        (c, t, c2, t2)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("SAML role sync is off (SCIM role sync): VIOLATED"), "{text}");
    assert!(text.contains("org_mapping") && text.contains("skip_org_role_sync = true"), "{text}");
    assert_eq!(code_off, 0, "{text_off}");
    assert!(
        text_off
            .contains("SAML role sync is off (SCIM role sync): VIOLATED (not enforced by the configuration)"),
        "{text_off}"
    );
}

async fn send(h: &Harness, method: Method, path: &str, body: Value) -> (u16, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", h.sidecar.url))
        .header("authorization", h.grafana.admin_basic_auth())
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    let status = res.status().as_u16();
    (status, body_string(res).await)
}

#[tokio::test]
async fn manual_role_changes_of_managed_users_are_refused_while_role_sync_is_on() {
    let h = Harness::start_with(Default::default(), roles_on).await;
    create(&h, "managed@example.com", "managed@example.com").await;
    let gid = grafana_id(&h, "managed@example.com");
    let uid = h.grafana.user(gid).unwrap().uid;
    let org2 = h.grafana.create_org("Other");
    let admin = json!({"role": "Admin"});
    for (m, p, body) in [
        (Method::PATCH, format!("/api/org/users/{gid}"), admin.clone()),
        (Method::PATCH, format!("/api/orgs/1/users/{gid}"), admin.clone()),
        (Method::PATCH, format!("/api/orgs/1/users/{uid}"), admin.clone()),
        // Spellings Grafana's router resolves to the same handlers.
        (Method::PATCH, format!("/api/%6Frgs/1/%75sers/{gid}/"), admin.clone()),
        (Method::PATCH, format!("/API//org/users/{gid}"), admin.clone()),
        // Adding the managed user to an org with a role (by email or login, any case).
        (
            Method::POST,
            format!("/api/orgs/{org2}/users"),
            json!({"loginOrEmail": "MANAGED@example.com", "role": "Admin"}),
        ),
        (
            Method::POST,
            "/api/org/users".to_string(),
            json!({"LOGINOREMAIL": "managed@example.com", "role": "Editor"}),
        ),
        // An invite of an existing user adds them to the org with the invite's role at once.
        (
            Method::POST,
            "/api/org/invites".to_string(),
            json!({"loginOrEmail": "managed@example.com", "role": "Admin", "sendEmail": false}),
        ),
        // Server admin is SCIM's too (grafana_admin_values is set).
        (Method::PUT, format!("/api/admin/users/{gid}/permissions"), json!({"isGrafanaAdmin": true})),
    ] {
        let (status, answer) = send(&h, m.clone(), &p, body).await;
        assert_eq!(status, 403, "{m} {p}: {answer}");
        let v: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(v["messageId"], "scim-sidecar.managed-role", "{answer}");
    }
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Viewer"));
    assert!(in_org(&h, org2, gid).is_none());
    assert!(!h.grafana.user(gid).unwrap().is_admin);
    let metrics = admin_text(&h, "/metrics").await;
    assert!(metrics.contains(r#"scim_sidecar_guard_refusals_total{kind="role"} 9"#), "{metrics}");

    // Users SCIM does not manage are Grafana's as before.
    let local = h.grafana.create_user("local", "local@example.com", "Local");
    let (status, answer) =
        send(&h, Method::PATCH, &format!("/api/orgs/1/users/{local}"), admin.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = send(
        &h,
        Method::POST,
        &format!("/api/orgs/{org2}/users"),
        json!({"loginOrEmail": "local", "role": "Editor"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(in_org(&h, org2, local).as_deref(), Some("Editor"));
}

#[tokio::test]
async fn manual_role_changes_stay_allowed_while_role_sync_is_off() {
    let h = Harness::start().await;
    create(&h, "free@example.com", "free@example.com").await;
    let gid = grafana_id(&h, "free@example.com");
    let (status, answer) =
        send(&h, Method::PATCH, &format!("/api/orgs/1/users/{gid}"), json!({"role": "Editor"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));
    let (status, answer) = send(
        &h,
        Method::PUT,
        &format!("/api/admin/users/{gid}/permissions"),
        json!({"isGrafanaAdmin": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}
