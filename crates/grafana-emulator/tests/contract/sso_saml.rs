//! §8 and §9 plus §4.6: SSO settings, admin settings, frontend settings, SAML SP endpoints.

use base64::Engine;
use bytes::Bytes;
use grafana_emulator::{EmulatorOptions, VersionProfile};
use http::Method;
use serde_json::json;

use crate::support::*;

fn not_found_sso() -> serde_json::Value {
    json!({"message":"The provider was not found.","messageId":"sso.notFound","statusCode":404,"traceID":""})
}

#[tokio::test]
async fn sso_settings_availability() {
    let (h, api) = start(VersionProfile::V10).await;
    expect(&api.get("/api/v1/sso-settings/saml").await, 404, json!({"message":"Not found"}));
    h.shutdown().await;
    let (h, api) = start_with(EmulatorOptions::oss()).await;
    expect(&api.get("/api/v1/sso-settings/saml").await, 404, not_found_sso());
    expect(
        &api.put("/api/v1/sso-settings/saml", json!({"settings":{"enabled":true}})).await,
        404,
        not_found_sso(),
    );
    let list = api.get("/api/v1/sso-settings").await.json();
    assert!(list.as_array().unwrap().iter().all(|p| p["provider"] != "saml"));
    assert_eq!(api.get("/api/v1/sso-settings/github").await.status, 200);
    expect(&api.get("/api/v1/sso-settings/nope").await, 404, not_found_sso());
    h.shutdown().await;
    let (h, api) = start_with(EmulatorOptions::enterprise().saml_licensed(false)).await;
    expect(&api.get("/api/v1/sso-settings/saml").await, 404, not_found_sso());
    h.shutdown().await;
}

#[tokio::test]
async fn saml_settings_put_and_delete_change_state() {
    for v in [VersionProfile::V11, VersionProfile::V12] {
        let (h, api) = start(v).await;
        let r = api.get("/api/v1/sso-settings/saml").await;
        assert_eq!(r.status, 200);
        assert!(r.header("etag").is_some());
        let b = r.json();
        assert_eq!(
            (b["provider"].as_str(), b["source"].as_str(), b["id"].as_str()),
            (Some("saml"), Some("system"), Some(""))
        );
        assert_eq!(b["settings"]["enabled"], true);
        assert_eq!(b["settings"]["certificate"], "*********");
        assert_eq!(b["settings"]["maxIssueDelay"], 90_000_000_000_i64);
        let tok = h.create_service_account_token(1, "Admin");
        expect_rbac(&api.bearer(&tok).get("/api/v1/sso-settings/saml").await, "settings:read");
        // disable through the API
        let mut settings = b["settings"].clone();
        settings["enabled"] = json!("false");
        let put = api
            .put("/api/v1/sso-settings/saml", json!({"id":"ignored","provider":"x","settings":settings}))
            .await;
        assert_eq!(put.status, 204);
        assert!(put.body.is_empty());
        let after = api.get("/api/v1/sso-settings/saml").await.json();
        assert_eq!(
            (after["source"].as_str(), after["settings"]["enabled"].as_str()),
            (Some("database"), Some("false"))
        );
        assert_eq!(after["settings"]["certificate"], "*********", "placeholder keeps the stored secret");
        assert_eq!(api.get("/api/frontend/settings").await.json()["samlEnabled"], false);
        let md = api.anon().get("/saml/metadata").await;
        assert_eq!(md.status, 404);
        assert!(md.header("content-type").unwrap().starts_with("text/html"));
        // admin settings keep the ini value
        assert_eq!(api.get("/api/admin/settings").await.json()["auth.saml"]["enabled"], "true");
        assert_eq!(api.delete("/api/v1/sso-settings/saml").await.status, 204);
        assert_eq!(api.get("/api/frontend/settings").await.json()["samlEnabled"], true);
        assert_eq!(api.anon().get("/saml/metadata").await.status, 200);
        // OAuth provider toggle
        assert_eq!(
            api.put("/api/v1/sso-settings/github", json!({"settings":{"enabled":true,"clientId":"c"}}))
                .await
                .status,
            204
        );
        assert_eq!(api.get("/api/v1/sso-settings/github").await.json()["settings"]["enabled"], true);
        let bad = api.put("/api/v1/sso-settings/github", json!({"nope":1})).await;
        assert_eq!((bad.status, bad.json()["messageId"].as_str()), (400, Some("sso.settings")));
        h.shutdown().await;
    }
}

#[tokio::test]
async fn admin_and_frontend_settings_per_edition() {
    let (h, api) = start_with(EmulatorOptions::oss()).await;
    let s = api.get("/api/admin/settings").await.json();
    assert!(s.get("auth.saml").is_none());
    assert_eq!(s["users"]["auto_assign_org_role"], "Viewer");
    let f = api.get("/api/frontend/settings").await.json();
    assert_eq!(
        (f["buildInfo"]["edition"].as_str(), f["samlEnabled"].as_bool()),
        (Some("Open Source"), Some(false))
    );
    assert_eq!(f["licenseInfo"]["enabledFeatures"], json!({}));
    assert_eq!(api.anon().get("/api/frontend/settings").await.status, 401);
    let md = api.anon().get("/saml/metadata").await;
    assert_eq!(md.status, 404);
    assert!(md.text().contains("<html"));
    h.shutdown().await;
    let (h, api) = start(VersionProfile::V12).await;
    let s = api.get("/api/admin/settings").await.json();
    assert_eq!(s["auth.saml"]["private_key"], "*********");
    assert_eq!(s["auth.saml"]["max_issue_delay"], "90s");
    let f =
        api.bearer(&h.create_service_account_token(1, "Viewer")).get("/api/frontend/settings").await.json();
    assert_eq!(
        (f["buildInfo"]["edition"].as_str(), f["samlEnabled"].as_bool()),
        (Some("Enterprise"), Some(true))
    );
    assert_eq!(f["licenseInfo"]["enabledFeatures"], json!({"saml": true, "teamsync": true}));
    assert_eq!(f["buildInfo"]["version"], "12.3.0");
    h.set_saml_enabled(false);
    assert_eq!(api.get("/api/frontend/settings").await.json()["samlEnabled"], false);
    assert_eq!(api.get("/api/admin/settings").await.json()["auth.saml"]["enabled"], "false");
    h.shutdown().await;
}

#[tokio::test]
async fn metadata_and_acs() {
    let (h, api) = start_with(EmulatorOptions::default().root_url("https://grafana.example.com/")).await;
    let md = api.anon().get("/saml/metadata").await;
    assert_eq!((md.status, md.header("content-type").as_deref()), (200, Some("application/xml")));
    let xml = md.text();
    assert!(xml.contains(r#"entityID="https://grafana.example.com/saml/metadata""#), "{xml}");
    assert!(xml.contains("<SPSSODescriptor"));
    assert!(xml.contains(r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://grafana.example.com/saml/acs""#));
    let id = create_user(&api, "sam").await;
    let assertion = r#"<samlp:Response><saml:Assertion><saml:Subject><saml:NameID Format="x">sam@example.com</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#;
    let encoded = base64::engine::general_purpose::STANDARD.encode(assertion);
    let body = format!(
        "SAMLResponse={}&RelayState=abc",
        encoded.replace('+', "%2B").replace('=', "%3D").replace('/', "%2F")
    );
    let r = api
        .anon()
        .try_send(
            Method::POST,
            "/saml/acs",
            Bytes::from(body.clone()),
            Some("application/x-www-form-urlencoded"),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.header("location").as_deref()), (302, Some("/")));
    assert!(r.header("set-cookie").unwrap().starts_with("grafana_session="));
    let posts = h.acs_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body, Bytes::from(body));
    assert!(posts[0]
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/x-www-form-urlencoded"));
    assert_eq!(h.sessions(id), 1);
    assert_eq!(
        h.user(id).unwrap().auth_module.as_deref(),
        Some("auth.saml"),
        "first SAML login links the user"
    );
    // unknown subject: recorded, redirected to /login, no session
    let r = api
        .anon()
        .try_send(Method::POST, "/saml/acs", Bytes::from_static(b"SAMLResponse=bm9wZQ%3D%3D"), None)
        .await
        .unwrap();
    assert_eq!((r.status, r.header("location").as_deref()), (302, Some("/login")));
    assert_eq!(h.acs_posts().len(), 2);
    h.set_saml_enabled(false);
    assert_eq!(api.anon().try_send(Method::POST, "/saml/acs", Bytes::new(), None).await.unwrap().status, 404);
    h.shutdown().await;
}
