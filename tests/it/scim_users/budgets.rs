//! Upstream call budgets of the issue: create ≤ 3, GET by id 1, userName eq filter ≤ 2, a page
//! of 100 ≤ 3 whatever the total.

use super::{create, filter, user_body};
use crate::support::scim::Harness;

#[tokio::test]
async fn grafana_call_budgets() {
    let h = Harness::start().await;
    // Warm-up: the first create reads Grafana's auto-assign settings once.
    create(&h, "warm@example.com", "warm@example.com").await;
    h.grafana.reset_calls();
    let a = h.post("Users", user_body("budget@example.com", "budget@example.com", None)).await;
    assert_eq!(a.status, 201);
    assert!(h.grafana.call_count() <= 3, "create: {:?}", h.grafana.calls());
    let id = a.json()["id"].as_str().unwrap().to_string();
    let different_email = user_body("budget2", "budget2@example.com", None);
    h.grafana.reset_calls();
    assert_eq!(h.post("Users", different_email).await.status, 201);
    assert!(h.grafana.call_count() <= 3, "create with email: {:?}", h.grafana.calls());

    h.grafana.reset_calls();
    assert_eq!(h.get(&format!("Users/{id}")).await.status, 200);
    assert_eq!(h.grafana.call_count(), 1, "{:?}", h.grafana.calls());

    h.grafana.reset_calls();
    assert_eq!(filter(&h, r#"userName eq "budget@example.com""#).await.json()["totalResults"], 1);
    assert!(h.grafana.call_count() <= 2, "{:?}", h.grafana.calls());
    h.grafana.reset_calls();
    assert_eq!(filter(&h, r#"userName eq "admin""#).await.json()["totalResults"], 1);
    assert!(h.grafana.call_count() <= 2, "unmanaged userName: {:?}", h.grafana.calls());

    for i in 0..250 {
        h.grafana.create_user(&format!("bulk{i:03}"), &format!("bulk{i:03}@example.com"), "Bulk");
    }
    for start in [1, 101, 151, 201] {
        h.grafana.reset_calls();
        let a = h.get(&format!("Users?startIndex={start}&count=100")).await;
        assert!(!a.json()["Resources"].as_array().unwrap().is_empty());
        assert!(h.grafana.call_count() <= 3, "page at {start}: {:?}", h.grafana.calls());
    }
}

#[tokio::test]
async fn broad_filters_scan_within_bounds() {
    let h = Harness::start_with(Default::default(), |c| {
        c.scim.max_results = 5;
        c.scim.default_page_size = 5;
    })
    .await;
    for i in 0..5 {
        create(&h, &format!("scan{i}@example.com"), &format!("scan{i}@example.com")).await;
    }
    let a = filter(&h, r#"userName sw "scan" and active eq true"#).await;
    assert_eq!(a.json()["totalResults"], 5, "{:?}", a);
    let a = filter(&h, r#"name.givenName eq "Given""#).await;
    assert_eq!(a.json()["totalResults"], 5);
    // Six users match (with the admin): more than max_results.
    let a = filter(&h, "userName pr").await;
    crate::support::scim::assert_scim_error(&a, 400, Some("tooMany"));
    for i in 0..50 {
        h.grafana.create_user(&format!("many{i}"), &format!("many{i}@example.com"), "Many");
    }
    let a = filter(&h, r#"displayName co "zzz""#).await;
    crate::support::scim::assert_scim_error(&a, 400, Some("tooMany"));
    crate::support::scim::assert_scim_error(&filter(&h, "userName eq").await, 400, Some("invalidFilter"));
}
