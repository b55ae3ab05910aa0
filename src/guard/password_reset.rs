//! Guard for Grafana's password-reset flow: SCIM-managed users sign in through their identity
//! provider only, so no password may be set for them through the proxy.
//!
//! - `POST /api/user/password/send-reset-email`: `userOrEmail` is read as Grafana binds it
//!   ([`super::go_json`]) and resolved as Grafana's handler does (`/api/users/lookup`: lowercased,
//!   email first when the value has `@`, then login). For a managed user no mail is sent: the
//!   answer is Grafana's own success answer (`{"message":"Email sent"}`), which Grafana also
//!   gives for unknown users, so the refusal reveals nothing to an anonymous caller. Others pass.
//! - `POST /api/user/password/reset`: the body carries only a code, which does not say whose
//!   password it sets, so while SCIM is configured the proxy refuses it for everyone (403);
//!   local users reset their password on Grafana directly or get it set by an admin.
//!
//! Segments compare case-insensitively and the path is the one Grafana resolves
//! ([`crate::route_path`]). Any method other than a read counts (Grafana routes only `POST`).

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Body as HttpBody;
use serde_json::{json, Value};

use super::go_json::Members;
use super::Verdict;
use crate::app::App;
use crate::body::{full, read_guarded, BoxError, ReadError};

const RESET_MESSAGE: &str =
    "Password reset is not available while SCIM provisions users: sign in through your identity provider";

/// Which reset route `path` is, if any.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    SendEmail,
    Reset,
}

fn route(path: &str) -> Option<Route> {
    let segs: Vec<&str> = crate::route_path::segments(path).collect();
    let is = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    if segs.len() != 4 || !(is(0, "api") && is(1, "user") && is(2, "password")) {
        return None;
    }
    if is(3, "send-reset-email") {
        Some(Route::SendEmail)
    } else if is(3, "reset") {
        Some(Route::Reset)
    } else {
        None
    }
}

/// Passes, refuses, or (for a managed user's reset mail) answers as Grafana would without
/// forwarding.
pub async fn check<B>(app: &App, req: Request<B>, path: &str) -> Verdict<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !super::may_refuse(req.method()) || !app.policy.scim_active() {
        return Verdict::Pass(req);
    }
    match route(path) {
        None => Verdict::Pass(req),
        Some(Route::Reset) => Verdict::Refuse(super::refusal(
            app,
            "password_reset",
            StatusCode::FORBIDDEN,
            RESET_MESSAGE,
            "scim-sidecar.password-reset",
        )),
        Some(Route::SendEmail) => send_email(app, req).await,
    }
}

async fn send_email<B>(app: &App, req: Request<B>) -> Verdict<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    // Read under `[server] max_buffered_bodies` like every guard's read: these callers are anonymous.
    let bytes = match read_guarded(body, app.config.server.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e @ (ReadError::TimedOut { .. } | ReadError::Busy)) => {
            return Verdict::Refuse(super::refusal(app, "unreadable", e.status(), &e.to_string(), ""));
        }
        Err(_) => {
            return Verdict::Refuse(super::refusal(
                app,
                "unreadable",
                StatusCode::BAD_REQUEST,
                "bad request data",
                "",
            ));
        }
    };
    let who = Members::of_body(&bytes)
        .and_then(|m| m.field("userOrEmail").and_then(Value::as_str).map(str::to_string));
    // Not a string (or no body Grafana would bind): Grafana answers the request itself.
    let Some(who) = who.filter(|w| !w.is_empty()) else {
        return Verdict::PassRead(Request::from_parts(parts, full(bytes)));
    };
    let managed = match app.grafana.lookup_user(&who).await {
        Ok(None) => false,
        Ok(Some(user)) => match app.store.is_managed_grafana_user(user.id).await {
            Ok(m) => m,
            Err(e) => return unavailable(app, &e),
        },
        Err(e) => return unavailable(app, &e),
    };
    if !managed {
        return Verdict::PassRead(Request::from_parts(parts, full(bytes)));
    }
    tracing::info!("password reset mail for a scim-managed user not sent");
    Verdict::Refuse(super::counted(app, "password_reset", StatusCode::OK, &json!({"message": "Email sent"})))
}

fn unavailable<B>(app: &App, e: &dyn std::fmt::Display) -> Verdict<B> {
    tracing::warn!(error = %e, "cannot tell whether a password reset is for a managed user");
    Verdict::Refuse(super::refusal(
        app,
        "user_unknown",
        StatusCode::SERVICE_UNAVAILABLE,
        "cannot verify the user",
        "scim-sidecar.unavailable",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_matched_as_grafana_resolves_them() {
        assert_eq!(route("/api/user/password/send-reset-email"), Some(Route::SendEmail));
        assert_eq!(route("/API//User/Password/Send-Reset-Email/"), Some(Route::SendEmail));
        assert_eq!(route("/api/user/password/reset"), Some(Route::Reset));
        assert_eq!(route("/api/user/password"), None);
        assert_eq!(route("/api/user/password/reset/x"), None);
    }
}
