//! §6 with §13.2/§13.3: org users for an explicit org and the current org, per profile.

use grafana_emulator::VersionProfile;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn add_change_remove_rows() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let created =
            api.post("/api/orgs", json!({"name":"Created"})).await.json()["orgId"].as_i64().unwrap();
        expect(
            &api.post("/api/orgs", json!({"name":"created"})).await,
            409,
            json!({"message":"Organization name taken"}),
        );
        assert_eq!(api.get(&format!("/api/orgs/{created}")).await.json()["name"], "Created");
        assert_eq!(h.org_users(created), vec![(1, "Admin".to_string())], "creator becomes Admin");
        let org = h.create_org("Second");
        let id = create_user(&api, "hank").await;
        let base = format!("/api/orgs/{org}/users");
        expect(
            &api.post(&base, json!({"loginOrEmail":"HANK@example.com","role":"Editor"})).await,
            200,
            json!({"message":"User added to organization","userId":id}),
        );
        expect(
            &api.post(&base, json!({"loginOrEmail":"hank","role":"Editor"})).await,
            409,
            json!({"message":"User is already member of this organization","userId":id}),
        );
        expect(
            &api.post(&base, json!({"loginOrEmail":"nobody","role":"Editor"})).await,
            404,
            json!({"message":"User not found"}),
        );
        expect(
            &api.post(&base, json!({"loginOrEmail":"hank","role":"editor"})).await,
            400,
            json!({"message":"Invalid role specified"}),
        );
        expect(
            &api.post(&base, json!({"loginOrEmail":"hank"})).await,
            400,
            json!({"message":"bad request data","traceID":""}),
        );
        expect(
            &api.post("/api/orgs/77/users", json!({"loginOrEmail":"hank","role":"Viewer"})).await,
            500,
            json!({"message":"Could not add user to organization","traceID":""}),
        );
        expect(
            &api.patch(&format!("{base}/{id}"), json!({"role":"Admin"})).await,
            200,
            json!({"message":"Organization user updated"}),
        );
        expect(
            &api.patch(&format!("{base}/{id}"), json!({"role":"Boss"})).await,
            400,
            json!({"message":"Invalid role specified"}),
        );
        expect(
            &api.patch(&format!("{base}/1"), json!({"role":"Viewer"})).await,
            500,
            json!({"message":"Failed update org user","traceID":""}),
        );
        expect(
            &api.patch(&format!("{base}/{id}"), json!({"role":"Viewer"})).await,
            400,
            json!({"message":"Cannot change role so that there is no organization admin left"}),
        );
        expect(
            &api.delete(&format!("{base}/{id}")).await,
            400,
            json!({"message":"Cannot remove last organization admin"}),
        );
        // uid path for :userId on 11.4+
        let uid = h.user(id).unwrap().uid;
        let r = api.patch(&format!("{base}/{uid}"), json!({"role":"Admin"})).await;
        if v == VersionProfile::V10 {
            expect(&r, 400, json!({"message":"userId is invalid","traceID":""}));
        } else {
            assert_eq!(r.status, 200);
        }
        expect(
            &api.delete("/api/orgs/1/users/999").await,
            500,
            json!({"message":"Failed to remove user from organization","traceID":""}),
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn last_admin_guard_applies_to_orgs_without_admins() {
    let (h, api) = start(VersionProfile::V12).await;
    let org = h.create_org("No admins");
    let id = create_user(&api, "ivy").await;
    h.add_org_user(org, id, "Viewer");
    expect(
        &api.delete(&format!("/api/orgs/{org}/users/{id}")).await,
        400,
        json!({"message":"Cannot remove last organization admin"}),
    );
    h.shutdown().await;
}

#[tokio::test]
async fn removal_drops_team_memberships_and_current_org_delete_deletes_orphans() {
    let (h, api) = start(VersionProfile::V12).await;
    let id = create_user(&api, "jack").await;
    let team = h.create_team(1, "Main team");
    h.add_team_member(team, id, 0);
    expect(
        &api.delete(&format!("/api/orgs/1/users/{id}")).await,
        200,
        json!({"message":"User removed from organization"}),
    );
    assert!(h.team_members(team).is_empty(), "§13.2");
    assert!(h.user(id).is_some());
    assert_eq!(h.user(id).unwrap().org_id, 0);
    // idempotent
    expect(
        &api.delete(&format!("/api/orgs/1/users/{id}")).await,
        200,
        json!({"message":"User removed from organization"}),
    );
    let other = h.create_org("Other");
    h.add_org_user(other, 1, "Admin");
    h.add_org_user(1, id, "Viewer");
    h.add_org_user(other, id, "Viewer");
    expect(
        &api.delete(&format!("/api/org/users/{id}")).await,
        200,
        json!({"message":"User removed from organization"}),
    );
    h.add_org_user(1, id, "Viewer");
    assert_eq!(h.remove_org_user(other, id), grafana_emulator::RemoveOutcome::Removed);
    expect(&api.delete(&format!("/api/org/users/{id}")).await, 200, json!({"message":"User deleted"}));
    assert!(h.user(id).is_none());
    h.shutdown().await;
}

#[tokio::test]
async fn listings_and_lookup() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        for n in ["kim", "kate", "karl"] {
            create_user(&api, n).await;
        }
        let list = api.get("/api/org/users?query=ka").await.json();
        let logins: Vec<&str> =
            list.as_array().unwrap().iter().map(|u| u["login"].as_str().unwrap()).collect();
        assert_eq!(logins, ["karl", "kate"]);
        assert_eq!(list[0].get("uid").is_some(), v != VersionProfile::V10);
        assert_eq!(list[0]["role"], "Viewer");
        assert_eq!(api.get("/api/org/users?limit=2").await.json().as_array().unwrap().len(), 2);
        let s = api.get("/api/org/users/search?perpage=2&page=2").await.json();
        assert_eq!((s["totalCount"].as_i64(), s["orgUsers"].as_array().unwrap().len()), (Some(4), 2));
        let s1 = api.get("/api/orgs/1/users/search?query=kim").await.json();
        assert_eq!(s1["orgUsers"][0]["login"], "kim");
        assert_eq!(api.get("/api/orgs/1/users").await.json().as_array().unwrap().len(), 4);
        let lk = api.get("/api/org/users/lookup?query=kim&limit=5").await.json();
        assert_eq!(lk[0]["login"], "kim");
        // POST /api/org/users uses the current org
        let org = h.create_org("Two");
        h.add_org_user(org, 1, "Admin");
        expect(
            &api.org(org).post("/api/org/users", json!({"loginOrEmail":"kim","role":"Viewer"})).await,
            200,
            json!({"message":"User added to organization","userId": h.user_by_login("kim").unwrap().id}),
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn non_server_admin_cannot_assign_higher_role_or_touch_other_orgs() {
    let (h, api) = start(VersionProfile::V12).await;
    let ed = h.create_user_with_password("ed", "ed@example.com", "Ed", "pw-ed");
    h.add_org_user(1, ed, "Editor");
    let tok = h.create_service_account_token(1, "Admin");
    let other = h.create_org("Other");
    expect_rbac(&api.bearer(&tok).get(&format!("/api/orgs/{other}/users")).await, "org.users:read");
    let editor_tok =
        h.create_service_account_token_with_permissions(1, "Editor", &[("org.users:add", "users:*")]);
    create_user(&api, "lee").await;
    expect(
        &api.bearer(&editor_tok).post("/api/org/users", json!({"loginOrEmail":"lee","role":"Admin"})).await,
        403,
        json!({"message":"Cannot assign a role higher than user's role"}),
    );
    h.shutdown().await;
}
