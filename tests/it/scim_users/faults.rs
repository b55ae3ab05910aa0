//! Concurrency and faults injected between steps: retried requests converge, never a duplicate
//! user and never a dangling record.

use serde_json::json;

use super::{create, filter, grafana_id, in_org, patch_op, user_body};
use crate::support::scim::Harness;

#[tokio::test]
async fn concurrent_creates_of_one_user_name_yield_one_user() {
    let h = Harness::start().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let name = if i % 2 == 0 { "race@example.com" } else { "RACE@example.com" };
            h.post("Users", user_body(name, "race@example.com", None))
        })
        .collect();
    let answers = futures_util::future::join_all(tasks).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!((created, conflicts), (1, 7), "{answers:?}");
    assert_eq!(h.grafana.users().iter().filter(|u| u.login == "race@example.com").count(), 1);
    assert_eq!(filter(&h, r#"userName eq "race@example.com""#).await.json()["totalResults"], 1);
}

/// Two replicas on one PostgreSQL store hold no shared lock during a create: the store's unique
/// indexes let one record in, and every request ends as 201 or 409 on the same Grafana user.
#[tokio::test]
async fn replicas_creating_one_user_name_yield_one_user() {
    let db = crate::support::pg::Schema::create().await;
    let h = Harness::start_with(Default::default(), |c| c.store.url = db.url()).await;
    let mut config = crate::support::scim::sidecar_config(&h.grafana);
    config.store.url = db.url();
    let replica = h.replica(config).await;
    for round in 0..5 {
        let name = format!("replica-race-{round}@example.com");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let body = user_body(&name, &name, None);
                let h = &h;
                let replica = &replica;
                async move {
                    if i % 2 == 0 {
                        h.post("Users", body).await
                    } else {
                        h.post_via(replica, "Users", body).await
                    }
                }
            })
            .collect();
        let answers = futures_util::future::join_all(tasks).await;
        let created = answers.iter().filter(|a| a.status == 201).count();
        let conflicts = answers.iter().filter(|a| a.status == 409).count();
        assert_eq!((created, conflicts), (1, 7), "{answers:?}");
        assert_eq!(h.grafana.users().iter().filter(|u| u.login == name).count(), 1);
        let found = filter(&h, &format!("userName eq \"{name}\"")).await;
        assert_eq!(found.json()["totalResults"], 1);
        let winner = answers.iter().find(|a| a.status == 201).unwrap();
        assert_eq!(found.json()["Resources"][0]["id"], winner.json()["id"]);
    }
}

#[tokio::test]
async fn grafana_failures_between_steps_converge_on_retry() {
    let h = Harness::start().await;
    // Create fails in Grafana: nothing is recorded; the retry creates exactly one user.
    h.grafana.fail_next("POST", "/api/admin/users", 500, 1);
    let a = h.post("Users", user_body("flaky@example.com", "flaky@example.com", None)).await;
    assert_eq!(a.status, 502, "{a:?}");
    assert!(h.grafana.user_by_login("flaky@example.com").is_none());
    let id = create(&h, "flaky@example.com", "flaky@example.com").await;
    let gid = grafana_id(&h, "flaky@example.com");

    // A crash after Grafana created the user and before the store write leaves exactly this
    // state (a Grafana user, no record): the retried POST adopts it instead of duplicating it.
    let before = h.grafana.user_count();
    h.grafana.create_user("crashed@example.com", "crashed@example.com", "Crashed");
    let a = h.post("Users", user_body("crashed@example.com", "crashed@example.com", None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(h.grafana.user_count(), before + 1);

    // Deactivation fails at the disable step: the record is unchanged and a retry completes it.
    h.grafana.drop_connections("POST", &format!("/api/admin/users/{gid}/disable"), 1);
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let a = h.patch(&format!("Users/{id}"), off.clone()).await;
    assert!(a.status >= 500, "{a:?}");
    assert_eq!(h.get(&format!("Users/{id}")).await.json()["active"], true);
    assert_eq!(h.patch(&format!("Users/{id}"), off).await.json()["active"], false);
    assert!(h.grafana.user(gid).unwrap().is_disabled);

    // External user: the org removal fails after the restore data was saved; the retry removes
    // the membership and reactivation still restores the role.
    let id2 = create(&h, "ext@example.com", "ext@example.com").await;
    let gid2 = grafana_id(&h, "ext@example.com");
    h.grafana.mark_external(gid2, "auth.saml");
    h.grafana.fail_next("DELETE", &format!("/api/orgs/1/users/{gid2}"), 500, 1);
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert!(h.patch(&format!("Users/{id2}"), off.clone()).await.status >= 500);
    assert!(in_org(&h, 1, gid2).is_some());
    assert_eq!(h.patch(&format!("Users/{id2}"), off).await.json()["active"], false);
    assert!(in_org(&h, 1, gid2).is_none());
    let on = patch_op(json!([{"op": "replace", "path": "active", "value": true}]));
    assert_eq!(h.patch(&format!("Users/{id2}"), on).await.json()["active"], true);
    assert_eq!(in_org(&h, 1, gid2).as_deref(), Some("Viewer"));
}

#[tokio::test]
async fn users_deleted_in_grafana_disappear_from_scim() {
    let h = Harness::start().await;
    let id = create(&h, "vanish@example.com", "vanish@example.com").await;
    let gid = grafana_id(&h, "vanish@example.com");
    assert!(h.grafana.delete_user(gid));
    crate::support::scim::assert_scim_error(&h.get(&format!("Users/{id}")).await, 404, None);
    let a = h.post("Users", user_body("vanish@example.com", "vanish@example.com", None)).await;
    assert_eq!(a.status, 201, "a fresh create after the Grafana user vanished: {a:?}");
}
