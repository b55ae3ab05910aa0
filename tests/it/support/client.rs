//! Small clients for tests: hyper (h1, or h2 over TLS) and raw TCP byte-level exchanges.

use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scim_sidecar::body::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::certs::TestCerts;

pub type TestClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// A plain HTTP/1.1 client.
pub fn http1() -> TestClient {
    let tls = TestCerts::generate().client_config();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// A client trusting `certs`, negotiating h2 through ALPN.
pub fn tls_h2(certs: &TestCerts) -> TestClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(certs.client_config())
        .https_only()
        .enable_all_versions()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

pub async fn get(client: &TestClient, url: &str) -> Response<hyper::body::Incoming> {
    let req = Request::get(url).body(scim_sidecar::body::empty()).unwrap();
    client.request(req).await.unwrap()
}

pub async fn body_string(res: Response<hyper::body::Incoming>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn json(res: Response<hyper::body::Incoming>) -> serde_json::Value {
    serde_json::from_str(&body_string(res).await).unwrap()
}

/// Writes `raw` on a fresh connection and reads until the server closes it (bounded).
pub async fn raw_exchange(addr: std::net::SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    read_until_close(&mut stream).await
}

pub async fn read_until_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "server kept the connection open; got so far: {}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}
