//! Adoption, external-user deactivation, DELETE and revival, protected users, numeric externalId.

use serde_json::json;

use super::{create, filter, grafana_id, in_org, patch_op, user_body};
use crate::support::scim::{assert_scim_error, Harness};

#[tokio::test]
async fn existing_grafana_user_is_adopted_by_email_not_duplicated() {
    let h = Harness::start().await;
    let gid = h.grafana.create_user("jdoe", "jane@corp.example", "J Doe");
    let users_before = h.grafana.user_count();
    let a = h.post("Users", user_body("jane.doe@corp.example", "jane@corp.example", Some("ext-jane"))).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(h.grafana.user_count(), users_before, "adopted, not duplicated");
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!(gu.login, "jane.doe@corp.example");
    assert_eq!(gu.name, "Given Family jane.doe@corp.example");
    assert!(in_org(&h, 1, gid).is_some());
    // Now owned: another identity claiming the same email is refused.
    let a = h.post("Users", user_body("other@corp.example", "jane@corp.example", None)).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
    // Same externalId with another userName is a duplicate too.
    let a = h.post("Users", user_body("third@corp.example", "third@corp.example", Some("ext-jane"))).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
}

#[tokio::test]
async fn external_user_deactivation_removes_from_org_and_reactivation_restores() {
    let h = Harness::start().await;
    let id = create(&h, "saml.user@example.com", "saml.user@example.com").await;
    let gid = grafana_id(&h, "saml.user@example.com");
    h.grafana.add_org_user(1, gid, "Editor");
    let a = h
        .patch(&format!("Users/{id}"), patch_op(json!([{"op": "replace", "path": "active", "value": true}])))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"));
    let team = h.grafana.create_team(1, "Platform");
    h.grafana.add_team_member(team, gid, 0);
    h.grafana.mark_external(gid, "auth.saml");
    let _s = h.grafana.create_session(gid);

    // A profile change is refused by Grafana for SAML users: SCIM still changes, Grafana later.
    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "New Name"}])),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["displayName"], "New Name");
    assert_ne!(h.grafana.user(gid).unwrap().name, "New Name");
    let res = crate::support::client::get(&h.client, &format!("{}/metrics", h.sidecar.admin_url)).await;
    let metrics = crate::support::client::body_string(res).await;
    assert!(
        metrics
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("deferred_updates") && l.trim_end().ends_with(" 1")),
        "{metrics}"
    );

    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["active"], false);
    assert_eq!(h.grafana.sessions(gid), 0, "sessions revoked");
    assert!(in_org(&h, 1, gid).is_none(), "removed from the org");
    assert!(h.grafana.team_members(team).is_empty());
    // Still visible, inactive, by id, filter and listing.
    assert_eq!(h.get(&format!("Users/{id}")).await.json()["active"], false);
    let f = filter(&h, r#"userName eq "saml.user@example.com""#).await;
    assert_eq!(f.json()["totalResults"], 1);
    let all = h.get("Users?count=50").await;
    assert_eq!(all.json()["totalResults"], 2);
    assert!(all.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str() && r["active"] == false));

    let a = h
        .patch(
            &format!("Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "True"}])),
        )
        .await;
    assert_eq!(a.json()["active"], true);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"), "role restored");
    assert_eq!(h.grafana.team_members(team).len(), 1, "team membership restored");
    assert_eq!(h.get("Users?count=0").await.json()["totalResults"], 2);
}

#[tokio::test]
async fn delete_hides_the_user_and_a_later_create_brings_it_back() {
    let h = Harness::start().await;
    let id = create(&h, "leaver@example.com", "leaver@example.com").await;
    let gid = grafana_id(&h, "leaver@example.com");
    let a = h.delete(&format!("Users/{id}")).await;
    assert_eq!(a.status, 204);
    assert_scim_error(&h.get(&format!("Users/{id}")).await, 404, None);
    assert_eq!(filter(&h, r#"userName eq "leaver@example.com""#).await.json()["totalResults"], 0);
    assert_eq!(h.get("Users?count=0").await.json()["totalResults"], 1);
    let gu = h.grafana.user(gid).expect("deactivate keeps the Grafana user");
    assert!(gu.is_disabled);
    assert_scim_error(&h.delete(&format!("Users/{id}")).await, 404, None);
    // Revival by userName.
    let a = h.post("Users", user_body("Leaver@example.com", "leaver@example.com", None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json()["id"], id.as_str(), "same identity");
    assert!(!h.grafana.user(gid).unwrap().is_disabled);
    assert!(in_org(&h, 1, gid).is_some());
    assert_eq!(h.grafana.users().iter().filter(|u| u.login == "leaver@example.com").count(), 1);
}

#[tokio::test]
async fn on_delete_delete_removes_the_grafana_user() {
    let h = Harness::start_with(Default::default(), |c| {
        c.scim.on_delete = scim_sidecar::config::OnDelete::Delete
    })
    .await;
    let id = create(&h, "gone@example.com", "gone@example.com").await;
    let gid = grafana_id(&h, "gone@example.com");
    assert_eq!(h.delete(&format!("Users/{id}")).await.status, 204);
    assert!(h.grafana.user(gid).is_none());
    assert_scim_error(&h.get(&format!("Users/{id}")).await, 404, None);
    let a = h.post("Users", user_body("gone@example.com", "gone@example.com", None)).await;
    assert_eq!(a.status, 201);
}

#[tokio::test]
async fn protected_users_and_the_sidecar_credential_are_refused() {
    let h =
        Harness::start_with(Default::default(), |c| c.scim.protected_users = vec!["boss@example.com".into()])
            .await;
    let boss = h.grafana.create_user("boss", "boss@example.com", "Boss");
    assert_scim_error(&h.post("Users", user_body("admin", "admin@localhost", None)).await, 403, None);
    assert_scim_error(
        &h.post("Users", user_body("boss@example.com", "x@example.com", None)).await,
        403,
        None,
    );
    let a = filter(&h, r#"userName eq "admin""#).await;
    let admin_id = a.json()["Resources"][0]["id"].as_str().unwrap().to_string();
    let p = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_scim_error(&h.patch(&format!("Users/{admin_id}"), p.clone()).await, 403, None);
    assert_scim_error(&h.delete(&format!("Users/{admin_id}")).await, 403, None);
    let b = filter(&h, r#"userName eq "boss""#).await;
    let boss_id = b.json()["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_scim_error(&h.patch(&format!("Users/{boss_id}"), p).await, 403, None);
    // Renaming someone into a protected login is refused too.
    let id = create(&h, "plain@example.com", "plain@example.com").await;
    let ren = patch_op(json!([{"op": "replace", "path": "userName", "value": "ADMIN"}]));
    assert_scim_error(&h.patch(&format!("Users/{id}"), ren).await, 403, None);
    assert!(!h.grafana.user(1).unwrap().is_disabled && !h.grafana.user(boss).unwrap().is_disabled);
}

#[tokio::test]
async fn numeric_external_id_is_never_an_internal_id() {
    let h = Harness::start().await;
    let a = h.post("Users", user_body("numeric@example.com", "numeric@example.com", Some("1"))).await;
    assert_eq!(a.status, 201);
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert!(!id.bytes().all(|b| b.is_ascii_digit()));
    assert_scim_error(&h.get("Users/1").await, 404, None);
    let f = filter(&h, r#"externalId eq "1""#).await;
    assert_eq!(f.json()["totalResults"], 1);
    assert_eq!(f.json()["Resources"][0]["userName"], "numeric@example.com");
    let admin = h.grafana.user(1).unwrap();
    assert_eq!(admin.login, "admin");
    assert_scim_error(
        &h.patch("Users/1", patch_op(json!([{"op": "replace", "path": "active", "value": false}]))).await,
        404,
        None,
    );
    assert!(!h.grafana.user(1).unwrap().is_disabled);
}

/// Grafana refuses to disable a SAML-linked user: the fallback takes them out of every org (not
/// only the namespace's), with their teams there, and reactivation brings all of it back.
#[tokio::test]
async fn external_user_deactivation_leaves_every_org_and_reactivation_restores_all() {
    let h = Harness::start().await;
    let id = create(&h, "multi.org@example.com", "multi.org@example.com").await;
    let gid = grafana_id(&h, "multi.org@example.com");
    let other = h.grafana.create_org("Other");
    h.grafana.add_org_user(other, 1, "Admin");
    h.grafana.add_org_user(other, gid, "Editor");
    let t1 = h.grafana.create_team(1, "Here");
    let t2 = h.grafana.create_team(other, "There");
    h.grafana.add_team_member(t1, gid, 0);
    h.grafana.add_team_member(t2, gid, 0);
    h.grafana.mark_external(gid, "auth.saml");
    let _s = h.grafana.create_session(gid);
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let a = h.patch(&format!("Users/{id}"), off).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(h.grafana.sessions(gid), 0, "sessions revoked");
    assert!(in_org(&h, 1, gid).is_none(), "removed from the namespace's org");
    assert!(in_org(&h, other, gid).is_none(), "removed from the other org too");
    assert!(h.grafana.user_orgs(gid).is_empty(), "in no org at all");
    assert!(h.grafana.team_members(t2).is_empty());
    let on = patch_op(json!([{"op": "replace", "path": "active", "value": true}]));
    let a = h.patch(&format!("Users/{id}"), on).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(in_org(&h, 1, gid).is_some());
    assert_eq!(in_org(&h, other, gid).as_deref(), Some("Editor"), "role in the other org restored");
    assert_eq!(h.grafana.team_members(t1).len(), 1, "team here restored");
    assert_eq!(h.grafana.team_members(t2).len(), 1, "team there restored");
}
