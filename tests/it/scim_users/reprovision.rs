//! Re-provisioning after deactivation (issue 29): Okta's re-assignment flow POSTs a user whose
//! `userName` or `externalId` matches a user SCIM deactivated. The POST reactivates and updates
//! that user (201, the same id, Grafana access restored as a PATCH `active: true` restores it);
//! only an active match is a 409 `uniqueness`.

use serde_json::json;

use super::{grafana_id, in_org, patch_op, user_body};
use crate::support::scim::{assert_scim_error, Harness};

/// Okta's deactivation (path-less replace of `active`).
fn deactivate() -> serde_json::Value {
    patch_op(json!([{"op": "replace", "value": {"active": false}}]))
}

#[tokio::test]
async fn post_matching_a_deactivated_user_name_reactivates_it() {
    let h = Harness::start().await;
    let a = h
        .post("Users", user_body("re.assign@example.com", "re.assign@example.com", Some("00u-okta-1")))
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "re.assign@example.com");
    let team = h.grafana.create_team(1, "Platform");
    h.grafana.add_team_member(team, gid, 0);
    assert_eq!(h.patch(&format!("Users/{id}"), deactivate()).await.status, 200);
    assert!(h.grafana.user(gid).unwrap().is_disabled);
    let users_before = h.grafana.user_count();

    // Okta re-assigns: a new POST, same userName (another case), new profile values.
    let mut body = user_body("Re.Assign@example.com", "re.assign@example.com", Some("00u-okta-1"));
    body["displayName"] = json!("Back Again");
    let a = h.post("Users", body.clone()).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json()["id"], id.as_str(), "the same identity");
    assert_eq!(a.json()["active"], true);
    assert_eq!(a.json()["displayName"], "Back Again");
    assert!(a.header("location").is_some_and(|l| l.ends_with(&format!("/Users/{id}"))), "{a:?}");
    let gu = h.grafana.user(gid).unwrap();
    assert!(!gu.is_disabled, "re-enabled");
    assert_eq!(gu.name, "Back Again");
    assert_eq!(h.grafana.user_count(), users_before, "no second Grafana user");
    assert!(in_org(&h, 1, gid).is_some());
    assert_eq!(h.grafana.team_members(team).len(), 1, "team kept");
    let got = h.get(&format!("Users/{id}")).await;
    assert_eq!(
        (got.json()["active"].clone(), got.json()["userName"].clone()),
        (json!(true), json!("Re.Assign@example.com"))
    );

    // Now active: the same POST is a duplicate.
    assert_scim_error(&h.post("Users", body).await, 409, Some("uniqueness"));
}

#[tokio::test]
async fn post_matching_a_deactivated_external_id_reactivates_and_renames_it() {
    let h = Harness::start().await;
    let a = h
        .post("Users", user_body("saml.person@example.com", "saml.person@example.com", Some("00u-okta-2")))
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "saml.person@example.com");
    h.grafana.add_org_user(1, gid, "Editor");
    let team = h.grafana.create_team(1, "Ops");
    h.grafana.add_team_member(team, gid, 0);
    // A SAML user: Grafana refuses to disable it, so deactivation removes it from the org.
    h.grafana.mark_external(gid, "auth.saml");
    assert_eq!(h.patch(&format!("Users/{id}"), deactivate()).await.status, 200);
    assert!(in_org(&h, 1, gid).is_none());
    assert!(h.grafana.team_members(team).is_empty());

    // Okta re-assigns under a new username: matched by externalId.
    let body = user_body("renamed.person@example.com", "saml.person@example.com", Some("00u-okta-2"));
    let a = h.post("Users", body).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json()["id"], id.as_str());
    assert_eq!(a.json()["userName"], "renamed.person@example.com");
    assert_eq!(a.json()["active"], true);
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Editor"), "back in the org with its role");
    assert_eq!(h.grafana.team_members(team).len(), 1, "team membership restored");
    let f = super::filter(&h, r#"externalId eq "00u-okta-2""#).await;
    assert_eq!(f.json()["totalResults"], 1);
    assert_eq!(f.json()["Resources"][0]["active"], true);

    // Active now: the same externalId under yet another userName is a duplicate.
    let again = user_body("third.name@example.com", "third@example.com", Some("00u-okta-2"));
    assert_scim_error(&h.post("Users", again).await, 409, Some("uniqueness"));
}

#[tokio::test]
async fn post_naming_two_different_deactivated_users_is_a_conflict() {
    let h = Harness::start().await;
    let mut ids = Vec::new();
    for (name, ext) in [("one@example.com", "ext-one"), ("two@example.com", "ext-two")] {
        let a = h.post("Users", user_body(name, name, Some(ext))).await;
        let id = a.json()["id"].as_str().unwrap().to_string();
        assert_eq!(h.patch(&format!("Users/{id}"), deactivate()).await.status, 200);
        ids.push(id);
    }
    // userName of one, externalId of the other: no single person to bring back.
    let a = h.post("Users", user_body("one@example.com", "one@example.com", Some("ext-two"))).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
    for id in &ids {
        assert_eq!(h.get(&format!("Users/{id}")).await.json()["active"], false, "untouched");
    }
    assert!(h.grafana.user(grafana_id(&h, "one@example.com")).unwrap().is_disabled);
}
