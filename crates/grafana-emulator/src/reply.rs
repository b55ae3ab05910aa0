//! Responses and Grafana's error body shapes (§2.4): `response.Error` with and without
//! `traceID`, errutil bodies, the RBAC denial, the HTML not-found page. Also Go's JSON escaping
//! of `<`, `>` and `&`. Must not decide which error applies: handlers do.

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{json, Value};

/// A finished response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Extra headers (Content-Type is added from `content_type`).
    pub headers: Vec<(String, String)>,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: Bytes,
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Serialises like Go's `encoding/json` (HTML characters escaped).
pub fn go_json(v: &Value) -> String {
    let s = v.to_string();
    // only strings can contain these characters in serialised JSON, so a blind replace is exact
    s.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

impl Reply {
    /// A JSON body.
    pub fn json(code: u16, v: Value) -> Reply {
        Reply {
            status: status(code),
            headers: Vec::new(),
            content_type: "application/json",
            body: Bytes::from(go_json(&v)),
        }
    }

    /// `{"message": m}`.
    pub fn msg(code: u16, m: &str) -> Reply {
        Reply::json(code, json!({ "message": m }))
    }

    /// `{"message": m, "traceID": ""}` (`response.Error` with a non-nil error).
    pub fn msg_trace(code: u16, m: &str) -> Reply {
        Reply::json(code, json!({ "message": m, "traceID": "" }))
    }

    /// errutil public error with `traceID`.
    pub fn errutil(code: u16, message: &str, message_id: &str) -> Reply {
        Reply::json(
            code,
            json!({ "message": message, "messageId": message_id, "statusCode": code, "traceID": "" }),
        )
    }

    /// Authentication failure body (no traceID, as §2.2 quotes it).
    pub fn unauthorized(message: &str, message_id: &str) -> Reply {
        Reply::json(401, json!({ "message": message, "messageId": message_id, "statusCode": 401 }))
    }

    /// RBAC denial naming the missing permission.
    pub fn rbac_denied(needed: &str) -> Reply {
        let id: u64 = rand::rng().random_range(1_000_000_000..10_000_000_000);
        Reply::json(
            403,
            json!({
                "title": "Access denied",
                "message": format!("You'll need additional permissions to perform this action. Permissions needed: {needed}"),
                "accessErrorId": format!("ACE{id}"),
            }),
        )
    }

    /// Unknown API route.
    pub fn api_not_found() -> Reply {
        Reply::msg(404, "Not found")
    }

    /// Grafana's HTML "page not found" for non-API routes.
    pub fn html_not_found() -> Reply {
        Reply {
            status: StatusCode::NOT_FOUND,
            headers: Vec::new(),
            content_type: "text/html; charset=UTF-8",
            body: Bytes::from_static(
                b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Grafana</title></head>\n<body><div class=\"page-not-found\"><h1>Page not found</h1><p>We're looking but can't find the page you're searching for.</p></div></body></html>\n",
            ),
        }
    }

    /// A body with an explicit content type.
    pub fn raw(code: u16, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
        Reply { status: status(code), headers: Vec::new(), content_type, body: body.into() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// 204 with no body (SSO settings).
    pub fn no_content() -> Reply {
        Reply::raw(204, "text/plain", Bytes::new())
    }
}

/// The `bad request data` body used for binding failures.
pub fn bad_request_data() -> Reply {
    Reply::msg_trace(400, "bad request data")
}
