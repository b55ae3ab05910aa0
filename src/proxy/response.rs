//! The one place that turns proxy failures into HTTP responses.
//!
//! Every synthetic proxy answer is a short `text/plain` reason; internal detail (addresses, OS
//! errors) goes to the log, never to the client. Upstream errors are classified by walking their
//! cause chain and matching on types (`hyper_util` client error, `std::io::Error` kinds), never on
//! message text.

use std::error::Error as StdError;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use tracing::{debug, warn};

use crate::body::{self, Body, ReadError};
use crate::proxy::headers::FramingError;

/// Everything that can stop a request from being proxied.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The client's request framing is ambiguous or unsupported.
    #[error("bad request framing: {0}")]
    Framing(#[from] FramingError),
    /// The request cannot be mapped onto the Grafana URL.
    #[error("request target cannot be forwarded")]
    BadTarget,
    /// Grafana produced no response headers within `grafana.request_timeout`.
    #[error("grafana did not answer in time")]
    Timeout,
    /// Connecting to or talking with Grafana failed.
    #[error("grafana request failed")]
    Upstream(#[source] hyper_util::client::legacy::Error),
}

/// What kind of upstream failure an error chain shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpstreamFailure {
    ConnectTimeout,
    Unreachable,
    Broken,
}

fn classify(err: &hyper_util::client::legacy::Error) -> UpstreamFailure {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return UpstreamFailure::ConnectTimeout;
            }
        }
        cause = e.source();
    }
    if err.is_connect() {
        UpstreamFailure::Unreachable
    } else {
        UpstreamFailure::Broken
    }
}

/// Marks a response the sidecar made up instead of Grafana answering, so the router can count
/// upstream failures and log that Grafana sent no status. The value is the failure kind:
/// `framing`, `target`, `timeout`, `connect` or `broken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthetic(pub &'static str);

/// Maps a [`ProxyError`] to the response the client gets, logging the internal cause once.
pub fn for_error(err: &ProxyError) -> Response<Body> {
    let kind = match err {
        ProxyError::Framing(_) => "framing",
        ProxyError::BadTarget => "target",
        ProxyError::Timeout => "timeout",
        ProxyError::Upstream(e) => match classify(e) {
            UpstreamFailure::ConnectTimeout => "timeout",
            UpstreamFailure::Unreachable => "connect",
            UpstreamFailure::Broken => "broken",
        },
    };
    let mut res = respond_to(err);
    res.extensions_mut().insert(Synthetic(kind));
    res
}

fn respond_to(err: &ProxyError) -> Response<Body> {
    match err {
        ProxyError::Framing(f) => {
            debug!(reason = %f, "refusing request framing");
            bad_request("bad request framing")
        }
        ProxyError::BadTarget => bad_request("bad request target"),
        ProxyError::Timeout => {
            warn!("grafana did not send response headers within request_timeout");
            gateway_timeout("grafana did not answer in time")
        }
        ProxyError::Upstream(e) => match classify(e) {
            UpstreamFailure::ConnectTimeout => {
                warn!(error = ?e, "connecting to grafana timed out");
                gateway_timeout("grafana did not answer in time")
            }
            UpstreamFailure::Unreachable => {
                warn!(error = ?e, "cannot connect to grafana");
                bad_gateway("grafana is unreachable")
            }
            UpstreamFailure::Broken => {
                warn!(error = ?e, "grafana request failed");
                bad_gateway("grafana request failed")
            }
        },
    }
}

/// Maps a failure to read a capped local body (SCIM, SAML): 413 past the cap, else 400.
pub fn for_read_error(err: &ReadError) -> Response<Body> {
    match err {
        ReadError::TooLarge { limit } => {
            debug!(limit, "request body over the cap");
            payload_too_large("request body too large")
        }
        ReadError::Stream(e) => {
            debug!(error = %e, "request body could not be read");
            bad_request("request body could not be read")
        }
        ReadError::TimedOut { .. } => plain(err.status(), "request body not received in time"),
        ReadError::Busy => plain(err.status(), "too many requests in progress; retry later"),
    }
}

fn plain(status: StatusCode, reason: &'static str) -> Response<Body> {
    let mut res = Response::new(body::full(format!("{reason}\n")));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// 400 with a short reason.
pub fn bad_request(reason: &'static str) -> Response<Body> {
    plain(StatusCode::BAD_REQUEST, reason)
}

/// 413 for bodies over a cap.
pub fn payload_too_large(reason: &'static str) -> Response<Body> {
    plain(StatusCode::PAYLOAD_TOO_LARGE, reason)
}

/// 502 when Grafana cannot be reached or broke the exchange.
pub fn bad_gateway(reason: &'static str) -> Response<Body> {
    plain(StatusCode::BAD_GATEWAY, reason)
}

/// 503 while the sidecar cannot serve (shutting down, not ready).
pub fn service_unavailable(reason: &'static str) -> Response<Body> {
    plain(StatusCode::SERVICE_UNAVAILABLE, reason)
}

/// 504 when Grafana is too slow.
pub fn gateway_timeout(reason: &'static str) -> Response<Body> {
    plain(StatusCode::GATEWAY_TIMEOUT, reason)
}

/// 500 for failures that are the sidecar's own fault.
pub fn internal_error() -> Response<Body> {
    plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_errors_are_400_plain_text() {
        let res = for_error(&ProxyError::Framing(FramingError::BadContentLength));
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(for_error(&ProxyError::Timeout).status(), StatusCode::GATEWAY_TIMEOUT);
        let too_large = for_read_error(&ReadError::TooLarge { limit: 1 });
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
