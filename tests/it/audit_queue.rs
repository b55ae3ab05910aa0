//! The audit log's bounded queue under a store that cannot take records: the real sidecar on a
//! PostgreSQL store whose `scim_audit` table another session holds locked, so the audit writer's
//! insert waits. Records beyond what the writer holds and the queue (8192) takes are dropped and
//! counted in `scim_sidecar_audit_failures_total`; SCIM requests go on being answered meanwhile
//! (the writer is blocked for as long as the lock is held, so a request that waited for it would
//! never be answered); once the lock goes every record is stored or counted, none twice.

use grafana_emulator::EmulatorOptions;
use http::{Method, Request};
use serde_json::json;

use crate::scim_users::user_body;
use crate::support::client::body_string;
use crate::support::scim::Harness;

/// The auditor's queue (`audit::recorder::QUEUE`) plus the most one writer batch holds (512).
const IN_FLIGHT: usize = scim_sidecar::audit::recorder::QUEUE + 512;

async fn failures(h: &Harness) -> u64 {
    let res = crate::support::client::get(&h.client, &format!("{}/metrics", h.sidecar.admin_url)).await;
    let text = body_string(res).await;
    text.lines()
        .find_map(|l| l.strip_prefix("scim_sidecar_audit_failures_total "))
        .map(|v| v.trim().parse::<f64>().unwrap() as u64)
        .unwrap_or_else(|| panic!("no audit failures metric: {text}"))
}

#[tokio::test]
async fn a_full_audit_queue_drops_and_counts_records_and_never_holds_a_scim_request() {
    let db = crate::support::pg::Schema::create().await;
    let url = db.url();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| {
        c.store.url = url;
        // Group requests are refused by the policy: a cheap request that leaves one record.
        c.policy.group_sync = false;
    })
    .await;
    let (locker, conn) = tokio_postgres::connect(db.url().expose(), tokio_postgres::NoTls).await.unwrap();
    let conn = tokio::spawn(conn);
    locker.batch_execute("BEGIN; LOCK TABLE scim_audit IN ACCESS EXCLUSIVE MODE").await.unwrap();

    // More refusals than can be in flight: the rest must be dropped, not waited for.
    let refusals = IN_FLIGHT + 300;
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"});
    let mut sent = 0;
    while sent < refusals {
        let n = (refusals - sent).min(32);
        let answers = futures_util::future::join_all((0..n).map(|_| h.post("Groups", group.clone()))).await;
        assert!(answers.iter().all(|a| a.status == 403), "{:?}", answers.iter().find(|a| a.status != 403));
        sent += n;
    }
    let dropped = failures(&h).await;
    assert!(dropped >= 300, "at most {IN_FLIGHT} records wait for the store; {dropped} dropped");

    // A SCIM write while the queue is full and the writer stuck: answered, and applied.
    let created =
        h.post("Users", user_body("queue.full@corp.example", "queue.full@corp.example", None)).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(h.grafana.user_by_login("queue.full@corp.example").is_some());
    assert_eq!(failures(&h).await, dropped + 1, "its record is dropped and counted too");

    // The lock goes: what was queued is stored, and nothing is both stored and counted.
    locker.batch_execute("ROLLBACK").await.unwrap();
    let req = Request::builder()
        .method(Method::GET)
        .uri(format!("{}/audit?limit=1", h.sidecar.admin_url))
        .body(scim_sidecar::body::empty())
        .unwrap();
    assert_eq!(h.client.request(req).await.unwrap().status(), 200, "GET /audit flushes the writer");
    let stored: i64 = locker.query_one("SELECT count(*) FROM scim_audit", &[]).await.unwrap().get(0);
    let counted = failures(&h).await;
    assert_eq!(stored as u64 + counted, refusals as u64 + 1, "stored {stored}, counted {counted}");
    drop(locker);
    let _ = conn.await;
}
