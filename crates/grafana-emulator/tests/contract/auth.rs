//! §2.2/§2.3/§1: credentials, exact 401 bodies, org context, RBAC denials, permissions map.

use grafana_emulator::{EmulatorOptions, VersionProfile};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn unauthenticated_and_bad_credentials_get_exact_401_bodies() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let cases = [
            (api.anon(), json!({"message":"Unauthorized","messageId":"auth.unauthorized","statusCode":401})),
            (
                api.basic("admin", "wrong"),
                json!({"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401}),
            ),
            (
                api.bearer("glsa_nope"),
                json!({"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401}),
            ),
            (
                api.session("no-such-session"),
                json!({"message":"Unauthorized","messageId":"auth.unauthorized","statusCode":401}),
            ),
        ];
        for (client, body) in cases {
            expect(&client.get("/api/teams/search").await, 401, body);
        }
        // basic auth with the email works as well as the login
        assert_eq!(api.basic("admin@localhost", "admin").get("/api/org").await.status, 200);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn token_states_and_org_mismatch() {
    let (h, api) = start(VersionProfile::V12).await;
    let tok = h.create_service_account_token(1, "Admin");
    assert_eq!(api.bearer(&tok).get("/api/teams/search").await.status, 200);
    // also accepted as basic auth with user api_key
    assert_eq!(api.basic("api_key", &tok).get("/api/teams/search").await.status, 200);
    let other = h.create_org("Other");
    expect(
        &api.bearer(&tok).org(other).get("/api/teams/search").await,
        401,
        json!({"message":"API key does not belong to the requested organization","messageId":"api-key.organization-mismatch","statusCode":401}),
    );
    let revoked = h.create_service_account_token(1, "Admin");
    h.revoke_token(&revoked);
    expect(
        &api.bearer(&revoked).get("/api/org").await,
        401,
        json!({"message":"Revoked API key","messageId":"api-key.revoked","statusCode":401}),
    );
    let expired = h.create_service_account_token(1, "Admin");
    h.expire_token(&expired);
    expect(
        &api.bearer(&expired).get("/api/org").await,
        401,
        json!({"message":"Expired API key","messageId":"api-key.expired","statusCode":401}),
    );
    h.shutdown().await;
}

#[tokio::test]
async fn service_account_on_server_admin_routes_is_forbidden() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let sa = api.bearer(&h.create_service_account_token(1, "Admin"));
        let r = sa.post("/api/admin/users", json!({"login":"x","password":"pw-12345"})).await;
        if v == VersionProfile::V10 {
            expect(&r, 403, json!({"message":"Permission denied"}));
        } else {
            expect_rbac(&r, "users:create");
            expect_rbac(&sa.get("/api/users/lookup?loginOrEmail=admin").await, "users:read");
            expect_rbac(&sa.get("/api/admin/settings").await, "settings:read");
        }
        // but org-scoped routes work
        assert_eq!(sa.get("/api/org/users").await.status, 200);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn org_header_for_non_member_fails_org_routes_but_not_admin_routes() {
    let (h, api) = start(VersionProfile::V12).await;
    let other = h.create_org("Elsewhere");
    expect_rbac(&api.org(other).get("/api/teams/search").await, "teams:read");
    assert_eq!(api.org(other).get("/api/users/lookup?loginOrEmail=admin").await.status, 200);
    // targetOrgId takes precedence over the header
    assert_eq!(api.org(other).get("/api/teams/search?targetOrgId=1").await.status, 200);
    h.add_org_user(other, 1, "Admin");
    assert_eq!(api.org(other).get("/api/teams/search").await.status, 200);
    h.shutdown().await;
}

#[tokio::test]
async fn org_admin_without_server_admin_and_disabled_users() {
    let (h, api) = start(VersionProfile::V12).await;
    let id = h.create_user_with_password("orgadmin", "oa@example.com", "OA", "pw-oa-1");
    h.add_org_user(1, id, "Admin");
    let oa = api.basic("orgadmin", "pw-oa-1");
    assert_eq!(oa.get("/api/org/users").await.status, 200);
    expect_rbac(&oa.delete("/api/admin/users/1").await, "users:delete");
    h.set_disabled(id, true);
    expect(
        &oa.get("/api/org/users").await,
        401,
        json!({"message":"Unauthorized","messageId":"identity.disabled","statusCode":401}),
    );
    h.shutdown().await;
}

#[tokio::test]
async fn sessions_login_and_revocation() {
    let (h, api) = start(VersionProfile::V12).await;
    let id = h.create_user_with_password("sess", "sess@example.com", "S", "pw-sess");
    let r = api.anon().post("/login", json!({"user":"sess","password":"pw-sess"})).await;
    expect(&r, 200, json!({"message":"Logged in","redirectUrl":"/"}));
    let cookie = r.header("set-cookie").unwrap();
    let value = cookie.split(';').next().unwrap().trim_start_matches("grafana_session=").to_string();
    assert_eq!(api.session(&value).get("/api/user").await.json()["login"], "sess");
    let c2 = h.create_session(id);
    assert_eq!(h.sessions(id), 2);
    expect(
        &api.post_empty(&format!("/api/admin/users/{id}/logout")).await,
        200,
        json!({"message":"User logged out"}),
    );
    assert_eq!(h.sessions(id), 0);
    assert_eq!(api.session(&c2).get("/api/user").await.status, 401);
    let bad = api.anon().post("/login", json!({"user":"sess","password":"nope"})).await;
    assert_eq!(bad.status, 401);
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_and_health() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        expect(&api.anon().get("/api/nope").await, 404, json!({"message":"Not found"}));
        expect(&api.get("/api/settings").await, 404, json!({"message":"Not found"}));
        let r = api.anon().get("/api/health").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type").unwrap(), "application/json; charset=UTF-8");
        assert!(r.text().contains("\n  \"database\": \"ok\""), "pretty printed: {}", r.text());
        assert_eq!(r.json()["version"], v.version_string());
        assert!(r.json().get("enterpriseCommit").is_some());
        assert_eq!(api.anon().get("/healthz").await.text(), "Ok");
        h.shutdown().await;
    }
    let (h, api) = start_with(EmulatorOptions::oss()).await;
    assert!(api.anon().get("/api/health").await.json().get("enterpriseCommit").is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn permissions_endpoint_reflects_token_grants() {
    let (h, api) = start(VersionProfile::V12).await;
    let tok = h.create_service_account_token_with_permissions(
        1,
        "None",
        &[("org.users:read", "users:*"), ("teams:read", "teams:*"), ("teams:create", "")],
    );
    expect(
        &api.bearer(&tok).get("/api/access-control/user/permissions").await,
        200,
        json!({"org.users:read":["users:*"],"teams:read":["teams:*"],"teams:create":[""]}),
    );
    // the grants are enforced
    assert_eq!(api.bearer(&tok).get("/api/org/users").await.status, 200);
    expect_rbac(
        &api.bearer(&tok).post("/api/org/users", json!({"loginOrEmail":"admin","role":"Viewer"})).await,
        "org.users:add",
    );
    let admin_tok = h.create_service_account_token(1, "Admin");
    let perms = api.bearer(&admin_tok).get("/api/access-control/user/permissions").await.json();
    for action in
        ["org.users:add", "org.users:remove", "teams:write", "teams:delete", "teams.permissions:write"]
    {
        assert!(perms.get(action).is_some(), "{action} in {perms}");
    }
    assert!(perms.get("users:create").is_none());
    let admin = api.get("/api/access-control/user/permissions").await.json();
    assert_eq!(admin["users:create"], json!([""]));
    // /api/org and /api/user
    expect(
        &api.get("/api/org").await,
        200,
        json!({"id":1,"name":"Main Org.","address":{"address1":"","address2":"","city":"","zipCode":"","state":"","country":""}}),
    );
    let me = api.get("/api/user").await.json();
    assert_eq!(
        (me["id"].as_i64(), me["login"].as_str(), me["isGrafanaAdmin"].as_bool()),
        (Some(1), Some("admin"), Some(true))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn brute_force_lock_after_five_failures() {
    let (h, api) = start(VersionProfile::V12).await;
    h.create_user_with_password("bf", "bf@example.com", "BF", "right-pw");
    for _ in 0..5 {
        assert_eq!(
            api.basic("bf", "wrong").get("/api/user").await.json()["messageId"],
            "password-auth.failed"
        );
    }
    expect(
        &api.basic("bf", "right-pw").get("/api/user").await,
        401,
        json!({"message":"Invalid username or password","messageId":"login-attempt.blocked","statusCode":401}),
    );
    h.reset_login_attempts("bf");
    assert_eq!(api.basic("bf", "right-pw").get("/api/user").await.status, 200);
    h.shutdown().await;
}
