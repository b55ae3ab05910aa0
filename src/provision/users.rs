//! SCIM Users ↔ Grafana users (issue 5): the handler behind `/Users` of every namespace.
//!
//! SCIM is the source of truth for managed users (created, adopted or written through SCIM): the
//! stored canonical document is what SCIM serves, and Grafana's copy (login, email, name,
//! access) converges to it. Users SCIM never wrote are presented from Grafana with stable ids.
//! Submodules: [`view`] (representation, shared steps), [`encoded`] (the same representation
//! written straight to bytes for import pages), [`read`] (get, list, filters),
//! [`create`] (create, adopt, revive), [`update`] (PUT, PATCH, DELETE), [`lifecycle`]
//! (deactivation and reactivation), [`authority`] (who may write which Grafana user),
//! [`external_id`] (one person per externalId). Nothing here parses HTTP: `scim_api` does.

mod authority;
mod create;
mod encoded;
mod external_id;
mod lifecycle;
mod read;
mod update;
mod view;

use std::time::Instant;

use http::Method;
use tokio::sync::OnceCell;
use tracing::debug;

pub use create::random_password;
pub use encoded::write_unmanaged;
pub use lifecycle::{OrgRestore, RestoreState};
pub use read::SCAN_FACTOR;
pub use view::{presented, Presented};

use crate::metrics::ScimOpLabels;
use crate::scim::error::ScimError;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse, Target};
use crate::store::LocalLocks;

/// Long-lived state of the Users handler (held by `ScimApi`).
#[derive(Debug, Default)]
pub struct UsersState {
    /// Grafana's `[users] auto_assign_org` and `auto_assign_org_role`, read once.
    auto_assign: OnceCell<Option<(bool, String)>>,
    /// Serialises this process's creates of one userName, and its writes of one externalId
    /// (see `create`, `external_id`).
    creating: LocalLocks,
    /// The sidecar's own Grafana user, asked for once (`authority`).
    own: OnceCell<authority::OwnAccount>,
}

impl UsersState {
    pub fn new() -> Self {
        Self::default()
    }

    /// `(auto_assign_org, auto_assign_org_role)`, `None` when Grafana would not say (the
    /// caller then adds the membership explicitly).
    async fn auto_assign(&self, ctx: &ScimContext<'_>) -> Option<(bool, String)> {
        self.auto_assign
            .get_or_init(|| async {
                match ctx.app.grafana.admin_settings().await {
                    Ok(s) => {
                        let on = s.get_bool("users", "auto_assign_org").unwrap_or(true);
                        // With auto-assignment on, Grafana puts the user in the explicit orgId
                        // of the create call with this role.
                        let role = s.get("users", "auto_assign_org_role").unwrap_or("Viewer").to_string();
                        Some((on, role))
                    }
                    Err(e) => {
                        debug!(error = %e, "cannot read grafana's auto-assign settings");
                        None
                    }
                }
            })
            .await
            .clone()
    }
}

/// Handles a request under `/Users`.
pub async fn handle(
    ctx: &ScimContext<'_>,
    _permit: &crate::policy::UsersPermit,
    req: ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let started = Instant::now();
    let state = &ctx.app.scim.users;
    let (operation, result) = match (&req.method, &req.target) {
        (&Method::GET, Target::Collection) => ("list", read::list(ctx, &req, false).await),
        (&Method::POST, Target::Search) => ("search", read::list(ctx, &req, true).await),
        (&Method::POST, Target::Collection) => ("create", create::create(ctx, state, &req).await),
        (&Method::GET, Target::Resource(id)) => ("get", read::get(ctx, id, &req).await),
        (&Method::PUT, Target::Resource(id)) => ("replace", update::write(ctx, id, &req, false).await),
        (&Method::PATCH, Target::Resource(id)) => ("patch", update::write(ctx, id, &req, true).await),
        (&Method::DELETE, Target::Resource(id)) => ("delete", update::delete(ctx, id, &req).await),
        _ => ("other", Err(ScimError::method_not_allowed("method not allowed on this endpoint"))),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) if e.status >= 500 => "error",
        Err(_) => "refused",
    };
    ctx.app
        .metrics
        .scim_operations
        .get_or_create(&ScimOpLabels { resource: "User", operation, outcome })
        .inc();
    debug!(operation, outcome, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "scim users operation");
    result
}
