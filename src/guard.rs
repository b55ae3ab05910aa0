//! Passthrough guards: Grafana API writes the proxy refuses because SCIM (or the policy) owns
//! what they would change. One pipeline decides ([`pipeline::screen`]), one responder answers
//! ([`respond`]); the router only forwards or sends that answer.
//!
//! - Rules, one module per family, each a pure classification of `method path` plus a decision
//!   that may ask the store or Grafana: [`users`], [`teams`], [`password_reset`], [`iam`]
//!   (Grafana's Kubernetes-style identity API, Kubernetes `Status` answers) and [`policy_rules`]
//!   (Team Sync links, SAML disable), and [`roles`] (manual role changes of managed users while
//!   SCIM role sync is on).
//! - [`refusal`]: the one outcome type, [`Refusal`] `{kind, status, dialect, message}`;
//!   [`respond`]: the one place a refusal becomes a response and is counted in
//!   `scim_sidecar_guard_refusals_total{kind}`.
//! - [`payload`]: the body, read at most once and only when a rule needs it.
//! - [`caller`]: who sends a guarded write, as Grafana authenticates them.
//!
//! The guards hold their own narrow state ([`Guards`]) and never modify anything.

mod audit;
pub mod caller;
pub mod iam;
pub mod password_reset;
pub mod payload;
pub mod pipeline;
pub mod policy_rules;
pub mod refusal;
mod respond;
pub mod roles;
pub mod teams;
pub mod users;

use std::sync::Arc;

use http::Method;

use crate::grafana::GrafanaClient;
use crate::metrics::Metrics;
use crate::policy::{PolicyEngine, Snapshot};
use crate::store::MappingStore;

pub use pipeline::{screen, Decision};
pub use refusal::{Dialect, Kind, Refusal};
pub use respond::respond;

/// What the guards need, and nothing more: built once by the assembly.
pub struct Guards {
    /// Lookups made with the sidecar's credential, or as the caller.
    pub grafana: GrafanaClient,
    /// Which users and teams SCIM manages.
    pub store: Arc<dyn MappingStore>,
    /// The source of the policy [`Snapshot`] taken once per request.
    pub policy: PolicyEngine,
    /// Where refusals are counted.
    pub metrics: Metrics,
    /// Guarded writes' callers as Grafana authenticates them, cached briefly.
    pub callers: caller::Callers,
    /// `[server] max_body_bytes`: the most a guard reads of a body. (The `[server]
    /// max_buffered_bodies` permits and `body_read_timeout` are the server's, applied to every
    /// guard read by [`crate::body::read_guarded`].)
    pub max_body_bytes: usize,
    /// Where refusals are recorded (a disabled auditor until [`Guards::with_auditor`]).
    pub auditor: crate::audit::Auditor,
}

impl std::fmt::Debug for Guards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guards").field("max_body_bytes", &self.max_body_bytes).finish_non_exhaustive()
    }
}

impl Guards {
    pub fn new(
        grafana: GrafanaClient,
        store: Arc<dyn MappingStore>,
        policy: PolicyEngine,
        metrics: Metrics,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            grafana,
            store,
            policy,
            metrics,
            callers: caller::Callers::default(),
            max_body_bytes,
            auditor: crate::audit::Auditor::disabled(),
        }
    }

    /// The same guards, recording refusals through `auditor`.
    #[must_use]
    pub fn with_auditor(mut self, auditor: crate::audit::Auditor) -> Self {
        self.auditor = auditor;
        self
    }
}

/// One guarded write as every rule sees it.
#[derive(Debug)]
pub struct Write<'a> {
    /// Method, URI and headers as received (after [`crate::edge`] normalised them).
    pub head: &'a http::request::Parts,
    /// The path as Grafana resolves it ([`crate::route_path`]).
    pub path: &'a str,
    /// Who Grafana says sent it, when the pipeline asked ([`pipeline::is_guarded`]).
    pub caller: Option<caller::Caller>,
    /// The policy's verdicts for this request.
    pub policy: Snapshot,
}

/// Whether any guard can refuse a request with this method. Every guarded route is a write, so
/// reads skip the guards entirely; the rules' own route tables (tested below) keep to that rule.
pub fn may_refuse(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The router skips the guards for methods [`may_refuse`] rules out; no route of either
    /// guard may be guarded for them.
    #[test]
    fn reads_are_never_guarded() {
        let user_paths = [
            "/api/users/7",
            "/api/user",
            "/api/user/password",
            "/api/admin/users/7",
            "/api/admin/users/7/password",
            "/api/admin/users/7/disable",
            "/api/admin/users/ab-c/enable",
        ];
        let team_paths = [
            "/api/teams/7",
            "/api/teams/7/members",
            "/api/teams/7/members/3",
            "/api/access-control/teams/7/users/3",
        ];
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!may_refuse(&m));
            for p in user_paths {
                assert_eq!(users::subject(&m, p), None, "{m} {p}");
            }
            for p in team_paths {
                assert_eq!(teams::classify(&m, p), None, "{m} {p}");
            }
        }
    }
}
