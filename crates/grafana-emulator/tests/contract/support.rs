//! A small HTTP client on hyper-util plus start-up helpers for the contract tests.

use base64::Engine;
use bytes::Bytes;
use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions, VersionProfile};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A buffered response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }
}

/// Asserts status and exact JSON body.
#[track_caller]
pub fn expect(r: &Resp, status: u16, body: Value) {
    assert_eq!(r.status, status, "status; body {}", r.text());
    assert_eq!(r.json(), body);
}

/// Asserts the RBAC 403 body.
#[track_caller]
pub fn expect_rbac(r: &Resp, action: &str) {
    assert_eq!(r.status, 403, "{}", r.text());
    let b = r.json();
    assert_eq!(b["title"], "Access denied");
    assert_eq!(
        b["message"],
        format!("You'll need additional permissions to perform this action. Permissions needed: {action}")
    );
    assert!(b["accessErrorId"].as_str().unwrap().starts_with("ACE"));
}

#[derive(Clone)]
pub struct Api {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    auth: Option<String>,
    cookie: Option<String>,
    org: Option<i64>,
}

pub fn basic(user: &str, pw: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}")))
}

impl Api {
    pub fn new(h: &EmulatorHandle) -> Api {
        Api {
            base: h.url(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            auth: Some(h.admin_basic_auth()),
            cookie: None,
            org: None,
        }
    }
    pub fn anon(&self) -> Api {
        Api { auth: None, cookie: None, ..self.clone() }
    }
    pub fn with_auth(&self, header: &str) -> Api {
        Api { auth: Some(header.to_string()), cookie: None, ..self.clone() }
    }
    pub fn bearer(&self, token: &str) -> Api {
        self.with_auth(&format!("Bearer {token}"))
    }
    pub fn basic(&self, user: &str, pw: &str) -> Api {
        self.with_auth(&basic(user, pw))
    }
    pub fn session(&self, cookie: &str) -> Api {
        Api { auth: None, cookie: Some(cookie.to_string()), ..self.clone() }
    }
    pub fn org(&self, org: i64) -> Api {
        Api { org: Some(org), ..self.clone() }
    }

    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        ctype: Option<&str>,
    ) -> Result<Resp, String> {
        let mut b = Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(a) = &self.auth {
            b = b.header("authorization", a);
        }
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("grafana_session={c}"));
        }
        if let Some(o) = self.org {
            b = b.header("x-grafana-org-id", o.to_string());
        }
        if let Some(ct) = ctype {
            b = b.header("content-type", ct);
        }
        let resp = self.client.request(b.body(Full::new(body)).unwrap()).await.map_err(|e| e.to_string())?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Resp { status: parts.status.as_u16(), headers: parts.headers, body })
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.try_send(method, path, bytes, Some("application/json")).await.unwrap()
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.send(Method::POST, path, None).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }
    pub async fn raw(&self, method: Method, path: &str, body: &'static [u8]) -> Resp {
        self.try_send(method, path, Bytes::from_static(body), Some("application/json")).await.unwrap()
    }
}

pub async fn start_with(opts: EmulatorOptions) -> (EmulatorHandle, Api) {
    let h = Emulator::start(opts).await.unwrap();
    let api = Api::new(&h);
    (h, api)
}

pub async fn start(v: VersionProfile) -> (EmulatorHandle, Api) {
    start_with(EmulatorOptions::default().version(v)).await
}

/// Creates a user through the API and returns its id.
pub async fn create_user(api: &Api, login: &str) -> i64 {
    let r = api
        .post(
            "/api/admin/users",
            serde_json::json!({"login": login, "email": format!("{login}@example.com"), "name": login, "password": "secret-pw"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}
