//! The audit record of a guard refusal: who asked (the Grafana user the caller signed in as,
//! when the pipeline asked Grafana), what (method and path), the refusal's kind and message.
//! Taken only when the auditor is on.

use http::Request;

use super::caller::Caller;
use super::refusal::Refusal;
use crate::audit::{AuditRecord, Auditor, Outcome};

/// What the record needs of the request, taken before the pipeline consumes it.
#[derive(Debug)]
pub(super) struct Seen {
    operation: String,
    request_id: String,
    client: String,
}

impl Seen {
    pub(super) fn of<B>(req: &Request<B>, path: &str) -> Self {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        // The router leaves the connection's peer in the extensions.
        let client = req
            .extensions()
            .get::<crate::server::ClientInfo>()
            .map(|i| i.addr.ip().to_string())
            .unwrap_or_default();
        Self {
            operation: format!("{} {path}", req.method()),
            request_id: header(crate::request_id::X_REQUEST_ID.as_str()).to_owned(),
            client,
        }
    }
}

/// Records `refusal` of the request `seen`.
pub(super) fn record(auditor: &Auditor, seen: Seen, refusal: &Refusal, caller: Option<Caller>) {
    let mut r = AuditRecord::new("guard", seen.operation, Outcome::Refused);
    r.request_id = seen.request_id;
    r.actor.client = seen.client;
    if let Some(Caller::User(id)) = caller {
        r.actor.name = format!("grafana-user:{id}");
    }
    r.reason = Some(format!("{}: {}", refusal.kind.as_str(), refusal.message));
    auditor.record(r);
}
