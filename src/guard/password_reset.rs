//! Guard for Grafana's password-reset flow: SCIM-managed users sign in through their identity
//! provider only, so no password may be set for them through the proxy.
//!
//! - `POST /api/user/password/send-reset-email`: `userOrEmail` is read as Grafana binds it
//!   ([`crate::go_json`]) and resolved as Grafana's handler does (`/api/users/lookup`: lowercased,
//!   email first when the value has `@`, then login). For a managed user no mail is sent: the
//!   answer is Grafana's own success answer (`{"message":"Email sent"}`), which Grafana also
//!   gives for unknown users, so the refusal reveals nothing to an anonymous caller. Others pass.
//! - `POST /api/user/password/reset`: the body carries only a code, which does not say whose
//!   password it sets, so while SCIM is configured the proxy refuses it for everyone (403);
//!   local users reset their password on Grafana directly or get it set by an admin.
//!
//! Segments compare case-insensitively and the path is the one Grafana resolves
//! ([`crate::route_path`]). Any method other than a read counts (Grafana routes only `POST`).

use http::StatusCode;
use serde_json::Value;

use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::{Guards, Write};
use crate::go_json::Members;

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
/// forwarding; reads the body (through `body`) only for a reset mail.
pub(super) async fn check(guards: &Guards, write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    if !super::may_refuse(&write.head.method) || !write.policy.scim_active {
        return Ok(());
    }
    match route(write.path) {
        None => Ok(()),
        Some(Route::Reset) => Err(Refusal::new(
            Kind::PasswordReset,
            StatusCode::FORBIDDEN,
            Dialect::Grafana { message_id: "scim-sidecar.password-reset" },
            RESET_MESSAGE,
        )),
        Some(Route::SendEmail) => send_email(guards, &body.bytes().await?).await,
    }
}

async fn send_email(guards: &Guards, body: &[u8]) -> Result<(), Refusal> {
    let who = Members::of_body(body)
        .and_then(|m| m.field("userOrEmail").and_then(Value::as_str).map(str::to_string));
    // Not a string (or no body Grafana would bind): Grafana answers the request itself.
    let Some(who) = who.filter(|w| !w.is_empty()) else { return Ok(()) };
    let managed = match guards.grafana.lookup_user(&who).await {
        Ok(None) => false,
        Ok(Some(user)) => match guards.store.is_managed_grafana_user(user.id).await {
            Ok(m) => m,
            Err(e) => return Err(unavailable(&e)),
        },
        Err(e) => return Err(unavailable(&e)),
    };
    if !managed {
        return Ok(());
    }
    tracing::info!("password reset mail for a scim-managed user not sent");
    // Grafana's own success answer, counted as a refusal: no mail is sent.
    Err(Refusal::new(Kind::PasswordReset, StatusCode::OK, Dialect::Message, "Email sent"))
}

fn unavailable(e: &dyn std::fmt::Display) -> Refusal {
    tracing::warn!(error = %e, "cannot tell whether a password reset is for a managed user");
    Refusal::new(
        Kind::UserUnknown,
        StatusCode::SERVICE_UNAVAILABLE,
        Dialect::Grafana { message_id: "scim-sidecar.unavailable" },
        "cannot verify the user",
    )
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
