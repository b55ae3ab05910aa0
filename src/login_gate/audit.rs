//! The audit record of a refused login: the ACS post's request id and client, the refusal's
//! kind (`externalid_mismatch`, `deactivated`, `not_provisioned`, `invalid`, `unavailable`) and,
//! once the assertion was verified, whom it named (`subject`: login, email, external id; the
//! login also as `user_name`, so `audit --user` finds it). An assertion that failed verification
//! names nobody in the record: what it claims is not known to be true. The assertion itself is
//! never recorded.

use super::decide::{Identity, Refusal};
use crate::audit::{AuditRecord, Auditor, Outcome, Subject};
use crate::server::ClientInfo;

/// Records `refusal` of the login posted with `head` from `peer`; `who` is the verified subject.
pub(super) fn record(
    auditor: &Auditor,
    head: &http::request::Parts,
    peer: ClientInfo,
    refusal: Refusal,
    who: Option<&Identity>,
) {
    if !auditor.enabled() {
        return;
    }
    let mut r =
        AuditRecord::new("login_gate", format!("{} {}", head.method, head.uri.path()), Outcome::Refused);
    r.request_id = head
        .headers
        .get(&crate::request_id::X_REQUEST_ID)
        .map(|v| crate::request_id::as_str(v).to_owned())
        .unwrap_or_default();
    r.actor.client = peer.addr.ip().to_string();
    r.reason = Some(refusal.metric_kind().to_owned());
    if let Some(who) = who {
        r.resource_type = "User".into();
        r.user_name.clone_from(&who.login);
        r.subject = Some(Subject {
            login: who.login.clone(),
            email: who.email.clone(),
            external_id: who.external_uid.clone(),
        });
    }
    auditor.record(r);
}
