//! SCIM Users ↔ Grafana users (issue 5): the handler behind `/Users` of every namespace.
//!
//! SCIM is the source of truth for managed users (created, adopted or written through SCIM): the
//! stored canonical document is what SCIM serves, and Grafana's copy (login, email, name,
//! access) converges to it. Users SCIM never wrote are presented from Grafana with stable ids.
//! Submodules: [`view`] (representation, shared steps), [`encoded`] (the same representation
//! written straight to bytes for import pages), [`read`] (get, list, filters),
//! [`create`] (create, adopt, revive), [`reprovision`] (a create naming a deactivated user),
//! [`update`] (PUT, PATCH, DELETE), [`lifecycle`] (deactivation and reactivation), [`authority`] (who may write which Grafana user),
//! [`external_id`] (one person per externalId), [`known`] (Grafana ids remembered so reads
//! ask the store and Grafana at once), [`shadow`] (users created in shadow mode). Operations arrive typed ([`Op`]) and leave as an
//! [`Outcome`]: nothing here knows HTTP.

mod authority;
mod create;
mod encoded;
mod external_id;
mod known;
mod lifecycle;
mod read;
mod reprovision;
mod shadow;
mod update;
mod view;

use tokio::sync::OnceCell;
use tracing::debug;

pub use create::random_password;
pub use encoded::write_unmanaged;
pub use lifecycle::{OrgRestore, RestoreState};
pub use read::SCAN_FACTOR;
pub use view::{presented, Presented};

use crate::provision::{Op, Outcome, ProvisionError, Scope};
use crate::store::LocalLocks;

/// Long-lived state of the Users operations (held by the `Provisioner`).
#[derive(Debug, Default)]
pub struct UsersState {
    /// Grafana's `[users] auto_assign_org` and `auto_assign_org_role`, read once.
    auto_assign: OnceCell<Option<(bool, String)>>,
    /// Serialises this process's creates of one userName, and its writes of one externalId
    /// (see `create`, `external_id`).
    creating: LocalLocks,
    /// The sidecar's own Grafana user, asked for once (`authority`).
    own: OnceCell<authority::OwnAccount>,
    /// Which Grafana user a SCIM id or userName was last seen to be (`known`).
    known: known::Known,
}

impl UsersState {
    pub fn new() -> Self {
        Self::default()
    }

    /// `(auto_assign_org, auto_assign_org_role)`, `None` when Grafana would not say (the
    /// caller then adds the membership explicitly).
    async fn auto_assign(&self, ctx: &Scope<'_>) -> Option<(bool, String)> {
        self.auto_assign
            .get_or_init(|| async {
                match ctx.prov.grafana.admin_settings().await {
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

/// Runs a Users operation.
pub(crate) async fn execute(ctx: &Scope<'_>, op: Op) -> Result<Outcome, ProvisionError> {
    let state = &ctx.prov.users;
    match op {
        Op::Get { id, view: _ } => read::get(ctx, &id).await.map(Outcome::Current),
        Op::List { query, view } => read::list(ctx, query, &view).await,
        Op::Create { body } => create::create(ctx, state, body).await.map(Outcome::Created),
        Op::Replace { id, body, expected, view: _ } => {
            update::write(ctx, &id, update::Change::Replace(body), expected.as_deref())
                .await
                .map(Outcome::Current)
        }
        // Users always show the resource after a PATCH (the edge answers 200).
        Op::Patch { id, patch, expected, view: _ } => {
            update::write(ctx, &id, update::Change::Patch(patch), expected.as_deref())
                .await
                .map(Outcome::Current)
        }
        Op::Delete { id, expected } => {
            update::delete(ctx, &id, expected.as_deref()).await.map(|()| Outcome::Done)
        }
    }
}
