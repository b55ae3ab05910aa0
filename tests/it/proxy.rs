//! Forwarding behaviour: header hygiene, streaming, WebSocket, TLS both sides, upstream failures.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, StatusCode, Version};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use scim_sidecar::body::BoxError;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use crate::support::client::{self, body_string, get, json};
use crate::support::sidecar::{grafana_config, server_config, spawn_proxy, spawn_proxy_with};
use crate::support::upstream::Upstream;
use crate::support::{certs::TestCerts, eventually, pattern, pattern_byte};

fn header_values(doc: &serde_json::Value, name: &str) -> Vec<String> {
    doc["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| kv[0] == name)
        .map(|kv| kv[1].as_str().unwrap().to_string())
        .collect()
}

/// A request carrying a spoofed forwarding chain and identity headers.
fn spoofed(url: &str) -> Request<scim_sidecar::body::Body> {
    Request::get(format!("{url}/api/search?query=a%20b"))
        .header(header::HOST, "grafana.example.com")
        .header("x-forwarded-for", "10.0.0.1")
        .header("X-Real-IP", "10.0.0.1")
        .header("forwarded", "for=10.0.0.1")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("X-WEBAUTH-USER", "admin")
        .header("x-webauth-groups", "admins")
        .header("x-custom-user", "admin")
        .body(scim_sidecar::body::empty())
        .unwrap()
}

/// Issue 25 item 3: from a peer that is not a trusted proxy, the forwarding chain is rebuilt from
/// the connection and Grafana's auth-proxy headers are removed.
#[tokio::test]
async fn preserves_host_and_appends_forwarded_headers() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let doc = json(client::http1().request(spoofed(&proxy.url)).await.unwrap()).await;
    assert_eq!(doc["path"], "/api/search?query=a%20b");
    assert_eq!(header_values(&doc, "host"), ["grafana.example.com"]);
    assert_eq!(header_values(&doc, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(header_values(&doc, "x-forwarded-proto"), ["http"]);
    assert_eq!(header_values(&doc, "x-forwarded-host"), ["grafana.example.com"]);
    for gone in ["x-real-ip", "forwarded", "x-webauth-user", "x-webauth-groups"] {
        assert!(header_values(&doc, gone).is_empty(), "{gone} was forwarded");
    }
    assert_eq!(header_values(&doc, "x-custom-user"), ["admin"]);
}

/// Issue 28: a well-formed `X-Request-Id` is kept, forwarded to Grafana and returned; a missing,
/// repeated or malformed one is replaced by a fresh UUID, the same on both sides.
#[tokio::test]
async fn request_ids_are_kept_or_generated_and_reach_grafana_and_the_client() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let send = |ids: &'static [&'static str]| {
        let mut req = Request::get(format!("{}/api/search", proxy.url));
        for id in ids {
            req = req.header("x-request-id", *id);
        }
        client::http1().request(req.body(scim_sidecar::body::empty()).unwrap())
    };
    let res = send(&["lb-7f3a.1"]).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-7f3a.1");
    assert_eq!(header_values(&json(res).await, "x-request-id"), ["lb-7f3a.1"]);

    let mut seen = std::collections::HashSet::new();
    for ids in [&[][..], &["two words"], &["a", "b"], &["x\"y"]] {
        let res = send(ids).await.unwrap();
        let returned = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&returned).is_ok(), "{ids:?} → {returned}");
        assert_eq!(
            header_values(&json(res).await, "x-request-id"),
            std::slice::from_ref(&returned),
            "{ids:?}"
        );
        assert!(seen.insert(returned), "ids repeat");
    }
    // Answers the sidecar makes itself carry one too.
    let down = client::http1()
        .request(
            Request::get(format!("{}/scim/v2/Users", proxy.url)).body(scim_sidecar::body::empty()).unwrap(),
        )
        .await
        .unwrap();
    assert!(down.headers().contains_key("x-request-id"));
}

/// A trusted proxy's chain is kept and appended to; `strip_headers` replaces the default list.
#[tokio::test]
async fn trusted_proxies_keep_their_chain_and_strip_headers_is_configurable() {
    let up = Upstream::start().await;
    let server = scim_sidecar::config::ServerConfig {
        trusted_proxies: vec!["127.0.0.0/8".into()],
        strip_headers: vec!["X-Custom-*".into()],
        ..server_config()
    };
    let proxy = spawn_proxy_with(server, grafana_config(&up.url), None).await;
    let doc = json(client::http1().request(spoofed(&proxy.url)).await.unwrap()).await;
    assert_eq!(header_values(&doc, "x-forwarded-for"), ["10.0.0.1, 127.0.0.1"]);
    assert_eq!(header_values(&doc, "x-real-ip"), ["10.0.0.1"]);
    assert_eq!(header_values(&doc, "x-forwarded-host"), ["evil.example, grafana.example.com"]);
    assert!(header_values(&doc, "x-custom-user").is_empty());
    assert_eq!(header_values(&doc, "x-webauth-user"), ["admin"]);
}

#[tokio::test]
async fn sub_path_in_grafana_url_forwards_client_path_as_is() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&format!("{}/grafana", up.url), false).await;
    let doc = json(get(&client::http1(), &format!("{}/grafana/api/health", proxy.url)).await).await;
    assert_eq!(doc["path"], "/grafana/api/health");
}

#[tokio::test]
async fn strips_hop_by_hop_request_headers() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let raw = "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close, X-Private\r\nX-Private: secret\r\n\
               Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n\
               Proxy-Authorization: Basic eDp5\r\nUpgrade: h2c\r\nX-Kept: 1\r\n\r\n";
    let reply = client::raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let body = &reply[reply.find("\r\n\r\n").unwrap() + 4..];
    let doc: serde_json::Value = serde_json::from_str(body).unwrap();
    let names: Vec<&str> =
        doc["headers"].as_array().unwrap().iter().map(|kv| kv[0].as_str().unwrap()).collect();
    for gone in ["x-private", "keep-alive", "proxy-connection", "te", "proxy-authorization", "upgrade"] {
        assert!(!names.contains(&gone), "{gone} was forwarded: {names:?}");
    }
    assert!(names.contains(&"x-kept"));
    // hyper's client adds its own `connection` only when needed; ours must not leak.
    assert!(!header_values(&doc, "connection").iter().any(|v| v.contains("X-Private")));
}

#[tokio::test]
async fn strips_hop_by_hop_response_headers() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let res = get(&client::http1(), &format!("{}/hop", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::OK);
    for gone in ["x-upstream-private", "keep-alive", "proxy-authenticate"] {
        assert!(res.headers().get(gone).is_none(), "{gone} leaked");
    }
    assert_eq!(res.headers()["x-kept"], "yes");
    assert_eq!(body_string(res).await, "hop");
}

const BIG: u64 = 256 * 1024 * 1024;

#[tokio::test]
async fn streams_large_download_without_buffering() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let res = get(&client::http1(), &format!("{}/stream?bytes={BIG}&hold=1", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut released = false;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.unwrap().into_data() else { continue };
        if len == 0 {
            assert_eq!(data[0], pattern_byte(0));
        }
        hasher.update(&data);
        len += data.len() as u64;
        // Data reached us while the upstream still held back the rest: nothing buffers the whole body.
        if !released {
            released = true;
            up.release();
        }
    }
    assert_eq!(len, BIG);
    let mut expected = Sha256::new();
    let mut offset = 0;
    while offset < BIG {
        let n = (1u64 << 20).min(BIG - offset);
        expected.update(pattern(offset, n as usize));
        offset += n;
    }
    assert_eq!(hasher.finalize(), expected.finalize());
}

#[tokio::test]
async fn streams_large_upload_without_buffering() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(4);
    let state = up.state.clone();
    let producer = tokio::spawn(async move {
        let mut expected = Sha256::new();
        let mut offset = 0u64;
        while offset < BIG {
            let n = (1u64 << 20).min(BIG - offset);
            let chunk = pattern(offset, n as usize);
            expected.update(&chunk);
            tx.send(Ok(Frame::data(chunk))).await.unwrap();
            offset += n;
            if offset == n {
                // The upstream must see the start of the upload before the client sends more.
                let st = state.clone();
                eventually("upstream received the first chunk", || {
                    let st = st.clone();
                    async move { st.upload_progress.load(Ordering::SeqCst) > 0 }
                })
                .await;
            }
        }
        hex::encode(expected.finalize())
    });
    let body = StreamBody::new(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let req = Request::post(format!("{}/upload", proxy.url)).body(BodyExt::boxed_unsync(body)).unwrap();
    let doc = json(client::http1().request(req).await.unwrap()).await;
    let expected = producer.await.unwrap();
    assert_eq!(doc["len"], BIG);
    assert_eq!(doc["sha256"], expected);
}

#[tokio::test]
async fn websocket_echo_through_proxy() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let (mut ws, res) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/live/ws", proxy.addr)).await.unwrap();
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::Text("hello live".into())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Text("hello live".into()));
    let blob = vec![7u8; 200_000];
    ws.send(Message::Binary(blob.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(blob));
    ws.close(None).await.unwrap();
}

/// Issue 25 item 3: a WebSocket handshake is normalised like any request: identity headers and
/// fields named in `Connection` are gone, the forwarding chain is rebuilt, the upgrade still works.
#[tokio::test]
async fn websocket_handshakes_lose_identity_and_connection_named_headers() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let mut req = format!("ws://{}/api/live/ws", proxy.addr).into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("connection", "Upgrade, X-Grafana-Org-Id".parse().unwrap());
    h.insert("x-grafana-org-id", "2".parse().unwrap());
    h.insert("x-webauth-user", "admin".parse().unwrap());
    h.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
    h.insert("x-real-ip", "10.0.0.1".parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    let seen: Vec<&str> = res.headers()["x-seen-headers"].to_str().unwrap().split(',').collect();
    for gone in ["x-grafana-org-id", "x-webauth-user", "x-real-ip"] {
        assert!(!seen.contains(&gone), "{gone} reached the upstream: {seen:?}");
    }
    assert!(seen.contains(&"upgrade") && seen.contains(&"sec-websocket-key"), "{seen:?}");
    assert_eq!(res.headers()["x-seen-forwarded-for"], "127.0.0.1");
    ws.send(Message::Text("still live".into())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Text("still live".into()));
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn declined_upgrade_closes_the_connection() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    // The echo route answers 200 to an upgrade request; the connection must not be reused.
    let raw = "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    let reply = client::raw_exchange(proxy.addr, raw.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.to_ascii_lowercase().contains("connection: close"), "{reply}");
}

#[tokio::test]
async fn tls_h2_client_to_https_upstream() {
    let certs = TestCerts::generate();
    let up = Upstream::start_tls(&certs).await;
    let mut grafana = grafana_config(&up.url);
    grafana.ca_file = Some(certs.ca_file.clone());
    let proxy = spawn_proxy_with(server_config(), grafana, Some(&certs)).await;
    let res = get(&client::tls_h2(&certs), &format!("{}/echo", proxy.url)).await;
    assert_eq!(res.version(), Version::HTTP_2);
    let doc = json(res).await;
    let client_host = format!("localhost:{}", proxy.addr.port());
    assert_eq!(header_values(&doc, "x-forwarded-proto"), ["https"]);
    assert_eq!(header_values(&doc, "x-forwarded-host"), std::slice::from_ref(&client_host));
    // Grafana was reached over h2 (ALPN) through the operator CA.
    assert_eq!(doc["version"], "HTTP/2.0");
    assert_eq!(header_values(&doc, "host"), [client_host]);
}

#[tokio::test]
async fn https_upstream_with_unknown_ca_is_502() {
    let certs = TestCerts::generate();
    let up = Upstream::start_tls(&certs).await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let res = get(&client::http1(), &format!("{}/echo", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn insecure_skip_verify_reaches_https_upstream_without_ca() {
    let certs = TestCerts::generate();
    let up = Upstream::start_tls(&certs).await;
    let mut grafana = grafana_config(&up.url);
    grafana.insecure_skip_verify = true;
    let proxy = spawn_proxy_with(server_config(), grafana, None).await;
    let res = get(&client::http1(), &format!("{}/echo", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn upstream_down_is_502_plain_text() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (proxy, _) = spawn_proxy(&format!("http://127.0.0.1:{port}"), false).await;
    let res = get(&client::http1(), &format!("{}/api/health", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(body_string(res).await, "grafana is unreachable\n");
}

#[tokio::test]
async fn slow_upstream_is_504() {
    let up = Upstream::start().await;
    let mut grafana = grafana_config(&up.url);
    grafana.request_timeout = Duration::from_millis(300);
    let proxy = spawn_proxy_with(server_config(), grafana, None).await;
    let res = get(&client::http1(), &format!("{}/sleep?ms=20000", proxy.url)).await;
    assert_eq!(res.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
}

#[tokio::test]
async fn client_disconnect_cancels_upstream_request() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let mut conn = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    conn.write_all(b"GET /sleep?ms=60000 HTTP/1.1\r\nHost: h\r\n\r\n").await.unwrap();
    let st = up.state.clone();
    eventually("upstream started the request", || {
        let st = st.clone();
        async move { st.sleeping.load(Ordering::SeqCst) == 1 }
    })
    .await;
    assert_eq!(up.state.connections_closed.load(Ordering::SeqCst), 0);
    drop(conn);
    let st = up.state.clone();
    eventually("upstream saw its connection close", || {
        let st = st.clone();
        async move { st.connections_closed.load(Ordering::SeqCst) == 1 }
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests() {
    let up = Upstream::start().await;
    let (proxy, _) = spawn_proxy(&up.url, false).await;
    let url = format!("{}/sleep?ms=500", proxy.url);
    let in_flight = tokio::spawn(async move { get(&client::http1(), &url).await.status() });
    let st = up.state.clone();
    eventually("request reached upstream", || {
        let st = st.clone();
        async move { st.sleeping.load(Ordering::SeqCst) == 1 }
    })
    .await;
    let addr = proxy.addr;
    proxy.stop().await;
    assert_eq!(in_flight.await.unwrap(), StatusCode::OK);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
