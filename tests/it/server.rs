//! The listener's own guarantees, checked at the byte level with raw TCP: framing refusals,
//! header limits, malformed requests, slowloris, keep-alive through the smuggling guard.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::support::client::{raw_exchange, read_until_close};
use crate::support::sidecar::{grafana_config, server_config, spawn_proxy, spawn_proxy_with};
use crate::support::upstream::Upstream;

fn status_line(reply: &str) -> &str {
    reply.lines().next().unwrap_or_default()
}

async fn assert_refused(raw: &str, status: &str) {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let reply = raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert!(status_line(&reply).starts_with(&format!("HTTP/1.1 {status}")), "{raw:?} → {reply}");
    assert!(!up.paths().iter().any(|p| p.starts_with("/smuggle")), "upstream saw {:?}", up.paths());
}

#[tokio::test]
async fn te_with_cl_is_400_and_never_forwarded() {
    assert_refused(
        "POST /smuggle HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "400",
    )
    .await;
    assert_refused(
        "POST /smuggle HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "400",
    )
    .await;
}

#[tokio::test]
async fn te_with_cl_after_a_good_request_is_400() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let raw = "GET /first HTTP/1.1\r\nHost: h\r\n\r\n\
               POST /smuggle HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let reply = raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("HTTP/1.1 400"), "{reply}");
    assert_eq!(up.paths(), ["/first"]);
}

#[tokio::test]
async fn transfer_encoding_other_than_chunked_is_400() {
    for te in ["gzip, chunked", "gzip", "chunked, chunked", "identity"] {
        assert_refused(
            &format!("POST /smuggle HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n"),
            "400",
        )
        .await;
    }
}

#[tokio::test]
async fn differing_content_lengths_are_400() {
    assert_refused(
        "POST /smuggle HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "400",
    )
    .await;
    assert_refused("POST /smuggle HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", "400").await;
}

#[tokio::test]
async fn malformed_request_is_400() {
    assert_refused("GARBAGE\r\n\r\n", "400").await;
    assert_refused("GET /smuggle HTTP/1.1\r\nBad Header\r\n\r\n", "400").await;
}

#[tokio::test]
async fn oversized_header_is_431() {
    let up = Upstream::start().await;
    let server = scim_sidecar::config::ServerConfig { max_header_bytes: 16 * 1024, ..server_config() };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    let raw = format!("GET /smuggle HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n", "a".repeat(32 * 1024));
    let reply = raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert!(status_line(&reply).starts_with("HTTP/1.1 431"), "{reply}");
    assert!(up.paths().is_empty());
}

#[tokio::test]
async fn keep_alive_requests_pass_the_guard() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let raw = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
               POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
               GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    let reply = raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert_eq!(reply.matches("HTTP/1.1 200").count(), 3, "{reply}");
    assert_eq!(up.paths(), ["/upload", "/upload", "/last"]);
}

#[tokio::test]
async fn slowloris_connection_is_closed_after_header_read_timeout() {
    let up = Upstream::start().await;
    let server = scim_sidecar::config::ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..server_config()
    };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    let mut conn = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(b"GET /smuggle HTTP/1.1\r\nHost: h\r\nX-Slow: ").await.unwrap();
    // Silence from here on: the server must close the connection on its own.
    let reply = read_until_close(&mut conn).await;
    assert!(reply.is_empty() || status_line(&reply).starts_with("HTTP/1.1 408"), "{reply}");
    assert!(up.paths().is_empty());
}

#[tokio::test]
async fn silent_connection_is_closed_after_header_read_timeout() {
    let up = Upstream::start().await;
    let server = scim_sidecar::config::ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..server_config()
    };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    let mut conn = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    assert_eq!(read_until_close(&mut conn).await, "");
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let up = Upstream::start().await;
    let server =
        scim_sidecar::config::ServerConfig { idle_timeout: Duration::from_millis(300), ..server_config() };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    // Keep-alive request; afterwards the client stays silent and the server must hang up.
    let reply = raw_exchange(proxy.addr, b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

mod limits;
