//! §4 and §5: admin users and users API, per version profile.

use grafana_emulator::{EmulatorOptions, VersionProfile};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn create_user_bodies_per_profile() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let r = api
            .post("/api/admin/users", json!({"name":"Jane","email":"Jane@Example.com","login":"Jane","password":"pw-jane","OrgId":1}))
            .await;
        assert_eq!(r.status, 200);
        let b = r.json();
        assert_eq!(b["message"], "User created");
        assert_eq!(b.get("uid").is_some(), v != VersionProfile::V10, "{v:?} {b}");
        let id = b["id"].as_i64().unwrap();
        let stored = h.user(id).unwrap();
        if v == VersionProfile::V12 {
            assert_eq!((stored.login.as_str(), stored.email.as_str()), ("jane", "jane@example.com"));
        } else {
            assert_eq!(stored.login, "Jane");
        }
        assert_eq!(h.org_users(1).iter().find(|(u, _)| *u == id).unwrap().1, "Viewer");
        // duplicate: 412 echoing the values as sent (case-insensitive conflict)
        expect(
            &api.post(
                "/api/admin/users",
                json!({"email":"JANE@example.com","login":"other","password":"pw-1234"}),
            )
            .await,
            412,
            json!({"message":"User with email 'JANE@example.com' or username 'other' already exists","traceID":""}),
        );
        // binding failures
        for body in [&b"{\"login\":\"x\"}"[..], b"{not json", b""] {
            expect(
                &api.raw(http::Method::POST, "/api/admin/users", body).await,
                400,
                json!({"message":"bad request data","traceID":""}),
            );
        }
        let both_empty = api.post("/api/admin/users", json!({"password":"pw-12345"})).await;
        let short = api.post("/api/admin/users", json!({"login":"shorty","password":"abc"})).await;
        if v == VersionProfile::V10 {
            expect(
                &both_empty,
                400,
                json!({"message":"Validation error, need specify either username or email"}),
            );
            expect(&short, 400, json!({"message":"Password is missing or too short"}));
        } else {
            expect(
                &both_empty,
                400,
                json!({"message":"Need to specify either username or email","messageId":"user.empty-username-and-email","statusCode":400,"traceID":""}),
            );
            expect(
                &short,
                400,
                json!({"message":"New password is too short","messageId":"password.password-policy-too-short","statusCode":400,"traceID":""}),
            );
        }
        expect(
            &api.post("/api/admin/users", json!({"login":"lost","password":"pw-12345","orgId":99})).await,
            400,
            json!({"message":"organization not found"}),
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn strong_password_policy_and_auto_assign_off() {
    let (h, api) =
        start_with(EmulatorOptions::default().strong_password_policy(true).auto_assign_org(false)).await;
    expect(
        &api.post("/api/admin/users", json!({"login":"weak","password":"weakpassword"})).await,
        400,
        json!({"message":"New password doesn't comply with the password policy","messageId":"password.password-policy-infringe","statusCode":400,"traceID":""}),
    );
    let r = api
        .post(
            "/api/admin/users",
            json!({"login":"own","email":"own@example.com","password":"Str0ng!Passw0rd","orgId":1}),
        )
        .await;
    let id = r.json()["id"].as_i64().unwrap();
    // orgId ignored: a personal org named after the email, user Admin of it
    let orgs = h.user_orgs(id);
    assert_eq!(orgs.len(), 1);
    assert_ne!(orgs[0], 1);
    assert_eq!(h.org_users(orgs[0]), vec![(id, "Admin".to_string())]);
    h.shutdown().await;
}

#[tokio::test]
async fn get_lookup_and_search() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let id = create_user(&api, "bob").await;
        h.set_disabled(id, true);
        let full = api.get(&format!("/api/users/{id}")).await.json();
        assert_eq!(full["isDisabled"], true);
        assert_eq!(full["authLabels"], json!([]));
        assert_eq!(full.get("uid").is_some(), v != VersionProfile::V10);
        assert_eq!(full.get("isProvisioned").is_some(), v == VersionProfile::V12);
        let uid = h.user(id).unwrap().uid;
        let lk = api.get("/api/users/lookup?loginOrEmail=BOB@example.com").await;
        assert_eq!(lk.status, 200);
        let lk = lk.json();
        assert_eq!(
            (lk["id"].as_i64(), lk["isDisabled"].as_bool(), lk["avatarUrl"].as_str()),
            (Some(id), Some(false), Some(""))
        );
        assert!(lk["authLabels"].is_null());
        match v {
            VersionProfile::V10 => assert!(lk.get("uid").is_none()),
            VersionProfile::V11 => assert_eq!(lk["uid"], ""),
            VersionProfile::V12 => assert_eq!(lk["uid"], uid.as_str()),
        }
        expect(
            &api.get("/api/users/lookup?loginOrEmail=nobody").await,
            404,
            json!({"message":"user not found"}),
        );
        expect(&api.get("/api/users/lookup").await, 404, json!({"message":"user not found"}));
        expect(&api.get("/api/users/999").await, 404, json!({"message":"user not found"}));
        // uid paths: 11.4+ (§13.1)
        let by_uid = api.get(&format!("/api/users/{uid}")).await;
        if v == VersionProfile::V10 {
            expect(&by_uid, 400, json!({"message":"id is invalid","traceID":""}));
        } else {
            assert_eq!(by_uid.json()["id"], id);
            expect(&api.get("/api/users/nosuchuid").await, 404, json!({"message":"User not found"}));
        }
        for i in 0..5 {
            create_user(&api, &format!("carol{i}")).await;
        }
        let s = api.get("/api/users/search?perpage=2&page=2&query=CAROL").await.json();
        assert_eq!(
            (s["totalCount"].as_i64(), s["page"].as_i64(), s["perPage"].as_i64()),
            (Some(5), Some(2), Some(2))
        );
        assert_eq!(s["users"][0]["login"], "carol2");
        assert_eq!(s["users"][0]["lastSeenAtAge"], "10y");
        // `_` is a wildcard (§13.7)
        assert_eq!(api.get("/api/users/search?query=car_l").await.json()["totalCount"], 5);
        let desc = api.get("/api/users/search?sort=login-desc&perpage=1").await.json();
        assert_eq!(desc["users"][0]["login"], "carol4");
        assert_eq!(api.get("/api/users/search?sort=bogus").await.status, 400);
        let bare = api.get("/api/users?perpage=3").await.json();
        assert_eq!(bare.as_array().unwrap().len(), 3);
        let defaults = api.get("/api/users/search?perpage=-1&page=0").await.json();
        assert_eq!((defaults["page"].as_i64(), defaults["perPage"].as_i64()), (Some(1), Some(1000)));
        h.shutdown().await;
    }
}

#[tokio::test]
async fn update_user_rules() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let id = create_user(&api, "dave").await;
        create_user(&api, "erin").await;
        expect(
            &api.put(
                &format!("/api/users/{id}"),
                json!({"email":"dave2@example.com","login":"dave2","name":""}),
            )
            .await,
            200,
            json!({"message":"User updated"}),
        );
        let u = h.user(id).unwrap();
        assert_eq!((u.login.as_str(), u.name.as_str()), ("dave2", "dave"));
        // only email: the login becomes the email too
        api.put(&format!("/api/users/{id}"), json!({"email":"d3@example.com"})).await;
        assert_eq!(h.user(id).unwrap().login, "d3@example.com");
        expect(
            &api.put(&format!("/api/users/{id}"), json!({"login":"ERIN","email":"x@example.com"})).await,
            409,
            json!({"message":"Update would result in user login conflict","traceID":""}),
        );
        let empty = api.put(&format!("/api/users/{id}"), json!({"name":"only name"})).await;
        assert_eq!(empty.status, 400);
        let missing = api.put("/api/users/9999", json!({"login":"z","email":"z@example.com"})).await;
        match v {
            VersionProfile::V10 => expect(&missing, 200, json!({"message":"User updated"})),
            VersionProfile::V11 => {
                expect(&missing, 500, json!({"message":"Failed to update user","traceID":""}))
            }
            VersionProfile::V12 => expect(&missing, 404, json!({"message":"user not found"})),
        }
        h.mark_external(id, "auth.saml");
        expect(
            &api.put(&format!("/api/users/{id}"), json!({"login":"y","email":"y@example.com"})).await,
            403,
            json!({"message":"User info cannot be updated for external Users"}),
        );
        assert_eq!(api.get(&format!("/api/users/{id}")).await.json()["authLabels"], json!(["SAML"]));
        h.shutdown().await;
    }
}

#[tokio::test]
async fn disable_enable_delete_and_external_guard() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let id = create_user(&api, "frank").await;
        let team = h.create_team(1, "T");
        h.add_team_member(team, id, 0);
        h.create_session(id);
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/disable")).await,
            200,
            json!({"message":"User disabled"}),
        );
        assert_eq!(h.sessions(id), 0);
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/disable")).await,
            200,
            json!({"message":"User disabled"}),
        );
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/enable")).await,
            200,
            json!({"message":"User enabled"}),
        );
        expect(
            &api.post_empty("/api/admin/users/999/disable").await,
            404,
            json!({"message":"user not found"}),
        );
        let bad = api.post_empty("/api/admin/users/abc/disable").await;
        if v == VersionProfile::V10 {
            expect(&bad, 400, json!({"message":"id is invalid","traceID":""}));
        } else {
            expect(&bad, 404, json!({"message":"User not found"}));
        }
        h.mark_external(id, "auth.saml");
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/disable")).await,
            500,
            json!({"message":"Could not disable external user"}),
        );
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/enable")).await,
            500,
            json!({"message":"Could not enable external user"}),
        );
        // logout has no external guard
        h.create_session(id);
        expect(
            &api.post_empty(&format!("/api/admin/users/{id}/logout")).await,
            200,
            json!({"message":"User logged out"}),
        );
        expect(
            &api.post_empty("/api/admin/users/999/logout").await,
            404,
            json!({"message":"User not found","traceID":""}),
        );
        expect(
            &api.get("/api/admin/users/999/auth-tokens").await,
            404,
            json!({"message":"User not found","traceID":""}),
        );
        h.create_session(id);
        let tokens = api.get(&format!("/api/admin/users/{id}/auth-tokens")).await.json();
        let tid = tokens[0]["id"].as_i64().unwrap();
        expect(
            &api.post(&format!("/api/admin/users/{id}/revoke-auth-token"), json!({"authTokenId": tid})).await,
            200,
            json!({"message":"User auth token revoked"}),
        );
        expect(&api.delete(&format!("/api/admin/users/{id}")).await, 200, json!({"message":"User deleted"}));
        assert!(h.team_members(team).is_empty());
        assert!(h.org_users(1).iter().all(|(u, _)| *u != id));
        expect(
            &api.delete(&format!("/api/admin/users/{id}")).await,
            404,
            json!({"message":"user not found"}),
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn password_permissions_orgs_and_teams_of_user() {
    let (h, api) = start(VersionProfile::V12).await;
    let id = create_user(&api, "gina").await;
    expect(
        &api.put(&format!("/api/admin/users/{id}/password"), json!({"password":"new-pass"})).await,
        200,
        json!({"message":"User password updated"}),
    );
    assert_eq!(api.basic("gina", "new-pass").get("/api/user").await.status, 200);
    expect(
        &api.put("/api/admin/users/1/permissions", json!({"isGrafanaAdmin": false})).await,
        400,
        json!({"message":"cannot remove last grafana admin"}),
    );
    expect(
        &api.put(&format!("/api/admin/users/{id}/permissions"), json!({"isGrafanaAdmin": true})).await,
        200,
        json!({"message":"User permissions updated"}),
    );
    let second = h.create_org("Alpha");
    h.add_org_user(second, id, "Editor");
    expect(
        &api.get(&format!("/api/users/{id}/orgs")).await,
        200,
        json!([{"orgId": second, "name": "Alpha", "role": "Editor"}, {"orgId": 1, "name": "Main Org.", "role": "Viewer"}]),
    );
    expect(&api.get("/api/users/999/orgs").await, 200, json!([]));
    let t1 = h.create_team(1, "In main");
    let t2 = h.create_team(second, "In alpha");
    h.add_team_member(t1, id, 0);
    h.add_team_member(t2, id, 0);
    let teams = api.get(&format!("/api/users/{id}/teams")).await.json();
    assert_eq!(teams.as_array().unwrap().len(), 1);
    assert_eq!(teams[0]["name"], "In main");
    h.mark_external(id, "auth.saml");
    expect(
        &api.put(&format!("/api/admin/users/{id}/password"), json!({"password":"x-pass"})).await,
        403,
        json!({"message":"Cannot update external User"}),
    );
    h.shutdown().await;
}
