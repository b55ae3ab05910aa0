//! A tiny canned-response HTTP server on 127.0.0.1:0 that records every request.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The sub-path Grafana is served from in these tests.
pub const PREFIX: &str = "/grafana";
/// A route that never answers.
pub const HANG: &str = "/api/hang";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

#[derive(Clone)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
}

pub fn route(method: Method, path: &'static str, status: u16, body: &str) -> Route {
    Route { method, path, status, body: body.to_owned(), content_type: "application/json" }
}

pub struct Stub {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    pub async fn start(routes: Vec<Route>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes = Arc::new(routes);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (routes, log) = (routes.clone(), log.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(req, routes.clone(), log.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Stub { addr, seen }
    }

    pub fn base(&self) -> String {
        format!("http://{}{PREFIX}/", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("no request recorded")
    }
}

async fn answer(
    req: Request<Incoming>,
    routes: Arc<Vec<Route>>,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    log.lock().unwrap().push(Recorded {
        method: parts.method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body,
    });
    let local = path.strip_prefix(PREFIX).unwrap_or("");
    if local == HANG {
        std::future::pending::<()>().await;
    }
    let hit = routes.iter().find(|r| r.method == parts.method && r.path == local);
    let (status, body, ctype) = match hit {
        Some(r) => (r.status, r.body.clone(), r.content_type),
        None => (404, r#"{"message":"Not found"}"#.to_owned(), "application/json"),
    };
    Ok(Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .unwrap())
}
