//! The Entra ID flow in both PATCH dialects, with `?aadOptscim062020` on the URL.

use serde_json::json;

use super::{filter, grafana_id, patch_op, user_body};
use crate::support::scim::Harness;

#[tokio::test]
async fn entra_user_flow_both_patch_dialects() {
    let h = Harness::start().await;
    let oid = "2a69c9a6-1708-45b7-acbe-a7b4c8fb102a";
    // Test connection: a random GUID externalId matches nobody.
    let a =
        h.get("Users?aadOptscim062020&filter=externalId+eq+%2200000000-0000-0000-0000-000000000000%22").await;
    assert_eq!((a.status, a.json()["totalResults"].as_u64()), (200, Some(0)));
    // Match on externalId, then create.
    let q = format!("Users?aadOptscim062020&filter=externalId%20eq%20%22{oid}%22");
    assert_eq!(h.get(&q).await.json()["totalResults"], 0);
    let mut body = user_body("alex@contoso.com", "alex@contoso.com", Some(oid));
    body["meta"] = json!({"resourceType": "User"});
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = json!({"employeeNumber": "701"});
    let a = h.post("Users?aadOptscim062020", body).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert_ne!(id, oid);
    let gid = grafana_id(&h, "alex@contoso.com");
    let a = h.get(&q).await;
    assert_eq!(a.json()["totalResults"], 1);
    assert_eq!(a.json()["Resources"][0]["externalId"], oid);
    assert_eq!(
        a.json()["Resources"][0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
            ["employeeNumber"],
        "701"
    );

    // Legacy dialect (no flag): capitalised ops, string booleans, dotted keys.
    let legacy = patch_op(json!([
        {"op": "Replace", "path": "displayName", "value": "Alex W"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alex.w@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Alexander"},
        {"op": "Add", "path": "nickName", "value": "Al"}
    ]));
    let a = h.patch(&format!("Users/{id}?aadOptscim062020"), legacy).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["name"]["givenName"], "Alexander");
    assert_eq!(a.json()["nickName"], "Al");
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!((gu.name.as_str(), gu.email.as_str()), ("Alex W", "alex.w@contoso.com"));
    // Unchanged Grafana fields cost no update call.
    h.grafana.reset_calls();
    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "nickName", "value": "Xa"}])),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(h.grafana.count("PUT", &format!("/api/users/{gid}")), 0);

    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(a.json()["active"], false);
    assert!(h.grafana.user(gid).unwrap().is_disabled);
    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "True"}])),
        )
        .await;
    assert_eq!(a.json()["active"], true);
    assert!(!h.grafana.user(gid).unwrap().is_disabled);

    // Current dialect: path-less replace with dotted keys, real booleans.
    let modern = patch_op(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alex@contoso.com"},
        {"op": "replace", "value": {"displayName": "Alex Wilber", "name.familyName": "Wilber"}}
    ]));
    let a = h.patch(&format!("Users/{id}"), modern).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["name"]["familyName"], "Wilber");
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!((gu.name.as_str(), gu.email.as_str()), ("Alex Wilber", "alex@contoso.com"));
    let a = h
        .patch(&format!("Users/{id}"), patch_op(json!([{"op": "replace", "path": "active", "value": false}])))
        .await;
    assert_eq!(a.json()["active"], false);
    assert!(h.grafana.user(gid).unwrap().is_disabled);
    // Still found by filter, with active=false.
    let a = filter(&h, &format!("externalId eq \"{oid}\"")).await;
    assert_eq!(a.json()["Resources"][0]["active"], false);
    // Every declared attribute round-trips from the store.
    let a = h.get(&format!("Users/{id}")).await;
    assert_eq!(a.json()["emails"][0]["type"], "work");
    assert_eq!(a.json()["emails"][0]["primary"], true);
    assert_eq!(a.json()["nickName"], "Xa");
    assert!(a.json().get("password").is_none());
}

#[tokio::test]
async fn password_is_never_stored_or_sent_to_grafana() {
    let h = Harness::start().await;
    let mut body = user_body("pw@example.com", "pw@example.com", None);
    body["password"] = json!("IdP-Chosen-Secret-1!");
    let a = h.post("Users", body).await;
    assert_eq!(a.status, 201);
    assert!(a.json().get("password").is_none());
    let gu = h.grafana.user(grafana_id(&h, "pw@example.com")).unwrap();
    assert_ne!(gu.password, "IdP-Chosen-Secret-1!");
    assert!(gu.password.len() >= 32);
}
