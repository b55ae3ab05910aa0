//! A real hyper upstream on 127.0.0.1:0 standing in for Grafana (HTTP/1.1 + h2, optional TLS).
//!
//! Routes:
//! - `/stream?bytes=N[&hold=1]`: N pattern bytes in 64 KiB chunks; with `hold`, only the first
//!   chunk is sent until [`Upstream::release`] is called.
//! - `/upload`: reads the body as it arrives (progress in [`Upstream::upload_progress`]) and answers
//!   `{"len": .., "sha256": ..}`.
//! - `/sleep?ms=N`: answers after N ms; [`Upstream::sleeping`] counts started sleeps.
//! - `/hop`: a response carrying hop-by-hop fields.
//! - `/api/live/ws`: WebSocket echo; the handshake answer lists the request's header names, and
//!   `X-Forwarded-For` as received, in `x-seen-headers` / `x-seen-forwarded-for`.
//! - anything else: the request (method, path, version, headers) as JSON.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use scim_sidecar::body::{self, Body, BoxError};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::certs::TestCerts;

#[derive(Default)]
pub struct State {
    pub paths: Mutex<Vec<String>>,
    pub sleeping: AtomicUsize,
    pub connections_closed: AtomicUsize,
    pub upload_progress: AtomicU64,
    release: Notify,
}

pub struct Upstream {
    pub url: String,
    pub state: Arc<State>,
}

impl Upstream {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    pub async fn start_tls(certs: &TestCerts) -> Self {
        Self::start_with(Some(certs.acceptor())).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let host = if tls.is_some() { format!("localhost:{}", addr.port()) } else { addr.to_string() };
        let state = Arc::new(State::default());
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let st = st.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve(TokioIo::new(stream), st.clone()).await,
                        Some(acc) => {
                            if let Ok(s) = acc.accept(stream).await {
                                serve(TokioIo::new(s), st.clone()).await;
                            }
                        }
                    }
                    st.connections_closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self { url: format!("{scheme}://{host}"), state }
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }

    /// Lets a held `/stream` continue.
    pub fn release(&self) {
        self.state.release.notify_one();
    }
}

async fn serve<I>(io: I, state: Arc<State>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(route(req, state).await) }
    });
    let _ = auto::Builder::new(TokioExecutor::new()).serve_connection_with_upgrades(io, svc).await;
}

fn query_num(req: &Request<Incoming>, key: &str) -> Option<u64> {
    req.uri().query()?.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

async fn route(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    state.paths.lock().unwrap().push(path.clone());
    match req.uri().path() {
        "/stream" => stream(&req, state),
        "/upload" => upload(req, state).await,
        "/sleep" => {
            state.sleeping.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(query_num(&req, "ms").unwrap_or(0))).await;
            Response::new(body::full("slept"))
        }
        "/hop" => Response::builder()
            .header(header::CONNECTION, "x-upstream-private")
            .header("x-upstream-private", "1")
            .header("keep-alive", "timeout=5")
            .header(header::PROXY_AUTHENTICATE, "Basic realm=x")
            .header("x-kept", "yes")
            .body(body::full("hop"))
            .unwrap(),
        "/api/live/ws" => websocket(req),
        _ => echo(&req),
    }
}

fn echo(req: &Request<Incoming>) -> Response<Body> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let doc = serde_json::json!({
        "method": req.method().as_str(),
        "path": req.uri().path_and_query().map(|p| p.to_string()),
        "authority": req.uri().authority().map(|a| a.to_string()),
        "version": format!("{:?}", req.version()),
        "headers": headers,
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(body::full(doc.to_string()))
        .unwrap()
}

fn stream(req: &Request<Incoming>, state: Arc<State>) -> Response<Body> {
    const CHUNK: u64 = 64 * 1024;
    let total = query_num(req, "bytes").unwrap_or(0);
    let hold = query_num(req, "hold") == Some(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(2);
    tokio::spawn(async move {
        let mut sent = 0u64;
        while sent < total {
            let n = CHUNK.min(total - sent);
            if tx.send(Ok(Frame::data(super::pattern(sent, n as usize)))).await.is_err() {
                return;
            }
            sent += n;
            if hold && sent == n {
                state.release.notified().await;
            }
        }
    });
    let body = StreamBody::new(tokio_stream_from(rx));
    Response::builder().header(header::CONTENT_LENGTH, total).body(BodyExt::boxed_unsync(body)).unwrap()
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn upload(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let mut body = req.into_body();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Response::builder().status(StatusCode::BAD_REQUEST).body(body::empty()).unwrap();
        };
        if let Ok(data) = frame.into_data() {
            hasher.update(&data);
            len += data.len() as u64;
            state.upload_progress.store(len, Ordering::SeqCst);
        }
    }
    let doc = serde_json::json!({ "len": len, "sha256": hex::encode(hasher.finalize()) });
    Response::new(body::full(doc.to_string()))
}

fn websocket(mut req: Request<Incoming>) -> Response<Body> {
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return Response::builder().status(StatusCode::BAD_REQUEST).body(body::empty()).unwrap();
    };
    let seen: Vec<&str> = req.headers().keys().map(http::HeaderName::as_str).collect();
    let seen = seen.join(",");
    let forwarded_for = req.headers().get("x-forwarded-for").cloned();
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                break;
            }
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                break;
            }
        }
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut res = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-accept", accept)
        .header("x-seen-headers", seen)
        .body(body::empty())
        .unwrap();
    if let Some(v) = forwarded_for {
        res.headers_mut().insert("x-seen-forwarded-for", v);
    }
    res
}
