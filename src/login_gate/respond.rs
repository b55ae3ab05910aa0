//! The refusal page: a small, self-contained HTML page with status 403 (400 for a malformed
//! post, 413 for an oversized one) that says why the login stopped, in words that reveal nothing
//! about other accounts. A page rather than a redirect to `/login?...`: Grafana's login page does
//! not display arbitrary reasons, and a page cannot be turned into an open redirect.
//!
//! This module only renders; it never logs or counts.

use http::{header, HeaderValue, Response, StatusCode};

use super::decide::Refusal;
use crate::body::{self, Body};

/// The sentence a person sees for each refusal.
pub fn reason_text(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::ExternalIdMismatch => {
            "Your identity provider account does not match the Grafana account with this login or \
             email. Ask your administrator to check your provisioning."
        }
        Refusal::Deactivated => {
            "Your Grafana access has been deactivated by your organisation's provisioning."
        }
        Refusal::NotProvisioned => {
            "Your account has not been provisioned for this Grafana. Ask your administrator for access."
        }
        Refusal::Invalid => "The sign-in response from your identity provider could not be verified.",
        Refusal::Unavailable => "Sign-in is temporarily unavailable. Please try again later.",
    }
}

/// The refusal page for `refusal`.
pub fn refusal(refusal: Refusal) -> Response<Body> {
    let status = match refusal {
        Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::FORBIDDEN,
    };
    page(status, reason_text(refusal))
}

/// A page for a post that is not a SAML response at all.
pub fn bad_request(too_large: bool) -> Response<Body> {
    if too_large {
        page(StatusCode::PAYLOAD_TOO_LARGE, "The sign-in response is too large.")
    } else {
        page(StatusCode::BAD_REQUEST, "The sign-in request did not contain a SAML response.")
    }
}

/// The page for an ACS post whose body did not arrive within `[server] body_read_timeout`.
pub fn too_slow() -> Response<Body> {
    page(StatusCode::REQUEST_TIMEOUT, "The sign-in response did not arrive in time.")
}

/// A page for a post in a shape the gate does not read (not a URL-encoded form, or an artifact).
pub fn unsupported_post() -> Response<Body> {
    page(StatusCode::BAD_REQUEST, "The sign-in request was not a SAML response form post.")
}

fn page(status: StatusCode, text: &'static str) -> Response<Body> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in refused</title></head>\
         <body><h1>Sign-in refused</h1><p>{text}</p><p><a href=\"/login\">Back to the login page</a></p></body></html>\n"
    );
    let mut res = Response::new(body::full(html));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    res
}
