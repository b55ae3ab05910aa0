//! SCIM Groups ↔ Grafana teams of the namespace's org (issue 6).
//!
//! A group is a team. The store keeps the SCIM side (`id`, `externalId`, `displayName` as sent,
//! `meta`); Grafana is the truth for membership, which is read from the team on every
//! representation that includes `members` and never otherwise, together with the deactivated
//! members whose restore state remembers the team ([`pending`]). Writes diff the desired member set
//! against Grafana's and send only the changes: one bulk `PUT /api/teams/:id/members` on Grafana
//! ≥ 11.1 when more than one member changes, single adds/removes otherwise. Read-modify-write of a
//! group runs under `store.lock("group:{org}:{id}")`, so concurrent PATCHes never lose an update.
//!
//! "Managed" (protected by the passthrough guard, `guard::teams`): a group created, replaced or
//! patched through SCIM. Teams only seen in listings get a record (for a stable id) but are not
//! managed; the flag lives in the record's attributes under [`MANAGED_KEY`], which the store's
//! `is_managed_grafana_team` checks. It never appears in SCIM output.
//!
//! Must not build HTTP responses (the edge does) nor bypass the Grafana client.

mod members;
mod pending;
mod precondition;
mod read;
mod repr;
mod write;

use std::time::Duration;

use http::Method;

use crate::grafana::model::Version;
use crate::grafana::GrafanaError;
use crate::scim::error::ScimError;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse, Target};
use crate::store::StoreError;

/// Attribute key marking a SCIM-managed group record (see the module docs).
pub const MANAGED_KEY: &str = "_managed";

/// Bulk member replacement exists from this Grafana version on.
const BULK_SINCE: (u32, u32) = (11, 1);

/// Per-process state of the Groups handlers, held by the `App`.
pub struct GroupsState {
    /// Grafana's version, read from `/api/health` (re-read every few minutes: upgrades happen).
    version: moka::future::Cache<(), Option<Version>>,
    /// (org, Grafana user id) pairs known to be org members, so adding team members does not
    /// ask Grafana about each user every time.
    org_members: moka::future::Cache<(i64, i64), ()>,
}

impl Default for GroupsState {
    fn default() -> Self {
        Self {
            version: moka::future::Cache::builder().time_to_live(Duration::from_secs(300)).build(),
            org_members: moka::future::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }
}

impl GroupsState {
    /// Whether Grafana serves the bulk members route; unknown (health failed) counts as no.
    pub(crate) async fn bulk_members(&self, ctx: &ScimContext<'_>) -> bool {
        let version = self
            .version
            .get_with((), async { ctx.app.grafana.health().await.ok().and_then(|h| h.parsed_version()) })
            .await;
        version.is_some_and(|v| v.at_least(BULK_SINCE.0, BULK_SINCE.1))
    }

    /// Forgets the version (after Grafana answered as if the bulk route were missing).
    pub(crate) async fn forget_version(&self) {
        self.version.invalidate(&()).await;
    }
}

/// Handles a request under `/Groups`.
pub async fn handle(
    ctx: &ScimContext<'_>,
    _permit: &crate::policy::GroupsPermit,
    req: ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let op = operation(&req);
    let result = match (&req.method, &req.target) {
        (&Method::GET, Target::Collection) => read::list(ctx, &req).await,
        (&Method::POST, Target::Search) => read::search(ctx, &req).await,
        (&Method::GET, Target::Resource(id)) => read::get(ctx, id, &req).await,
        (&Method::POST, Target::Collection) => write::create(ctx, &req).await,
        (&Method::PUT, Target::Resource(id)) => write::replace(ctx, id, &req).await,
        (&Method::PATCH, Target::Resource(id)) => write::patch(ctx, id, &req).await,
        (&Method::DELETE, Target::Resource(id)) => write::delete(ctx, id, &req).await,
        (m, _) => Err(ScimError::method_not_allowed(format!("{m} is not allowed here"))),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) if e.status >= 500 => "error",
        Err(_) => "rejected",
    };
    ctx.app
        .metrics
        .scim_operations
        .get_or_create(&crate::metrics::ScimOpLabels { resource: "groups", operation: op, outcome })
        .inc();
    result
}

fn operation(req: &ScimRequest) -> &'static str {
    match (&req.method, &req.target) {
        (&Method::GET, Target::Resource(_)) => "get",
        (&Method::GET, _) | (&Method::POST, Target::Search) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "replace",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, _) => "delete",
        _ => "other",
    }
}

/// A Grafana failure as the IdP should see it: 5xx upstream trouble, never internals.
pub(crate) fn upstream(e: GrafanaError) -> ScimError {
    tracing::warn!(error = %e, "grafana call failed");
    match e.status().map(|s| s.as_u16()) {
        Some(s) if s >= 500 => ScimError::bad_gateway("Grafana failed to process the request"),
        Some(_) => ScimError::bad_gateway(format!(
            "Grafana refused the request: {}",
            e.message().unwrap_or("no message")
        )),
        None => ScimError::service_unavailable("cannot reach Grafana"),
    }
}

pub(crate) fn store_err(e: StoreError) -> ScimError {
    tracing::warn!(error = %e, "mapping store failed");
    ScimError::service_unavailable("the mapping store is unavailable")
}
