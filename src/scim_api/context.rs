//! A SCIM request as the edge decoded it ([`ScimRequest`]) and the answer before encoding
//! ([`ScimResponse`]).
//!
//! `decode` builds the request; `dispatch` turns it into a provisioning operation and the
//! operation's outcome into a `ScimResponse`, which `respond` encodes as `application/scim+json`.

use http::Method;
use serde_json::Value;

/// Which part of a resource collection the request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/Users`, `/Groups`.
    Collection,
    /// `/Users/{id}`, `/Groups/{id}`.
    Resource(String),
    /// `POST /Users/.search`, `POST /Groups/.search`.
    Search,
}

/// A decoded SCIM request.
#[derive(Debug, Clone)]
pub struct ScimRequest {
    pub method: Method,
    pub target: Target,
    /// Decoded query pairs (`filter`, `startIndex`, `count`, `attributes`, ...); unknown ones are kept
    /// and ignored by handlers (Entra appends `aadOptscim062020`).
    pub query: Vec<(String, String)>,
    /// The JSON body, when the method carries one.
    pub body: Option<Value>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

impl ScimRequest {
    /// The first value of query parameter `name` (names compare case-insensitively).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The body of a successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Json(Value),
    /// A JSON document provisioning encoded itself (`provision::users::encoded`).
    Encoded(Vec<u8>),
}

/// A successful SCIM answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Payload>,
    /// `Location` header (on create).
    pub location: Option<String>,
    /// `ETag` header (weak), when the body is one resource.
    pub etag: Option<String>,
}

impl ScimResponse {
    /// 200 with a body.
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body: Some(Payload::Json(body)), location: None, etag: None }
    }

    /// 200 with a JSON document already encoded.
    pub fn ok_encoded(body: Vec<u8>) -> Self {
        Self { status: 200, body: Some(Payload::Encoded(body)), location: None, etag: None }
    }

    /// 201 with the created resource and its location.
    pub fn created(body: Value, location: String) -> Self {
        Self { status: 201, body: Some(Payload::Json(body)), location: Some(location), etag: None }
    }

    /// 204 without a body.
    pub fn no_content() -> Self {
        Self { status: 204, body: None, location: None, etag: None }
    }

    /// 304 for a matching `If-None-Match`.
    pub fn not_modified(etag: String) -> Self {
        Self { status: 304, body: None, location: None, etag: Some(etag) }
    }

    /// Adds an `ETag` header.
    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}
