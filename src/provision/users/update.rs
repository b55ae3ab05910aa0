//! `PUT`, `PATCH` and `DELETE /Users/{id}`: the stored document changes first in memory, Grafana
//! gets at most one profile update plus the (de)activation steps, then the record is written.
//!
//! Every write is first judged by `authority::authorize` against Grafana's current copy of the
//! user (a Grafana token only within its org; never the sidecar's own account), and a new
//! externalId must not belong to another person (`external_id`); Grafana is untouched otherwise.
//!
//! Writes to one user are serialised by a store lock on its SCIM id (across replicas on
//! PostgreSQL), so the optimistic version check only fails on a real bug.
//!
//! A `POST` that matched a deactivated user replaces it through here too ([`Writer::Reprovision`],
//! see `reprovision`), so re-provisioning and a PATCH `active: true` restore access the same way.

use serde_json::Value;

use super::authority::{authorize, check_names, Act};
use super::create::push_fields;
use super::external_id;
use super::lifecycle::{cut_off, restore_access, save};
use super::view::{
    grafana_error, load_profile, present, present_owned, store_error, stored_doc, text, view_from_profile,
};
use crate::config::OnDelete;
use crate::provision::identity::stored_attributes;
use crate::provision::roles::apply as roles;
use crate::provision::translate::{differs, grafana_fields};
use crate::provision::ProvisionError;
use crate::provision::{expect_version, Scope, Shown};
use crate::scim::patch::PatchRequest;
use crate::scim::resource::canonicalize;
use crate::scim::ResourceType;
use crate::store::ResourceLock;

async fn lock(ctx: &Scope<'_>, id: &str) -> Result<ResourceLock, ProvisionError> {
    ctx.prov.store.lock(&format!("user-id:{}:{id}", ctx.org_id)).await.map_err(|e| store_error(&e))
}

/// What a `PUT` or `PATCH` asks for.
pub enum Change {
    /// The whole document.
    Replace(serde_json::Value),
    /// Operations on the current document.
    Patch(PatchRequest),
}

/// Who asks for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// A `PUT` or `PATCH` naming the id: refusals are 403, an omitted `active` keeps the state.
    Client,
    /// A `POST` that matched a deactivated user (`reprovision`): refusals are 409, an omitted
    /// `active` means active (as on any create), and the user must still be deactivated once
    /// locked (a concurrent reactivation makes this POST a duplicate).
    Reprovision,
}

/// Handles `PUT` and `PATCH`: the user as it is afterwards.
pub async fn write(
    ctx: &Scope<'_>,
    id: &str,
    change: Change,
    expected: Option<&str>,
) -> Result<Shown, ProvisionError> {
    write_as(ctx, id, change, expected, Writer::Client).await
}

/// [`write`] on behalf of `writer`.
pub async fn write_as(
    ctx: &Scope<'_>,
    id: &str,
    change: Change,
    expected: Option<&str>,
    writer: Writer,
) -> Result<Shown, ProvisionError> {
    let _lock = lock(ctx, id).await?;
    let (mut rec, profile) = load_profile(ctx, id).await?;
    let act = match writer {
        Writer::Client => Act::Write,
        Writer::Reprovision if rec.active || !rec.managed => {
            return Err(ProvisionError::uniqueness("a user with this userName or externalId already exists"));
        }
        Writer::Reprovision => Act::Create,
    };
    authorize(ctx, &profile, act, !rec.managed).await?;
    let mut view = view_from_profile(&profile);
    let current = present(ctx, &rec, Some(&view));
    expect_version(expected, &current.etag)?;
    crate::audit::notes::before(|| current.body.clone());
    crate::audit::notes::grafana_id(rec.grafana_user_id);

    let doc = match &change {
        Change::Patch(p) => {
            // With role sync on, an `add` of `roles` carries the whole assignment (Entra).
            let full;
            let p = if ctx.prov.settings.scim.roles.enabled {
                full = crate::provision::roles::full_assignment(p);
                &full
            } else {
                p
            };
            let applied = p.apply(ResourceType::User, &current.body)?;
            stored_doc(canonicalize(ResourceType::User, &stored_attributes(applied))?)
        }
        Change::Replace(body) => stored_doc(canonicalize(ResourceType::User, body)?),
    };
    let user_name = text(&doc, "userName")
        .ok_or_else(|| ProvisionError::invalid_value("userName is required"))?
        .to_string();
    let fields = grafana_fields(&doc);
    check_names(ctx, &fields.login, &fields.email).await?;
    // Role sync: refused role changes stop here, before Grafana is touched. A record SCIM only
    // listed has no roles of its own yet.
    let role_plan = roles::screen(ctx, rec.managed.then_some(&current.body), &doc)?;
    let store = &ctx.prov.store;
    if let Some(other) = store.user_by_user_name(ctx.org_id, &user_name).await.map_err(|e| store_error(&e))? {
        if other.scim_id != rec.scim_id && (other.managed || other.deleted) {
            return Err(ProvisionError::uniqueness("another user has this userName"));
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
                return Err(ProvisionError::uniqueness("another user has this externalId"));
            }
        }
        // Only a write that gives the record this externalId (or takes the user over) can give it
        // to a second person; a write keeping it (a deactivation) never fails on its holders.
        if !rec.managed || rec.external_id.as_deref() != Some(x.as_str()) {
            external_id::check_for(ctx, x, rec.grafana_user_id).await?;
        }
    }
    // An omitted `active` keeps the current state: deactivation must be asked for explicitly.
    // A create is a request for an active user unless it says otherwise.
    let was_active =
        writer == Writer::Reprovision || current.body.get("active").and_then(Value::as_bool).unwrap_or(true);
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(was_active);

    if differs(&view, &fields) {
        push_fields(ctx, &mut view, &fields).await?;
    }
    rec.user_name = user_name;
    rec.external_id = external_id;
    rec.email = Some(fields.email.to_lowercase());
    rec.grafana_uid = view.uid.clone().or(rec.grafana_uid);
    rec.attributes = doc;
    let taken_over = !rec.managed;
    if !rec.managed {
        // SCIM takes the user over: its current Grafana state is the starting point.
        rec.managed = true;
        rec.active = !view.disabled;
        rec.restore = None;
    }
    let mut reactivated = false;
    if rec.active && !active {
        cut_off(ctx, &mut rec, &view, false).await?;
    } else if !rec.active && active {
        restore_access(ctx, &mut rec, &view).await?;
        reactivated = true;
    }
    // Applied before the record is saved: a failure leaves the change for the retried request.
    if let (Some(plan), true) = (&role_plan, rec.active) {
        roles::apply(ctx, plan, &profile, taken_over || reactivated).await?;
    }
    save(ctx, &mut rec).await?;
    let id = rec.scim_id.clone();
    Ok(present_owned(ctx, rec, Some(&view)).into_shown(id))
}

/// Handles `DELETE /Users/{id}`.
pub async fn delete(ctx: &Scope<'_>, id: &str, expected: Option<&str>) -> Result<(), ProvisionError> {
    let _lock = lock(ctx, id).await?;
    let (mut rec, profile) = load_profile(ctx, id).await?;
    authorize(ctx, &profile, Act::Write, !rec.managed).await?;
    let view = view_from_profile(&profile);
    let current = present(ctx, &rec, Some(&view));
    expect_version(expected, &current.etag)?;
    crate::audit::notes::grafana_id(rec.grafana_user_id);
    crate::audit::notes::before(move || current.body);
    match ctx.prov.settings.scim.on_delete {
        OnDelete::Delete => {
            match ctx.prov.grafana.delete_user(view.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(grafana_error(&e)),
            }
            match ctx.prov.store.delete_user_record(ctx.org_id, &rec.scim_id).await {
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
    // A read of the deleted user answers 404 from the store alone, as before it was known.
    ctx.prov.users.known.forget(&rec).await;
    Ok(())
}
