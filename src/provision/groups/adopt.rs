//! Teams marked for adoption (`migrate-team-sync`) and the SCIM create that claims one.
//!
//! `migrate-team-sync --apply` gives each Team-Sync-linked team a managed group record carrying
//! the link's group id as `externalId` and a private marker ([`ADOPTABLE_KEY`]: where the mark
//! came from and the removed links, for rollback). A `POST /Groups` in the same org whose
//! `externalId` equals a marked record's, or whose `displayName` equals it (ignoring case) while
//! the externalIds do not contradict each other, **adopts** the team instead of creating a
//! duplicate or failing on the name: 201 with the marked record's id, the team renamed to the
//! posted `displayName` when it differs, its members made exactly the posted ones, and the marker
//! dropped. Who can adopt:
//!
//! - only a record that carries the marker and is live: a team the operator did not migrate (no
//!   marker) still answers 409 on its name, and a record claimed once (the marker is dropped by
//!   the first SCIM write that touches it: the adopting create, a replace or a PATCH) is never
//!   adopted again, so a second create with the same `externalId` is 409 as before;
//! - only within the request's org: lookups are keyed by the namespace's org, and a caller is
//!   admitted to a namespace by the SCIM edge (a Grafana token only to its own org).
//!
//! The claim runs under the group's lock and re-reads the record there, so of two concurrent
//! creates one adopts and the other gets the ordinary uniqueness answer.

use serde_json::{json, Map, Value};

use super::plan::decide;
use super::repr::stored_doc;
use super::store_err;
use crate::grafana::model::Team;
use crate::provision::{ProvisionError, Scope, Shown};
use crate::scim::projection::Projection;
use crate::store::{GroupRecord, StoreError};

/// Attribute key of the adoption marker (never shown to SCIM).
pub const ADOPTABLE_KEY: &str = "_adoptable";

/// Whether `record` is live and carries the adoption marker.
pub fn is_adoptable(record: &GroupRecord) -> bool {
    !record.deleted && record.attributes.get(ADOPTABLE_KEY).is_some_and(Value::is_object)
}

/// The Team Sync group ids a marked record remembers (what `migrate-team-sync` removed).
pub fn marked_links(record: &GroupRecord) -> Vec<String> {
    record
        .attributes
        .pointer(&format!("/{ADOPTABLE_KEY}/links"))
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Marks `record` managed and adoptable, as the group `display_name` / `external_id` whose Team
/// Sync `links` were (or are about to be) removed.
pub fn mark(record: &mut GroupRecord, display_name: &str, external_id: &str, links: &[String]) {
    record.display_name = display_name.to_owned();
    record.external_id = Some(external_id.to_owned());
    record.last_modified = chrono::Utc::now();
    super::repr::set_attributes(record);
    if let Value::Object(doc) = &mut record.attributes {
        doc.insert(
            ADOPTABLE_KEY.into(),
            json!({
                "source": "migrate-team-sync",
                "marked_at": record.last_modified.to_rfc3339(),
                "links": links,
            }),
        );
    }
}

/// A record for `team` marked adoptable (a fresh SCIM id).
pub fn new_marked_record(
    org_id: i64,
    team_id: i64,
    team_uid: Option<String>,
    display_name: &str,
    external_id: &str,
    links: &[String],
) -> GroupRecord {
    let mut rec = super::repr::new_record(org_id, team_id, team_uid, display_name, None);
    mark(&mut rec, display_name, external_id, links);
    rec
}

/// The marked record a create of `name` / `external_id` adopts, if any: by `externalId` first,
/// else by `displayName` when the record's externalId and the posted one do not differ.
async fn candidate(
    ctx: &Scope<'_>,
    name: &str,
    external_id: Option<&str>,
) -> Result<Option<GroupRecord>, ProvisionError> {
    let store = ctx.prov.store.as_ref();
    if let Some(ext) = external_id {
        if let Some(r) = store.group_by_external_id(ctx.org_id, ext).await.map_err(store_err)? {
            if is_adoptable(&r) {
                return Ok(Some(r));
            }
        }
    }
    let Some(r) = store.group_by_display_name(ctx.org_id, name).await.map_err(store_err)? else {
        return Ok(None);
    };
    let agrees = match (external_id, r.external_id.as_deref()) {
        (Some(posted), Some(marked)) => posted == marked,
        _ => true,
    };
    Ok((is_adoptable(&r) && agrees).then_some(r))
}

/// `POST /Groups` adopting a marked team: the answer, or `None` when no marked record matches
/// (then the create goes on as usual). `doc` is the canonical posted group.
pub(super) async fn try_adopt(
    ctx: &Scope<'_>,
    name: &str,
    external_id: Option<&str>,
    doc: &Value,
) -> Result<Option<Shown>, ProvisionError> {
    let Some(found) = candidate(ctx, name, external_id).await? else { return Ok(None) };
    let id = found.scim_id.clone();
    {
        let _lock = ctx.prov.store.lock(&format!("group:{}:{id}", ctx.org_id)).await.map_err(store_err)?;
        // Re-read under the lock: another create may have claimed it meanwhile.
        let Some(record) =
            ctx.prov.store.get_group(ctx.org_id, &id).await.map_err(store_err)?.filter(is_adoptable)
        else {
            return Ok(None);
        };
        let Some(team) = get_team_opt(ctx, record.grafana_team_id).await? else {
            crate::audit::notes::drift(format!(
                "group {} (grafana team {}), marked for adoption, is gone from grafana: its record was dropped",
                record.scim_id, record.grafana_team_id
            ));
            match ctx.prov.store.delete_group_record(ctx.org_id, &record.scim_id).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(store_err(e)),
            }
            return Ok(None);
        };
        let current = ctx.prov.grafana.team_members(ctx.org_id, team.id).await.map_err(super::upstream)?;
        let list = super::pending::listing(ctx, team.id, &current).await?;
        crate::audit::notes::grafana_id(record.grafana_team_id);
        crate::audit::notes::before(|| {
            let mut before: Map<String, Value> = stored_doc(&record, Some(&team.name));
            if !list.is_empty() {
                before.insert("members".into(), Value::Array(list.clone()));
            }
            Value::Object(before)
        });
        let plan = decide(&record, doc, true)?;
        let loaded = super::write::Loaded { record, team: Some(team), members: Some(current) };
        super::write::commit(ctx, loaded, plan).await?;
    }
    tracing::info!(group = %id, "scim create adopted a team migrated from team sync");
    super::write::shown(ctx, &id, &Projection::default()).await.map(Some)
}

/// The team, or `None` when Grafana no longer has it.
async fn get_team_opt(ctx: &Scope<'_>, team_id: i64) -> Result<Option<Team>, ProvisionError> {
    match ctx.prov.grafana.get_team(ctx.org_id, team_id).await {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(super::upstream(e)),
    }
}
