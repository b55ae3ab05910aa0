//! `PUT`, `PATCH` and `DELETE /Users/{id}`: the stored document changes first in memory, Grafana
//! gets at most one profile update plus the (de)activation steps, then the record is written.
//!
//! Every write is first judged by `authority::authorize` against Grafana's current copy of the
//! user (a Grafana token only within its org; never the sidecar's own account), and a new
//! externalId must not belong to another person (`external_id`); Grafana is untouched otherwise.
//!
//! Writes to one user are serialised by a store lock on its SCIM id (across replicas on
//! PostgreSQL), so the optimistic version check only fails on a real bug.

use serde_json::Value;

use super::authority::{authorize, check_names, Act};
use super::create::push_fields;
use super::external_id;
use super::lifecycle::{cut_off, restore_access, save};
use super::view::{
    grafana_error, load_profile, present, present_owned, store_error, stored_doc, text, view_from_profile,
};
use crate::config::OnDelete;
use crate::metrics::KindLabels;
use crate::provision::identity::stored_attributes;
use crate::provision::translate::{differs, grafana_fields};
use crate::scim::error::ScimError;
use crate::scim::etag::if_match;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::canonicalize;
use crate::scim::ResourceType;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse};
use crate::store::ResourceLock;

async fn lock(ctx: &ScimContext<'_>, id: &str) -> Result<ResourceLock, ScimError> {
    ctx.app.store.lock(&format!("user-id:{}:{id}", ctx.org_id)).await.map_err(|e| store_error(&e))
}

/// Handles `PUT` (`patch = false`) and `PATCH` (`patch = true`).
pub async fn write(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
    patch: bool,
) -> Result<ScimResponse, ScimError> {
    let body = req.body.as_ref().ok_or_else(|| ScimError::invalid_syntax("a request body is required"))?;
    let projection = Projection::parse(req.query_param("attributes"), req.query_param("excludedAttributes"))?;
    let patch_req = if patch { Some(PatchRequest::parse(body)?) } else { None };
    let _lock = lock(ctx, id).await?;
    let (mut rec, profile) = load_profile(ctx, id).await?;
    authorize(ctx, &profile, Act::Write, !rec.managed).await?;
    let mut view = view_from_profile(&profile);
    let current = present(ctx, &rec, Some(&view));
    if_match(req.if_match.as_deref(), &current.etag)?;

    let doc = match &patch_req {
        Some(p) => {
            for shape in p.legacy_shapes() {
                ctx.app.metrics.normalised_shapes.get_or_create(&KindLabels { kind: shape.label() }).inc();
            }
            let applied = p.apply(ResourceType::User, &current.body)?;
            stored_doc(canonicalize(ResourceType::User, &stored_attributes(applied))?)
        }
        None => stored_doc(canonicalize(ResourceType::User, body)?),
    };
    let user_name =
        text(&doc, "userName").ok_or_else(|| ScimError::invalid_value("userName is required"))?.to_string();
    let fields = grafana_fields(&doc);
    check_names(ctx, &fields.login, &fields.email).await?;
    let store = &ctx.app.store;
    if let Some(other) = store.user_by_user_name(ctx.org_id, &user_name).await.map_err(|e| store_error(&e))? {
        if other.scim_id != rec.scim_id && (other.managed || other.deleted) {
            return Err(ScimError::uniqueness("another user has this userName"));
        }
    }
    let external_id = text(&doc, "externalId").map(str::to_string);
    let _ext_lock = match &external_id {
        Some(x) => Some(external_id::lock(ctx, x).await),
        None => None,
    };
    if let Some(x) = &external_id {
        if let Some(other) = store.user_by_external_id(ctx.org_id, x).await.map_err(|e| store_error(&e))? {
            if other.scim_id != rec.scim_id {
                return Err(ScimError::uniqueness("another user has this externalId"));
            }
        }
        // Only a write that gives the record this externalId (or takes the user over) can give it
        // to a second person; a write keeping it (a deactivation) never fails on its holders.
        if !rec.managed || rec.external_id.as_deref() != Some(x.as_str()) {
            external_id::check_for(ctx, x, rec.grafana_user_id).await?;
        }
    }
    // An omitted `active` keeps the current state: deactivation must be asked for explicitly.
    let was_active = current.body.get("active").and_then(Value::as_bool).unwrap_or(true);
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(was_active);

    if differs(&view, &fields) {
        push_fields(ctx, &mut view, &fields).await?;
    }
    rec.user_name = user_name;
    rec.external_id = external_id;
    rec.email = Some(fields.email.to_lowercase());
    rec.grafana_uid = view.uid.clone().or(rec.grafana_uid);
    rec.attributes = doc;
    if !rec.managed {
        // SCIM takes the user over: its current Grafana state is the starting point.
        rec.managed = true;
        rec.active = !view.disabled;
        rec.restore = None;
    }
    if rec.active && !active {
        cut_off(ctx, &mut rec, &view, false).await?;
    } else if !rec.active && active {
        restore_access(ctx, &mut rec, &view).await?;
    }
    save(ctx, &mut rec).await?;
    let shown = present_owned(ctx, rec, Some(&view));
    Ok(ScimResponse::ok(projection.apply(ResourceType::User, shown.body)).with_etag(shown.etag))
}

/// Handles `DELETE /Users/{id}`.
pub async fn delete(ctx: &ScimContext<'_>, id: &str, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
    let _lock = lock(ctx, id).await?;
    let (mut rec, profile) = load_profile(ctx, id).await?;
    authorize(ctx, &profile, Act::Write, !rec.managed).await?;
    let view = view_from_profile(&profile);
    if_match(req.if_match.as_deref(), &present(ctx, &rec, Some(&view)).etag)?;
    match ctx.app.config.scim.on_delete {
        OnDelete::Delete => {
            match ctx.app.grafana.delete_user(view.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(grafana_error(&e)),
            }
            match ctx.app.store.delete_user_record(ctx.org_id, &rec.scim_id).await {
                Ok(()) | Err(crate::store::StoreError::NotFound) => {}
                Err(e) => return Err(store_error(&e)),
            }
        }
        OnDelete::Deactivate => {
            if !rec.managed {
                rec.managed = true;
                rec.active = !view.disabled;
                rec.restore = None;
            }
            cut_off(ctx, &mut rec, &view, true).await?;
            rec.deleted = true;
            save(ctx, &mut rec).await?;
        }
    }
    Ok(ScimResponse::no_content())
}
