//! Entra's group cycle, unknown members, users outside the org, hand-made members, concurrency,
//! projections and the passthrough guard.

use std::collections::BTreeSet;

use grafana_emulator::VersionProfile;
use serde_json::json;

use super::support::*;
use crate::support::scim::assert_scim_error;

async fn entra_cycle(version: VersionProfile) {
    let g = Groups::start(version).await;
    let users = g.users("entra", 6).await;
    // Create with the extra ADSCIM schema, meta and no members.
    let a = g
        .h
        .post(
            "Groups",
            json!({"schemas":[GROUP_URN,"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Entra Group","meta":{"resourceType":"Group"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert!(a.header("location").unwrap().ends_with(&format!("/Groups/{id}")));
    assert!(a.header("etag").is_some());
    assert!(a.json().get("members").is_none(), "{:?}", a.json());
    let team = g.team_id("Entra Group");
    assert_eq!(g.member_ids(team), BTreeSet::new(), "the creator admin must not leak");

    // Matching read: excludedAttributes=members never reads members.
    g.h.grafana.reset_calls();
    let a = g.h.get("Groups?excludedAttributes=members&filter=displayName+eq+%22entra+group%22").await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["totalResults"], 1);
    assert_eq!(a.json()["Resources"][0]["id"], id.as_str());
    assert_eq!(a.json()["Resources"][0]["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(g.h.grafana.count("GET", &format!("/api/teams/{team}/members")), 0);

    // Add several (Entra legacy capitalised op, $ref null).
    let add: Vec<_> = users[..4].iter().map(|(_, s)| json!({"$ref": null, "value": s})).collect();
    g.patch_ok(&id, json!([{"op":"Add","path":"members","value":add}])).await;
    assert_eq!(g.member_ids(team), ids(&users[..4]));
    // Adding again changes nothing and costs no write.
    g.h.grafana.reset_calls();
    g.patch_ok(&id, json!([{"op":"Add","path":"members","value":[{"value":users[0].1}]}])).await;
    assert_eq!(g.h.grafana.count("PUT", &format!("/api/teams/{team}/members")), 0);
    assert_eq!(g.member_ids(team), ids(&users[..4]));

    // Remove with a value array (legacy): only those leave.
    g.patch_ok(&id, json!([{"op":"Remove","path":"members","value":[{"value":users[1].1}]}])).await;
    assert_eq!(g.member_ids(team), ids(&[users[0].clone(), users[2].clone(), users[3].clone()]));
    // Remove by value filter (flagged).
    let path = format!("members[value eq \"{}\"]", users[2].1);
    g.patch_ok(&id, json!([{"op":"remove","path":path}])).await;
    assert_eq!(g.member_ids(team), ids(&[users[0].clone(), users[3].clone()]));

    // Members come back with display and $ref.
    let a = g.h.get(&format!("Groups/{id}")).await;
    let members = a.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    let m = members.iter().find(|m| m["value"] == users[0].1.as_str()).unwrap();
    assert_eq!(m["display"], "User entra0");
    assert!(m["$ref"].as_str().unwrap().ends_with(&format!("/Users/{}", users[0].1)));
    // A user SCIM never wrote is shown as Grafana has it now, here as on /Users.
    g.h.grafana.set_name(users[0].0, "Renamed In Grafana");
    let a = g.h.get(&format!("Groups/{id}")).await;
    let m =
        a.json()["members"].as_array().unwrap().iter().find(|m| m["value"] == users[0].1.as_str()).cloned();
    assert_eq!(m.unwrap()["display"], "Renamed In Grafana");
    assert_eq!(g.h.get(&format!("Users/{}", users[0].1)).await.json()["displayName"], "Renamed In Grafana");

    // Rename.
    g.patch_ok(&id, json!([{"op":"Replace","path":"displayName","value":"Entra Renamed"}])).await;
    assert_eq!(g.h.grafana.team(team).unwrap().name, "Entra Renamed");
    assert_eq!(g.member_ids(team), ids(&[users[0].clone(), users[3].clone()]));

    // Delete.
    let a = g.h.delete(&format!("Groups/{id}")).await;
    assert_eq!(a.status, 204, "{a:?}");
    assert!(g.h.grafana.team(team).is_none());
    assert_scim_error(&g.h.get(&format!("Groups/{id}")).await, 404, None);
}

#[tokio::test]
async fn entra_group_cycle_with_bulk_route() {
    entra_cycle(VersionProfile::V12).await;
}

#[tokio::test]
async fn entra_group_cycle_without_bulk_route() {
    entra_cycle(VersionProfile::V10).await;
}

#[tokio::test]
async fn unknown_member_is_400_naming_it_and_nothing_is_applied() {
    let g = Groups::start(VersionProfile::V12).await;
    let users = g.users("unk", 2).await;
    let a = g
        .h
        .post("Groups", json!({"displayName":"U","members":[{"value":users[0].1},{"value":"no-such-user"}]}))
        .await;
    assert_scim_error(&a, 400, Some("invalidValue"));
    assert!(a.json()["detail"].as_str().unwrap().contains("no-such-user"));
    assert!(g.h.grafana.team_by_name(1, "U").is_none(), "nothing created");
    let id = g.create(json!({"displayName":"U","members":[{"value":users[0].1}]})).await;
    let team = g.team_id("U");
    let a = g
        .h
        .patch(
            &format!("Groups/{id}"),
            json!({"schemas":[PATCH_URN],"Operations":[{"op":"add","path":"members","value":[{"value":users[1].1},{"value":"ghost"}]}]}),
        )
        .await;
    assert_scim_error(&a, 400, Some("invalidValue"));
    assert_eq!(g.member_ids(team), ids(&users[..1]));
}

#[tokio::test]
async fn duplicate_names_are_409_case_insensitively() {
    let g = Groups::start(VersionProfile::V12).await;
    g.create(json!({"displayName":"Ops"})).await;
    assert_scim_error(&g.h.post("Groups", json!({"displayName":"OPS"})).await, 409, Some("uniqueness"));
    // A team made by hand in Grafana counts too.
    g.h.grafana.create_team(1, "Handmade");
    assert_scim_error(&g.h.post("Groups", json!({"displayName":"handmade"})).await, 409, Some("uniqueness"));
    let other = g.create(json!({"displayName":"Other"})).await;
    let a =
        g.h.patch(
            &format!("Groups/{other}"),
            json!({"schemas":[PATCH_URN],"Operations":[{"op":"replace","path":"displayName","value":"ops"}]}),
        )
        .await;
    assert_scim_error(&a, 409, Some("uniqueness"));
}

#[tokio::test]
async fn users_not_yet_in_the_org_are_added_first() {
    let g = Groups::start(VersionProfile::V12).await;
    let users = g.users("out", 3).await;
    for (uid, _) in &users {
        g.h.grafana.remove_org_user(1, *uid);
    }
    let id = g.create(json!({"displayName":"Outsiders","members":values(&users[..1])})).await;
    let team = g.team_id("Outsiders");
    assert_eq!(g.member_ids(team), ids(&users[..1]));
    assert!(g.h.grafana.user_orgs(users[0].0).contains(&1));
    g.patch_ok(&id, json!([{"op":"add","path":"members","value":values(&users[1..])}])).await;
    assert_eq!(g.member_ids(team), ids(&users));
    for (uid, _) in &users {
        assert!(g.h.grafana.user_orgs(*uid).contains(&1), "user {uid} added to the org");
    }
}

#[tokio::test]
async fn hand_made_members_are_replaced_and_admins_keep_their_permission() {
    let g = Groups::start(VersionProfile::V12).await;
    let users = g.users("hand", 4).await;
    let id = g.create(json!({"displayName":"Hand","members":values(&users[..2])})).await;
    let team = g.team_id("Hand");
    // Someone edits the team in Grafana directly.
    g.h.grafana.add_team_member(team, users[2].0, grafana_emulator::TEAM_MEMBER);
    g.h.grafana.add_team_member(team, users[0].0, grafana_emulator::TEAM_ADMIN);
    let a = g.h.get(&format!("Groups/{id}")).await;
    assert_eq!(a.json()["members"].as_array().unwrap().len(), 3, "Grafana is the truth: {:?}", a.json());
    // SCIM replace of the member list: users 0 and 3.
    let keep = vec![users[0].clone(), users[3].clone()];
    g.patch_ok(&id, json!([{"op":"replace","path":"members","value":values(&keep)}])).await;
    assert_eq!(g.member_ids(team), ids(&keep));
    let perms: std::collections::HashMap<i64, i64> = g.h.grafana.team_members(team).into_iter().collect();
    assert_eq!(perms[&users[0].0], grafana_emulator::TEAM_ADMIN, "existing Admin kept");
    assert_eq!(perms[&users[3].0], grafana_emulator::TEAM_MEMBER);
}

#[tokio::test]
async fn concurrent_patches_never_lose_an_update() {
    let g = Groups::start(VersionProfile::V12).await;
    let users = g.users("conc", 12).await;
    let id = g.create(json!({"displayName":"Conc"})).await;
    let team = g.team_id("Conc");
    let path = format!("Groups/{id}");
    let mut tasks = Vec::new();
    for u in &users {
        let body = json!({"schemas":[PATCH_URN],"Operations":[{"op":"add","path":"members","value":[{"value":u.1}]}]});
        tasks.push(g.h.patch(&path, body));
    }
    for a in futures_util::future::join_all(tasks).await {
        assert_eq!(a.status, 204, "{a:?}");
    }
    assert_eq!(g.member_ids(team), ids(&users));
}

#[tokio::test]
async fn put_replaces_name_and_members_and_attributes_asks_for_a_body() {
    let g = Groups::start(VersionProfile::V11).await;
    let users = g.users("put", 3).await;
    let id = g.create(json!({"displayName":"Put","members":values(&users[..2])})).await;
    let team = g.team_id("Put");
    let a =
        g.h.put(
            &format!("Groups/{id}"),
            json!({"schemas":[GROUP_URN],"displayName":"Put 2","members":values(&users[2..])}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["displayName"], "Put 2");
    assert_eq!(g.h.grafana.team(team).unwrap().name, "Put 2");
    assert_eq!(g.member_ids(team), ids(&users[2..]));
    let a = g
        .h
        .patch(
            &format!("Groups/{id}?attributes=displayName"),
            json!({"schemas":[PATCH_URN],"Operations":[{"op":"replace","path":"displayName","value":"Put 3"}]}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["displayName"], "Put 3");
    assert!(a.json().get("members").is_none());
}

async fn proxied(
    g: &Groups,
    method: http::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", g.h.sidecar.url))
        .header("authorization", g.h.grafana.admin_basic_auth())
        .header("content-type", "application/json");
    req = req.header("x-grafana-org-id", "1");
    let body = body.map_or_else(scim_sidecar::body::empty, |b| scim_sidecar::body::full(b.to_string()));
    let res = g.h.client.request(req.body(body).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn passthrough_guard_protects_scim_managed_teams_only() {
    use http::Method;
    let g = Groups::start(VersionProfile::V12).await;
    let users = g.users("guard", 2).await;
    g.create(json!({"displayName":"Managed","members":values(&users[..1])})).await;
    let team = g.team_id("Managed");
    let hand = g.h.grafana.create_team(1, "Unmanaged");
    // A listing records the hand-made team (stable id) without managing it.
    assert_eq!(g.h.get("Groups?excludedAttributes=members").await.json()["totalResults"], 2);

    let refused = [
        (Method::DELETE, format!("/api/teams/{team}"), None, "Cannot delete provisioned teams"),
        (
            Method::PUT,
            format!("/api/teams/{team}"),
            Some(json!({"name":"Renamed","email":""})),
            "Team name cannot be changed for provisioned teams",
        ),
        (
            Method::POST,
            format!("/api/teams/{team}/members"),
            Some(json!({"userId": users[1].0})),
            "Team memberships cannot be updated for provisioned teams",
        ),
        (
            Method::PUT,
            format!("/api/teams/{team}/members"),
            Some(json!({"members":[]})),
            "Team memberships cannot be updated for provisioned teams",
        ),
        (
            Method::DELETE,
            format!("/api/teams/{team}/members/{}", users[0].0),
            None,
            "Team memberships cannot be updated for provisioned teams",
        ),
        (
            Method::POST,
            format!("/api/access-control/teams/{team}/users/{}", users[0].0),
            Some(json!({"permission":"Admin"})),
            "Team permissions cannot be updated for provisioned teams",
        ),
    ];
    for (m, path, body, message) in refused {
        let (status, body) = proxied(&g, m.clone(), &path, body).await;
        assert_eq!(status, 400, "{m} {path}: {body}");
        assert_eq!(body, json!({"message": message, "traceID": ""}));
    }
    assert_eq!(g.member_ids(team), ids(&users[..1]));
    assert_eq!(g.h.grafana.team(team).unwrap().name, "Managed");
    // Same name (an email change) passes.
    let (status, body) = proxied(
        &g,
        Method::PUT,
        &format!("/api/teams/{team}"),
        Some(json!({"name":"Managed","email":"m@x"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Unmanaged teams are Grafana's business.
    let (status, body) =
        proxied(&g, Method::POST, &format!("/api/teams/{hand}/members"), Some(json!({"userId": users[1].0})))
            .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = proxied(&g, Method::DELETE, &format!("/api/teams/{hand}"), None).await;
    assert_eq!(status, 200);
}
