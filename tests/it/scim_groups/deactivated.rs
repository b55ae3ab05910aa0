//! Group writes and deactivated members: a group write never puts a deactivated user back into
//! an org or a team (reactivation does, from what the record remembers), and an org membership is
//! added for the intended Grafana user only.

use serde_json::json;

use super::support::{GROUP_URN, PATCH_URN};
use crate::scim_users::{create, grafana_id, in_org, patch_op};
use crate::support::scim::Harness;

fn active(on: bool) -> serde_json::Value {
    patch_op(json!([{"op": "replace", "path": "active", "value": on}]))
}

#[tokio::test]
async fn group_writes_never_readd_a_deactivated_user_and_reactivation_does() {
    let h = Harness::start().await;
    let id = create(&h, "gone@example.com", "gone@example.com").await;
    let gid = grafana_id(&h, "gone@example.com");
    h.grafana.mark_external(gid, "auth.saml");
    assert_eq!(h.patch(&format!("Users/{id}"), active(false)).await.status, 200);
    assert!(in_org(&h, 1, gid).is_none(), "cut off");
    // A group created with them, then a PATCH add and a PUT naming them: none re-adds them.
    let g = h
        .post("Groups", json!({"schemas": [GROUP_URN], "displayName": "Ops", "members": [{"value": id}]}))
        .await;
    assert_eq!(g.status, 201, "{g:?}");
    let gid_scim = g.json()["id"].as_str().unwrap().to_string();
    let team = h.grafana.team_by_name(1, "Ops").unwrap().id;
    let add = json!({"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
    assert!(h.patch(&format!("Groups/{gid_scim}"), add).await.status < 300);
    let put = json!({"schemas": [GROUP_URN], "displayName": "Ops", "members": [{"value": id}]});
    assert_eq!(h.put(&format!("Groups/{gid_scim}"), put).await.status, 200);
    assert!(in_org(&h, 1, gid).is_none(), "still out of the org");
    assert!(h.grafana.team_members(team).iter().all(|(u, _)| *u != gid), "not in the team");
    // Reactivation brings them into the org and the team the group write named.
    assert_eq!(h.patch(&format!("Users/{id}"), active(true)).await.status, 200);
    assert!(in_org(&h, 1, gid).is_some());
    assert!(h.grafana.team_members(team).iter().any(|(u, _)| *u == gid), "team restored");
}

/// The store's email of a SAML user can be stale (Grafana refuses their profile updates), and
/// another Grafana user may hold it now: adding the member to the org must not add that user.
#[tokio::test]
async fn org_add_for_a_member_is_checked_against_the_user_id() {
    let h = Harness::start().await;
    let id = create(&h, "stale", "stale@example.com").await;
    let gid = grafana_id(&h, "stale");
    h.grafana.mark_external(gid, "auth.saml");
    let moved = patch_op(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "taken@example.com", "primary": true}]}]),
    );
    assert_eq!(h.patch(&format!("Users/{id}"), moved).await.status, 200);
    assert_eq!(h.grafana.user(gid).unwrap().email, "stale@example.com", "deferred in grafana");
    let victim = h.grafana.create_user("victim", "taken@example.com", "Victim");
    // Out of org 1 (as after a manual removal): the group write must add them back, by id.
    h.grafana.remove_org_user(1, gid);
    h.grafana.remove_org_user(1, victim);
    let g = h
        .post("Groups", json!({"schemas": [GROUP_URN], "displayName": "Devs", "members": [{"value": id}]}))
        .await;
    assert!(in_org(&h, 1, victim).is_none(), "the other user was not added: {g:?}");
}

/// Grafana's bulk member update takes emails: a stale store email that now belongs to another
/// Grafana user must not leave that user in the team.
#[tokio::test]
async fn bulk_member_update_never_leaves_another_user_in_the_team() {
    let h = Harness::start().await;
    let id = create(&h, "bulk.stale", "bulk.stale@example.com").await;
    let other = create(&h, "bulk.other", "bulk.other@example.com").await;
    let gid = grafana_id(&h, "bulk.stale");
    // A first group write: the sidecar now knows both users are in org 1.
    let warm =
        json!({"schemas": [GROUP_URN], "displayName": "Warm", "members": [{"value": id}, {"value": other}]});
    assert_eq!(h.post("Groups", warm).await.status, 201);
    h.grafana.mark_external(gid, "auth.saml");
    let moved = patch_op(
        json!([{"op": "replace", "path": "emails", "value": [{"value": "bulk.taken@example.com", "primary": true}]}]),
    );
    assert_eq!(h.patch(&format!("Users/{id}"), moved).await.status, 200);
    let victim = h.grafana.create_user("bulk.victim", "bulk.taken@example.com", "Victim");
    let g = h
        .post(
            "Groups",
            json!({"schemas": [GROUP_URN], "displayName": "Bulk", "members": [{"value": id}, {"value": other}]}),
        )
        .await;
    assert_eq!(g.status, 409, "{g:?}");
    assert!(h.grafana.team_by_name(1, "Bulk").is_none(), "nothing half-applied");
    let team = h.grafana.team_by_name(1, "Bulk").map(|t| t.id);
    if let Some(team) = team {
        assert!(h.grafana.team_members(team).iter().all(|(u, _)| *u != victim), "victim in the team: {g:?}");
    }
}
