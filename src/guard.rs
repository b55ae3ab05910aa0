//! Passthrough guards: Grafana API requests the proxy must refuse because SCIM owns the object.
//!
//! The router asks [`check`] before forwarding; `Some(response)` is sent instead of proxying.
//! Each resource family has its own module ([`users`], [`teams`], and [`iam`] for Grafana's
//! Kubernetes-style identity API); this dispatcher stays small and only builds the Grafana-style
//! refusal. Guards never modify anything.

pub mod caller;
pub mod go_json;
pub mod iam;
pub mod password_reset;
pub mod teams;
pub mod users;

use http::{Method, Request, Response, StatusCode};
use serde_json::json;

use crate::app::App;
use crate::body::Body;
use crate::metrics::KindLabels;

/// What the router should do with a request a body-reading guard ([`teams`], [`iam`]) checked.
pub enum Verdict<B> {
    /// Not a guarded route, or nothing SCIM manages: forward as is.
    Pass(Request<B>),
    /// The body was read to decide; forward this copy.
    PassRead(Request<Body>),
    /// Answer this instead of forwarding.
    Refuse(Response<Body>),
}

/// Whether any passthrough guard (these and [`crate::policy::guard`]) can refuse a request with
/// this method. Every guarded route is a write, so reads skip the guards entirely; the guards'
/// own route tables (tested below) keep to that rule.
pub fn may_refuse(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The refusal or `None` to let `req` through. `path` is its path as Grafana resolves it
/// ([`crate::route_path`]), not as received; `caller` who Grafana says sent it, when known.
pub async fn check<B>(
    app: &App,
    req: &Request<B>,
    path: &str,
    caller: Option<caller::Caller>,
) -> Option<Response<Body>> {
    users::check(app, req, path, caller).await
}

/// Whether any guard (these and [`crate::policy::guard`]) may refuse `method path`, `path` as
/// Grafana resolves it: the requests whose caller is authenticated first.
pub fn is_guarded(app: &App, method: &Method, path: &str) -> bool {
    users::subject(method, path).is_some()
        || teams::classify(method, path).is_some()
        || iam::classify(method, path).is_some()
        || (app.policy.scim_active() && crate::policy::guard::guards(method, path))
}

/// A Grafana-shaped JSON error (`message`, `messageId`, `statusCode`).
pub(crate) fn refusal(
    app: &App,
    kind: &'static str,
    status: StatusCode,
    message: &str,
    message_id: &str,
) -> Response<Body> {
    let body = json!({"message": message, "messageId": message_id, "statusCode": status.as_u16()});
    counted(app, kind, status, &body)
}

/// `body` as a JSON answer with `status`, counted under `kind` in `guard_refusals_total`. Every
/// guard's refusal goes through here, whatever its body's shape.
pub(crate) fn counted(
    app: &App,
    kind: &'static str,
    status: StatusCode,
    body: &serde_json::Value,
) -> Response<Body> {
    app.metrics.guard_refusals.get_or_create(&KindLabels { kind }).inc();
    let mut res = Response::new(crate::body::full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
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
