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
