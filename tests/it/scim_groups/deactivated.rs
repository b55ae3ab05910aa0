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

/// The member ids of a group as a GET shows them, and the GET's ETag.
async fn shown(h: &Harness, group: &str) -> (Vec<String>, String) {
    let g = h.get(&format!("Groups/{group}")).await;
    assert_eq!(g.status, 200, "{g:?}");
    let ids = g.json()["members"]
        .as_array()
        .map(|m| m.iter().map(|v| v["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (ids, g.header("etag").unwrap().to_string())
}

async fn new_group(h: &Harness, name: &str, members: &[&str]) -> (String, String) {
    let members: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
    let g = h.post("Groups", json!({"schemas": [GROUP_URN], "displayName": name, "members": members})).await;
    assert_eq!(g.status, 201, "{g:?}");
    (g.json()["id"].as_str().unwrap().to_string(), g.header("etag").unwrap().to_string())
}

fn remove_ops(ops: serde_json::Value) -> serde_json::Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

/// A deactivated member stays in the group's member list (GET, filters, ETags), and taking them
/// out of the group (PATCH remove in Entra's and Okta's shapes, a PUT without them, the group's
/// DELETE) takes the team out of what reactivation restores; teams still assigned come back.
async fn pending_members_are_shown_and_their_removal_sticks(h: &Harness) {
    let gone = create(h, "pend.gone", "pend.gone@example.com").await;
    let kept = create(h, "pend.kept", "pend.kept@example.com").await;
    let uid = grafana_id(h, "pend.gone");
    // In "Keep" while active; cut off by org removal, which remembers the team.
    let (keep, _) = new_group(h, "Keep", &[&gone, &kept]).await;
    h.grafana.mark_external(uid, "auth.saml");
    assert_eq!(h.patch(&format!("Users/{gone}"), active(false)).await.status, 200);
    assert!(in_org(h, 1, uid).is_none(), "cut off");
    let (members, _) = shown(h, &keep).await;
    assert!(members.contains(&gone) && members.contains(&kept), "still a member of Keep: {members:?}");

    // Assigned while deactivated: shown, with the tag the POST answered.
    let (ops, posted) = new_group(h, "Ops", &[&gone, &kept]).await;
    let (members, tag) = shown(h, &ops).await;
    assert!(members.contains(&gone), "pending member shown: {members:?}");
    assert_eq!(posted, tag, "the POST's ETag is the next GET's");
    assert!(h
        .grafana
        .team_members(h.grafana.team_by_name(1, "Ops").unwrap().id)
        .iter()
        .all(|(u, _)| *u != uid));
    // Filters see them; a lean read reads no members.
    let q: String =
        url::form_urlencoded::byte_serialize(format!("members[value eq \"{gone}\"]").as_bytes()).collect();
    let found = h.get(&format!("Groups?filter={q}")).await;
    assert_eq!(found.status, 200, "{found:?}");
    let names: Vec<&str> = found.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["displayName"].as_str())
        .collect();
    assert!(names.contains(&"Ops") && names.contains(&"Keep"), "{names:?}");
    let lean = h.get(&format!("Groups/{ops}?excludedAttributes=members")).await;
    assert!(lean.json().get("members").is_none(), "{lean:?}");
    // Adding a pending member again changes nothing; the PATCH's answer carries the GET's tag.
    let add = remove_ops(json!([{"op": "add", "path": "members", "value": [{"value": gone}]}]));
    let again = h.patch(&format!("Groups/{ops}?attributes=members,displayName"), add).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.header("etag").unwrap(), tag, "nothing changed");
    assert_eq!(shown(h, &ops).await.1, tag);
    // Okta's remove: a value filter.
    let rm = remove_ops(json!([{"op": "remove", "path": format!("members[value eq \"{gone}\"]")}]));
    assert_eq!(h.patch(&format!("Groups/{ops}"), rm).await.status, 204);
    let (members, _) = shown(h, &ops).await;
    assert_eq!(members, vec![kept.as_str()], "gone from Ops");

    // Entra's remove: `members` with the values.
    let (entra, _) = new_group(h, "Entra", &[&gone]).await;
    let rm = remove_ops(json!([{"op": "remove", "path": "members", "value": [{"value": gone}]}]));
    assert_eq!(h.patch(&format!("Groups/{entra}"), rm).await.status, 204);
    assert!(shown(h, &entra).await.0.is_empty(), "gone from Entra");
    // A PUT that no longer lists them.
    let (put, _) = new_group(h, "Put", &[&gone, &kept]).await;
    let body = json!({"schemas": [GROUP_URN], "displayName": "Put", "members": [{"value": kept}]});
    assert_eq!(h.put(&format!("Groups/{put}"), body).await.status, 200);
    assert_eq!(shown(h, &put).await.0, vec![kept.as_str()], "gone from Put");
    // A group deleted while they are pending.
    let (del, _) = new_group(h, "Del", &[&gone]).await;
    let del_team = h.grafana.team_by_name(1, "Del").unwrap().id;
    assert_eq!(h.delete(&format!("Groups/{del}")).await.status, 204);
    // Still assigned: "Pending".
    let (_, _) = new_group(h, "Pending", &[&gone]).await;

    assert_eq!(h.patch(&format!("Users/{gone}"), active(true)).await.status, 200);
    assert!(in_org(h, 1, uid).is_some(), "back in the org");
    let in_team = |name: &str| {
        let team = h.grafana.team_by_name(1, name).unwrap().id;
        h.grafana.team_members(team).iter().any(|(u, _)| *u == uid)
    };
    assert!(in_team("Keep"), "a team held before deactivation is restored");
    assert!(in_team("Pending"), "a team assigned while deactivated is restored");
    for name in ["Ops", "Entra", "Put"] {
        assert!(!in_team(name), "{name}: the IdP took the membership away");
    }
    assert!(h.grafana.team_members(del_team).iter().all(|(u, _)| *u != uid));
    let (members, _) = shown(h, &ops).await;
    assert_eq!(members, vec![kept.as_str()], "reactivated, still out of Ops");
}

#[tokio::test]
async fn pending_members_on_sqlite() {
    let h = Harness::start().await;
    pending_members_are_shown_and_their_removal_sticks(&h).await;
}

#[tokio::test]
async fn pending_members_on_postgres() {
    let db = crate::support::pg::Schema::create().await;
    let url = db.url();
    let h =
        Harness::start_with(grafana_emulator::EmulatorOptions::default(), move |c| c.store.url = url).await;
    pending_members_are_shown_and_their_removal_sticks(&h).await;
}

/// A user Grafana could disable stays in the org: a group assigned while disabled shows them and
/// a PATCH remove keeps reactivation from adding the team.
#[tokio::test]
async fn a_disabled_members_pending_team_is_shown_and_forgotten() {
    let h = Harness::start().await;
    let off = create(&h, "pend.off", "pend.off@example.com").await;
    let uid = grafana_id(&h, "pend.off");
    assert_eq!(h.patch(&format!("Users/{off}"), active(false)).await.status, 200);
    assert!(in_org(&h, 1, uid).is_some(), "disabled, still in the org");
    let (dev, posted) = new_group(&h, "Dev", &[&off]).await;
    let (stay, _) = new_group(&h, "Stay", &[&off]).await;
    let (members, tag) = shown(&h, &dev).await;
    assert_eq!((members, tag), (vec![off.clone()], posted));
    let rm = remove_ops(json!([{"op": "remove", "path": "members", "value": [{"value": off}]}]));
    assert_eq!(h.patch(&format!("Groups/{dev}"), rm).await.status, 204);
    assert!(shown(&h, &dev).await.0.is_empty());
    assert_eq!(shown(&h, &stay).await.0, vec![off.as_str()]);
    assert_eq!(h.patch(&format!("Users/{off}"), active(true)).await.status, 200);
    let members = |name: &str| h.grafana.team_members(h.grafana.team_by_name(1, name).unwrap().id);
    assert!(members("Dev").iter().all(|(u, _)| *u != uid), "removed while disabled: not restored");
    assert!(members("Stay").iter().any(|(u, _)| *u == uid), "still assigned: restored");
}
