//! [`GrafanaError`]: what a Grafana call can fail with.
//!
//! Grafana answers errors in four JSON shapes (`{"message"}`, errutil with `messageId`, the RBAC
//! body, the legacy role guard); all carry `message`, so that and `messageId` are kept along with
//! the status and a short excerpt of the body. Nothing here ever holds request headers, so no
//! credential can reach `Display`.

use http::StatusCode;
use serde::Deserialize;

/// Longest body excerpt kept for diagnostics, in bytes.
pub const MAX_EXCERPT: usize = 256;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GrafanaError {
    /// Grafana answered with a non-success status.
    #[error("grafana answered {status}: {message}")]
    Status { status: StatusCode, message: String, message_id: Option<String>, body_excerpt: String },
    /// No complete answer within the per-call timeout.
    #[error("grafana did not answer in time")]
    Timeout,
    /// Connecting, sending or reading failed.
    #[error("grafana unreachable: {0}")]
    Transport(String),
    /// A success answer whose body is not the expected JSON.
    #[error("unexpected grafana response body ({status}): {detail}")]
    Decode { status: StatusCode, detail: String },
    /// The request could not be built (bad base URL, oversized answer).
    #[error("invalid grafana request: {0}")]
    Request(String),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    message: Option<String>,
    #[serde(rename = "messageId")]
    message_id: Option<String>,
}

/// Cuts `body` to at most [`MAX_EXCERPT`] bytes on a character boundary.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_EXCERPT)]);
    let mut s = text.into_owned();
    while s.len() > MAX_EXCERPT {
        s.pop();
    }
    s
}

impl GrafanaError {
    /// Builds the error for a non-success answer from its status and body.
    pub(crate) fn from_response(status: StatusCode, body: &[u8]) -> Self {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let message = parsed
            .message
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("unknown status").to_owned());
        Self::Status { status, message, message_id: parsed.message_id, body_excerpt: excerpt(body) }
    }

    /// The upstream status, when Grafana answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } | Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Grafana's `message`, when it answered with an error body.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn message_id(&self) -> Option<&str> {
        match self {
            Self::Status { message_id, .. } => message_id.as_deref(),
            _ => None,
        }
    }

    fn has_status(&self, s: StatusCode) -> bool {
        matches!(self, Self::Status { status, .. } if *status == s)
    }

    pub fn is_not_found(&self) -> bool {
        self.has_status(StatusCode::NOT_FOUND)
    }

    /// "Already exists": 412 (user create), 409 (user update, team create, org membership), and
    /// the 400s Grafana uses for a taken team name on rename and an existing team member.
    pub fn is_conflict(&self) -> bool {
        match self {
            Self::Status { status, message, .. } => {
                *status == StatusCode::PRECONDITION_FAILED
                    || *status == StatusCode::CONFLICT
                    || (*status == StatusCode::BAD_REQUEST
                        && (message == "Team name taken" || message == "User is already added to this team"))
            }
            _ => false,
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        self.has_status(StatusCode::UNAUTHORIZED)
    }

    pub fn is_forbidden(&self) -> bool {
        self.has_status(StatusCode::FORBIDDEN)
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(_))
    }

    /// 5xx from Grafana.
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Status { status, .. } if status.is_server_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_error_shape() {
        let e = GrafanaError::from_response(
            StatusCode::UNAUTHORIZED,
            br#"{"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401,"traceID":""}"#,
        );
        assert!(e.is_unauthorized());
        assert_eq!(e.message(), Some("Invalid API key"));
        assert_eq!(e.message_id(), Some("api-key.invalid"));
        let rbac = GrafanaError::from_response(
            StatusCode::FORBIDDEN,
            br#"{"title":"Access denied","message":"You'll need additional permissions","accessErrorId":"ACE1"}"#,
        );
        assert!(rbac.is_forbidden());
        assert_eq!(rbac.message(), Some("You'll need additional permissions"));
        let html = GrafanaError::from_response(StatusCode::NOT_FOUND, b"<html>page not found</html>");
        assert!(html.is_not_found());
        assert_eq!(html.message(), Some("Not Found"));
    }

    #[test]
    fn excerpt_is_bounded_and_keeps_utf8_whole() {
        let body = "é".repeat(400);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= MAX_EXCERPT);
        let long =
            GrafanaError::from_response(StatusCode::INTERNAL_SERVER_ERROR, "x".repeat(10_000).as_bytes());
        let GrafanaError::Status { body_excerpt, .. } = long else { panic!() };
        assert_eq!(body_excerpt.len(), MAX_EXCERPT);
    }

    #[test]
    fn conflict_covers_grafana_variants() {
        for (status, msg) in [(412, "User with email"), (409, "Team name taken"), (400, "Team name taken")] {
            let body = format!(r#"{{"message":"{msg}"}}"#);
            let e = GrafanaError::from_response(StatusCode::from_u16(status).unwrap(), body.as_bytes());
            assert!(e.is_conflict(), "{status} {msg}");
        }
        let e = GrafanaError::from_response(StatusCode::BAD_REQUEST, br#"{"message":"bad request data"}"#);
        assert!(!e.is_conflict());
    }
}
