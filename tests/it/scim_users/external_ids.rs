//! An `externalId` belongs to one person (issue 25, item 7): a create or update giving a user an
//! externalId that a managed record of another Grafana user holds, in any org, deleted or
//! deactivated, in any ASCII case, is refused (409 `uniqueness`) with Grafana untouched; the same
//! person may carry it in several orgs.

use http::Method;
use serde_json::json;

use super::{grafana_id, patch_op, user_body};
use crate::support::scim::{assert_scim_error, Harness};

fn users_of(org: i64) -> String {
    format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org}/Users")
}

#[tokio::test]
async fn an_external_id_of_another_person_is_refused_in_every_org() {
    let h = Harness::start().await;
    let org2 = h.grafana.create_org("Second");
    let (org1_users, org2_users) = (users_of(1), users_of(org2));
    let a = h.post("Users", user_body("alice@example.com", "alice@example.com", Some("ext-Alice-1"))).await;
    assert_eq!(a.status, 201, "{a:?}");
    let alice = a.json()["id"].as_str().unwrap().to_string();
    let users_before = h.grafana.user_count();

    // A decoy create, in the other org or the same one, in any case: refused before Grafana.
    for (users, ext) in
        [(&org2_users, "ext-Alice-1"), (&org2_users, "EXT-ALICE-1"), (&org1_users, "ext-alice-1")]
    {
        let body = user_body("mallory@example.com", "mallory@example.com", Some(ext));
        let a = h.call(Method::POST, users, Some(body)).await;
        assert_scim_error(&a, 409, Some("uniqueness"));
        assert_eq!(h.grafana.user_count(), users_before, "no Grafana user made for {ext}");
    }
    // Nor may a create adopt another existing Grafana user under it.
    let bob = h.grafana.create_user("bob@example.com", "bob@example.com", "Bob Original");
    let body = user_body("bob@example.com", "bob@example.com", Some("ext-alice-1"));
    assert_scim_error(&h.call(Method::POST, &org2_users, Some(body)).await, 409, Some("uniqueness"));
    assert_eq!(h.grafana.user(bob).unwrap().name, "Bob Original");
    assert_eq!(h.grafana.user_orgs(bob), vec![1], "not added to the second org");

    // Updates: PUT and PATCH of a managed user of either org.
    let a = h
        .call(Method::POST, &org2_users, Some(user_body("mallory@example.com", "mallory@example.com", None)))
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let mallory = a.json()["id"].as_str().unwrap().to_string();
    let mallory_gid = grafana_id(&h, "mallory@example.com");
    let mut put = user_body("mallory@example.com", "mallory2@example.com", Some("Ext-Alice-1"));
    put["displayName"] = json!("Changed");
    let patch = patch_op(json!([{"op": "add", "path": "externalId", "value": "ext-alice-1"}]));
    for (method, body) in [(Method::PUT, put), (Method::PATCH, patch)] {
        let a = h.call(method, &format!("{org2_users}/{mallory}"), Some(body)).await;
        assert_scim_error(&a, 409, Some("uniqueness"));
        let u = h.grafana.user(mallory_gid).unwrap();
        assert_eq!((u.email.as_str(), u.is_disabled), ("mallory@example.com", false), "untouched");
        let now = h.call(Method::GET, &format!("{org2_users}/{mallory}"), None).await;
        assert!(now.json().get("externalId").is_none(), "{now:?}");
    }

    // A deactivated, then deleted holder still holds it (the login gate still matches it).
    let off = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(h.patch(&format!("Users/{alice}"), off).await.status, 200);
    assert_eq!(h.delete(&format!("Users/{alice}")).await.status, 204);
    let body = user_body("mallory@example.com", "mallory@example.com", Some("ext-alice-1"));
    let a = h.call(Method::PUT, &format!("{org2_users}/{mallory}"), Some(body)).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
}

/// One person in several orgs keeps one externalId: the second org's create adopts the same
/// Grafana user under it, and updates there keep it.
#[tokio::test]
async fn one_person_keeps_one_external_id_across_orgs() {
    let h = Harness::start().await;
    let org2 = h.grafana.create_org("Second");
    let body = user_body("alice@example.com", "alice@example.com", Some("ext-alice"));
    assert_eq!(h.post("Users", body.clone()).await.status, 201);
    let a = h.call(Method::POST, &users_of(org2), Some(body)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "alice@example.com");
    assert_eq!(h.grafana.user_orgs(gid).len(), 2);
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "Alice Two"}]));
    let a = h.call(Method::PATCH, &format!("{}/{id}", users_of(org2)), Some(rename)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["externalId"], "ext-alice");
}

/// A holder whose Grafana user was deleted behind the sidecar's back holds nobody's identity: the
/// person's new account may take the externalId.
#[tokio::test]
async fn a_holder_deleted_in_grafana_releases_the_external_id() {
    let h = Harness::start().await;
    let org2 = h.grafana.create_org("Second");
    let body = user_body("gone@example.com", "gone@example.com", Some("ext-gone"));
    assert_eq!(h.post("Users", body).await.status, 201);
    assert!(h.grafana.delete_user(grafana_id(&h, "gone@example.com")));
    let body = user_body("back@example.com", "back@example.com", Some("ext-gone"));
    let a = h.call(Method::POST, &users_of(org2), Some(body)).await;
    assert_eq!(a.status, 201, "{a:?}");
}
