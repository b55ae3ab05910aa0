//! The one place SCIM answers become HTTP responses: `application/scim+json` for every body,
//! errors as RFC 7644 §3.12 documents.

use http::header::{HeaderValue, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use serde_json::Value;

use super::context::{Payload, ScimResponse};
use crate::body::{empty, full, Body};
use crate::scim::error::{ScimError, SCIM_CONTENT_TYPE};

/// Encodes a successful answer.
pub fn success(answer: ScimResponse) -> Response<Body> {
    let has_body = answer.body.is_some();
    let body = match answer.body {
        // Straight into bytes: `to_string` goes through `fmt` one small write at a time.
        // Serialising a `Value` cannot fail (its keys are strings).
        Some(Payload::Json(v)) => {
            let mut buf = Vec::with_capacity(encoded_size_hint(&v));
            match serde_json::to_writer(&mut buf, &v) {
                Ok(()) => full(buf),
                Err(_) => full(Vec::new()),
            }
        }
        Some(Payload::Encoded(bytes)) => full(bytes),
        None => empty(),
    };
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers = res.headers_mut();
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    }
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(LOCATION, location);
    }
    if let Some(etag) = answer.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(ETAG, etag);
    }
    res
}

/// Room for `v` encoded: about a kilobyte per listed resource, so that a page of 100 users is
/// written into one buffer instead of one grown ten times over (each step a copy, and in glibc
/// a sweep of its small-chunk lists).
fn encoded_size_hint(v: &Value) -> usize {
    let listed = v.get("Resources").and_then(Value::as_array).map_or(0, Vec::len);
    1024 * (listed + 1)
}

/// Encodes a failure: the error, and `Retry-After` when it carries one (RFC 9110 §10.2.3).
pub fn failure(f: &super::failure::Failure) -> Response<Body> {
    let mut res = error(&f.error);
    if let Some(secs) = f.retry_after {
        res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Encodes an error. 401 answers carry `WWW-Authenticate: Bearer` (RFC 6750 §3).
pub fn error(err: &ScimError) -> Response<Body> {
    let mut res = Response::new(full(err.to_body().to_string()));
    *res.status_mut() = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    if err.status == 401 {
        res.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scim-sidecar\""));
    }
    res
}
