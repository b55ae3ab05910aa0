//! §7.1–§7.6: teams, per version profile.

use grafana_emulator::VersionProfile;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn create_update_delete_rows() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        let r = api.post("/api/teams", json!({"name":"Engineering","email":"eng@example.com"})).await;
        assert_eq!(r.status, 200);
        let b = r.json();
        assert_eq!(b["message"], "Team created");
        assert_eq!(b.get("uid").is_some(), v != VersionProfile::V10);
        let id = b["teamId"].as_i64().unwrap();
        // the basic-auth creator is team Admin (§7.2)
        assert_eq!(h.team_members(id), vec![(1, 4)]);
        expect(
            &api.post("/api/teams", json!({"name":"Engineering"})).await,
            409,
            json!({"message":"Team name taken","traceID":""}),
        );
        expect(
            &api.post("/api/teams", json!({"name":""})).await,
            400,
            json!({"message":"bad request data","traceID":""}),
        );
        // case-sensitive uniqueness like SQLite/PostgreSQL
        assert_eq!(api.post("/api/teams", json!({"name":"engineering"})).await.status, 200);
        let dto = api.get(&format!("/api/teams/{id}")).await.json();
        assert_eq!((dto["memberCount"].as_i64(), dto["email"].as_str()), (Some(1), Some("eng@example.com")));
        assert!(dto["accessControl"].is_null());
        assert_eq!(dto.get("externalUID").is_some(), v == VersionProfile::V12);
        let uid = dto["uid"].as_str().unwrap().to_string();
        assert_eq!(api.get(&format!("/api/teams/{uid}")).await.json()["id"], id);
        expect(&api.get("/api/teams/999").await, 404, json!({"message":"Team not found","traceID":""}));
        expect(
            &api.put(&format!("/api/teams/{id}"), json!({"name":"engineering"})).await,
            400,
            json!({"message":"Team name taken","traceID":""}),
        );
        expect(
            &api.put("/api/teams/999", json!({"name":"x"})).await,
            404,
            json!({"message":"Team not found","traceID":""}),
        );
        expect(
            &api.put(&format!("/api/teams/{id}"), json!({"name":"Eng"})).await,
            200,
            json!({"message":"Team updated"}),
        );
        assert_eq!(h.team(id).unwrap().email, "", "omitted email is cleared");
        expect(&api.delete(&format!("/api/teams/{id}")).await, 200, json!({"message":"Team deleted"}));
        let gone = api.delete(&format!("/api/teams/{id}")).await;
        if v == VersionProfile::V12 {
            expect(&gone, 404, json!({"message":"Team not found","traceID":""}));
        } else {
            expect(&gone, 404, json!({"message":"Failed to delete Team. ID not found"}));
        }
        h.shutdown().await;
    }
}

#[tokio::test]
async fn service_account_creator_is_not_added() {
    let (h, api) = start(VersionProfile::V12).await;
    let tok = h.create_service_account_token(1, "Admin");
    let id =
        api.bearer(&tok).post("/api/teams", json!({"name":"By SA"})).await.json()["teamId"].as_i64().unwrap();
    assert!(h.team_members(id).is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn search_semantics_per_profile() {
    for v in VersionProfile::ALL {
        let (h, api) = start(v).await;
        for n in ["Alpha", "beta", "Gamma"] {
            h.create_team(1, n);
        }
        let other = h.create_org("Other");
        h.create_team(other, "Alpha");
        let s = api.get("/api/teams/search?perpage=2").await.json();
        assert_eq!(s["totalCount"], 3);
        assert_eq!(s["teams"].as_array().unwrap().len(), 2);
        let by_name = api.get("/api/teams/search?name=alpha").await.json();
        let expected = if v == VersionProfile::V10 { 0 } else { 1 };
        assert_eq!(by_name["totalCount"], expected);
        assert_eq!(api.get("/api/teams/search?name=Alpha").await.json()["totalCount"], 1);
        assert_eq!(api.get("/api/teams/search?query=AMM").await.json()["teams"][0]["name"], "Gamma");
        expect(
            &api.get("/api/teams/search?name=none").await,
            200,
            json!({"totalCount":0,"teams":[],"page":1,"perPage":1000}),
        );
        let desc = api.get("/api/teams/search?sort=name-desc").await.json();
        assert_eq!(desc["teams"][0]["name"], "Gamma");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn provisioned_team_guards_on_12() {
    let (h, api) = start(VersionProfile::V12).await;
    let id = h.create_team(1, "Prov");
    h.set_team_provisioned(id, true);
    expect(
        &api.put(&format!("/api/teams/{id}"), json!({"name":"Renamed"})).await,
        400,
        json!({"message":"Team name cannot be changed for provisioned teams","traceID":""}),
    );
    expect(
        &api.post(&format!("/api/teams/{id}/members"), json!({"userId":1})).await,
        400,
        json!({"message":"Team memberships cannot be updated for provisioned teams","traceID":""}),
    );
    h.shutdown().await;
}
