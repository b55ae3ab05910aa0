//! A SCIM or Grafana API endpoint the load generators of the benches talk to, and the SCIM user
//! they create.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde_json::{json, Value};

pub type Http = Client<HttpConnector, Full<Bytes>>;

pub struct Target {
    pub http: Http,
    pub base: String,
    pub auth: String,
}

impl Target {
    /// Sends one request and reads the whole answer; returns its status and body. Bodies are
    /// parsed only where a check reads them ([`Target::send_json`]): the load generator stands in
    /// for an IdP on another machine, and parsing SCIM's larger answers took CPU from the emulator
    /// on its core during the sidecar's rounds alone.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Bytes) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        let bytes = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let res = self.http.request(req.body(Full::new(bytes)).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        (status, res.into_body().collect().await.unwrap().to_bytes())
    }

    /// [`Target::send`] with the answer parsed as JSON (`Null` when it is not).
    pub async fn send_json(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, bytes) = self.send(method, path, body).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// The SCIM user the benches create under `name` (`<name>@bench.example`, externalId
/// `ext-<name>`).
pub fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@bench.example"),
        "externalId": format!("ext-{name}"),
        "name": {"givenName": "Bench", "familyName": name},
        "emails": [{"value": format!("{name}@bench.example"), "type": "work", "primary": true}],
        "active": true
    })
}
