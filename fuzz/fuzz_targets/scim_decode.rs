//! Fuzz target: the SCIM request decoder (`scim_api::decode`), driven through hyper over an
//! in-memory connection the way the sidecar receives requests. It must never panic; a decoded
//! request must carry exactly the JSON body and query pairs sent; a refusal must be a SCIM status
//! (400, 405, 413, 415); and the base URL echoed in `Location` must hold no whitespace or control
//! bytes, whatever the `Host` header said.
#![cfg_attr(feature = "libfuzzer", no_main)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use scim_sidecar::fuzzing::{scim_base_url, scim_request};
use scim_sidecar::scim_api::context::Target;
use scim_sidecar::server::ClientInfo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_BODY: usize = 512;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    })
}

/// What the handler saw, checked after the exchange.
type Seen = Mutex<Vec<(Target, Result<scim_sidecar::scim_api::context::ScimRequest, u16>, String)>>;

fn run(data: &[u8]) {
    // Layout: a selector byte, then method, request target, content type and host, each ended by
    // a newline, then the body.
    let Some((&sel, rest)) = data.split_first() else { return };
    let mut parts = rest.splitn(5, |b| *b == b'\n');
    let (method, uri, ct, host) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let body = Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let target = match sel % 3 {
        0 => Target::Collection,
        1 => Target::Resource(String::from_utf8_lossy(&uri[..uri.len().min(8)]).into_owned()),
        _ => Target::Search,
    };
    let mut wire = Vec::new();
    wire.extend_from_slice(method);
    wire.push(b' ');
    wire.extend_from_slice(uri);
    wire.extend_from_slice(b" HTTP/1.1\r\nconnection: close\r\nhost: ");
    wire.extend_from_slice(host);
    wire.extend_from_slice(b"\r\ncontent-type: ");
    wire.extend_from_slice(ct);
    if sel & 0x80 == 0 {
        wire.extend_from_slice(format!("\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes());
        wire.extend_from_slice(&body);
    } else {
        wire.extend_from_slice(b"\r\ntransfer-encoding: chunked\r\n\r\n");
        for chunk in body.chunks(usize::from(sel & 0x0f) + 1) {
            wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
    }
    let seen: Arc<Seen> = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    runtime().block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let info = ClientInfo { addr: SocketAddr::from(([192, 0, 2, 1], 4000)), tls: sel & 0x40 != 0 };
        let t = target.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let t = t.clone();
            let record = record.clone();
            async move {
                let base = scim_base_url(&req, info, "/scim/v2");
                let decoded = scim_request(req, t.clone(), MAX_BODY).await.map_err(|e| e.status);
                if let Ok(mut s) = record.lock() {
                    s.push((t, decoded, base));
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .half_close(true)
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let exchange = async move {
            let mut client = client;
            let _ = client.write_all(&wire).await;
            let _ = client.shutdown().await;
            let mut sink = Vec::new();
            let _ = client.read_to_end(&mut sink).await;
        };
        let _ = tokio::join!(conn, exchange);
    });
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    if std::env::var_os("FUZZ_TRACE").is_some() {
        eprintln!("{seen:?}");
    }
    for (_target, decoded, base) in seen {
        assert!(base.bytes().all(|b| b.is_ascii_graphic()), "base url {base:?}");
        assert!(base.ends_with("/scim/v2"));
        match decoded {
            Ok(req) => {
                let wants_body = matches!(req.method.as_str(), "POST" | "PUT" | "PATCH");
                assert_eq!(req.body.is_some(), wants_body);
                if let Some(got) = req.body {
                    assert_eq!(serde_json::from_slice::<Value>(&body).ok(), Some(got));
                }
                // A fragment is not part of the request target's query (the URI parser drops it).
                let target = std::str::from_utf8(uri).ok().map(|u| u.split('#').next().unwrap_or(u));
                let query = target.and_then(|u| u.split_once('?')).map(|(_, q)| q);
                let pairs: Vec<(String, String)> = query
                    .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                    .unwrap_or_default();
                assert_eq!(req.query, pairs);
            }
            Err(status) => assert!(matches!(status, 400 | 405 | 413 | 415), "status {status}"),
        }
    }
}

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));

#[cfg(not(feature = "libfuzzer"))]
#[path = "replay.rs"]
mod replay;

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    replay::replay(run);
}
