//! The audit record of a refused login: the ACS post's request id and client, and the refusal's
//! kind (`externalid_mismatch`, `deactivated`, `not_provisioned`, `invalid`, `unavailable`).

use super::decide::Refusal;
use crate::audit::{AuditRecord, Auditor, Outcome};
use crate::server::ClientInfo;

/// Records `refusal` of the login posted with `head` from `peer`.
pub(super) fn record(auditor: &Auditor, head: &http::request::Parts, peer: ClientInfo, refusal: Refusal) {
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
    auditor.record(r);
}
