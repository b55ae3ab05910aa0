//! The audit log table on both backends: batches stored, filters, newest first, retention.

use chrono::{Duration, Utc};

use super::Harness;
use crate::audit::{AuditQuery, AuditRecord, Change, Outcome};
use crate::store::audit::AuditRow;

fn record(minutes_ago: i64, kind: &str, user: Option<&str>, group: Option<&str>, ns: &str) -> AuditRecord {
    let mut r = AuditRecord::new(kind, "patch", Outcome::Applied);
    r.time = Utc::now() - Duration::minutes(minutes_ago);
    r.request_id = format!("req-{minutes_ago}");
    r.namespace = ns.into();
    r.user_name = user.map(str::to_owned);
    r.group_name = group.map(str::to_owned);
    r.changes = vec![Change { field: "active".into(), before: true.into(), after: false.into() }];
    r
}

pub(super) async fn audit_records_filter_newest_first_and_prune(h: &Harness) {
    let s = &h.store;
    let records = [
        record(30, "scim", Some("Alice"), None, "default"),
        record(20, "scim", None, Some("Admins"), "org-2"),
        record(10, "policy", None, None, "default"),
        record(5, "scim", Some("alice"), None, "default"),
    ];
    s.insert_audit(records.iter().cloned().map(|r| AuditRow::new(r).unwrap()).collect()).await.unwrap();

    let all = s.query_audit(&AuditQuery::default()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["req-5", "req-10", "req-20", "req-30"]);
    assert_eq!(all[3], records[0], "a record reads back whole");

    let by_user = AuditQuery { user: Some("ALICE".into()), ..AuditQuery::default() };
    assert_eq!(s.query_audit(&by_user).await.unwrap().len(), 2);
    let by_group = AuditQuery { group: Some("admins".into()), ..AuditQuery::default() };
    assert_eq!(s.query_audit(&by_group).await.unwrap()[0].request_id, "req-20");
    let by_kind = AuditQuery { kind: Some("policy".into()), ..AuditQuery::default() };
    assert_eq!(s.query_audit(&by_kind).await.unwrap()[0].request_id, "req-10");
    let by_ns = AuditQuery { namespace: Some("org-2".into()), ..AuditQuery::default() };
    assert_eq!(s.query_audit(&by_ns).await.unwrap().len(), 1);
    let window = AuditQuery {
        since: Some(Utc::now() - Duration::minutes(25)),
        until: Some(Utc::now() - Duration::minutes(7)),
        ..AuditQuery::default()
    };
    let ids: Vec<String> = s.query_audit(&window).await.unwrap().into_iter().map(|r| r.request_id).collect();
    assert_eq!(ids, ["req-10", "req-20"]);
    let limited = AuditQuery { limit: 1, ..AuditQuery::default() };
    assert_eq!(s.query_audit(&limited).await.unwrap()[0].request_id, "req-5");

    assert_eq!(s.prune_audit(Utc::now() - Duration::minutes(15)).await.unwrap(), 2);
    assert_eq!(s.query_audit(&AuditQuery::default()).await.unwrap().len(), 2);
    s.insert_audit(Vec::new()).await.unwrap();
}
