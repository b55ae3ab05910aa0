//! Membership: resolving member references to users, and making a team's members equal a
//! desired set with as few Grafana calls as possible.
//!
//! Resolution uses the store only (no Grafana call per member). Application diffs desired vs
//! current: one bulk replace when more than one member changes and Grafana has the route
//! (admins who stay keep their Admin permission), single adds/removes otherwise. Users not yet in
//! the team's org are added to it first with the configured default role, by user id
//! ([`crate::provision::org_join`]: the id Grafana resolves the email or login to is checked).
//!
//! A deactivated member is never added to the org or the team: the team is remembered in their
//! record's restore state instead, so reactivation adds them (a member already in the team stays).
//! Such pending members ([`super::pending`]) the desired set no longer names lose the team from
//! their restore state.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{store_err, upstream};
use crate::grafana::model::{TeamMember, TEAM_PERMISSION_ADMIN};
use crate::provision::org_join::{add_user_by_id, JoinError};
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::store::UserRecord;

/// Most members a group may hold in one request (Okta sends 256 per PATCH; PUT sends all).
pub(super) const MAX_MEMBERS: usize = 100_000;

/// Member ids (`members[].value`) of a canonical group document, deduplicated, in order.
pub(super) fn values(doc: &Value) -> Result<Vec<String>, ProvisionError> {
    let Some(items) = doc.get("members").and_then(Value::as_array) else { return Ok(Vec::new()) };
    if items.len() > MAX_MEMBERS {
        return Err(ProvisionError::invalid_value(format!("more than {MAX_MEMBERS} members")));
    }
    let mut seen = HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(v) = item.get("value").and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty())
        else {
            return Err(ProvisionError::invalid_value("every member needs a value (a SCIM user id)"));
        };
        if seen.insert(v.to_string()) {
            out.push(v.to_string());
        }
    }
    Ok(out)
}

/// The users `ids` name in this namespace. Any unknown (or hidden) id → 400 `invalidValue`
/// naming it; nothing has been applied at that point.
pub(super) async fn resolve(ctx: &Scope<'_>, ids: &[String]) -> Result<Vec<UserRecord>, ProvisionError> {
    let store = ctx.prov.store.as_ref();
    let mut found: HashMap<String, UserRecord> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::store::MAX_IDS_PER_LOOKUP) {
        for rec in store.users_by_scim_ids(ctx.org_id, chunk).await.map_err(store_err)? {
            found.insert(rec.scim_id.clone(), rec);
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match found.remove(id).filter(|r| !r.deleted) {
            Some(r) => out.push(r),
            None => {
                return Err(ProvisionError::invalid_value(format!(
                    "member {id:?} is not a user of this namespace"
                )))
            }
        }
    }
    Ok(out)
}

/// Makes the team's members exactly `desired`. `current` is `None` right after the sidecar
/// created the team on a Grafana with the bulk route (one bulk call replaces the creator too).
pub(super) async fn apply(
    ctx: &Scope<'_>,
    team_id: i64,
    desired: &[UserRecord],
    current: Option<&[TeamMember]>,
) -> Result<(), ProvisionError> {
    // Shared with other group writes, exclusive to deactivation and reactivation; the members'
    // records are read again under it, so an activity change that just finished is seen.
    let _access = ctx.prov.store.lock_rw(crate::store::USER_ACCESS_LOCK, false).await.map_err(store_err)?;
    let desired = fresh(ctx, desired).await?;
    let pending = super::pending::of_team(ctx, team_id).await?;
    apply_locked(ctx, team_id, &desired, current).await?;
    // Pending members the group no longer names lose the team from their restore state, once
    // Grafana holds the rest of the change (a failure before this leaves the group as it was).
    let kept: HashSet<&str> = desired.iter().map(|u| u.scim_id.as_str()).collect();
    let dropped = pending.into_iter().filter(|u| !kept.contains(u.scim_id.as_str()));
    super::pending::forget(ctx, team_id, dropped).await
}

/// [`apply`] under the access lock.
async fn apply_locked(
    ctx: &Scope<'_>,
    team_id: i64,
    desired: &[UserRecord],
    current: Option<&[TeamMember]>,
) -> Result<(), ProvisionError> {
    let bulk = ctx.prov.groups.bulk_members(ctx).await;
    let want: HashMap<i64, &UserRecord> = desired.iter().map(|u| (u.grafana_user_id, u)).collect();
    let in_team: HashSet<i64> = current.map(|c| c.iter().map(|m| m.user_id).collect()).unwrap_or_default();
    let (desired, inactive): (Vec<UserRecord>, Vec<UserRecord>) =
        desired.iter().cloned().partition(|u| u.active || !u.managed || in_team.contains(&u.grafana_user_id));
    super::pending::remember(ctx, team_id, inactive).await?;
    let desired = desired.as_slice();
    let Some(current) = current else {
        ensure_in_org(ctx, desired).await?;
        if bulk && try_bulk(ctx, team_id, desired, &[], &want).await? {
            return Ok(());
        }
        // No bulk route after all: read what the create left and fall through.
        let fresh = super::shadow::team_members(ctx, team_id).await?;
        return Box::pin(apply_locked(ctx, team_id, desired, Some(&fresh))).await;
    };
    let have: HashSet<i64> = current.iter().map(|m| m.user_id).collect();
    let to_add: Vec<&UserRecord> = desired.iter().filter(|u| !have.contains(&u.grafana_user_id)).collect();
    let to_remove: Vec<i64> = current.iter().map(|m| m.user_id).filter(|id| !want.contains_key(id)).collect();
    for m in current {
        // Team members are org members (Grafana drops memberships with the org membership).
        ctx.prov.groups.org_members.insert((ctx.org_id, m.user_id), ()).await;
    }
    let changes = to_add.len() + to_remove.len();
    if changes == 0 {
        return Ok(());
    }
    let adds: Vec<UserRecord> = to_add.iter().map(|u| (*u).clone()).collect();
    ensure_in_org(ctx, &adds).await?;
    if bulk && changes > 1 {
        let admins: Vec<String> = current
            .iter()
            .filter(|m| m.permission == TEAM_PERMISSION_ADMIN && want.contains_key(&m.user_id))
            .map(|m| m.email.to_lowercase())
            .collect();
        let admin_ids: HashSet<i64> =
            current.iter().filter(|m| m.permission == TEAM_PERMISSION_ADMIN).map(|m| m.user_id).collect();
        let current_email: HashMap<i64, &str> =
            current.iter().map(|m| (m.user_id, m.email.as_str())).collect();
        let members: Vec<UserRecord> = desired
            .iter()
            .filter(|u| !admin_ids.contains(&u.grafana_user_id))
            .map(|u| {
                // Grafana's own spelling of a current member's email beats the store's copy.
                let mut u = u.clone();
                if let Some(e) = current_email.get(&u.grafana_user_id) {
                    u.email = Some((*e).to_string());
                }
                u
            })
            .collect();
        if try_bulk(ctx, team_id, &members, &admins, &want).await? {
            return Ok(());
        }
    }
    for user in to_add {
        match ctx.prov.grafana.add_team_member(ctx.org_id, team_id, user.grafana_user_id).await {
            Ok(()) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(upstream(e)),
        }
    }
    for user_id in to_remove {
        match ctx.prov.grafana.remove_team_member(ctx.org_id, team_id, user_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(upstream(e)),
        }
    }
    Ok(())
}

/// `users` as the store has them now (under the access lock).
async fn fresh(ctx: &Scope<'_>, users: &[UserRecord]) -> Result<Vec<UserRecord>, ProvisionError> {
    let ids: Vec<String> = users.iter().map(|u| u.scim_id.clone()).collect();
    resolve(ctx, &ids).await
}

/// One bulk replace (by email: Grafana resolves each, so the result is checked by user id). `Ok(false)` when it could not be used (a user without a usable email, an
/// email Grafana does not know, or no such route): the caller falls back to single calls.
async fn try_bulk(
    ctx: &Scope<'_>,
    team_id: i64,
    members: &[UserRecord],
    admins: &[String],
    want: &HashMap<i64, &UserRecord>,
) -> Result<bool, ProvisionError> {
    let mut emails = Vec::with_capacity(members.len());
    for u in members {
        match u.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => emails.push(e.to_lowercase()),
            None => return Ok(false),
        }
    }
    match ctx.prov.grafana.set_team_members_bulk(ctx.org_id, team_id, &emails, admins).await {
        Ok(()) => check_bulk(ctx, team_id, want).await.map(|()| true),
        Err(e) if e.is_not_found() => {
            if e.message() == Some("Not found") {
                ctx.prov.groups.forget_version().await;
            }
            tracing::debug!(error = %e, "bulk member update not applied, using single calls");
            Ok(false)
        }
        Err(e) => Err(upstream(e)),
    }
}

/// After a bulk replace: Grafana resolved the emails itself, and a stale store email may name
/// another user. Anyone in the team who is not wanted is removed again, and the write fails.
async fn check_bulk(
    ctx: &Scope<'_>,
    team_id: i64,
    want: &HashMap<i64, &UserRecord>,
) -> Result<(), ProvisionError> {
    if ctx.prov.grafana.is_shadow() {
        // The bulk replace was planned, not sent: Grafana resolved no email.
        return Ok(());
    }
    let now = super::shadow::team_members(ctx, team_id).await?;
    let strangers: Vec<i64> = now.iter().map(|m| m.user_id).filter(|id| !want.contains_key(id)).collect();
    if strangers.is_empty() {
        return Ok(());
    }
    for user_id in &strangers {
        match ctx.prov.grafana.remove_team_member(ctx.org_id, team_id, *user_id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(upstream(e)),
        }
    }
    tracing::warn!(
        team_id,
        count = strangers.len(),
        "bulk member update added users not asked for: removed again"
    );
    Err(ProvisionError::uniqueness("a member's email resolves to another Grafana user"))
}

/// Adds users who are not (known to be) in the org to it, with the default role (with role sync
/// on, the role their SCIM roles give).
async fn ensure_in_org(ctx: &Scope<'_>, users: &[UserRecord]) -> Result<(), ProvisionError> {
    let cache = &ctx.prov.groups.org_members;
    let mut unknown: Vec<&UserRecord> = Vec::new();
    for u in users {
        // A placeholder (shadow mode) joins the org with its planned create.
        if crate::grafana::shadow::is_placeholder(u.grafana_user_id) {
            continue;
        }
        if cache.get(&(ctx.org_id, u.grafana_user_id)).await.is_none() {
            unknown.push(u);
        }
    }
    if unknown.len() > SINGLE_CHECKS {
        // Cheaper to read the org's members once than to ask about each user.
        let mut page = 1u32;
        loop {
            let res =
                ctx.prov.grafana.search_org_users(ctx.org_id, "", page, ORG_PAGE).await.map_err(upstream)?;
            for ou in &res.org_users {
                cache.insert((ctx.org_id, ou.user_id), ()).await;
            }
            let seen = i64::from(page) * i64::from(ORG_PAGE);
            if res.org_users.is_empty() || seen >= res.total_count || page >= MAX_ORG_PAGES {
                break;
            }
            page += 1;
        }
        let mut still = Vec::new();
        for u in unknown {
            if cache.get(&(ctx.org_id, u.grafana_user_id)).await.is_none() {
                still.push(u);
            }
        }
        unknown = still;
    }
    let scim = &ctx.prov.settings.scim;
    for u in unknown {
        let g = &ctx.prov.grafana;
        // With role sync on, the role the member's SCIM roles give (`[scim.roles]`).
        let role = crate::provision::roles::desired_org_role(scim, ctx.org_id, &u.attributes)
            .unwrap_or_else(|| scim.default_role.clone());
        match add_user_by_id(g, ctx.org_id, u.grafana_user_id, &u.user_name, u.email.as_deref(), &role).await
        {
            Ok(()) => {
                cache.insert((ctx.org_id, u.grafana_user_id), ()).await;
            }
            Err(JoinError::Grafana(e)) if e.is_not_found() => {
                return Err(ProvisionError::invalid_value(format!(
                    "member {:?} no longer exists in Grafana",
                    u.scim_id
                )))
            }
            Err(JoinError::Grafana(e)) => return Err(upstream(e)),
            Err(JoinError::OtherUser) => {
                return Err(ProvisionError::uniqueness(format!(
                    "member {:?}: Grafana resolves their email or login to another user",
                    u.scim_id
                )))
            }
        }
    }
    Ok(())
}

/// Up to this many users of unknown org membership are checked one by one.
const SINGLE_CHECKS: usize = 8;
const ORG_PAGE: u32 = 1000;
const MAX_ORG_PAGES: u32 = 200;
