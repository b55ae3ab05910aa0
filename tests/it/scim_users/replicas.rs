//! Two replicas over one store: a replica reads a user by the Grafana id it remembers while the
//! store looks, and the store's record still decides whom it shows.

use http::Method;
use scim_sidecar::config::Secret;
use serde_json::json;

use super::{create, filter, patch_op, user_body};
use crate::support::scim::{sidecar_config, Harness};

#[tokio::test]
async fn a_remembered_user_never_outranks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    let u = url.clone();
    let h = Harness::start_with(Default::default(), move |c| c.store.url = Secret::new(u)).await;
    let alice = create(&h, "alice", "alice@example.com").await;

    // A remembered user costs one Grafana read, asked while the store looks.
    h.grafana.reset_calls();
    let a = filter(&h, r#"userName eq "alice""#).await;
    assert_eq!(a.json()["Resources"][0]["id"], json!(alice));
    assert_eq!(h.grafana.call_count(), 1, "{:?}", h.grafana.calls());

    // Another replica renames alice and gives her old userName to someone new.
    let mut config = sidecar_config(&h.grafana);
    config.store.url = Secret::new(url);
    let other = h.replica(config).await;
    let rename = patch_op(json!([{"op": "replace", "path": "userName", "value": "alice.old"}]));
    let a = h.call_via(&other, Method::PATCH, &format!("Users/{alice}"), Some(rename)).await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = h.post_via(&other, "Users", user_body("alice", "new.alice@example.com", None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let newcomer = a.json()["id"].as_str().unwrap().to_owned();

    // This sidecar still remembers "alice" as alice's Grafana user: the store names the
    // newcomer, so the newcomer is read (one more call) and shown.
    h.grafana.reset_calls();
    let a = filter(&h, r#"userName eq "alice""#).await;
    assert_eq!(a.json()["totalResults"], 1, "{a:?}");
    assert_eq!(a.json()["Resources"][0]["id"], json!(newcomer));
    assert_eq!(a.json()["Resources"][0]["emails"][0]["value"], "new.alice@example.com");
    assert_eq!(h.grafana.call_count(), 2, "the wrong guess and the right read: {:?}", h.grafana.calls());
    h.grafana.reset_calls();
    assert_eq!(filter(&h, r#"userName eq "alice""#).await.json()["Resources"][0]["id"], json!(newcomer));
    assert_eq!(h.grafana.call_count(), 1, "remembered now: {:?}", h.grafana.calls());

    // By id, alice is alice.old, as the other replica left her.
    let a = h.get(&format!("Users/{alice}")).await;
    assert_eq!(a.json()["userName"], "alice.old");
    assert_eq!(a.json()["emails"][0]["value"], "alice@example.com");

    // Deleted through the other replica: this one answers 404 and drops what it remembered.
    let a = h.call_via(&other, Method::DELETE, &format!("Users/{alice}"), None).await;
    assert_eq!(a.status, 204, "{a:?}");
    assert_eq!(h.get(&format!("Users/{alice}")).await.status, 404);
    h.grafana.reset_calls();
    assert_eq!(h.get(&format!("Users/{alice}")).await.status, 404);
    assert_eq!(h.grafana.call_count(), 0, "forgotten: {:?}", h.grafana.calls());
}
