//! Group writes through a Grafana service-account token stay within the token's org (issue 25,
//! item 1): adding and removing team members of the namespace's org never changes a user across
//! the instance, even when the member is a server admin or belongs to other orgs too.

use std::time::Duration;

use http::Method;
use serde_json::json;

use super::support::{GROUP_URN, PATCH_URN};
use crate::support::scim::Harness;

#[tokio::test]
async fn group_writes_through_a_grafana_token_change_no_user_instance_wide() {
    let h = Harness::start_with(Default::default(), |c| {
        c.scim.accept_grafana_tokens = true;
        c.scim.grafana_token_cache_ttl = Duration::from_secs(60);
    })
    .await;
    let org2 = h.grafana.create_org("Second");
    let token = h.grafana.create_service_account_token(org2, "Admin");
    // The sidecar's credential manages teams of orgs it belongs to.
    let admin = h.grafana.user_by_login("admin").unwrap().id;
    assert!(h.grafana.add_org_user(org2, admin, "Admin"));
    let base = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}");
    let root = h.grafana.create_user("root@example.com", "root@example.com", "Root");
    assert!(h.grafana.add_org_user(org2, root, "Viewer"));
    h.grafana.set_server_admin(root, true);
    let snapshot = |h: &Harness| {
        let u = h.grafana.user(root).unwrap();
        let mut orgs = h.grafana.user_orgs(root);
        orgs.sort_unstable();
        (u.login, u.email, u.name, u.is_admin, u.is_disabled, u.password, orgs)
    };
    let before = snapshot(&h);
    let q = "filter=userName%20eq%20%22root%40example.com%22";
    let a = h.call_as(Method::GET, &format!("{base}/Users?{q}"), None, Some(&token)).await;
    let member = a.json()["Resources"][0]["id"].as_str().unwrap().to_string();

    let body = json!({"schemas": [GROUP_URN], "displayName": "Ops", "members": [{"value": member}]});
    let a = h.call_as(Method::POST, &format!("{base}/Groups"), Some(body), Some(&token)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let group = a.json()["id"].as_str().unwrap().to_string();
    let team = h.grafana.team_by_name(org2, "Ops").unwrap().id;
    assert!(h.grafana.team_members(team).iter().any(|(u, _)| *u == root));
    let remove = json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]});
    let a = h.call_as(Method::PATCH, &format!("{base}/Groups/{group}"), Some(remove), Some(&token)).await;
    assert!(a.status == 200 || a.status == 204, "{a:?}");
    assert!(h.grafana.team_members(team).is_empty());
    assert_eq!(snapshot(&h), before, "the member's account is untouched");
}
