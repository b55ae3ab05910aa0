//! POST, PUT, PATCH and DELETE of groups.
//!
//! Every write validates the whole request (names, member references) before the first Grafana
//! write, and runs under the group's store lock so concurrent writers serialise.

use serde_json::Value;

use super::members::{self, MAX_MEMBERS};
use super::precondition::Members;
use super::read::load;
use super::repr::{member_ids, member_value, new_record, resource, set_attributes, write_projection};
use super::{store_err, upstream};
use crate::grafana::model::Team;
use crate::scim::error::ScimError;
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{canonicalize, location};
use crate::scim::ResourceType;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse};
use crate::store::{GroupRecord, StoreError, UserRecord};

fn body(req: &ScimRequest) -> Result<&Value, ScimError> {
    req.body.as_ref().ok_or_else(|| ScimError::invalid_syntax("a JSON body is required"))
}

fn display_name(doc: &Value) -> Result<String, ScimError> {
    doc.get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))
}

fn external_id(doc: &Value) -> Option<String> {
    doc.get("externalId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// 409 when another group of the org already uses `name` (case-insensitive), in the store or in
/// Grafana; `except` is the team being renamed.
async fn check_name_free(ctx: &ScimContext<'_>, name: &str, except: Option<i64>) -> Result<(), ScimError> {
    let taken = |id: i64| except != Some(id);
    if let Some(r) = ctx.app.store.group_by_display_name(ctx.org_id, name).await.map_err(store_err)? {
        if !r.deleted && taken(r.grafana_team_id) {
            // The record may be stale (team deleted by hand); Grafana decides below.
            if ctx.app.grafana.get_team(ctx.org_id, r.grafana_team_id).await.is_ok() {
                return Err(ScimError::uniqueness(format!("a group named {name:?} already exists")));
            }
            ctx.app.store.delete_group_record(ctx.org_id, &r.scim_id).await.map_err(store_err)?;
        }
    }
    if super::read::teams_named(ctx, name).await?.iter().any(|t| taken(t.id)) {
        return Err(ScimError::uniqueness(format!("a group named {name:?} already exists")));
    }
    Ok(())
}

async fn check_external_id_free(
    ctx: &ScimContext<'_>,
    ext: Option<&str>,
    except: Option<&str>,
) -> Result<(), ScimError> {
    let Some(ext) = ext else { return Ok(()) };
    match ctx.app.store.group_by_external_id(ctx.org_id, ext).await.map_err(store_err)? {
        Some(r) if !r.deleted && Some(r.scim_id.as_str()) != except => {
            Err(ScimError::uniqueness(format!("a group with externalId {ext:?} already exists")))
        }
        _ => Ok(()),
    }
}

fn conflict_from_store(e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict { constraint } => {
            ScimError::uniqueness(format!("the group conflicts with an existing one ({constraint})"))
        }
        other => store_err(other),
    }
}

pub(super) async fn create(ctx: &ScimContext<'_>, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
    let doc = canonicalize(ResourceType::Group, body(req)?)?;
    let name = display_name(&doc)?;
    let ext = external_id(&doc);
    let wanted = members::resolve(ctx, &members::values(&doc)?).await?;
    let _lock = ctx
        .app
        .store
        .lock(&format!("group:{}:name:{}", ctx.org_id, name.to_lowercase()))
        .await
        .map_err(store_err)?;
    check_external_id_free(ctx, ext.as_deref(), None).await?;
    check_name_free(ctx, &name, None).await?;
    let created = match ctx.app.grafana.create_team(ctx.org_id, &name, "").await {
        Ok(c) => c,
        Err(e) if e.is_conflict() => {
            return Err(ScimError::uniqueness(format!("a group named {name:?} already exists")))
        }
        Err(e) => return Err(upstream(e)),
    };
    // Grafana made the sidecar's user a team Admin; the bulk replace (or the diff) removes it.
    if let Err(e) = members::apply(ctx, created.team_id, &wanted, None).await {
        undo_create(ctx, created.team_id).await;
        return Err(e);
    }
    let record = new_record(ctx.org_id, created.team_id, created.uid, &name, ext);
    if let Err(e) = ctx.app.store.insert_group(&record).await {
        undo_create(ctx, created.team_id).await;
        return Err(conflict_from_store(e));
    }
    // Grafana's copies of these users are not at hand: a user SCIM never wrote shows the name
    // stored at first sight by older versions, else its userName (a GET shows Grafana's name).
    let member_docs: Vec<Value> = wanted.iter().map(|u| member_value(ctx, u, None)).collect();
    let (doc, etag) = resource(ctx, &record, None, Some(member_docs));
    let loc = location(&ctx.base_url, ResourceType::Group, &record.scim_id);
    let shown = match write_projection(req)? {
        Some(p) => p.apply(ResourceType::Group, doc),
        None => doc,
    };
    Ok(ScimResponse::created(shown, loc).with_etag(etag))
}

/// Rolls a failed create back: the team goes, and with it what deactivated members remember of it.
async fn undo_create(ctx: &ScimContext<'_>, team_id: i64) {
    let _ = ctx.app.grafana.delete_team(ctx.org_id, team_id).await;
    if let Err(e) = super::pending::forget_team(ctx, team_id).await {
        tracing::warn!(team_id, error = %e.detail, "a rolled-back group is still remembered by deactivated members");
    }
}

/// State read under the lock for a PUT or PATCH.
struct Current {
    record: GroupRecord,
    team: Team,
}

async fn lock_and_load(
    ctx: &ScimContext<'_>,
    id: &str,
) -> Result<(crate::store::ResourceLock, Current), ScimError> {
    let lock = ctx.app.store.lock(&format!("group:{}:{id}", ctx.org_id)).await.map_err(store_err)?;
    let (record, team) = load(ctx, id).await?;
    Ok((lock, Current { record, team }))
}

pub(super) async fn replace(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let doc = canonicalize(ResourceType::Group, body(req)?)?;
    let wanted = members::resolve(ctx, &members::values(&doc)?).await?;
    let (_lock, cur) = lock_and_load(ctx, id).await?;
    let current = ctx.app.grafana.team_members(ctx.org_id, cur.team.id).await.map_err(upstream)?;
    // `If-Match` compares the member list a GET shows (pending members included).
    let list = match req.if_match {
        Some(_) => super::pending::listing(ctx, cur.team.id, &current).await?,
        None => Vec::new(),
    };
    let known = Members::Known(member_ids(&list));
    super::precondition::check(ctx, req, &cur.record, Some(&cur.team.name), known).await?;
    commit(ctx, cur, &doc, Some((&wanted, &current))).await?;
    respond_after_write(ctx, id, req, true).await
}

pub(super) async fn patch(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let patch = PatchRequest::parse(body(req)?)?;
    for shape in patch.legacy_shapes() {
        ctx.app
            .metrics
            .normalised_shapes
            .get_or_create(&crate::metrics::KindLabels { kind: shape.label() })
            .inc();
    }
    let touches_members = patch.touches("members");
    let lock = ctx.app.store.lock(&format!("group:{}:{id}", ctx.org_id)).await.map_err(store_err)?;
    let record = super::read::live_record(ctx, id).await?;
    // A membership PATCH needs the members (Grafana answers `[]` for a missing team, so the team
    // is checked only when nothing else would notice it is gone).
    let current = if touches_members {
        Some(ctx.app.grafana.team_members(ctx.org_id, record.grafana_team_id).await.map_err(upstream)?)
    } else {
        None
    };
    let mut before = super::repr::stored_doc(&record, None);
    if let Some(cur) = &current {
        let list = super::pending::listing(ctx, record.grafana_team_id, cur).await?;
        if !list.is_empty() {
            before.insert("members".into(), Value::Array(list));
        }
    }
    let before = Value::Object(before);
    // The members just read and mapped (a PATCH that leaves them alone did not read them).
    let known = match (&current, before.get("members").and_then(Value::as_array)) {
        (None, _) => Members::Unread,
        (Some(_), list) => Members::Known(list.map_or_else(Vec::new, |l| member_ids(l))),
    };
    super::precondition::check(ctx, req, &record, None, known).await?;
    let after = patch.apply(ResourceType::Group, &before)?;
    let new_name = display_name(&after)?;
    // Okta repeats the rename (with `id`) on every push: an unchanged name costs no write.
    let renamed = new_name != record.display_name;
    let wanted =
        if touches_members { Some(members::resolve(ctx, &members::values(&after)?).await?) } else { None };
    let team = if renamed { Some(get_team(ctx, record.grafana_team_id, id).await?) } else { None };
    let cur = Current {
        team: team.unwrap_or_else(|| Team { id: record.grafana_team_id, ..Team::default() }),
        record,
    };
    let members_step = match (&wanted, &current) {
        (Some(w), Some(c)) => Some((w.as_slice(), c.as_slice())),
        _ => None,
    };
    commit(ctx, cur, &after, members_step).await?;
    drop(lock);
    respond_after_write(ctx, id, req, false).await
}

fn already_managed(record: &GroupRecord) -> bool {
    record.attributes.get(super::MANAGED_KEY).and_then(Value::as_bool).unwrap_or(false)
}

async fn get_team(ctx: &ScimContext<'_>, team_id: i64, id: &str) -> Result<Team, ScimError> {
    match ctx.app.grafana.get_team(ctx.org_id, team_id).await {
        Ok(t) => Ok(t),
        Err(e) if e.is_not_found() => Err(ScimError::not_found(format!("group {id:?} not found"))),
        Err(e) => Err(upstream(e)),
    }
}

/// Applies the new document: rename (only when the name changes), externalId, members, record.
async fn commit(
    ctx: &ScimContext<'_>,
    cur: Current,
    after: &Value,
    members_step: Option<(&[UserRecord], &[crate::grafana::model::TeamMember])>,
) -> Result<(), ScimError> {
    let Current { mut record, team } = cur;
    let new_name = display_name(after)?;
    let ext = external_id(after);
    if ext != record.external_id {
        check_external_id_free(ctx, ext.as_deref(), Some(&record.scim_id)).await?;
    }
    if new_name != record.display_name {
        if new_name.to_lowercase() != record.display_name.to_lowercase() {
            check_name_free(ctx, &new_name, Some(record.grafana_team_id)).await?;
        }
        let email = if team.name.is_empty() {
            get_team(ctx, record.grafana_team_id, &record.scim_id).await?.email
        } else {
            team.email.clone()
        };
        match ctx.app.grafana.update_team(ctx.org_id, record.grafana_team_id, &new_name, &email).await {
            Ok(()) => {}
            Err(e) if e.is_conflict() => {
                return Err(ScimError::uniqueness(format!("a group named {new_name:?} already exists")))
            }
            Err(e) if e.is_not_found() => {
                return Err(ScimError::not_found(format!("group {:?} not found", record.scim_id)))
            }
            Err(e) => return Err(upstream(e)),
        }
    }
    if let Some((wanted, current)) = members_step {
        if wanted.len() > MAX_MEMBERS {
            return Err(ScimError::invalid_value("too many members"));
        }
        members::apply(ctx, record.grafana_team_id, wanted, Some(current)).await?;
    }
    let changed = new_name != record.display_name || ext != record.external_id || !already_managed(&record);
    if changed || members_step.is_some() {
        let expected = record.version;
        record.display_name = new_name;
        record.external_id = ext;
        record.last_modified = chrono::Utc::now();
        set_attributes(&mut record);
        ctx.app.store.update_group(&record, expected).await.map_err(conflict_from_store)?;
    }
    Ok(())
}

/// 204 for PATCH unless a projection was asked (then 200 with the resource); PUT always 200.
async fn respond_after_write(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
    always_body: bool,
) -> Result<ScimResponse, ScimError> {
    let projection = write_projection(req)?;
    if projection.is_none() && !always_body {
        return Ok(ScimResponse::no_content());
    }
    let projection = projection.unwrap_or_default();
    let (record, team) = load(ctx, id).await?;
    let members =
        if projection.wants("members") { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    let (doc, etag) = resource(ctx, &record, Some(&team.name), members);
    Ok(ScimResponse::ok(projection.apply(ResourceType::Group, doc)).with_etag(etag))
}

pub(super) async fn delete(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let _lock = ctx.app.store.lock(&format!("group:{}:{id}", ctx.org_id)).await.map_err(store_err)?;
    let record = super::read::live_record(ctx, id).await?;
    super::precondition::check(ctx, req, &record, None, Members::Unread).await?;
    match ctx.app.grafana.delete_team(ctx.org_id, record.grafana_team_id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(upstream(e)),
    }
    // Before the record goes: a failure here leaves the group for a retried DELETE to finish.
    super::pending::forget_team(ctx, record.grafana_team_id).await?;
    match ctx.app.store.delete_group_record(ctx.org_id, id).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(ScimResponse::no_content()),
        Err(e) => Err(store_err(e)),
    }
}
