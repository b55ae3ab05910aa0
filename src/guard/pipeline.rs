//! The guard pipeline for one passthrough write: [`screen`] decides, the router acts.
//!
//! 1. A path that does not percent-decode to UTF-8 is refused: no rule could read it as Grafana
//!    routes it.
//! 2. When any rule may refuse `method path` ([`is_guarded`], pure), the caller is authenticated
//!    by Grafana first ([`super::caller`]); one Grafana would not authenticate is forwarded
//!    untouched, for Grafana to answer 401.
//! 3. The rules decide in a fixed order: the policy rules ([`super::policy_rules`]), users,
//!    roles, password reset, teams, then the identity API. Each classifies the request purely, asks the
//!    store or Grafana through [`Guards`] when it must, and reads the body through the one
//!    [`Payload`] (so at most once) when its decision depends on it.
//! 4. The first refusal wins; otherwise the request is forwarded with its body as received.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body::Body as HttpBody;

use super::caller::Caller;
use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::{iam, password_reset, policy_rules, roles, teams, users, Guards, Write};
use crate::body::{Body, BoxError};
use crate::policy::Snapshot;
use crate::route_path::RoutePath;

/// What to do with a passthrough write.
#[derive(Debug)]
pub enum Decision {
    /// Send it to Grafana: its head as received, its body as received or as read.
    Forward(Request<Body>),
    /// Answer this instead ([`super::respond`]).
    Refuse(Refusal),
}

/// Whether any rule may refuse `method path` (`path` as Grafana resolves it): the writes whose
/// caller is authenticated first. The password-reset rule is not among them: its callers are
/// anonymous by design.
pub fn is_guarded(policy: Snapshot, method: &Method, path: &str) -> bool {
    users::subject(method, path).is_some()
        || teams::classify(method, path).is_some()
        || iam::classify(method, path).is_some()
        || (policy.scim_active && policy_rules::guards(method, path))
        || roles::guards(policy.role_sync, policy.admin_sync, method, path)
}

/// Decides one write (`req`, whose path the router resolved into `path`).
/// A refusal is recorded in the audit log ([`super::audit`]).
pub async fn screen<B>(guards: &Guards, req: Request<B>, path: &RoutePath) -> Decision
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let seen = guards.auditor.enabled().then(|| super::audit::Seen::of(&req, path.as_str()));
    let (decision, caller) = decide(guards, req, path).await;
    if let (Some(seen), Decision::Refuse(refusal)) = (seen, &decision) {
        super::audit::record(&guards.auditor, seen, refusal, caller);
    }
    decision
}

/// [`screen`]'s decision, and the caller when the pipeline asked Grafana who it is.
async fn decide<B>(guards: &Guards, req: Request<B>, path: &RoutePath) -> (Decision, Option<Caller>)
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if !path.decodes_to_utf8() {
        let message = "the request path is not valid UTF-8 once percent-decoded";
        let dialect = Dialect::Grafana { message_id: "scim-sidecar.bad-path" };
        let refusal = Refusal::new(Kind::Unreadable, StatusCode::BAD_REQUEST, dialect, message);
        return (Decision::Refuse(refusal), None);
    }
    let policy = guards.policy.snapshot();
    let (parts, body) = req.into_parts();
    let body = crate::body::stream(body);
    let mut caller = None;
    if is_guarded(policy, &parts.method, path.as_str()) {
        match guards.callers.identify(&guards.grafana, &parts.headers, parts.uri.query()).await {
            Ok(Caller::Unauthenticated) => {
                return (Decision::Forward(Request::from_parts(parts, body)), None)
            }
            Ok(known) => caller = Some(known),
            Err(e) => {
                tracing::warn!(error = %e, "cannot authenticate the caller of a guarded write");
                let dialect = Dialect::Grafana { message_id: "scim-sidecar.guard-unavailable" };
                let message = "Cannot verify the caller with Grafana; try again";
                let refusal =
                    Refusal::new(Kind::CallerUnknown, StatusCode::SERVICE_UNAVAILABLE, dialect, message);
                return (Decision::Refuse(refusal), None);
            }
        }
    }
    let mut payload = Payload::new(body, guards.max_body_bytes, Dialect::of_path(path.as_str()));
    let write = Write { head: &parts, path: path.as_str(), caller, policy };
    match rules(guards, &write, &mut payload).await {
        Ok(()) => (Decision::Forward(Request::from_parts(parts, payload.into_body())), caller),
        Err(refusal) => (Decision::Refuse(refusal), caller),
    }
}

/// Every rule in order; the first refusal wins.
async fn rules(guards: &Guards, write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    policy_rules::check(write, body).await?;
    users::check(guards, write).await?;
    roles::check(guards, write, body).await?;
    password_reset::check(guards, write, body).await?;
    teams::check(guards, write, body).await?;
    iam::check(guards, write, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_never_guarded() {
        let on = Snapshot {
            scim_active: true,
            group_sync: true,
            require_saml: true,
            role_sync: true,
            admin_sync: true,
        };
        let paths = [
            "/api/users/7",
            "/api/user",
            "/api/admin/users/7/password",
            "/api/teams/7/members",
            "/api/teams/7/groups",
            "/api/v1/sso-settings/saml",
            "/apis/iam.grafana.app/v0alpha1/namespaces/default/users/u1",
        ];
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            for p in paths {
                assert!(!is_guarded(on, &m, p), "{m} {p}");
            }
        }
        assert!(is_guarded(on, &Method::PUT, "/api/users/7"));
        assert!(is_guarded(on, &Method::POST, "/api/teams/7/groups"));
        let off = Snapshot { scim_active: false, ..on };
        assert!(!is_guarded(off, &Method::POST, "/api/teams/7/groups"));
        assert!(is_guarded(on, &Method::PATCH, "/api/orgs/1/users/7"));
        let roles_off = Snapshot { role_sync: false, admin_sync: false, ..on };
        assert!(!is_guarded(roles_off, &Method::PATCH, "/api/orgs/1/users/7"));
    }
}
