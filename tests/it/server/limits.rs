//! Bounded work before authentication (issue 25 item 9): the connection limit, the body-read
//! deadline and the limit on bodies the passthrough guards buffer, each answered at once (closed,
//! 408, 503) and counted in `scim_sidecar_limit_rejections_total{limit}`, with Grafana untouched.

use std::time::Duration;

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use http::{Method, Request};
use scim_sidecar::config::{Config, GrafanaConfig, Secret, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{body_string, get, http1, read_until_close};
use crate::support::eventually;
use crate::support::sidecar::{grafana_config, server_config, spawn_proxy_with, spawn_sidecar, ProxyHandle};
use crate::support::upstream::Upstream;

const TOKEN: &str = "limits-test-token-0123456789abcdef";
const PASSWORD: &str = "emulator-admin-pw-limits";
const SAML: &str = "/api/v1/sso-settings/saml";

async fn metrics(sidecar: &ProxyHandle) -> String {
    body_string(get(&http1(), &format!("{}/metrics", sidecar.admin_url)).await).await
}

/// The value of `scim_sidecar_limit_rejections_total{limit="<limit>"}`, 0 when absent.
async fn rejections(sidecar: &ProxyHandle, limit: &str) -> u64 {
    let text = metrics(sidecar).await;
    let prefix = format!(r#"scim_sidecar_limit_rejections_total{{limit="{limit}"}} "#);
    text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map_or(0, |n| n.trim().parse().unwrap())
}

/// Reads one response (head and `Content-Length` body) without waiting for the connection to end.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed early: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                    })
                    .map_or(0, |v| v.parse::<usize>().unwrap());
                if buf.len() >= end + 4 + len {
                    return text;
                }
            }
        }
    })
    .await;
    read.expect("no complete response")
}

async fn emulator_sidecar(server: ServerConfig) -> (EmulatorHandle, ProxyHandle) {
    let g = Emulator::start(EmulatorOptions::enterprise().admin_password(PASSWORD)).await.unwrap();
    let mut config = Config {
        server,
        grafana: GrafanaConfig { password: Some(Secret::new(PASSWORD)), ..grafana_config(&g.url()) },
        ..Config::default()
    };
    config.scim.tokens = vec![Secret::new(TOKEN).into()];
    let sidecar = spawn_sidecar(config).await;
    (g, sidecar)
}

/// A guarded SAML-settings write whose body is announced at `len` bytes but only `sent` arrives.
fn partial_put(g: &EmulatorHandle, len: usize, sent: &str) -> String {
    format!(
        "PUT {SAML} HTTP/1.1\r\nHost: h\r\nAuthorization: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n{sent}",
        g.admin_basic_auth()
    )
}

async fn put_saml(sidecar: &ProxyHandle, g: &EmulatorHandle, body: &str) -> (u16, String) {
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{}{SAML}", sidecar.url))
        .header("authorization", g.admin_basic_auth())
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = http1().request(req).await.unwrap();
    let status = res.status().as_u16();
    (status, body_string(res).await)
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_at_once() {
    let up = Upstream::start().await;
    let server = ServerConfig { max_connections: 2, ..server_config() };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
        conn.write_all(b"GET /held HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
        let reply = read_response(&mut conn).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        held.push(conn);
    }
    // Both slots are taken by live keep-alive connections: a third is closed without an answer,
    // whether it speaks HTTP/1, h2 or nothing at all.
    for raw in [&b"GET /third HTTP/1.1\r\nHost: h\r\n\r\n"[..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b""] {
        let mut conn = TcpStream::connect(proxy.addr).await.unwrap();
        let _ = conn.write_all(raw).await;
        let reply = read_until_close(&mut conn).await;
        assert_eq!(reply, "", "a connection past the limit was served");
    }
    assert_eq!(up.paths(), ["/held", "/held"]);
    assert_eq!(rejections(&proxy, "connections").await, 3);
    // A freed slot is usable again.
    drop(held.pop());
    eventually("a slot frees when a connection ends", || async {
        let Ok(mut conn) = TcpStream::connect(proxy.addr).await else { return false };
        if conn.write_all(b"GET /again HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").await.is_err() {
            return false;
        }
        read_until_close(&mut conn).await.starts_with("HTTP/1.1 200")
    })
    .await;
    assert_eq!(up.paths().last().map(String::as_str), Some("/again"));
}

#[tokio::test]
async fn slow_bodies_get_408_in_the_protocols_format() {
    let server = ServerConfig { body_read_timeout: Duration::from_millis(300), ..server_config() };
    let (g, sidecar) = emulator_sidecar(server).await;
    // SCIM: an authenticated create whose body never completes.
    let mut conn = TcpStream::connect(sidecar.addr).await.unwrap();
    let scim = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 200\r\n\r\n{{\"userName\":"
    );
    conn.write_all(scim.as_bytes()).await.unwrap();
    let reply = read_response(&mut conn).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    let body: serde_json::Value =
        serde_json::from_str(&reply[reply.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["status"], "408", "{body}");
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{body}");
    assert_eq!(g.count("POST", "/api/admin/users"), 0);
    // A guarded Grafana write from a signed-in caller: Grafana's `{"message"}` shape, never forwarded.
    let mut conn = TcpStream::connect(sidecar.addr).await.unwrap();
    conn.write_all(partial_put(&g, 100, r#"{"settings":{"enabled":"#).as_bytes()).await.unwrap();
    let reply = read_response(&mut conn).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains(r#""message""#), "{reply}");
    assert_eq!(g.count("PUT", SAML), 0);
    // An anonymous one is not read at all: its caller is authenticated first and it streams to
    // Grafana, which answers 401 (item 8; `edge::unauthenticated_guarded_writes_...`).
    assert!(g.saml_active());
    assert_eq!(rejections(&sidecar, "body_read_timeout").await, 2);
    sidecar.stop().await;
}

#[tokio::test]
async fn guarded_bodies_past_max_buffered_bodies_get_503() {
    let server = ServerConfig { max_buffered_bodies: 2, ..server_config() };
    let (g, sidecar) = emulator_sidecar(server).await;
    let rest = "true}}";
    let start = r#"{"settings":{"enabled":"#;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut conn = TcpStream::connect(sidecar.addr).await.unwrap();
        conn.write_all(partial_put(&g, start.len() + rest.len(), start).as_bytes()).await.unwrap();
        slow.push(conn);
    }
    // Once both slow bodies hold their permits, a further guarded body is refused at once. (The
    // probe would be refused with 403 otherwise: Grafana is untouched either way.)
    eventually("both guard read permits are taken", || async {
        put_saml(&sidecar, &g, r#"{"settings":{"enabled":false}}"#).await.0 == 503
    })
    .await;
    let (status, body) = put_saml(&sidecar, &g, r#"{"settings":{"enabled":true}}"#).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""message""#), "{body}");
    assert_eq!(g.count("PUT", SAML), 0, "a refused body reached grafana");
    assert!(rejections(&sidecar, "buffered_bodies").await >= 2);
    // The slow bodies finish and pass; their permits return.
    let mut first = slow.remove(0);
    first.write_all(rest.as_bytes()).await.unwrap();
    let reply = read_response(&mut first).await;
    assert!(reply.starts_with("HTTP/1.1 204"), "{reply}");
    assert_eq!(g.count("PUT", SAML), 1);
    let (status, body) = put_saml(&sidecar, &g, r#"{"settings":{"enabled":true}}"#).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(g.count("PUT", SAML), 2);
    drop(slow);
    sidecar.stop().await;
}

/// A guarded body past `[server] max_body_bytes` gets one answer whichever guard needed it: 413 in
/// the refused API's shape, counted as an `unreadable` guard refusal, with Grafana untouched
/// (issue 26: the policy guard's body-read failures used to go uncounted).
#[tokio::test]
async fn guarded_bodies_past_max_body_bytes_get_one_counted_answer() {
    let server = ServerConfig { max_body_bytes: 64, ..server_config() };
    let (g, sidecar) = emulator_sidecar(server).await;
    let long = format!(r#"{{"settings":{{"enabled":true,"name":"{}"}}}}"#, "x".repeat(200));
    let (status, body) = put_saml(&sidecar, &g, &long).await;
    assert_eq!(status, 413, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["messageId"], "scim-sidecar.unreadable-body", "{body}");
    assert_eq!(body["statusCode"], 413, "{body}");
    assert_eq!(g.count("PUT", SAML), 0);
    // An identity-API team write the policy guard reads: a Kubernetes `Status`.
    let team = "/apis/iam.grafana.app/v0alpha1/namespaces/default/teams/t1";
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("{}{team}", sidecar.url))
        .header("authorization", g.admin_basic_auth())
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(format!(r#"{{"spec":{{"title":"{}"}}}}"#, "t".repeat(200))))
        .unwrap();
    let res = http1().request(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let status: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(
        (status["kind"].as_str(), status["reason"].as_str()),
        (Some("Status"), Some("RequestEntityTooLarge"))
    );
    let text = metrics(&sidecar).await;
    assert!(text.contains(r#"scim_sidecar_guard_refusals_total{kind="unreadable"} 2"#), "{text}");
    sidecar.stop().await;
}
