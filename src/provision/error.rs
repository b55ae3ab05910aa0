//! [`ProvisionError`]: why a provisioning operation did not happen, in domain terms.
//!
//! Provisioning never picks an HTTP status. It classifies what went wrong (a SCIM rule the request
//! breaks, a missing resource, a uniqueness conflict, a refusal, a stale version, or Grafana or the
//! store failing) and the SCIM edge turns that into a SCIM error in one exhaustive `match`
//! (`scim_api::failure`), the same way for Users and Groups.
//!
//! Upstream errors are classified where they enter ([`From<GrafanaError>`], [`From<StoreError>`]):
//! a Grafana timeout, an unreachable Grafana, a Grafana failure (5xx or an unreadable answer) and
//! an unexpected Grafana refusal (a 4xx nobody handled) are separate variants; Grafana's "already
//! exists" answers (409, 412, and the 400 for a taken team name, `GrafanaError::is_conflict`) and
//! a store constraint violation are uniqueness conflicts (grafana-api §11.1). Variants that
//! carry an upstream error keep it for the log only: no Grafana body, SQL text or constraint name
//! reaches an IdP.

use tracing::debug;

use crate::grafana::GrafanaError;
use crate::provision::org_join::JoinError;
use crate::scim::error::ScimError;
use crate::store::StoreError;

/// Why a provisioning operation failed. Messages in `String` variants are written for the IdP.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The request breaks a SCIM rule (syntax, filter, path, value, mutability, `tooMany`): the
    /// pure `scim` module's classification, kept as data.
    #[error("invalid request: {}", .0.detail)]
    Invalid(ScimError),
    /// No such resource in this namespace.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness conflict: a name or externalId taken, Grafana's 409/412, a store constraint.
    #[error("conflict: {0}")]
    Conflict(String),
    /// This caller may not write this account (protected users, token authority).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The version the client holds (`If-Match`) is not the current one (RFC 7644 §3.14).
    #[error("version mismatch: {0}")]
    VersionMismatch(String),
    /// State was repaired on the way (a stale record dropped): the same request succeeds when
    /// retried.
    #[error("retry: {0}")]
    Retry(String),
    /// Grafana did not answer within `[grafana] request_timeout`.
    #[error("grafana did not answer in time")]
    GrafanaTimeout,
    /// Grafana could not be reached (connect, send or read failed).
    #[error("grafana unreachable: {0}")]
    GrafanaUnreachable(String),
    /// Grafana failed: a 5xx, or an answer that could not be read.
    #[error("grafana failed: {0}")]
    GrafanaFailed(GrafanaError),
    /// Grafana refused a call with a 4xx the operation did not expect.
    #[error("grafana refused: {0}")]
    GrafanaRefused(GrafanaError),
    /// The mapping store failed (the cause is for the log).
    #[error("mapping store failed: {0}")]
    Store(String),
}

impl ProvisionError {
    /// 404 in SCIM terms.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound(detail.into())
    }

    /// A uniqueness conflict.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::Conflict(detail.into())
    }

    /// A refusal for this caller or account.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    /// A value the request carries is not acceptable (`invalidValue`).
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::Invalid(ScimError::invalid_value(detail))
    }

    /// The request is malformed (`invalidSyntax`).
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::Invalid(ScimError::invalid_syntax(detail))
    }

    /// The filter cannot be applied here (`invalidFilter`).
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::Invalid(ScimError::invalid_filter(detail))
    }

    /// The request would cost too much (`tooMany`).
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::Invalid(ScimError::too_many(detail))
    }

    /// The client's version is not current.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::VersionMismatch(detail.into())
    }

    /// Retry the same request.
    pub fn retry(detail: impl Into<String>) -> Self {
        Self::Retry(detail.into())
    }

    /// Whether this is [`ProvisionError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }
}

impl From<ScimError> for ProvisionError {
    fn from(e: ScimError) -> Self {
        Self::Invalid(e)
    }
}

impl From<GrafanaError> for ProvisionError {
    fn from(e: GrafanaError) -> Self {
        match &e {
            GrafanaError::Timeout => Self::GrafanaTimeout,
            GrafanaError::Transport(cause) => Self::GrafanaUnreachable(cause.clone()),
            GrafanaError::Status { .. } if e.is_conflict() => {
                debug!(error = %e, "grafana reports a conflict");
                Self::Conflict("Grafana already has an object with these unique attributes".into())
            }
            GrafanaError::Status { status, .. } if status.is_client_error() => Self::GrafanaRefused(e),
            GrafanaError::Status { .. } | GrafanaError::Decode { .. } | GrafanaError::Request(_) => {
                Self::GrafanaFailed(e)
            }
        }
    }
}

impl From<StoreError> for ProvisionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { constraint } => {
                debug!(constraint, "store uniqueness conflict");
                Self::Conflict("the resource conflicts with an existing one".into())
            }
            StoreError::NotFound => Self::NotFound("the resource no longer exists".into()),
            other @ (StoreError::StaleVersion
            | StoreError::Backend(_)
            | StoreError::Migration(_)
            | StoreError::InvalidUrl(_)) => Self::Store(other.to_string()),
        }
    }
}

impl From<JoinError> for ProvisionError {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::Grafana(g) => g.into(),
            JoinError::OtherUser => {
                Self::Conflict("Grafana resolves this user's login or email to another user".into())
            }
        }
    }
}

/// A Grafana error by reference (callers that also inspect it).
pub fn grafana_error(e: &GrafanaError) -> ProvisionError {
    e.clone().into()
}

/// A store error by reference.
pub fn store_error(e: &StoreError) -> ProvisionError {
    match e {
        StoreError::Conflict { constraint } => StoreError::Conflict { constraint: constraint.clone() }.into(),
        StoreError::NotFound => StoreError::NotFound.into(),
        other => ProvisionError::Store(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    fn status(code: u16) -> GrafanaError {
        GrafanaError::from_response(StatusCode::from_u16(code).unwrap(), br#"{"message":"secret detail"}"#)
    }

    #[test]
    fn grafana_errors_are_classified_by_cause() {
        assert!(matches!(ProvisionError::from(GrafanaError::Timeout), ProvisionError::GrafanaTimeout));
        assert!(matches!(
            ProvisionError::from(GrafanaError::Transport("refused".into())),
            ProvisionError::GrafanaUnreachable(_)
        ));
        assert!(matches!(ProvisionError::from(status(409)), ProvisionError::Conflict(_)));
        assert!(matches!(ProvisionError::from(status(412)), ProvisionError::Conflict(_)));
        assert!(matches!(ProvisionError::from(status(400)), ProvisionError::GrafanaRefused(_)));
        assert!(matches!(ProvisionError::from(status(500)), ProvisionError::GrafanaFailed(_)));
    }

    #[test]
    fn store_conflicts_do_not_name_the_constraint() {
        let e = ProvisionError::from(StoreError::Conflict { constraint: "scim_users_user_name_uq".into() });
        assert!(matches!(&e, ProvisionError::Conflict(d) if !d.contains("scim_users")));
        assert!(ProvisionError::from(StoreError::NotFound).is_not_found());
        assert!(matches!(ProvisionError::from(StoreError::Backend("x".into())), ProvisionError::Store(_)));
    }
}
