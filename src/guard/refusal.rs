//! [`Refusal`]: a guard's decision not to forward a request, as data: what kind of refusal it is
//! (the `guard_refusals_total{kind}` label), its status, the body shape the client expects
//! ([`Dialect`]) and the message. Rules build refusals; only [`super::respond`] turns them into
//! responses.

use std::borrow::Cow;

use http::StatusCode;

use crate::body::ReadError;

/// Why a guard refused, as counted in `scim_sidecar_guard_refusals_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A write to a SCIM-managed user.
    User,
    /// Whether the user is managed could not be told (store or Grafana unavailable).
    UserUnknown,
    /// A write to a SCIM-managed team.
    Team,
    /// Whether the team is managed could not be told.
    TeamUnknown,
    /// A delete of a whole identity-API collection while SCIM is configured.
    Collection,
    /// A password reset for a SCIM-managed user, or any reset by code.
    PasswordReset,
    /// A Team Sync group link while SCIM group sync is on.
    TeamSyncLink,
    /// A settings write that could turn SAML off while it is required.
    SamlDisable,
    /// Grafana could not say who sent a guarded write.
    CallerUnknown,
    /// The path or body could not be read as Grafana would read it.
    Unreadable,
    /// A manual role change of a SCIM-managed user while SCIM role sync is on.
    Role,
}

impl Kind {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::UserUnknown => "user_unknown",
            Kind::Team => "team",
            Kind::TeamUnknown => "team_unknown",
            Kind::Collection => "collection",
            Kind::PasswordReset => "password_reset",
            Kind::TeamSyncLink => "team_sync_link",
            Kind::SamlDisable => "saml_disable",
            Kind::CallerUnknown => "caller_unknown",
            Kind::Unreadable => "unreadable",
            Kind::Role => "role",
        }
    }
}

/// The body shape of a refusal: the one the refused API answers with itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Grafana's API error: `{"message", "messageId", "statusCode"}`.
    Grafana {
        /// Grafana's machine-readable `messageId` (`scim-sidecar.…`).
        message_id: &'static str,
    },
    /// Grafana's team API error: `{"message", "traceID": ""}`.
    GrafanaTeam,
    /// `{"message"}` alone, as Grafana's older handlers answer (and its "Email sent").
    Message,
    /// A Kubernetes `Status` failure, as Grafana's identity API (`/apis/…`) answers; its `reason`
    /// follows from the status.
    Kubernetes,
}

impl Dialect {
    /// The dialect of a body-read failure on `path` (as Grafana resolves it): Kubernetes `Status`
    /// for the `/apis/…` API server, Grafana's JSON error otherwise.
    pub fn of_path(path: &str) -> Self {
        let apis = crate::route_path::segments(path).next().is_some_and(|s| s.eq_ignore_ascii_case("apis"));
        if apis {
            Dialect::Kubernetes
        } else {
            Dialect::Grafana { message_id: "scim-sidecar.unreadable-body" }
        }
    }
}

/// A request the guards will not forward, and how to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: Kind,
    pub status: StatusCode,
    pub dialect: Dialect,
    /// For the client: never internal detail (store errors, Grafana bodies), which is logged.
    pub message: Cow<'static, str>,
}

impl Refusal {
    pub fn new(
        kind: Kind,
        status: StatusCode,
        dialect: Dialect,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self { kind, status, dialect, message: message.into() }
    }

    /// The one answer to a body the guards could not read (counted as [`Kind::Unreadable`]),
    /// whichever rule needed it: 413 past `[server] max_body_bytes`, 400 for a broken stream, 408
    /// past `[server] body_read_timeout`, 503 past `[server] max_buffered_bodies`.
    pub fn unreadable_body(error: &ReadError, dialect: Dialect) -> Self {
        let message = match error {
            ReadError::TooLarge { .. } => "the request body is larger than the sidecar reads",
            ReadError::Stream(_) => "the request body could not be read",
            ReadError::TimedOut { .. } => "the request body was not received in time",
            ReadError::Busy => "too many request bodies are being checked; try again",
        };
        Self::new(Kind::Unreadable, error.status(), dialect, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_read_failures_map_once_in_the_routes_dialect() {
        let k8s = Dialect::of_path("/APIS/iam.grafana.app/v0alpha1/namespaces/default/teambindings");
        assert_eq!(k8s, Dialect::Kubernetes);
        let grafana = Dialect::of_path("/api/teams/7");
        assert!(matches!(grafana, Dialect::Grafana { .. }));
        let busy = Refusal::unreadable_body(&ReadError::Busy, grafana);
        assert_eq!((busy.kind, busy.status), (Kind::Unreadable, StatusCode::SERVICE_UNAVAILABLE));
        let large = Refusal::unreadable_body(&ReadError::TooLarge { limit: 1 }, k8s);
        assert_eq!(large.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
