//! A SCIM test harness: the Grafana emulator, the real sidecar in front of it, and a small SCIM
//! client that speaks to the sidecar with a bearer token.

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use http::{HeaderMap, Method, Request};
use http_body_util::BodyExt;
use scim_sidecar::config::{Config, Secret};
use serde_json::Value;

use super::client::{http1, TestClient};
use super::sidecar::{spawn_sidecar, ProxyHandle};

/// The static token every harness sidecar accepts.
pub const TOKEN: &str = "test-scim-token-0123456789";

/// One SCIM answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Option<Value>,
}

impl Answer {
    /// The JSON body; panics (test failure) when there is none.
    pub fn json(&self) -> &Value {
        self.body.as_ref().unwrap_or_else(|| panic!("no body (status {})", self.status))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Emulator + sidecar + client.
pub struct Harness {
    pub grafana: EmulatorHandle,
    pub sidecar: ProxyHandle,
    pub client: TestClient,
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
}

/// The sidecar configuration every harness starts from: ephemeral ports, `grafana`, the token.
pub fn sidecar_config(grafana: &EmulatorHandle) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.admin.listen = "127.0.0.1:0".into();
    config.grafana.url = grafana.url();
    config.scim.tokens = vec![Secret::new(TOKEN).into()];
    config
}

impl Harness {
    /// Emulator with default options (Grafana 12 Enterprise, SAML on) and a default sidecar.
    pub async fn start() -> Self {
        Self::start_with(EmulatorOptions::default(), |_| {}).await
    }

    /// Emulator with `options`; `configure` adjusts the sidecar configuration.
    pub async fn start_with(options: EmulatorOptions, configure: impl FnOnce(&mut Config)) -> Self {
        let grafana = Emulator::start(options).await.unwrap();
        let mut config = sidecar_config(&grafana);
        configure(&mut config);
        let sidecar = spawn_sidecar(config).await;
        let base = format!("{}/scim/v2", sidecar.url);
        let harness = Self { grafana, sidecar, client: http1(), base };
        // Warm the policy cache (`/readyz` awaits the policy report), so that the Grafana calls a
        // test counts are its own, not the policy's first observation.
        let _ = super::client::get(&harness.client, &format!("{}/readyz", harness.sidecar.admin_url)).await;
        harness
    }

    /// Starts another sidecar (a replica) on `config`, in front of the same emulator.
    pub async fn replica(&self, config: Config) -> ProxyHandle {
        spawn_sidecar(config).await
    }

    /// `POST` to `replica` instead of this harness's sidecar.
    pub async fn post_via(&self, replica: &ProxyHandle, path: &str, body: Value) -> Answer {
        self.call_via(replica, Method::POST, path, Some(body)).await
    }

    /// `method path` (relative to the SCIM base) to `replica` instead of this harness's sidecar.
    pub async fn call_via(
        &self,
        replica: &ProxyHandle,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let url = format!("{}/scim/v2/{path}", replica.url);
        self.send(method, url, body, Some(TOKEN)).await
    }

    /// Sends `method path` (relative to the SCIM base unless it starts with `/`) with the token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_as(method, path, body, Some(TOKEN)).await
    }

    /// Like [`Harness::call`] with an explicit token (`None`: no Authorization header).
    pub async fn call_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let url = if path.starts_with('/') {
            format!("{}{path}", self.sidecar.url)
        } else {
            format!("{}/{path}", self.base)
        };
        self.send(method, url, body, token).await
    }

    async fn send(&self, method: Method, url: String, body: Option<Value>, token: Option<&str>) -> Answer {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/scim+json");
                scim_sidecar::body::full(v.to_string())
            }
            None => scim_sidecar::body::empty(),
        };
        let res = self.client.request(req.body(body).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            None
        } else {
            Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}")))
        };
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    #[allow(dead_code)] // for the Users and Groups scenarios
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    #[allow(dead_code)] // for the Users and Groups scenarios
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    #[allow(dead_code)] // for the Users and Groups scenarios
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }
}

/// Asserts `answer` is an RFC 7644 §3.12 error with `status` (and `scim_type`, when given).
pub fn assert_scim_error(answer: &Answer, status: u16, scim_type: Option<&str>) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/scim+json"), "{answer:?}");
    let body = answer.json();
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{body}");
    assert_eq!(body["status"], status.to_string(), "status must be a string: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "{body}");
    }
}
