//! One answer per cause and one set of metric labels, whatever the resource type (issue 26).

use serde_json::json;

use crate::scim_users::{create, patch_op, user_body};
use crate::support::client::{body_string, get, http1};
use crate::support::scim::{assert_scim_error, Harness};

async fn metrics(h: &Harness) -> String {
    body_string(get(&http1(), &format!("{}/metrics", h.sidecar.admin_url)).await).await
}

#[tokio::test]
async fn grafana_failures_get_the_same_answer_on_users_and_groups() {
    let h = Harness::start().await;
    // Grafana 5xx: 502, without Grafana's message.
    h.grafana.fail_next("POST", "/api/admin/users", 500, 1);
    let user = h.post("Users", user_body("u5@example.com", "u5@example.com", None)).await;
    h.grafana.fail_next("POST", "/api/teams", 500, 1);
    let group = h.post("Groups", json!({"displayName": "G5"})).await;
    for a in [&user, &group] {
        assert_scim_error(a, 502, None);
        assert_eq!(a.json()["detail"], "Grafana failed to process the request", "{a:?}");
    }
    // An unexpected Grafana 4xx: 502 with the status only.
    h.grafana.fail_next("POST", "/api/admin/users", 400, 1);
    let user = h.post("Users", user_body("u4@example.com", "u4@example.com", None)).await;
    h.grafana.fail_next("POST", "/api/teams", 400, 1);
    let group = h.post("Groups", json!({"displayName": "G4"})).await;
    for a in [&user, &group] {
        assert_scim_error(a, 502, None);
        assert_eq!(a.json()["detail"], "Grafana answered 400", "{a:?}");
    }
    // Grafana unreachable: 503 with Retry-After.
    h.grafana.drop_connections("POST", "/api/admin/users", 1);
    let user = h.post("Users", user_body("ux@example.com", "ux@example.com", None)).await;
    h.grafana.drop_connections("POST", "/api/teams", 1);
    let group = h.post("Groups", json!({"displayName": "GX"})).await;
    for a in [&user, &group] {
        assert_scim_error(a, 503, None);
        assert_eq!(a.header("retry-after"), Some("5"), "{a:?}");
    }
}

#[tokio::test]
async fn operations_are_counted_with_the_same_labels_for_users_and_groups() {
    let h = Harness::start().await;
    create(&h, "m@example.com", "m@example.com").await;
    assert_eq!(h.post("Groups", json!({"displayName": "Team M"})).await.status, 201);
    assert_scim_error(&h.post("Users", user_body("m@example.com", "m@example.com", None)).await, 409, None);
    assert_scim_error(&h.post("Groups", json!({"displayName": "team m"})).await, 409, None);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    assert_eq!(h.post("Groups/.search", search.clone()).await.status, 200);
    assert_eq!(h.post("Users/.search", search).await.status, 200);
    let text = metrics(&h).await;
    for resource in ["User", "Group"] {
        for (operation, outcome) in [("create", "ok"), ("create", "refused"), ("search", "ok")] {
            let series = format!(
                r#"scim_sidecar_scim_operations_total{{resource="{resource}",operation="{operation}",outcome="{outcome}"}} 1"#
            );
            assert!(text.contains(&series), "{series} missing from:\n{text}");
        }
    }
    assert!(!text.contains(r#"resource="groups""#) && !text.contains(r#"outcome="rejected""#));
}

#[tokio::test]
async fn normalised_patch_shapes_are_counted_at_the_edge() {
    let h = Harness::start().await;
    let id = create(&h, "shape@example.com", "shape@example.com").await;
    // Entra's capitalised op and a boolean sent as a string.
    let ops = patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let a = h.patch(&format!("Users/{id}"), ops).await;
    assert_eq!(a.status, 200, "{a:?}");
    let group = h.post("Groups", json!({"displayName": "Shapes"})).await;
    let gid = group.json()["id"].as_str().unwrap().to_string();
    let ops = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Shapes 2"}]));
    assert_eq!(h.patch(&format!("Groups/{gid}"), ops).await.status, 204);
    let text = metrics(&h).await;
    assert!(text.contains(r#"scim_sidecar_scim_normalised_shapes_total{kind="capitalised_op"} 2"#), "{text}");
    assert!(text.contains(r#"scim_sidecar_scim_normalised_shapes_total{kind="string_boolean"} 1"#), "{text}");
}
