//! The admin listener of the real sidecar: liveness, readiness and metrics.

use crate::support::client::{body_string, get, http1};
use crate::support::sidecar::spawn_proxy;
use crate::support::upstream::Upstream;

async fn fetch(url: &str) -> (u16, String) {
    let res = get(&http1(), url).await;
    let status = res.status().as_u16();
    (status, body_string(res).await)
}

#[tokio::test]
async fn healthz_metrics_and_readyz() {
    let upstream = Upstream::start().await;
    let (sidecar, _) = spawn_proxy(&upstream.url, false).await;
    let (status, body) = fetch(&format!("{}/healthz", sidecar.admin_url)).await;
    assert_eq!(status, 200);
    assert_eq!(body, "ok\n");
    // One proxied request shows up in the metrics by route class and status.
    let (status, _) = fetch(&format!("{}/anything", sidecar.url)).await;
    assert_eq!(status, 200);
    let (_, metrics) = fetch(&format!("{}/metrics", sidecar.admin_url)).await;
    assert!(
        metrics.contains(r#"scim_sidecar_http_requests_total{route="proxy",status="200"} 1"#),
        "{metrics}"
    );
    // The test upstream answers every path, /api/health included, with 200 JSON: ready.
    let (status, body) = fetch(&format!("{}/readyz", sidecar.admin_url)).await;
    assert_eq!(status, 200, "{body}");
    sidecar.stop().await;
}

#[tokio::test]
async fn readyz_is_503_while_grafana_is_down() {
    // Port 1 on loopback: nothing listens there, so every connection is refused.
    let (sidecar, _) = spawn_proxy("http://127.0.0.1:1", false).await;
    let (status, body) = fetch(&format!("{}/readyz", sidecar.admin_url)).await;
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false, "{body}");
    assert_eq!(v["checks"]["grafana"]["ok"], false, "{body}");
    assert_eq!(v["checks"]["store"]["ok"], true, "{body}");
    let (status, _) = fetch(&format!("{}/healthz", sidecar.admin_url)).await;
    assert_eq!(status, 200, "alive even when not ready");
    // A proxied request gets 502 and is counted as an upstream connect failure.
    let (status, _) = fetch(&format!("{}/api/dashboards/home", sidecar.url)).await;
    assert_eq!(status, 502);
    let (_, metrics) = fetch(&format!("{}/metrics", sidecar.admin_url)).await;
    assert!(metrics.contains(r#"scim_sidecar_upstream_errors_total{kind="connect"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"scim_sidecar_http_requests_total{route="proxy",status="502"} 1"#),
        "{metrics}"
    );
    sidecar.stop().await;
}
