//! The Grafana service-account token path of the SCIM edge: revocation within the cache TTL,
//! wrong org and missing permissions are refused.

use std::time::Duration;

use http::Method;

use crate::support::scim::{assert_scim_error, Harness};

async fn harness() -> Harness {
    Harness::start_with(Default::default(), |c| {
        c.scim.accept_grafana_tokens = true;
        c.scim.grafana_token_cache_ttl = Duration::from_millis(300);
    })
    .await
}

#[tokio::test]
async fn revoked_grafana_token_stops_working_within_the_ttl() {
    let h = harness().await;
    let token = h.grafana.create_service_account_token(1, "Admin");
    assert_eq!(h.call_as(Method::GET, "Users", None, Some(&token)).await.status, 200);
    h.grafana.revoke_token(&token);
    let mut status = 200;
    for _ in 0..100 {
        status = h.call_as(Method::GET, "Users", None, Some(&token)).await.status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "revocation must take effect once the cached verdict expires");
}

#[tokio::test]
async fn grafana_token_of_another_org_or_without_permissions_is_403() {
    let h = harness().await;
    let org2 = h.grafana.create_org("Second");
    let other = h.grafana.create_service_account_token(org2, "Admin");
    assert_scim_error(&h.call_as(Method::GET, "Users", None, Some(&other)).await, 403, None);
    let path = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}/Users");
    assert_eq!(h.call_as(Method::GET, &path, None, Some(&other)).await.status, 200);
    let viewer = h.grafana.create_service_account_token(1, "Viewer");
    assert_scim_error(&h.call_as(Method::GET, "Users", None, Some(&viewer)).await, 403, None);
}

/// A Grafana token speaks for its org only, yet the sidecar acts as a server admin: through such a
/// token, SCIM does not take over a server admin or a user of another org (that org's admins could
/// then rename, disable or delete them). A user of the token's own org is adopted as usual, and a
/// static token, which the operator configured, is not limited.
#[tokio::test]
async fn a_grafana_token_does_not_take_over_users_beyond_its_org() {
    let h = harness().await;
    let org2 = h.grafana.create_org("Second");
    let token = h.grafana.create_service_account_token(org2, "Admin");
    let users = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}/Users");
    let body = |login: &str| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": login,
            "emails": [{"value": login, "primary": true}],
            "displayName": "Taken Over",
        })
    };
    let only_in = |login: &str, org: i64| {
        let id = h.grafana.create_user(login, login, "Original");
        for o in h.grafana.user_orgs(id) {
            h.grafana.remove_org_user(o, id);
        }
        assert!(h.grafana.add_org_user(org, id, "Viewer"));
        id
    };
    let elsewhere = only_in("elsewhere@example.com", 1);
    let admin = only_in("root@example.com", org2);
    h.grafana.set_server_admin(admin, true);
    let local = only_in("local@example.com", org2);

    for (login, id) in [("elsewhere@example.com", elsewhere), ("root@example.com", admin)] {
        let a = h.call_as(Method::POST, &users, Some(body(login)), Some(&token)).await;
        assert_scim_error(&a, 409, Some("uniqueness"));
        let u = h.grafana.user(id).unwrap();
        assert_eq!((u.login.as_str(), u.name.as_str()), (login, "Original"), "untouched");
    }
    assert_eq!(h.grafana.user_orgs(elsewhere), vec![1], "not added to the token's org");

    let a = h.call_as(Method::POST, &users, Some(body("local@example.com")), Some(&token)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(h.grafana.user(local).unwrap().name, "Taken Over");

    let a = h.call(Method::POST, &users, Some(body("elsewhere@example.com"))).await;
    assert_eq!(a.status, 201, "a static token adopts as before: {a:?}");
}

/// The sidecar acts on any user of the org for a token, so a token must hold the permissions
/// over all of them: a grant scoped to one user is not enough.
#[tokio::test]
async fn grafana_token_with_permissions_scoped_to_some_users_is_403() {
    let h = harness().await;
    let scoped = h.grafana.create_service_account_token_with_permissions(
        1,
        "Viewer",
        &[
            ("orgs:read", ""),
            ("org.users:read", "users:id:5"),
            ("org.users:write", "users:id:5"),
            ("org.users:add", "users:id:5"),
            ("org.users:remove", "users:id:5"),
        ],
    );
    let a = h.call_as(Method::GET, "Users", None, Some(&scoped)).await;
    assert_scim_error(&a, 403, None);
    assert!(a.json()["detail"].as_str().unwrap().contains("over all users"), "{a:?}");
    let all = h.grafana.create_service_account_token_with_permissions(
        1,
        "Viewer",
        &[
            ("orgs:read", ""),
            ("org.users:read", "users:*"),
            ("org.users:write", "users:id:*"),
            ("org.users:add", "users:*"),
            ("org.users:remove", "*"),
        ],
    );
    let a = h.call_as(Method::GET, "Users", None, Some(&all)).await;
    assert_eq!(a.status, 200, "{a:?}");
}

/// An IdP's first burst with a new token asks Grafana about it once, not once per request.
#[tokio::test]
async fn concurrent_first_uses_of_a_grafana_token_ask_grafana_once() {
    let h = harness().await;
    let token = h.grafana.create_service_account_token(1, "Admin");
    h.grafana.set_latency(Duration::from_millis(50));
    let burst = (0..8).map(|_| h.call_as(Method::GET, "Users?count=1", None, Some(&token)));
    for a in futures_util::future::join_all(burst).await {
        assert_eq!(a.status, 200, "{a:?}");
    }
    assert_eq!(h.grafana.count("GET", "/api/access-control/user/permissions"), 1);
}
