//! §7.7–§7.9 with §13.6: team members, bulk replace per profile, team sync groups.

use grafana_emulator::{EmulatorOptions, VersionProfile};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn member_rows() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let team = h.create_team(1, "Ops");
        let id = create_user(&api, "mia").await;
        let m = format!("/api/teams/{team}/members");
        expect(&api.post(&m, json!({"userId": id})).await, 200, json!({"message":"Member added to Team"}));
        expect(
            &api.post(&m, json!({"userId": id})).await,
            400,
            json!({"message":"User is already added to this team"}),
        );
        expect(
            &api.post(&m, json!({"userId": 0})).await,
            400,
            json!({"message":"bad request data","traceID":""}),
        );
        expect(
            &api.post(&m, json!({"userId": 999})).await,
            500,
            json!({"message":"Failed to add Member to Team","traceID":""}),
        );
        expect(
            &api.post("/api/teams/999/members", json!({"userId": id})).await,
            404,
            json!({"message":"Team not found","traceID":""}),
        );
        let list = api.get(&m).await.json();
        assert_eq!(list[0]["permission"], 0);
        assert_eq!(list[0]["auth_module"], "");
        assert_eq!(list[0]["labels"], json!([]));
        assert_eq!(list[0].get("userUID").is_some(), v == VersionProfile::V12);
        assert!(list[0]["teamUID"].is_string());
        expect(&api.get("/api/teams/999/members").await, 200, json!([]));
        expect(
            &api.put(&format!("{m}/{id}"), json!({"permission": 4})).await,
            200,
            json!({"message":"Team member updated"}),
        );
        assert_eq!(h.team_members(team), vec![(id, 4)]);
        api.put(&format!("{m}/{id}"), json!({"permission": 7})).await;
        assert_eq!(h.team_members(team), vec![(id, 0)], "other values stored as 0");
        expect(
            &api.put(&format!("{m}/1"), json!({"permission": 4})).await,
            404,
            json!({"message":"Team member not found."}),
        );
        expect(&api.delete(&format!("{m}/{id}")).await, 200, json!({"message":"Team Member removed"}));
        expect(&api.delete(&format!("{m}/{id}")).await, 404, json!({"message":"Team member not found"}));
        expect(
            &api.delete(&format!("/api/teams/999/members/{id}")).await,
            404,
            json!({"message":"Team not found","traceID":""}),
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn bulk_replace_per_profile() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let team = api.post("/api/teams", json!({"name":"Bulk"})).await.json()["teamId"].as_i64().unwrap();
        let a = create_user(&api, "ann").await;
        let b = create_user(&api, "ben").await;
        let c = create_user(&api, "cat").await;
        let path = format!("/api/teams/{team}/members");
        let r = api.put(&path, json!({"members":["ann@example.com","ben@example.com"],"admins":["cat@example.com","ben@example.com"]})).await;
        if v == VersionProfile::V10 {
            expect(&r, 404, json!({"message":"Not found"}));
            h.shutdown().await;
            continue;
        }
        expect(&r, 200, json!({"message":"Team memberships have been updated"}));
        // creator removed, ben in both lists ends up Member
        assert_eq!(h.team_members(team), vec![(a, 0), (b, 0), (c, 4)]);
        expect(
            &api.put(&path, json!({"members":["ann@example.com","ghost@example.com"]})).await,
            404,
            json!({"message":"user not found"}),
        );
        assert_eq!(h.team_members(team).len(), 3, "nothing applied");
        expect(
            &api.put("/api/teams/999/members", json!({})).await,
            404,
            json!({"message":"Team not found","traceID":""}),
        );
        // a current member sent in another case is removed and not re-added
        api.put(&path, json!({"members":["ANN@example.com","ben@example.com"]})).await;
        assert_eq!(h.team_members(team), vec![(b, 0)]);
        api.put(&path, json!({})).await;
        assert!(h.team_members(team).is_empty());
        h.shutdown().await;
    }
}

#[tokio::test]
async fn team_sync_groups_only_when_licensed() {
    let (h, api) = start_with(EmulatorOptions::oss()).await;
    let team = h.create_team(1, "T");
    expect(&api.get(&format!("/api/teams/{team}/groups")).await, 404, json!({"message":"Not found"}));
    expect(
        &api.post(&format!("/api/teams/{team}/groups"), json!({"groupId":"g"})).await,
        404,
        json!({"message":"Not found"}),
    );
    h.shutdown().await;
    let (h, api) = start_with(EmulatorOptions::enterprise().team_sync_licensed(false)).await;
    let team = h.create_team(1, "T");
    expect(&api.get(&format!("/api/teams/{team}/groups")).await, 404, json!({"message":"Not found"}));
    h.set_team_sync_licensed(true);
    let g = format!("/api/teams/{team}/groups");
    expect(
        &api.post(&g, json!({"groupId":"cn=editors,dc=x"})).await,
        200,
        json!({"message":"Group added to Team"}),
    );
    expect(
        &api.post(&g, json!({"groupId":"cn=editors,dc=x"})).await,
        400,
        json!({"message":"Group is already added to this team"}),
    );
    let list = api.get(&g).await.json();
    assert_eq!(
        (list[0]["groupId"].as_str(), list[0]["teamId"].as_i64(), list[0]["orgId"].as_i64()),
        (Some("cn=editors,dc=x"), Some(team), Some(1))
    );
    assert_eq!(api.get(&format!("{g}/search?query=editors")).await.json()["totalCount"], 1);
    expect(&api.get("/api/teams/999/groups").await, 404, json!({"message":"Team not found","traceID":""}));
    expect(
        &api.delete(&format!("{g}?groupId=cn%3Deditors%2Cdc%3Dx")).await,
        200,
        json!({"message":"Team Group removed"}),
    );
    expect(&api.delete(&format!("{g}?groupId=nope")).await, 404, json!({"message":"Group not found"}));
    h.add_team_group(team, "legacy");
    expect(&api.delete(&format!("{g}/legacy")).await, 200, json!({"message":"Team Group removed"}));
    assert!(h.team_groups(team).is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn set_version_toggles_rows_on_a_running_instance() {
    let (h, api) = start(VersionProfile::V12).await;
    let team = h.create_team(1, "Live");
    assert_eq!(api.put(&format!("/api/teams/{team}/members"), json!({})).await.status, 200);
    h.set_version(VersionProfile::V10);
    expect(
        &api.put(&format!("/api/teams/{team}/members"), json!({})).await,
        404,
        json!({"message":"Not found"}),
    );
    assert_eq!(api.anon().get("/api/health").await.json()["version"], "10.4.3");
    h.shutdown().await;
}
