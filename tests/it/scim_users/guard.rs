//! The passthrough guard: edits of SCIM-managed users through the proxy are refused.

use http::{Method, Request};
use serde_json::json;

use super::{create, grafana_id};
use crate::support::client::body_string;
use crate::support::scim::Harness;

async fn send(h: &Harness, method: Method, path: &str, auth: &str, body: serde_json::Value) -> (u16, String) {
    let req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", h.sidecar.url))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    let status = res.status().as_u16();
    (status, body_string(res).await)
}

/// Every byte of `s` as `%XX`.
fn percent_encoded(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn managed_users_cannot_be_edited_through_the_proxy() {
    let h = Harness::start().await;
    create(&h, "guarded@example.com", "guarded@example.com").await;
    let gid = grafana_id(&h, "guarded@example.com");
    let uid = h.grafana.user(gid).unwrap().uid;
    let local = h.grafana.create_user("local", "local@example.com", "Local");
    let admin = h.grafana.admin_basic_auth();
    let edit = json!({"login": "hijack", "email": "hijack@example.com", "name": "H"});
    for (m, p) in [
        (Method::PUT, format!("/api/users/{gid}")),
        (Method::PUT, format!("/api/users/{uid}")),
        (Method::PUT, format!("/api/admin/users/{gid}/password")),
        (Method::POST, format!("/api/admin/users/{gid}/disable")),
        (Method::POST, format!("/api/admin/users/{gid}/enable")),
        (Method::DELETE, format!("/api/admin/users/{gid}")),
        // Deletes the user when the org is their last one.
        (Method::DELETE, format!("/api/org/users/{gid}")),
        // Spellings Grafana's router resolves to the same handlers: each segment percent-decoded,
        // one trailing slash dropped.
        (Method::PUT, format!("/api/%75sers/{}", percent_encoded(&gid.to_string()))),
        (Method::POST, format!("/api/admin/%75sers/{gid}/%64isable")),
        (Method::DELETE, format!("/api/admin/users/{gid}/")),
    ] {
        let (status, body) = send(&h, m.clone(), &p, &admin, edit.clone()).await;
        assert_eq!(status, 403, "{m} {p}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["messageId"], "scim-sidecar.managed-user");
        assert!(v["message"].as_str().unwrap().contains("managed by SCIM"));
    }
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!((gu.login.as_str(), gu.is_disabled), ("guarded@example.com", false));
    // Role changes stay allowed; unmanaged users are untouched by the guard.
    let (status, body) =
        send(&h, Method::PATCH, &format!("/api/orgs/1/users/{gid}"), &admin, json!({"role": "Editor"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        &h,
        Method::PUT,
        &format!("/api/users/{local}"),
        &admin,
        json!({"login": "local2", "email": "local@example.com", "name": "L"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The managed user's own profile and password edits are refused as well.
    h.grafana.set_password(gid, "own-password-1");
    let me = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "guarded@example.com:own-password-1"
        )
    );
    for path in ["/api/user", "/api/%75ser", "/api/user/"] {
        let (status, body) = send(&h, Method::PUT, path, &me, json!({"name": "Me"})).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    assert_ne!(h.grafana.user(gid).unwrap().name, "Me", "no profile edit reached grafana");
    let (status, _) = send(
        &h,
        Method::PUT,
        "/api/user/password",
        &me,
        json!({"oldPassword": "own-password-1", "newPassword": "x-1234567"}),
    )
    .await;
    assert_eq!(status, 403);
    let metrics = body_string(
        crate::support::client::get(&h.client, &format!("{}/metrics", h.sidecar.admin_url)).await,
    )
    .await;
    assert!(metrics.contains("kind=\"user\""), "{metrics}");
}

/// A user SCIM created while Grafana's create answer carried no UID (before 11.4) has no UID in
/// its record; once Grafana is upgraded and resolves UIDs in paths, an edit by UID is still refused.
#[tokio::test]
async fn a_managed_user_is_guarded_by_uid_even_when_its_record_has_none() {
    let old = grafana_emulator::EmulatorOptions {
        version: grafana_emulator::VersionProfile::V10,
        ..Default::default()
    };
    let h = Harness::start_with(old, |_| {}).await;
    create(&h, "old@example.com", "old@example.com").await;
    let gid = grafana_id(&h, "old@example.com");
    h.grafana.set_version(grafana_emulator::VersionProfile::V12);
    let uid = h.grafana.user(gid).unwrap().uid;
    let admin = h.grafana.admin_basic_auth();
    let edit = json!({"login": "hijack", "email": "hijack@example.com", "name": "H"});
    let (status, body) = send(&h, Method::PUT, &format!("/api/users/{uid}"), &admin, edit).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(h.grafana.user(gid).unwrap().login, "old@example.com");
    // An unmanaged user's UID still goes through.
    let local = h.grafana.create_user("local", "local@example.com", "Local");
    let local_uid = h.grafana.user(local).unwrap().uid;
    let edit = json!({"login": "local2", "email": "local@example.com", "name": "L"});
    let (status, body) = send(&h, Method::PUT, &format!("/api/users/{local_uid}"), &admin, edit).await;
    assert_eq!(status, 200, "{body}");
}

/// A user created through Grafana's Kubernetes-style API takes its object's name as UID, dots
/// included; once SCIM adopts that user, an edit by that UID is refused like any other.
#[tokio::test]
async fn a_managed_user_is_guarded_by_a_uid_with_dots() {
    let h = Harness::start().await;
    let gid = h.grafana.create_user("dotted@example.com", "dotted@example.com", "Dotted");
    assert!(h.grafana.set_user_uid(gid, "dotted.user"));
    create(&h, "dotted@example.com", "dotted@example.com").await;
    assert_eq!(grafana_id(&h, "dotted@example.com"), gid, "adopted, not duplicated");
    let admin = h.grafana.admin_basic_auth();
    let edit = json!({"login": "hijack", "email": "hijack@example.com", "name": "H"});
    let (status, body) = send(&h, Method::PUT, "/api/users/dotted.user", &admin, edit).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(h.grafana.user(gid).unwrap().login, "dotted@example.com");
}
