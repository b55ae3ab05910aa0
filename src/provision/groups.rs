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
//! `is_managed_grafana_team` checks. It never appears in SCIM output. Writes that set members
//! also keep the desired member ids under [`MEMBERS_KEY`] (for `reconcile`; SCIM reads still
//! show Grafana's members).
//!
//! In shadow mode ([`shadow`]) a managed group's name and members are SCIM's, from the store.
//!
//! Operations arrive typed ([`Op`]) and leave as an [`Outcome`]; nothing here knows HTTP, and
//! nothing bypasses the Grafana client.

pub mod adopt;
mod drift;
mod members;
mod pending;
mod plan;
mod precondition;
mod read;
mod repr;
mod shadow;
mod write;

use std::time::Duration;

use crate::grafana::model::Version;
use crate::grafana::GrafanaError;
use crate::provision::{Op, Outcome, ProvisionError, Scope};
use crate::store::StoreError;

/// Attribute key marking a SCIM-managed group record (see the module docs).
pub const MANAGED_KEY: &str = "_managed";

/// Attribute key holding the SCIM user ids a SCIM-managed group should have as members, written
/// by every group write that sets members (a create, a replace, a PATCH of `members`). Grafana
/// stays the truth SCIM shows; this is what `reconcile` compares Grafana's team with. Records
/// written before it existed lack it: their membership is not compared until the next such write.
/// Never shown in SCIM output.
pub const MEMBERS_KEY: &str = "_members";

/// Bulk member replacement exists from this Grafana version on.
const BULK_SINCE: (u32, u32) = (11, 1);

/// Most (org, user) membership facts kept: about 2 MiB (issue 30; 1,000,000 before, which a
/// 250k-user tenant's group syncs could fill with tens of MiB).
const ORG_MEMBERS_CACHED: u64 = 20_000;

/// Per-process state of the Groups operations, held by the `Provisioner`.
pub struct GroupsState {
    /// Grafana's version, read from `/api/health` (re-read every few minutes: upgrades happen).
    version: moka::future::Cache<(), Option<Version>>,
    /// (org, Grafana user id) pairs known to be org members, so adding team members does not
    /// ask Grafana about each user every time. Bounded by [`ORG_MEMBERS_CACHED`], not by the size
    /// of the directory: a miss costs one Grafana lookup.
    org_members: moka::future::Cache<(i64, i64), ()>,
}

impl Default for GroupsState {
    fn default() -> Self {
        Self {
            version: moka::future::Cache::builder().time_to_live(Duration::from_secs(300)).build(),
            org_members: moka::future::Cache::builder()
                .max_capacity(ORG_MEMBERS_CACHED)
                .time_to_live(Duration::from_secs(600))
                .build(),
        }
    }
}

impl GroupsState {
    /// Whether Grafana serves the bulk members route; unknown (health failed) counts as no.
    pub(crate) async fn bulk_members(&self, ctx: &Scope<'_>) -> bool {
        let version = self
            .version
            .get_with((), async { ctx.prov.grafana.health().await.ok().and_then(|h| h.parsed_version()) })
            .await;
        version.is_some_and(|v| v.at_least(BULK_SINCE.0, BULK_SINCE.1))
    }

    /// Forgets the version (after Grafana answered as if the bulk route were missing).
    pub(crate) async fn forget_version(&self) {
        self.version.invalidate(&()).await;
    }
}

/// Runs a Groups operation.
pub(crate) async fn execute(ctx: &Scope<'_>, op: Op) -> Result<Outcome, ProvisionError> {
    match op {
        Op::Get { id, view } => read::get(ctx, &id, &view).await.map(Outcome::Current),
        Op::List { query, view } => read::list(ctx, query, &view).await.map(Outcome::Listed),
        Op::Create { body } => write::create(ctx, &body).await.map(Outcome::Created),
        Op::Replace { id, body, expected, view } => {
            write::replace(ctx, &id, &body, expected.as_deref(), &view).await.map(Outcome::Current)
        }
        Op::Patch { id, patch, expected, view } => {
            let shown = write::patch(ctx, &id, &patch, expected.as_deref(), view.as_ref()).await?;
            Ok(shown.map_or(Outcome::Done, Outcome::Current))
        }
        Op::Delete { id, expected } => {
            write::delete(ctx, &id, expected.as_deref()).await.map(|()| Outcome::Done)
        }
    }
}

/// A Grafana failure, classified ([`ProvisionError`]'s `From`).
pub(crate) fn upstream(e: GrafanaError) -> ProvisionError {
    e.into()
}

/// A store failure, classified ([`ProvisionError`]'s `From`).
pub(crate) fn store_err(e: StoreError) -> ProvisionError {
    e.into()
}
