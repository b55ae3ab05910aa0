//! The one mapping from a provisioning failure to what the IdP is told.
//!
//! [`Failure::from_provision`] is an exhaustive `match` over [`ProvisionError`] (no wildcard arm:
//! a new variant must be given an answer here). The same cause gets the same answer on `/Users`
//! and `/Groups`:
//!
//! | cause | status | `Retry-After` |
//! |---|---|---|
//! | a SCIM rule the request breaks | as `scim` classified it (400 with `scimType`, 413, …) | |
//! | no such resource | 404 | |
//! | uniqueness: a name or externalId taken, Grafana 409/412, a store constraint | 409 `uniqueness` | |
//! | this caller may not write this account | 403 | |
//! | `If-Match` names an old version | 412 | |
//! | a stale record was dropped on the way | 503 | 1 |
//! | Grafana timed out | 504 | |
//! | Grafana unreachable | 503 | 5 |
//! | Grafana 5xx or an unreadable answer | 502 | |
//! | Grafana 4xx the operation did not expect | 502 (status only) | |
//! | the mapping store failed | 503 | 5 |
//!
//! IdPs retry 5xx (Entra also counts them toward quarantine), so only upstream trouble is a 5xx.
//! Upstream detail (Grafana's message or body, SQL text, constraint names) is logged, never sent.

use tracing::warn;

use crate::provision::ProvisionError;
use crate::scim::error::ScimError;

/// Seconds an IdP is asked to wait when Grafana or the store is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u32 = 5;
/// Seconds an IdP is asked to wait before retrying a request whose stale state was repaired.
pub const RETRY_NOW_AFTER: u32 = 1;

/// A SCIM error answer, with the `Retry-After` it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: ScimError,
    /// `Retry-After` in seconds (RFC 9110 §10.2.3), for 503 answers.
    pub retry_after: Option<u32>,
}

impl From<ScimError> for Failure {
    fn from(error: ScimError) -> Self {
        Self { error, retry_after: None }
    }
}

impl From<crate::policy::PolicyRefusal> for Failure {
    fn from(r: crate::policy::PolicyRefusal) -> Self {
        ScimError::from(r).into()
    }
}

impl From<ProvisionError> for Failure {
    fn from(e: ProvisionError) -> Self {
        Self::from_provision(e)
    }
}

impl Failure {
    fn unavailable(detail: &str, retry_after: u32) -> Self {
        Self { error: ScimError::service_unavailable(detail), retry_after: Some(retry_after) }
    }

    /// What the IdP is told for `e` (see the module docs for the table).
    pub fn from_provision(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Invalid(error) => error.into(),
            ProvisionError::NotFound(detail) => ScimError::not_found(detail).into(),
            ProvisionError::Conflict(detail) => ScimError::uniqueness(detail).into(),
            ProvisionError::Forbidden(detail) => ScimError::forbidden(detail).into(),
            ProvisionError::VersionMismatch(detail) => ScimError::precondition_failed(detail).into(),
            ProvisionError::Retry(detail) => Self::unavailable(&detail, RETRY_NOW_AFTER),
            ProvisionError::GrafanaTimeout => {
                warn!("grafana did not answer in time");
                ScimError::gateway_timeout("Grafana did not answer in time").into()
            }
            ProvisionError::GrafanaUnreachable(cause) => {
                warn!(%cause, "grafana is unreachable");
                Self::unavailable("Grafana is unreachable", UNAVAILABLE_RETRY_AFTER)
            }
            ProvisionError::GrafanaFailed(error) => {
                warn!(%error, "grafana failed");
                ScimError::bad_gateway("Grafana failed to process the request").into()
            }
            ProvisionError::GrafanaRefused(error) => {
                warn!(%error, "unexpected grafana refusal");
                let status = error.status().map_or(0, |s| s.as_u16());
                ScimError::bad_gateway(format!("Grafana answered {status}")).into()
            }
            ProvisionError::Store(cause) => {
                warn!(%cause, "mapping store failure");
                Self::unavailable("the mapping store is unavailable", UNAVAILABLE_RETRY_AFTER)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::grafana::GrafanaError;
    use crate::store::StoreError;

    fn answer(e: impl Into<ProvisionError>) -> Failure {
        Failure::from_provision(e.into())
    }

    #[test]
    fn one_answer_per_upstream_cause() {
        let timeout = answer(GrafanaError::Timeout);
        assert_eq!((timeout.error.status, timeout.retry_after), (504, None));
        let down = answer(GrafanaError::Transport("connection refused".into()));
        assert_eq!((down.error.status, down.retry_after), (503, Some(UNAVAILABLE_RETRY_AFTER)));
        assert!(!down.error.detail.contains("refused"));
        let failed = answer(GrafanaError::from_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"message":"db locked"}"#,
        ));
        assert_eq!(failed.error.status, 502);
        assert!(!failed.error.detail.contains("db locked"));
        let refused =
            answer(GrafanaError::from_response(StatusCode::BAD_REQUEST, br#"{"message":"bad thing"}"#));
        assert_eq!(refused.error.status, 502);
        assert!(!refused.error.detail.contains("bad thing"));
        let taken =
            answer(GrafanaError::from_response(StatusCode::CONFLICT, br#"{"message":"Team name taken"}"#));
        assert_eq!(taken.error.status, 409);
    }

    #[test]
    fn store_failures_never_show_sql_or_constraints() {
        let conflict = answer(StoreError::Conflict { constraint: "scim_groups_external_id_uq".into() });
        assert_eq!(conflict.error.status, 409);
        assert!(!conflict.error.detail.contains("scim_groups"));
        let down = answer(StoreError::Backend("connection to 10.0.0.5 refused".into()));
        assert_eq!((down.error.status, down.retry_after), (503, Some(UNAVAILABLE_RETRY_AFTER)));
        assert!(!down.error.detail.contains("10.0.0.5"));
    }
}
