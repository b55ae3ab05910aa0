//! Decoding an HTTP request into a [`ScimRequest`]: query pairs, a size-capped JSON body with an
//! accepted media type, conditional headers, and the absolute base URL the client used.

use http::header::{CONTENT_TYPE, HOST, IF_MATCH, IF_NONE_MATCH};
use http::{Method, Request};
use hyper::body::Incoming;
use serde_json::Value;

use super::context::{ScimRequest, Target};
use crate::body::{read_capped, ReadError};
use crate::scim::error::ScimError;
use crate::server::ClientInfo;

/// The absolute base URL (`https://host/scim/v2`) as this client addressed the sidecar.
pub fn base_url(req: &Request<Incoming>, info: ClientInfo, base_path: &str) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let scheme = header("x-forwarded-proto")
        .and_then(|p| p.split(',').next())
        .map(str::trim)
        .filter(|p| *p == "http" || *p == "https")
        .unwrap_or(if info.tls { "https" } else { "http" });
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| req.headers().get(HOST).and_then(|v| v.to_str().ok()).map(str::to_string))
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| info.addr.to_string());
    format!("{scheme}://{host}{base_path}")
}

/// Decodes `req` for `target`.
///
/// # Errors
/// 405 for a method the endpoint does not serve, 415 for a body that is not JSON, 413 past
/// `max_body`, 400 `invalidSyntax` for malformed JSON.
pub async fn request(
    req: Request<Incoming>,
    target: Target,
    max_body: usize,
) -> Result<ScimRequest, ScimError> {
    let method = req.method().clone();
    if !super::method_allowed(&target, &method) {
        return Err(ScimError::method_not_allowed(format!("{method} is not allowed here")));
    }
    let query = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let header =
        |name| req.headers().get(name).and_then(|v: &http::HeaderValue| v.to_str().ok()).map(str::to_string);
    let if_match = header(IF_MATCH);
    let if_none_match = header(IF_NONE_MATCH);
    let wants_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
    if wants_body {
        check_media_type(req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()))?;
    }
    let body = if wants_body { Some(json_body(req, max_body).await?) } else { None };
    Ok(ScimRequest { method, target, query, body, if_match, if_none_match })
}

/// `application/scim+json` (RFC 7644 §8.1) and `application/json` (Okta's own tests) are accepted;
/// a missing type is tolerated.
fn check_media_type(content_type: Option<&str>) -> Result<(), ScimError> {
    let Some(ct) = content_type else { return Ok(()) };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if matches!(essence.as_str(), "application/scim+json" | "application/json" | "") {
        Ok(())
    } else {
        Err(ScimError::unsupported_media_type(format!(
            "Content-Type {essence:?} is not supported; send application/scim+json"
        )))
    }
}

async fn json_body(req: Request<Incoming>, max_body: usize) -> Result<Value, ScimError> {
    let bytes = read_capped(req.into_body(), max_body).await.map_err(|e| match e {
        ReadError::TooLarge { limit } => {
            ScimError::payload_too_large(format!("the body exceeds {limit} bytes"))
        }
        ReadError::Stream(_) => ScimError::invalid_syntax("the request body could not be read"),
        e @ (ReadError::TimedOut { .. } | ReadError::Busy) => {
            ScimError { status: e.status().as_u16(), scim_type: None, detail: e.to_string() }
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("a JSON body is required"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(check_media_type(None).is_ok());
        assert!(check_media_type(Some("application/scim+json; charset=utf-8")).is_ok());
        assert!(check_media_type(Some("Application/JSON")).is_ok());
        assert_eq!(check_media_type(Some("text/plain")).unwrap_err().status, 415);
    }
}
