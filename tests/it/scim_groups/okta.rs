//! Okta Group Push: create with `members: []`, 256-member mixed PATCH, rename with id, full
//! replace, paging, and the upstream call budgets.

use grafana_emulator::VersionProfile;
use serde_json::json;

use super::support::*;

async fn okta_push(version: VersionProfile) {
    let g = Groups::start(version).await;
    let users = g.users("okta", 300).await;
    let id = g.create(json!({"schemas":[GROUP_URN],"displayName":"Okta Push","members":[]})).await;
    let team = g.team_id("Okta Push");
    assert!(g.member_ids(team).is_empty());
    // First push: 256 members.
    g.patch_ok(&id, json!([{"op":"add","path":"members","value":values(&users[..256])}])).await;
    assert_eq!(g.member_ids(team), ids(&users[..256]));

    // 256-member PATCH mixing removes and adds: out 0..128, in 256..300 and back 0..84.
    let mut ops = Vec::new();
    for (_, s) in &users[..128] {
        ops.push(json!({"op":"remove","path":format!("members[value eq \"{s}\"]")}));
    }
    ops.push(json!({"op":"add","path":"members","value":values(&users[256..])}));
    let readd: Vec<_> = users[..84].iter().map(|(_, s)| json!({"value": s, "display": "x"})).collect();
    ops.push(json!({"op":"add","path":"members","value":readd}));
    g.h.grafana.reset_calls();
    g.patch_ok(&id, json!(ops)).await;
    let calls = g.h.grafana.call_count();
    let mut want: Vec<(i64, String)> = users[..84].to_vec();
    want.extend_from_slice(&users[128..]);
    assert_eq!(g.member_ids(team), ids(&want));
    if version != VersionProfile::V10 {
        assert!(calls <= 4, "256-member PATCH cost {calls} upstream calls: {:?}", g.h.grafana.calls());
    }

    // Rename with id in the value; a repeat of the same name costs no write.
    let rename = json!([{"op":"replace","value":{"id":id,"displayName":"Okta Renamed"}}]);
    g.patch_ok(&id, rename.clone()).await;
    assert_eq!(g.h.grafana.team(team).unwrap().name, "Okta Renamed");
    g.h.grafana.reset_calls();
    g.patch_ok(&id, rename).await;
    assert_eq!(g.h.grafana.count("PUT", &format!("/api/teams/{team}")), 0);
    assert_eq!(g.h.grafana.call_count(), 0, "{:?}", g.h.grafana.calls());

    // Full replace of the member list.
    g.patch_ok(&id, json!([{"op":"replace","path":"members","value":values(&users[10..20])}])).await;
    assert_eq!(g.member_ids(team), ids(&users[10..20]));
    g.patch_ok(&id, json!([{"op":"replace","path":"members","value":[]}])).await;
    assert!(g.member_ids(team).is_empty());
}

#[tokio::test]
async fn okta_group_push_with_bulk_route() {
    okta_push(VersionProfile::V12).await;
}

#[tokio::test]
async fn okta_group_push_without_bulk_route() {
    okta_push(VersionProfile::V10).await;
}

#[tokio::test]
async fn paging_over_groups_is_stable_and_cheap() {
    let g = Groups::start(VersionProfile::V12).await;
    for i in 0..25 {
        g.h.grafana.create_team(1, &format!("team-{i:02}"));
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        g.h.grafana.reset_calls();
        let a = g.h.get(&format!("Groups?excludedAttributes=members&startIndex={start}&count=7")).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert!(g.h.grafana.call_count() <= 2, "{:?}", g.h.grafana.calls());
        assert_eq!(a.json()["totalResults"], 25);
        assert_eq!(a.json()["startIndex"], start);
        let page = a.json()["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|r| r["displayName"].as_str().unwrap().to_string()));
        start += page.len();
    }
    let want: Vec<String> = (0..25).map(|i| format!("team-{i:02}")).collect();
    assert_eq!(seen, want);
    // An unaligned window spans two Grafana pages.
    g.h.grafana.reset_calls();
    let a = g.h.get("Groups?excludedAttributes=members&startIndex=5&count=10").await;
    assert_eq!(a.json()["Resources"][0]["displayName"], "team-04");
    assert_eq!(a.json()["itemsPerPage"], 10);
    assert!(g.h.grafana.call_count() <= 2);
    // Ids are stable across reads.
    let one = g.h.get("Groups?count=1").await.json()["Resources"][0]["id"].clone();
    let two = g.h.get("Groups?count=1").await.json()["Resources"][0]["id"].clone();
    assert_eq!(one, two);
    let by_id = g.h.get(&format!("Groups?filter=id+eq+%22{}%22", one.as_str().unwrap())).await;
    assert_eq!(by_id.json()["totalResults"], 1);
    let none = g.h.get("Groups?filter=externalId+eq+%22nope%22").await;
    assert_eq!(none.json()["totalResults"], 0);
}
