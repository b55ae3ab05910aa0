//! Fault injection and the call log.

use std::time::Duration;

use grafana_emulator::VersionProfile;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn forced_status_then_recovery_and_call_log() {
    let (h, api) = start(VersionProfile::V12).await;
    h.reset_calls();
    h.fail_next("POST", "/api/admin/users", 500, 2);
    for _ in 0..2 {
        expect(
            &api.post("/api/admin/users", json!({"login":"x","password":"pw-12345"})).await,
            500,
            json!({"message":"Internal Server Error","traceID":""}),
        );
    }
    assert_eq!(api.post("/api/admin/users", json!({"login":"x","password":"pw-12345"})).await.status, 200);
    assert_eq!(h.user_count(), 2, "faulted calls changed nothing");
    assert_eq!(h.count("POST", "/api/admin/users"), 3);
    assert_eq!(h.call_count(), 3);
    let statuses: Vec<u16> = h.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    api.get("/api/users/search?query=x").await;
    assert_eq!(h.calls().last().unwrap().query, "query=x");
    h.reset_calls();
    assert_eq!(h.call_count(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_health_and_latency() {
    let (h, api) = start(VersionProfile::V12).await;
    h.drop_connections("*", "/api/org", 1);
    let err = api.try_send(http::Method::GET, "/api/org", bytes::Bytes::new(), None).await;
    assert!(err.is_err(), "connection should have been closed: {err:?}");
    assert_eq!(api.get("/api/org").await.status, 200);
    assert_eq!(h.calls()[0].status, 0);
    h.set_health_failing(true);
    let r = api.anon().get("/api/health").await;
    assert_eq!((r.status, r.json()["database"].as_str()), (503, Some("failing")));
    h.set_health_failing(false);
    h.set_latency(Duration::from_millis(20));
    assert_eq!(api.anon().get("/api/health").await.status, 200);
    h.clear_faults();
    h.shutdown().await;
}
