//! The listener: accepts connections, buffers each request (capped), applies latency and
//! injected faults, dispatches under the state lock and records the call. Must not contain
//! Grafana semantics: those live in `routes`.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::calls::CallRecord;
use crate::faults::Fault;
use crate::reply::Reply;
use crate::request::{Req, MAX_BODY};
use crate::routes::dispatch;
use crate::state::State;

/// Shared state behind one lock; every request runs atomically against it.
pub type Shared = Arc<Mutex<State>>;

/// Locks the state, surviving a poisoned lock (a panicking test must not wedge the others).
pub fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

fn to_response(r: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(r.body));
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    if r.status != StatusCode::NO_CONTENT {
        h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(r.content_type));
    }
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(&v))
        {
            h.append(k, v);
        }
    }
    resp
}

/// Bytes Go's `url.URL.EscapedPath` escapes in a path (besides non-ASCII): `/` stays a separator.
const PATH_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The path Grafana's router matches, still escaped (routes decode each segment). With
/// `serve_from_sub_path`, Grafana trims the sub-path from the decoded path and the router then
/// works on that path escaped again, so an encoded `/` there becomes a separator.
fn routed_path(raw: &str, sub_path: Option<&str>) -> String {
    let Some(sub) = sub_path else { return raw.to_string() };
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let trimmed = decoded.strip_prefix(sub).unwrap_or(&decoded);
    percent_encoding::utf8_percent_encode(trimmed, PATH_ESCAPES).to_string()
}

async fn handle(shared: Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, DropConnection> {
    let method = req.method().clone();
    let path = routed_path(req.uri().path(), lock(&shared).opts.serve_from_sub_path.as_deref());
    let query = req.uri().query().unwrap_or("").to_string();
    let (latency, fault) = {
        let mut st = lock(&shared);
        (st.faults.latency, st.faults.take(method.as_str(), &path))
    };
    if !latency.is_zero() {
        delay(latency).await;
    }
    let record = |status: u16| CallRecord {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        status,
    };
    if fault == Some(Fault::Drop) {
        lock(&shared).calls.push(record(0));
        return Err(DropConnection);
    }
    let (parts, body) = req.into_parts();
    let reply = match Limited::new(body, MAX_BODY).collect().await {
        Err(_) => Reply::msg(413, "request body too large"),
        Ok(collected) => {
            let bytes = collected.to_bytes();
            match fault {
                Some(Fault::Status(code)) => Reply::msg_trace(code, "Internal Server Error"),
                _ => {
                    let r = Req::new(method.clone(), path.clone(), query.clone(), parts.headers, bytes);
                    dispatch(&mut lock(&shared), &r)
                }
            }
        }
    };
    let mut st = lock(&shared);
    st.calls.push(record(reply.status.as_u16()));
    drop(st);
    Ok(to_response(reply))
}

/// Serves until `shutdown` flips to true, then closes every connection.
pub async fn serve(listener: TcpListener, shared: Shared, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Waits `d` to the microsecond. Tokio's timer counts whole milliseconds and rounds deadlines up,
/// so `tokio::time::sleep(2 ms)` lasts anywhere from 2 to 3 ms depending on where in the tick a
/// request arrives, and work done just before the call can push it into the next tick. A
/// blocked thread's sleep ends within tens of microseconds of the deadline.
async fn delay(d: std::time::Duration) {
    if tokio::task::spawn_blocking(move || std::thread::sleep(d)).await.is_err() {
        tokio::time::sleep(d).await;
    }
}
