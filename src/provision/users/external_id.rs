//! An `externalId` belongs to one person. The login gate finds people by the external UID of
//! their assertion, in every org, so a managed record of a *different* Grafana user holding a
//! person's externalId (a decoy another org's token created, or one left deactivated) would lock
//! that person out. A create or update is refused (409 `uniqueness`) when a managed record of
//! another Grafana user holds its externalId in any org, deleted and deactivated records included
//! (the gate still matches them). The same Grafana user may hold it in several orgs (one person,
//! several orgs).
//!
//! Holders are compared ignoring ASCII case, stricter than the gate's exact match: Grafana's own
//! lookups of external ids are case-insensitive on MySQL, and IdPs' ids (GUIDs, Okta ids) never
//! differ from another person's by case alone. Records of a Grafana user deleted behind the
//! sidecar's back hold nobody's identity and are dropped when found.
//!
//! Writes of one externalId are serialised within a process, so the loser of a race is refused
//! before it touches Grafana. The store enforces the rule itself (migration 6: a trigger, under a
//! transaction-scoped advisory lock on PostgreSQL), so two replicas racing to give one externalId
//! to two people record one of them; the other answers 409 when it writes its record, as the
//! loser of a userName race does.

use std::collections::BTreeSet;

use tracing::info;

use super::view::{forget, grafana_error, store_error};
use crate::provision::translate::GrafanaUserFields;
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::store::{ResourceLock, UserRecord};

fn taken() -> ProvisionError {
    ProvisionError::uniqueness("another user (in this or another org) has this externalId")
}

/// Held while a write checks and records `external_id` (this process only).
pub async fn lock(ctx: &Scope<'_>, external_id: &str) -> ResourceLock {
    ctx.prov.users.creating.lock(&format!("external-id:{}", external_id.to_ascii_lowercase())).await
}

/// The managed records (any org, deleted ones included) holding `external_id`, ignoring ASCII
/// case: one store lookup. A create reads them together with its own claims
/// (`MappingStore::create_lookups`) and hands them to [`check_for_create`].
///
/// # Errors
/// Store failures.
async fn holders(ctx: &Scope<'_>, external_id: &str) -> Result<Vec<UserRecord>, ProvisionError> {
    ctx.prov.store.managed_users_by_external_id_folded(external_id).await.map_err(|e| store_error(&e))
}

/// The Grafana users (other than `except`) whose managed `records` hold the externalId, with the
/// records of users Grafana no longer has dropped.
async fn other_holders(
    ctx: &Scope<'_>,
    records: &[UserRecord],
    except: Option<i64>,
) -> Result<BTreeSet<i64>, ProvisionError> {
    let mut live = BTreeSet::new();
    let others: Vec<&UserRecord> = records.iter().filter(|r| Some(r.grafana_user_id) != except).collect();
    for id in others.iter().map(|r| r.grafana_user_id).collect::<BTreeSet<_>>() {
        // A placeholder (shadow mode) holder is live: Grafana has not made it yet.
        let asked = if crate::grafana::shadow::is_placeholder(id) {
            Ok(())
        } else {
            ctx.prov.grafana.get_user(id).await.map(|_| ())
        };
        match asked {
            Ok(()) => {
                live.insert(id);
            }
            Err(e) if e.is_not_found() => {
                info!(
                    grafana_user = id,
                    "dropping records of a grafana user deleted behind the sidecar's back"
                );
                for r in others.iter().filter(|r| r.grafana_user_id == id) {
                    forget(ctx, r).await;
                }
            }
            Err(e) => return Err(grafana_error(&e)),
        }
    }
    Ok(live)
}

/// For a write to the Grafana user `grafana_user_id`: refuses `external_id` when a managed
/// record of another Grafana user holds it. Costs one store lookup (and a Grafana lookup per
/// other holder, which only a conflict has).
///
/// # Errors
/// 409 `uniqueness` when it is taken; store or Grafana failures.
pub async fn check_for(
    ctx: &Scope<'_>,
    external_id: &str,
    grafana_user_id: i64,
) -> Result<(), ProvisionError> {
    let records = holders(ctx, external_id).await?;
    if other_holders(ctx, &records, Some(grafana_user_id)).await?.is_empty() {
        Ok(())
    } else {
        Err(taken())
    }
}

/// For a create, before Grafana is touched: when someone holds the externalId (`records`, from
/// [`holders`], read under [`lock`]), the create must land on that person's Grafana user, which
/// Grafana resolves by login, then email, as the create does (a new Grafana user would be
/// someone else).
///
/// # Errors
/// 409 `uniqueness` when it is taken by someone else; store or Grafana failures.
pub async fn check_for_create(
    ctx: &Scope<'_>,
    records: &[UserRecord],
    fields: &GrafanaUserFields,
) -> Result<(), ProvisionError> {
    let holders = other_holders(ctx, records, None).await?;
    let Some(&holder) = holders.first() else { return Ok(()) };
    if holders.len() > 1 {
        return Err(taken());
    }
    let g = &ctx.prov.grafana;
    let found = match g.lookup_user(&fields.login).await.map_err(|e| grafana_error(&e))? {
        Some(p) => Some(p),
        None if fields.email.is_empty() => None,
        None => g.lookup_user(&fields.email).await.map_err(|e| grafana_error(&e))?,
    };
    match found {
        Some(p) if p.id == holder => Ok(()),
        _ => Err(taken()),
    }
}
