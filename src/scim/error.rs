//! The RFC 7644 §3.12 error model: HTTP status, optional `scimType`, non-empty `detail`.
//!
//! Owns only the data and its JSON body; turning it into an HTTP response is the HTTP edge's job.

use serde_json::{json, Value};

/// Media type of every SCIM response, errors included (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Schema URN of an error body.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12 table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The wire spelling (camelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// A SCIM protocol error: what the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scim error {status}: {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

fn e(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> ScimError {
    ScimError { status, scim_type, detail: detail.into() }
}

macro_rules! ctor {
    ($($name:ident => $status:expr, $ty:expr;)*) => {
        impl ScimError {
            $(
                #[doc = concat!("HTTP ", stringify!($status), " error.")]
                pub fn $name(detail: impl Into<String>) -> ScimError {
                    e($status, $ty, detail)
                }
            )*
        }
    };
}

ctor! {
    invalid_filter => 400, Some(ScimType::InvalidFilter);
    too_many => 400, Some(ScimType::TooMany);
    uniqueness => 409, Some(ScimType::Uniqueness);
    mutability => 400, Some(ScimType::Mutability);
    invalid_syntax => 400, Some(ScimType::InvalidSyntax);
    invalid_path => 400, Some(ScimType::InvalidPath);
    no_target => 400, Some(ScimType::NoTarget);
    invalid_value => 400, Some(ScimType::InvalidValue);
    invalid_version => 400, Some(ScimType::InvalidVers);
    sensitive => 403, Some(ScimType::Sensitive);
    unauthorized => 401, None;
    forbidden => 403, None;
    not_found => 404, None;
    method_not_allowed => 405, None;
    conflict => 409, None;
    precondition_failed => 412, None;
    payload_too_large => 413, None;
    unsupported_media_type => 415, None;
    too_many_requests => 429, None;
    internal => 500, None;
    not_implemented => 501, None;
    bad_gateway => 502, None;
    service_unavailable => 503, None;
    gateway_timeout => 504, None;
}

impl ScimError {
    /// The §3.12 body: `status` is a string and `detail` is never empty (Okta asserts both).
    pub fn to_body(&self) -> Value {
        let detail = if self.detail.trim().is_empty() {
            default_detail(self.status).to_string()
        } else {
            self.detail.clone()
        };
        let mut body = json!({
            "schemas": [ERROR_URN],
            "status": self.status.to_string(),
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), Value::from(t.as_str()));
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert("detail".into(), Value::from(detail));
        }
        body
    }
}

fn default_detail(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 => "authentication required",
        403 => "forbidden",
        404 => "resource not found",
        405 => "method not allowed",
        409 => "conflict",
        412 => "precondition failed",
        413 => "payload too large",
        415 => "unsupported media type",
        429 => "too many requests",
        501 => "not implemented",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        _ => "internal error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_string_status_scim_type_and_detail() {
        let b = ScimError::uniqueness("userName taken").to_body();
        assert_eq!(
            b,
            json!({"schemas":[ERROR_URN],"status":"409","scimType":"uniqueness","detail":"userName taken"})
        );
    }

    #[test]
    fn empty_detail_is_filled_and_no_scim_type_is_omitted() {
        let b = ScimError::not_found("").to_body();
        assert_eq!(b["status"], "404");
        assert_eq!(b["detail"], "resource not found");
        assert!(b.get("scimType").is_none());
    }
}
