//! POST, PUT, PATCH and DELETE of groups.
//!
//! Every write validates the whole request (names, member references) before the first Grafana
//! write, and runs under the group's store lock so concurrent writers serialise. A replace or a
//! PATCH reads as four steps, each once: **load** the group under its lock (record, and Grafana's
//! members when the write sets them), check `If-Match`, apply the request to the current
//! document and **decide** the steps ([`super::plan`], pure), **commit** them ([`commit`]: the
//! uniqueness checks, the rename, the members, the record), and build the **outcome** from a
//! fresh read when the caller wants the resource back.

use serde_json::{Map, Value};

use super::members;
use super::plan::{decide, display_name, external_id, Plan};
use super::precondition::Members;
use super::read::load;
use super::repr::{member_ids, member_value, new_record, resource, set_attributes, set_desired_members};
use super::{store_err, upstream};
use crate::grafana::model::{Team, TeamMember};
use crate::provision::{ProvisionError, Scope, Shown};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::canonicalize;
use crate::scim::ResourceType;
use crate::store::{GroupRecord, ResourceLock, StoreError};

async fn lock(ctx: &Scope<'_>, id: &str) -> Result<ResourceLock, ProvisionError> {
    ctx.prov.store.lock(&format!("group:{}:{id}", ctx.org_id)).await.map_err(store_err)
}

/// 409 when another group of the org already uses `name` (case-insensitive), in the store or in
/// Grafana; `except` is the team being renamed.
async fn check_name_free(ctx: &Scope<'_>, name: &str, except: Option<i64>) -> Result<(), ProvisionError> {
    let taken = |id: i64| except != Some(id);
    if let Some(r) = ctx.prov.store.group_by_display_name(ctx.org_id, name).await.map_err(store_err)? {
        if !r.deleted && taken(r.grafana_team_id) {
            // The record may be stale (team deleted by hand); Grafana decides below.
            if super::shadow::team(ctx, r.grafana_team_id).await.map_or(true, |t| t.is_some()) {
                return Err(ProvisionError::uniqueness(format!("a group named {name:?} already exists")));
            }
            crate::audit::notes::drift(format!(
                "group {} (grafana team {}) is gone from grafana: its record was dropped",
                r.scim_id, r.grafana_team_id
            ));
            ctx.prov.store.delete_group_record(ctx.org_id, &r.scim_id).await.map_err(store_err)?;
        }
    }
    if super::read::teams_named(ctx, name).await?.iter().any(|t| taken(t.id)) {
        return Err(ProvisionError::uniqueness(format!("a group named {name:?} already exists")));
    }
    Ok(())
}

async fn check_external_id_free(
    ctx: &Scope<'_>,
    ext: Option<&str>,
    except: Option<&str>,
) -> Result<(), ProvisionError> {
    let Some(ext) = ext else { return Ok(()) };
    match ctx.prov.store.group_by_external_id(ctx.org_id, ext).await.map_err(store_err)? {
        Some(r) if !r.deleted && Some(r.scim_id.as_str()) != except => {
            Err(ProvisionError::uniqueness(format!("a group with externalId {ext:?} already exists")))
        }
        _ => Ok(()),
    }
}

/// `POST /Groups`: the team, its members, then the record; a failure after the team was made
/// deletes it again.
pub(super) async fn create(ctx: &Scope<'_>, body: &Value) -> Result<Shown, ProvisionError> {
    let doc = canonicalize(ResourceType::Group, body)?;
    let name = display_name(&doc)?;
    let ext = external_id(&doc);
    let wanted = members::resolve(ctx, &members::values(&doc)?).await?;
    let _lock = ctx
        .prov
        .store
        .lock(&format!("group:{}:name:{}", ctx.org_id, name.to_lowercase()))
        .await
        .map_err(store_err)?;
    // A team marked by `migrate-team-sync` is adopted, not duplicated.
    if let Some(adopted) = super::adopt::try_adopt(ctx, &name, ext.as_deref(), &doc).await? {
        return Ok(adopted);
    }
    check_external_id_free(ctx, ext.as_deref(), None).await?;
    check_name_free(ctx, &name, None).await?;
    let created = match ctx.prov.grafana.create_team(ctx.org_id, &name, "").await {
        Ok(c) => c,
        Err(e) if e.is_conflict() => {
            return Err(ProvisionError::uniqueness(format!("a group named {name:?} already exists")))
        }
        Err(e) => return Err(upstream(e)),
    };
    // Grafana made the sidecar's user a team Admin; the bulk replace (or the diff) removes it.
    if let Err(e) = members::apply(ctx, created.team_id, &wanted, None).await {
        undo_create(ctx, created.team_id).await;
        return Err(e);
    }
    let mut record = new_record(ctx.org_id, created.team_id, created.uid, &name, ext);
    set_desired_members(&mut record, wanted.iter().map(|u| u.scim_id.as_str()));
    crate::audit::notes::grafana_id(created.team_id);
    if let Err(e) = ctx.prov.store.insert_group(&record).await {
        undo_create(ctx, created.team_id).await;
        return Err(conflict_from_store(e));
    }
    // Grafana's copies of these users are not at hand: a user SCIM never wrote shows the name
    // stored at first sight by older versions, else its userName (a GET shows Grafana's name).
    let member_docs: Vec<Value> = wanted.iter().map(|u| member_value(ctx, u, None)).collect();
    let (doc, etag) = resource(ctx, &record, None, Some(member_docs));
    Ok(Shown { id: record.scim_id, body: doc, etag })
}

/// Rolls a failed create back: the team goes, and with it what deactivated members remember of it.
async fn undo_create(ctx: &Scope<'_>, team_id: i64) {
    let _ = ctx.prov.grafana.delete_team(ctx.org_id, team_id).await;
    if let Err(e) = super::pending::forget_team(ctx, team_id).await {
        tracing::warn!(team_id, error = %e, "a rolled-back group is still remembered by deactivated members");
    }
}

/// A group as a replace or PATCH found it under its lock.
pub(super) struct Loaded {
    pub record: GroupRecord,
    /// Grafana's team, when already read (a replace reads it; a PATCH only when renaming).
    pub team: Option<Team>,
    /// Grafana's members, when the write sets them.
    pub members: Option<Vec<TeamMember>>,
}

/// `PUT /Groups/{id}`: the group as it is afterwards.
pub(super) async fn replace(
    ctx: &Scope<'_>,
    id: &str,
    body: &Value,
    expected: Option<&str>,
    view: &Projection,
) -> Result<Shown, ProvisionError> {
    let after = canonicalize(ResourceType::Group, body)?;
    {
        let _lock = lock(ctx, id).await?;
        // Load.
        let (record, team) = load(ctx, id).await?;
        let current = super::shadow::team_members(ctx, team.id).await?;
        // `If-Match` compares the member list a GET shows (pending members included).
        // The audit log's before state wants it too.
        let list = if expected.is_some() || crate::audit::notes::wanted() {
            super::pending::listing(ctx, team.id, &current).await?
        } else {
            Vec::new()
        };
        let ids = member_ids(&list).into_iter().map(str::to_string).collect();
        super::precondition::check(ctx, expected, &record, Some(&team.name), Members::Known(ids)).await?;
        crate::audit::notes::grafana_id(record.grafana_team_id);
        crate::audit::notes::before(|| {
            let mut before = super::repr::stored_doc(&record, Some(&team.name));
            if !list.is_empty() {
                before.insert("members".into(), Value::Array(list));
            }
            Value::Object(before)
        });
        // Decide, commit.
        let plan = decide(&record, &after, true)?;
        commit(ctx, Loaded { record, team: Some(team), members: Some(current) }, plan).await?;
    }
    shown(ctx, id, view).await
}

/// `PATCH /Groups/{id}`: the group afterwards when `view` asks for it, else `None`.
pub(super) async fn patch(
    ctx: &Scope<'_>,
    id: &str,
    patch: &PatchRequest,
    expected: Option<&str>,
    view: Option<&Projection>,
) -> Result<Option<Shown>, ProvisionError> {
    let sets_members = patch.touches("members");
    {
        let _lock = lock(ctx, id).await?;
        // Load: the record, and the members only for a membership PATCH (Grafana answers `[]`
        // for a missing team, so the team is checked only when nothing else would notice it is
        // gone).
        let record = super::read::live_record(ctx, id).await?;
        let members = if sets_members {
            Some(super::shadow::team_members(ctx, record.grafana_team_id).await?)
        } else {
            None
        };
        let mut before: Map<String, Value> = super::repr::stored_doc(&record, None);
        let known = match &members {
            None => Members::Unread,
            Some(current) => {
                let list = super::pending::listing(ctx, record.grafana_team_id, current).await?;
                let ids = member_ids(&list).into_iter().map(str::to_string).collect();
                if !list.is_empty() {
                    before.insert("members".into(), Value::Array(list));
                }
                Members::Known(ids)
            }
        };
        super::precondition::check(ctx, expected, &record, None, known).await?;
        let before = Value::Object(before);
        crate::audit::notes::grafana_id(record.grafana_team_id);
        crate::audit::notes::before(|| before.clone());
        // Decide (pure), commit.
        let after = patch.apply(ResourceType::Group, &before)?;
        crate::audit::notes::after(|| after.clone());
        let plan = decide(&record, &after, sets_members)?;
        commit(ctx, Loaded { record, team: None, members }, plan).await?;
    }
    match view {
        Some(view) => shown(ctx, id, view).await.map(Some),
        None => Ok(None),
    }
}

/// Runs `plan`: member references resolved and the name and externalId checked before the first
/// Grafana write; then the rename, the members, and the record.
pub(super) async fn commit(ctx: &Scope<'_>, loaded: Loaded, plan: Plan) -> Result<(), ProvisionError> {
    let Loaded { mut record, team, members: current } = loaded;
    let wanted = match &plan.members {
        Some(ids) => Some(members::resolve(ctx, ids).await?),
        None => None,
    };
    if plan.check_external_id {
        check_external_id_free(ctx, plan.external_id.as_deref(), Some(&record.scim_id)).await?;
    }
    if plan.rename {
        if plan.check_name {
            check_name_free(ctx, &plan.name, Some(record.grafana_team_id)).await?;
        }
        let email = match team {
            Some(t) => t.email,
            None => get_team(ctx, &record).await?.email,
        };
        match ctx.prov.grafana.update_team(ctx.org_id, record.grafana_team_id, &plan.name, &email).await {
            Ok(()) => {}
            Err(e) if e.is_conflict() => {
                return Err(ProvisionError::uniqueness(format!(
                    "a group named {:?} already exists",
                    plan.name
                )))
            }
            Err(e) if e.is_not_found() => {
                return Err(ProvisionError::not_found(format!("group {:?} not found", record.scim_id)))
            }
            Err(e) => return Err(upstream(e)),
        }
    }
    if let (Some(wanted), Some(current)) = (&wanted, &current) {
        members::apply(ctx, record.grafana_team_id, wanted, Some(current)).await?;
    }
    if plan.save {
        let expected = record.version;
        record.display_name = plan.name;
        record.external_id = plan.external_id;
        record.last_modified = chrono::Utc::now();
        set_attributes(&mut record);
        if let Some(ids) = &plan.members {
            set_desired_members(&mut record, ids.iter().map(String::as_str));
        }
        ctx.prov.store.update_group(&record, expected).await.map_err(conflict_from_store)?;
    }
    Ok(())
}

async fn get_team(ctx: &Scope<'_>, record: &GroupRecord) -> Result<Team, ProvisionError> {
    match super::shadow::team(ctx, record.grafana_team_id).await? {
        Some(t) => Ok(t),
        None => {
            super::drift::gone(record);
            Err(ProvisionError::not_found(format!("group {:?} not found", record.scim_id)))
        }
    }
}

/// The group after a write, read afresh (members only when `view` keeps them).
pub(super) async fn shown(ctx: &Scope<'_>, id: &str, view: &Projection) -> Result<Shown, ProvisionError> {
    let (record, team) = load(ctx, id).await?;
    let members =
        if view.wants("members") { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    let (doc, etag) = resource(ctx, &record, Some(&team.name), members);
    Ok(Shown { id: record.scim_id, body: doc, etag })
}

/// A store conflict names a constraint for the log only ([`ProvisionError`]'s `From`).
fn conflict_from_store(e: StoreError) -> ProvisionError {
    e.into()
}

/// `DELETE /Groups/{id}`: the team, what deactivated members remember of it, then the record.
pub(super) async fn delete(ctx: &Scope<'_>, id: &str, expected: Option<&str>) -> Result<(), ProvisionError> {
    let _lock = lock(ctx, id).await?;
    let record = super::read::live_record(ctx, id).await?;
    super::precondition::check(ctx, expected, &record, None, Members::Unread).await?;
    crate::audit::notes::grafana_id(record.grafana_team_id);
    crate::audit::notes::before(|| Value::Object(super::repr::stored_doc(&record, None)));
    match ctx.prov.grafana.delete_team(ctx.org_id, record.grafana_team_id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => super::drift::gone(&record),
        Err(e) => return Err(upstream(e)),
    }
    // Before the record goes: a failure here leaves the group for a retried DELETE to finish.
    super::pending::forget_team(ctx, record.grafana_team_id).await?;
    match ctx.prov.store.delete_group_record(ctx.org_id, id).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(store_err(e)),
    }
}
