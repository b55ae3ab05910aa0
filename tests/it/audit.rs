//! The audit log end to end: the real sidecar in front of the Grafana emulator, on SQLite and
//! PostgreSQL; every SCIM write and refusal leaves exactly one record, read back through
//! `GET /audit` on the admin listener, whose token guards it and `/metrics`.

use grafana_emulator::EmulatorOptions;
use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::scim_users::{patch_op, user_body};
use crate::support::scim::Harness;

const ADMIN_TOKEN: &str = "admin-token-0123456789";

/// `GET /audit?query` with the admin token; the records, newest first.
async fn audit(h: &Harness, query: &str) -> Vec<Value> {
    let (status, body) = admin_get(h, &format!("/audit?{query}"), Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    body.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn admin_get(h: &Harness, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = Request::builder().method(Method::GET).uri(format!("{}{path}", h.sidecar.admin_url));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = h.client.request(req.body(scim_sidecar::body::empty()).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn change<'a>(record: &'a Value, field: &str) -> &'a Value {
    record["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["field"] == field))
        .unwrap_or_else(|| panic!("no change of {field}: {record}"))
}

async fn start(store: Option<scim_sidecar::config::Secret>) -> Harness {
    Harness::start_with(EmulatorOptions::default(), move |c| {
        c.admin.token = Some(scim_sidecar::config::Secret::new(ADMIN_TOKEN));
        c.scim.tokens = vec![scim_sidecar::config::ScimToken {
            name: Some("entra-prod".into()),
            token: scim_sidecar::config::Secret::new(crate::support::scim::TOKEN),
        }];
        if let Some(url) = store {
            c.store.url = url;
        }
    })
    .await
}

/// Create, PATCH, a replace that changes nothing, delete; a group with members added and
/// removed: one record each, with the changed fields.
async fn every_write_leaves_one_record(h: &Harness) {
    let a = h.post("Users", user_body("alice@corp.example", "alice@corp.example", Some("ext-a"))).await;
    assert_eq!(a.status, 201, "{a:?}");
    let alice = a.json().clone();
    let id = alice["id"].as_str().unwrap().to_owned();
    let b = h.post("Users", user_body("bob@corp.example", "bob@corp.example", None)).await;
    let bob = b.json()["id"].as_str().unwrap().to_owned();
    let patch = patch_op(
        json!([{"op": "replace", "path": "emails[primary eq true].value", "value": "alice2@corp.example"},
        {"op": "replace", "path": "name.givenName", "value": "Alicia"}]),
    );
    assert_eq!(h.patch(&format!("Users/{id}"), patch).await.status, 200);
    let current = h.get(&format!("Users/{id}")).await.json().clone();
    let mut same = current.clone();
    same.as_object_mut().unwrap().remove("meta");
    assert_eq!(h.put(&format!("Users/{id}"), same).await.status, 200);

    let g = h
        .post(
            "Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Platform", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid = g.json()["id"].as_str().unwrap().to_owned();
    let members = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": bob}]},
        {"op": "remove", "path": format!("members[value eq \"{id}\"]")}]));
    assert_eq!(h.patch(&format!("Groups/{gid}"), members).await.status, 204);
    assert_eq!(h.delete(&format!("Users/{id}")).await.status, 204);

    let records = audit(h, "kind=scim").await;
    let ops: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["resource_type"].as_str().unwrap(),
                r["operation"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("User", "delete", "applied"),
            ("Group", "patch", "applied"),
            ("Group", "create", "applied"),
            ("User", "replace", "no_change"),
            ("User", "patch", "applied"),
            ("User", "create", "applied"),
            ("User", "create", "applied"),
        ],
        "{records:#?}"
    );
    for r in &records {
        assert_eq!(r["actor"]["name"], "entra-prod");
        assert_eq!(r["actor"]["client"], "127.0.0.1");
        assert_eq!(r["namespace"], "default");
        assert!(!r["request_id"].as_str().unwrap().is_empty());
        assert!(r["grafana_id"].as_i64().is_some(), "{r}");
    }
    let patched = &records[4];
    assert_eq!(change(patched, "emails[primary]")["before"], "alice@corp.example");
    assert_eq!(change(patched, "emails[primary]")["after"], "alice2@corp.example");
    assert_eq!(change(patched, "name.givenName")["after"], "Alicia");
    assert!(patched["grafana_calls"].as_array().is_some_and(|c| !c.is_empty()), "{patched}");
    let created = &records[6];
    assert_eq!(change(created, "userName")["after"], "alice@corp.example");
    assert!(created["changes"].as_array().unwrap().iter().all(|c| c["field"] != "password"));
    let group_patch = &records[1];
    assert_eq!(change(group_patch, "members")["before"], json!([id]));
    assert_eq!(change(group_patch, "members")["after"], json!([bob]));
    assert_eq!(group_patch["group_name"], "Platform");

    // Filters.
    assert_eq!(audit(h, "user=ALICE@corp.example").await.len(), 4, "create, patch, replace, delete");
    assert_eq!(audit(h, "group=platform").await.len(), 2);
    assert_eq!(audit(h, "kind=scim&limit=2").await.len(), 2);
    assert!(audit(h, "namespace=org-2").await.is_empty());
    assert!(audit(h, "until=1h").await.is_empty());
    assert_eq!(audit(h, "since=1h&kind=scim").await.len(), 7);
}

#[tokio::test]
async fn every_scim_write_is_audited_once_on_sqlite() {
    let h = start(None).await;
    every_write_leaves_one_record(&h).await;
}

#[tokio::test]
async fn every_scim_write_is_audited_once_on_postgres() {
    let db = crate::support::pg::Schema::create().await;
    let h = start(Some(db.url())).await;
    every_write_leaves_one_record(&h).await;
}

#[tokio::test]
async fn policy_refusals_are_audited_and_the_admin_token_guards_audit_and_metrics() {
    let h = start(None).await;
    // SAML off in Grafana: the policy refuses SCIM users.
    let h2 = Harness::start_with(EmulatorOptions::default().saml_enabled(false), |c| {
        c.admin.token = Some(scim_sidecar::config::Secret::new(ADMIN_TOKEN));
    })
    .await;
    let a = h2.post("Users", user_body("carol@corp.example", "carol@corp.example", None)).await;
    assert_eq!(a.status, 403, "{a:?}");
    let records = audit(&h2, "").await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["kind"], "policy");
    assert_eq!(records[0]["outcome"], "refused");
    assert_eq!(records[0]["actor"]["name"], "static-token");
    assert!(records[0]["reason"].as_str().unwrap().starts_with("saml:"), "{}", records[0]);

    for path in ["/audit", "/metrics"] {
        assert_eq!(admin_get(&h, path, None).await.0, 401, "{path}");
        assert_eq!(admin_get(&h, path, Some("wrong-token-0123456789")).await.0, 401, "{path}");
        assert_eq!(admin_get(&h, path, Some(ADMIN_TOKEN)).await.0, 200, "{path}");
    }
    assert_eq!(admin_get(&h, "/healthz", None).await.0, 200);
    assert_eq!(admin_get(&h, "/audit?since=yesterday", Some(ADMIN_TOKEN)).await.0, 400);
}

#[tokio::test]
async fn a_disabled_audit_records_nothing_and_writes_still_succeed() {
    let h = Harness::start_with(EmulatorOptions::default(), |c| c.audit.enabled = false).await;
    let a = h.post("Users", user_body("dave@corp.example", "dave@corp.example", None)).await;
    assert_eq!(a.status, 201);
    let (status, body) = admin_get(&h, "/audit", None).await;
    assert_eq!((status, body.as_str()), (200, ""));
}

#[tokio::test]
async fn a_guard_refusal_is_audited_once_with_its_kind_and_caller() {
    let h = start(None).await;
    let a = h.post("Users", user_body("erin@corp.example", "erin@corp.example", None)).await;
    assert_eq!(a.status, 201);
    let gid = h.grafana.user_by_login("erin@corp.example").unwrap().id;
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{}/api/users/{gid}", h.sidecar.url))
        .header("authorization", h.grafana.admin_basic_auth())
        .header("content-type", "application/json")
        .header("x-request-id", "guard-req-1")
        .body(scim_sidecar::body::full(json!({"login": "hijack"}).to_string()))
        .unwrap();
    assert_eq!(h.client.request(req).await.unwrap().status(), 403);
    let records = audit(&h, "kind=guard").await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r["outcome"], "refused");
    assert_eq!(r["request_id"], "guard-req-1");
    assert_eq!(r["operation"], format!("PUT /api/users/{gid}"));
    assert_eq!(r["actor"]["client"], "127.0.0.1");
    assert!(r["actor"]["name"].as_str().unwrap().starts_with("grafana-user:"), "{r}");
    assert!(r["reason"].as_str().unwrap().starts_with("user:"), "{r}");
}

/// A write answered just before shutdown has its record stored once `run` has returned: `run`
/// flushes the audit writer (which lets records gather for up to 50 ms) after the listeners have
/// drained. In this process the writer task would also finish on its own afterwards, since the
/// test's runtime lives on; the flush matters for the binary, whose runtime ends with `run`.
#[tokio::test]
async fn records_of_the_last_writes_before_shutdown_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let h = start(Some(scim_sidecar::config::Secret::new(url.clone()))).await;
    let created = h.post("Users", user_body("last.one", "last.one@example.com", None)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let Harness { sidecar, .. } = h;
    sidecar.stop().await;
    let store = scim_sidecar::store::open(&url, 1).await.unwrap();
    let records = store.query_audit(&scim_sidecar::audit::AuditQuery::default()).await.unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].operation, "create");
}
