//! `POST /Users`: create, adopt or revive, in ordered idempotent steps.
//!
//! Concurrent creates of one userName: within this process they queue on an in-process lock, so
//! the second finds the first's record and answers 409. Across replicas nothing is held for the
//! length of a create (a database lock would pin a pooled connection through every Grafana call):
//! the store's unique indexes on userName, externalId and Grafana user id let exactly one record
//! in, and the other request answers 409 (`uniqueness`). Both requests resolve to the same Grafana
//! user, since Grafana refuses the second create of a login (412) and the loser adopts the winner's.
//!
//! Order: protected names (`authority::check_names`), store lookups (an active managed record →
//! 409; a deactivated one → reactivate, see `reprovision`; a deleted one → revive), the externalId's holders in every org (`external_id`), then Grafana
//! by login, then by email (an unowned Grafana user is adopted, as Grafana does, once
//! `authority::authorize` allows taking it over), else create in Grafana, and only then write the
//! record. A crash after the Grafana create leaves a Grafana
//! user the retried POST finds by login and adopts: never a duplicate, never a dangling record.

use rand::Rng;
use serde_json::Value;
use tracing::info;

use super::authority::{authorize, check_names, Act};
use super::external_id;
use super::lifecycle::{cut_off, restore_access, save};
use super::reprovision::{judge, reactivate, Claim};
use super::view::{grafana_error, present_owned, store_error, stored_doc, text, view_from_profile};
use super::UsersState;
use crate::config::Secret;
use crate::grafana::model::UserProfile;
use crate::provision::identity::new_scim_id;
use crate::provision::roles::apply as roles;
use crate::provision::translate::{differs, grafana_fields, GrafanaUserFields, GrafanaUserView};
use crate::provision::ProvisionError;
use crate::provision::{Scope, Shown};
use crate::scim::resource::canonicalize;
use crate::scim::ResourceType;
use crate::store::{name_key, CreateLookups, UserRecord};

/// `POST /Users`: the created (or adopted, or revived) user.
pub async fn create(ctx: &Scope<'_>, state: &UsersState, body: Value) -> Result<Shown, ProvisionError> {
    let doc = stored_doc(canonicalize(ResourceType::User, &body)?);
    let user_name = text(&doc, "userName")
        .ok_or_else(|| ProvisionError::invalid_value("userName is required"))?
        .to_string();
    let fields = grafana_fields(&doc);
    check_names(ctx, &fields.login, &fields.email).await?;
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(true);
    let external_id = text(&doc, "externalId").map(str::to_string);
    let store = &ctx.prov.store;
    let _creating = state.creating.lock(&format!("{}:{}", ctx.org_id, user_name.to_lowercase())).await;
    let _ext_lock = match &external_id {
        Some(x) => Some(external_id::lock(ctx, x).await),
        None => None,
    };

    // Both lookups at once: the records claiming the name or externalId here, and the holders of
    // the externalId in every org (`external_id::check_for_create` needs them only for a create
    // that goes on, but asking for them afterwards would cost a second round trip).
    let CreateLookups { claims, holders } = store
        .create_lookups(ctx.org_id, &user_name, external_id.as_deref())
        .await
        .map_err(|e| store_error(&e))?;
    let key = name_key(&user_name);
    let by_name = claims.iter().find(|r| name_key(&r.user_name) == key).cloned();
    let by_ext = external_id
        .as_deref()
        .and_then(|x| claims.iter().find(|r| r.external_id.as_deref() == Some(x)))
        .cloned();
    match judge(by_name.as_ref(), by_ext.as_ref())? {
        Claim::Free => {}
        Claim::Deleted(rec) => {
            let role_plan = roles::screen(ctx, Some(&rec.attributes), &doc)?;
            return revive(ctx, *rec, doc, &fields, active, role_plan.as_ref()).await;
        }
        Claim::Deactivated(id) => {
            // The write takes the user's own lock, then the externalId's: this create's locks go
            // first, so the order stays the one every write uses.
            drop(_ext_lock);
            drop(_creating);
            return reactivate(ctx, &id, body).await;
        }
    }
    // Role sync: a create carrying roles is a role change (refused while Grafana's SAML role
    // sync would overwrite it), judged before Grafana is touched.
    let role_plan = roles::screen(ctx, None, &doc)?;
    if external_id.is_some() {
        external_id::check_for_create(ctx, &holders, &fields).await?;
    }

    // Optimistic: create first (one call for a new person). Grafana answers 412 when the login or
    // email is taken, by a user to adopt or by an earlier attempt that died before the store
    // insert; only then is the existing user looked up. A retried request converges either way.
    let g = &ctx.prov.grafana;
    let mut fresh = false;
    let role =
        role_plan.as_ref().map_or(ctx.prov.settings.scim.default_role.as_str(), |p| &p.desired.org_role);
    // Shadow mode: a planned create is never refused, so the login and email Grafana would
    // refuse (412, then adopt) are looked up first; the same user is adopted as in enforce mode.
    let taken = if g.is_shadow() { existing_user(ctx, &fields).await? } else { None };
    let made = match taken {
        Some(_) => None,
        None => create_in_grafana(ctx, state, &fields, role).await?,
    };
    let view = match made {
        Some(view) => {
            fresh = true;
            if let (Some(plan), true) = (&role_plan, active) {
                // The org role came with the create; the server-admin flag is one more call.
                roles::server_admin(ctx, plan, false, view.id).await?;
            }
            view
        }
        None => {
            let profile = match taken {
                Some(p) => p,
                None => existing_user(ctx, &fields)
                    .await?
                    .ok_or_else(|| ProvisionError::uniqueness("Grafana refused the login or email"))?,
            };
            adopt(ctx, &profile, &fields, role_plan.as_ref().filter(|_| active)).await?
        }
    };

    let now = chrono::Utc::now();
    // A user Grafana just created cannot have a record yet.
    let existing = if fresh {
        None
    } else {
        store.user_by_grafana_id(ctx.org_id, view.id).await.map_err(|e| store_error(&e))?
    };
    // A concurrent create (another replica) recorded this Grafana user after `adopt` looked.
    if existing.as_ref().is_some_and(|r| r.managed && !r.deleted) {
        return Err(ProvisionError::uniqueness("a user with this userName already exists"));
    }
    let mut rec = UserRecord {
        scim_id: existing.as_ref().map_or_else(new_scim_id, |r| r.scim_id.clone()),
        org_id: ctx.org_id,
        grafana_user_id: view.id,
        grafana_uid: view.uid.clone(),
        user_name,
        external_id,
        email: Some(fields.email.to_lowercase()),
        active: true,
        deleted: false,
        managed: true,
        attributes: doc,
        restore: None,
        created: existing.as_ref().map_or(now, |r| r.created),
        last_modified: now,
        version: existing.as_ref().map_or(1, |r| r.version),
    };
    match &existing {
        // An unmanaged sighting of this Grafana user: it keeps its id and becomes managed.
        Some(_) => save(ctx, &mut rec).await?,
        None => store.insert_user(&rec).await.map_err(|e| store_error(&e))?,
    }
    if !active {
        cut_off(ctx, &mut rec, &view, false).await?;
        save(ctx, &mut rec).await?;
    }
    Ok(created(ctx, rec, &view).await)
}

async fn created(ctx: &Scope<'_>, rec: UserRecord, view: &GrafanaUserView) -> Shown {
    crate::audit::notes::grafana_id(rec.grafana_user_id);
    // IdPs read a user back by id or userName soon after creating it.
    ctx.prov.users.known.remember(&rec).await;
    let id = rec.scim_id.clone();
    present_owned(ctx, rec, Some(view)).into_shown(id)
}

/// Takes over an existing Grafana user: refuses one another SCIM identity owns, makes sure it
/// is a member of the org, and aligns its fields (one update, only when they differ).
async fn adopt(
    ctx: &Scope<'_>,
    profile: &UserProfile,
    fields: &GrafanaUserFields,
    role_plan: Option<&roles::Plan>,
) -> Result<GrafanaUserView, ProvisionError> {
    authorize(ctx, profile, Act::Create, true).await?;
    let owner =
        ctx.prov.store.user_by_grafana_id(ctx.org_id, profile.id).await.map_err(|e| store_error(&e))?;
    if owner.is_some_and(|r| r.managed && !r.deleted) {
        return Err(ProvisionError::uniqueness(
            "the Grafana user with this login or email belongs to another SCIM user",
        ));
    }
    let g = &ctx.prov.grafana;
    let role = role_plan.map_or(ctx.prov.settings.scim.default_role.as_str(), |p| &p.desired.org_role);
    g.add_org_user(ctx.org_id, &profile.login, role).await.map_err(|e| grafana_error(&e))?;
    if let Some(plan) = role_plan {
        // Already a member keeps its role on the add: role sync sets it.
        roles::apply(ctx, plan, profile, true).await?;
    }
    let mut view = view_from_profile(profile);
    if differs(&view, fields) {
        push_fields(ctx, &mut view, fields).await?;
    }
    info!(grafana_user = profile.id, "adopted an existing grafana user");
    Ok(view)
}

/// One `PUT /api/users/:id` with login, email and name together. Grafana refuses it for users
/// who signed in through SAML: the SCIM record still changes and Grafana converges at the next
/// SAML login (counted in `deferred_updates`).
pub async fn push_fields(
    ctx: &Scope<'_>,
    view: &mut GrafanaUserView,
    fields: &GrafanaUserFields,
) -> Result<(), ProvisionError> {
    let name = if fields.name.is_empty() { view.name.clone() } else { fields.name.clone() };
    match ctx.prov.grafana.update_user(view.id, &fields.login, &fields.email, &name).await {
        Ok(()) => {
            view.login = fields.login.clone();
            view.email = fields.email.clone();
            view.name = name;
            Ok(())
        }
        Err(e) if e.is_forbidden() => {
            ctx.prov.metrics.deferred_updates.inc();
            crate::audit::notes::deferred();
            info!(
                grafana_user = view.id,
                "grafana refuses profile updates for this external user: deferred to its next saml login"
            );
            Ok(())
        }
        Err(e) => Err(grafana_error(&e)),
    }
}

/// The Grafana user holding the login, else the email.
async fn existing_user(
    ctx: &Scope<'_>,
    fields: &GrafanaUserFields,
) -> Result<Option<UserProfile>, ProvisionError> {
    let g = &ctx.prov.grafana;
    match g.lookup_user(&fields.login).await.map_err(|e| grafana_error(&e))? {
        Some(p) => Ok(Some(p)),
        None => g.lookup_user(&fields.email).await.map_err(|e| grafana_error(&e)),
    }
}

/// Creates the Grafana user with a random password nobody knows (people sign in through SAML).
/// `None` when Grafana says the login or email is taken.
async fn create_in_grafana(
    ctx: &Scope<'_>,
    state: &UsersState,
    fields: &GrafanaUserFields,
    role: &str,
) -> Result<Option<GrafanaUserView>, ProvisionError> {
    let g = &ctx.prov.grafana;
    let password = Secret::new(random_password());
    let created =
        match g.create_user(&fields.login, &fields.email, &fields.name, &password, Some(ctx.org_id)).await {
            Ok(c) => c,
            Err(e) if e.is_conflict() => return Ok(None),
            Err(e) => return Err(grafana_error(&e)),
        };
    // Grafana puts the new user in `orgId` with its auto-assign role; only a different default
    // role (or another org when auto-assign is off) costs another call.
    let auto = state.auto_assign(ctx).await;
    match auto {
        Some((true, auto_role)) if auto_role.eq_ignore_ascii_case(role) => {}
        Some((true, _)) => {
            g.update_org_user_role(ctx.org_id, created.id, role).await.map_err(|e| grafana_error(&e))?;
        }
        _ => {
            g.add_org_user(ctx.org_id, &fields.login, role).await.map_err(|e| grafana_error(&e))?;
        }
    }
    Ok(Some(GrafanaUserView {
        id: created.id,
        uid: created.uid.clone().filter(|u| !u.is_empty()),
        login: fields.login.clone(),
        email: fields.email.clone(),
        name: fields.name.clone(),
        disabled: false,
    }))
}

/// A later create with the userName or externalId of a DELETEd user brings it back.
async fn revive(
    ctx: &Scope<'_>,
    mut rec: UserRecord,
    doc: Value,
    fields: &GrafanaUserFields,
    active: bool,
    role_plan: Option<&roles::Plan>,
) -> Result<Shown, ProvisionError> {
    let Some(profile) = super::view::grafana_profile(ctx, rec.grafana_user_id).await? else {
        // The Grafana user is gone: drop the stale record and let the IdP retry a fresh create.
        super::view::forget(ctx, &rec).await;
        return Err(ProvisionError::retry("stale record removed; retry the request"));
    };
    // A hidden user comes back under SCIM: judged as a takeover (it may have become a server
    // admin, or joined another org, while hidden).
    authorize(ctx, &profile, Act::Create, true).await?;
    if let Some(x) = text(&doc, "externalId") {
        external_id::check_for(ctx, x, rec.grafana_user_id).await?;
    }
    let mut view = view_from_profile(&profile);
    if differs(&view, fields) {
        push_fields(ctx, &mut view, fields).await?;
    }
    rec.user_name = text(&doc, "userName").unwrap_or(&fields.login).to_string();
    rec.external_id = text(&doc, "externalId").map(str::to_string);
    rec.email = Some(fields.email.to_lowercase());
    rec.attributes = doc;
    rec.deleted = false;
    rec.managed = true;
    if active {
        restore_access(ctx, &mut rec, &view).await?;
        if let Some(plan) = role_plan {
            roles::apply(ctx, plan, &profile, true).await?;
        }
    }
    save(ctx, &mut rec).await?;
    Ok(created(ctx, rec, &view).await)
}

/// 40 characters with upper, lower, digit and symbol (passes Grafana's strong password policy).
pub fn random_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-=?@^_~";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    let mut out: String = [UPPER, LOWER, DIGIT, SYMBOL].iter().map(|s| pick(s)).collect();
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYMBOL].concat();
    while out.len() < 40 {
        out.push(pick(&all));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_long_and_mixed() {
        let a = super::random_password();
        let b = super::random_password();
        assert_ne!(a, b);
        assert_eq!(a.len(), 40);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
    }
}
