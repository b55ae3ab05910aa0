//! Drift seen in passing, end to end: a SCIM-managed team renamed or deleted in Grafana and a
//! managed, active user disabled there are each recorded once as `drift` (`seen`) by the SCIM
//! read that notices it, however often it is read again.

use grafana_emulator::EmulatorOptions;
use http::{Method, Request};
use serde_json::{json, Value};

use crate::scim_users::user_body;
use crate::support::client::body_string;
use crate::support::scim::Harness;

async fn drift(h: &Harness) -> Vec<Value> {
    let res =
        crate::support::client::get(&h.client, &format!("{}/audit?kind=drift", h.sidecar.admin_url)).await;
    body_string(res).await.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn managed_objects_changed_in_grafana_are_recorded_as_drift_once() {
    let h = Harness::start_with(EmulatorOptions::default(), |_| {}).await;
    let g = &h.grafana;
    let created = h
        .post(
            "Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Infra"}),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let gid = created.json()["id"].as_str().unwrap().to_owned();
    let team = g.team_by_name(1, "Infra").unwrap().id;
    // A team SCIM never wrote drifts from nothing.
    g.create_team(1, "Unmanaged");

    g.with_state(|s| s.teams.get_mut(team).unwrap().name = "Infra (renamed by hand)".into());
    for _ in 0..3 {
        assert_eq!(h.get(&format!("Groups/{gid}")).await.status, 200);
    }
    assert_eq!(h.get("Groups").await.status, 200);
    let records = drift(&h).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["operation"], "seen");
    assert_eq!(records[0]["scim_id"], gid.as_str());
    assert_eq!(records[0]["grafana_id"], team);
    assert_eq!(records[0]["group_name"], "Infra");
    assert!(
        records[0]["reason"].as_str().unwrap().contains("renamed in grafana outside SCIM"),
        "{records:#?}"
    );

    let u = h.post("Users", user_body("dana@corp.example", "dana@corp.example", None)).await;
    let uid = u.json()["id"].as_str().unwrap().to_owned();
    g.set_disabled(g.user_by_login("dana@corp.example").unwrap().id, true);
    assert_eq!(h.get(&format!("Users/{uid}")).await.status, 200);
    assert_eq!(h.get(&format!("Users/{uid}")).await.status, 200);
    let records = drift(&h).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0]["user_name"], "dana@corp.example");
    assert!(records[0]["reason"].as_str().unwrap().contains("disabled in grafana outside SCIM"));

    let req = Request::builder()
        .method(Method::DELETE)
        .uri(format!("{}/api/teams/{team}", g.url()))
        .header("authorization", g.admin_basic_auth())
        .body(scim_sidecar::body::empty())
        .unwrap();
    assert_eq!(h.client.request(req).await.unwrap().status(), 200);
    assert_eq!(h.get(&format!("Groups/{gid}")).await.status, 404);
    assert_eq!(h.get(&format!("Groups/{gid}")).await.status, 404);
    let records = drift(&h).await;
    assert_eq!(records.len(), 3, "{records:#?}");
    assert!(records[0]["reason"].as_str().unwrap().contains("deleted in grafana outside SCIM"));
}
