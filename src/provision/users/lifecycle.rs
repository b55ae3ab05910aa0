//! Cutting a person off (`active=false`, DELETE) and restoring access, in ordered, idempotent steps.
//!
//! Disabling is the normal path (Grafana revokes the user's sessions on disable). Grafana refuses
//! to disable users with an external (SAML) login link (500 "Could not disable external user"),
//! so those have every session revoked and are removed from EVERY org they belong to, not only
//! the namespace's; what to restore (per org: role and team ids, since org removal drops team
//! memberships, grafana-api §13.2) is persisted in the record BEFORE the removals, so a crash in
//! between leaves a state a retried request converges from. A removal Grafana refuses midway is
//! rolled back (the orgs already left are joined again) before the record is. Reactivation
//! restores every remembered org and team, joining orgs by user id ([`crate::provision::org_join`]).
//! Both run under the store's exclusive `user-access` lock, which group writes hold shared, so a
//! member add cannot slip in between reading the teams and leaving the org (and be lost). Group
//! writes edit a deactivated user's remembered teams (`provision::groups::pending`); both steps
//! take over what those saved before acting on the restore state.
//! This module never decides whether to deactivate: the handlers do.

use serde_json::{json, Value};
use tracing::{info, warn};

use super::view::{grafana_error, store_error};
use crate::grafana::GrafanaError;
use crate::metrics::{ScimOpLabels, ScimOperation, ScimOutcome, ScimResource};
use crate::provision::translate::GrafanaUserView;
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::store::UserRecord;

/// What was done to a deactivated user, kept in `UserRecord::restore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreState {
    /// Disabled in Grafana.
    pub disabled: bool,
    /// Removed from the namespace's org; `role` and `teams` are put back on reactivation.
    pub removed: bool,
    pub role: Option<String>,
    pub teams: Vec<i64>,
    /// Every org the user was removed from (the namespace's included), with role and teams.
    pub orgs: Vec<OrgRestore>,
}

/// One org a deactivated user left: rejoined with `role` and `teams` on reactivation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgRestore {
    pub org_id: i64,
    pub role: String,
    pub teams: Vec<i64>,
}

fn ids(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
}

impl RestoreState {
    pub fn from_value(v: Option<&Value>) -> Self {
        let Some(v) = v else { return Self::default() };
        let mode = v.get("mode").and_then(Value::as_str).unwrap_or_default();
        Self {
            disabled: v.get("disabled").and_then(Value::as_bool).unwrap_or(mode == "disabled"),
            removed: mode == "removed_from_org",
            role: v.get("role").and_then(Value::as_str).map(str::to_string),
            teams: ids(v.get("teams")),
            orgs: v
                .get("orgs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| {
                            Some(OrgRestore {
                                org_id: o.get("org")?.as_i64()?,
                                role: o.get("role")?.as_str()?.to_string(),
                                teams: ids(o.get("teams")),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// `mode` is `removed_from_org` (the store lists those users as detached), `disabled`, or
    /// `sessions_revoked` (neither was possible: the SAML login gate keeps the person out).
    pub fn to_value(&self) -> Value {
        let mode = if self.removed {
            "removed_from_org"
        } else if self.disabled {
            "disabled"
        } else {
            "sessions_revoked"
        };
        let orgs: Vec<Value> =
            self.orgs.iter().map(|o| json!({"org": o.org_id, "role": o.role, "teams": o.teams})).collect();
        json!({"mode": mode, "disabled": self.disabled, "role": self.role, "teams": self.teams, "orgs": orgs})
    }
}

fn is_external_refusal(e: &GrafanaError) -> bool {
    e.is_server_error() && e.message().is_some_and(|m| m.to_ascii_lowercase().contains("external"))
}

fn is_last_admin_refusal(e: &GrafanaError) -> bool {
    e.status().is_some_and(|s| s.as_u16() == 400)
        && e.message().is_some_and(|m| m.to_ascii_lowercase().contains("last"))
}

/// Counts a deactivation that kept Grafana's last org admin in place.
fn count_last_admin_kept(ctx: &Scope<'_>) {
    let labels = ScimOpLabels::new(ScimResource::User, ScimOperation::Deactivate, ScimOutcome::LastAdminKept);
    ctx.prov.metrics.scim_operations.get_or_create(&labels).inc();
}

/// Held exclusively while a user is cut off or restored: group member writes hold it shared, so
/// none of them adds a member between reading the teams to remember and leaving the org.
async fn access_lock(ctx: &Scope<'_>) -> Result<crate::store::ResourceLock, ProvisionError> {
    ctx.prov.store.lock_rw(crate::store::USER_ACCESS_LOCK, true).await.map_err(|e| store_error(&e))
}

/// Group writes edit a deactivated user's restore state (remember or forget a team) under the
/// shared `user-access` lock, outside the per-user lock this request holds: what they saved since
/// `rec` was read is taken over under the exclusive lock, so reactivation restores the teams the
/// IdP assigns now and the final save does not fail on the version they moved.
async fn adopt_restore(ctx: &Scope<'_>, rec: &mut UserRecord) -> Result<(), ProvisionError> {
    if rec.active {
        return Ok(());
    }
    let fresh = ctx.prov.store.get_user(ctx.org_id, &rec.scim_id).await.map_err(|e| store_error(&e))?;
    if let Some(fresh) = fresh.filter(|f| !f.active && f.version != rec.version) {
        rec.restore = fresh.restore;
        rec.version = fresh.version;
    }
    Ok(())
}

/// Writes `rec` (optimistic version) and adopts the new version.
pub async fn save(ctx: &Scope<'_>, rec: &mut UserRecord) -> Result<(), ProvisionError> {
    rec.last_modified = chrono::Utc::now();
    let version = ctx.prov.store.update_user(rec, rec.version).await.map_err(|e| store_error(&e))?;
    rec.version = version;
    Ok(())
}

/// Cuts the user off. `leave_org` also removes a disabled user from the org (SCIM DELETE hides
/// the user, and org removal keeps Grafana's org listing, hence SCIM paging, exact). Leaves
/// `rec.active = false` and `rec.restore` set; the caller saves the final record.
pub async fn cut_off(
    ctx: &Scope<'_>,
    rec: &mut UserRecord,
    view: &GrafanaUserView,
    leave_org: bool,
) -> Result<(), ProvisionError> {
    let g = &ctx.prov.grafana;
    let _access = access_lock(ctx).await?;
    adopt_restore(ctx, rec).await?;
    let original = (rec.active, rec.restore.clone());
    let mut st =
        if rec.active { RestoreState::default() } else { RestoreState::from_value(rec.restore.as_ref()) };
    if !st.disabled && !st.removed {
        match g.disable_user(view.id).await {
            Ok(()) => st.disabled = true,
            Err(e) if is_external_refusal(&e) => {
                info!(grafana_user = view.id, "grafana refuses to disable an external user: revoking sessions and removing the org membership");
            }
            Err(e) => return Err(grafana_error(&e)),
        }
    }
    if st.removed || (st.disabled && !leave_org) {
        rec.active = false;
        rec.restore = Some(st.to_value());
        return Ok(());
    }
    if st.disabled {
        // Disabled, and SCIM DELETE hides the user: only the namespace's org is left.
        return leave_namespace_org(ctx, rec, view, st, original).await;
    }
    match g.logout_user(view.id).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(grafana_error(&e)),
    }
    let orgs = remember_orgs(ctx, view).await?;
    let here = orgs.iter().find(|o| o.org_id == ctx.org_id);
    // Persist what to restore before the memberships (and with them the team lists) are gone.
    st.removed = here.is_some() || st.removed;
    st.role = here.map(|o| o.role.clone()).or(st.role);
    st.teams = here.map(|o| o.teams.clone()).unwrap_or_default();
    let mut all = st.orgs.clone();
    all.retain(|o| !orgs.iter().any(|n| n.org_id == o.org_id));
    all.extend(orgs.iter().cloned());
    st.orgs = all;
    rec.active = false;
    rec.restore = Some(st.to_value());
    save(ctx, rec).await?;
    let mut left: Vec<&OrgRestore> = Vec::new();
    for org in &orgs {
        match g.remove_org_user(org.org_id, view.id).await {
            Ok(()) => left.push(org),
            Err(e) if e.is_not_found() => left.push(org),
            Err(e) if is_last_admin_refusal(&e) => {
                warn!(grafana_user = view.id, org_id = org.org_id, "cannot remove the last org admin: sessions are revoked and the login gate keeps the user out");
                count_last_admin_kept(ctx);
                if org.org_id == ctx.org_id {
                    st.removed = false;
                }
            }
            Err(e) => {
                // Undo: the orgs already left are joined again and the record goes back to what
                // it was, so the retried request sees the same change to make.
                for done in left {
                    let _ = rejoin(ctx, view, done).await;
                }
                (rec.active, rec.restore) = original;
                save(ctx, rec).await?;
                return Err(grafana_error(&e));
            }
        }
    }
    rec.restore = Some(st.to_value());
    Ok(())
}

/// Every org the user is in, with role and teams.
async fn remember_orgs(ctx: &Scope<'_>, view: &GrafanaUserView) -> Result<Vec<OrgRestore>, ProvisionError> {
    let g = &ctx.prov.grafana;
    let memberships = g.user_orgs(view.id).await.map_err(|e| grafana_error(&e))?;
    let mut out = Vec::with_capacity(memberships.len());
    for m in memberships {
        let teams = team_ids(ctx, m.org_id, view.id).await?;
        out.push(OrgRestore { org_id: m.org_id, role: m.role, teams });
    }
    Ok(out)
}

/// The ids of the teams `user` belongs to in `org` (none when Grafana no longer knows either).
async fn team_ids(ctx: &Scope<'_>, org: i64, user: i64) -> Result<Vec<i64>, ProvisionError> {
    match ctx.prov.grafana.user_teams(org, user).await {
        Ok(t) => Ok(t.into_iter().map(|t| t.id).collect()),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(grafana_error(&e)),
    }
}

/// The earlier single-org removal, for a disabled user SCIM DELETE hides.
async fn leave_namespace_org(
    ctx: &Scope<'_>,
    rec: &mut UserRecord,
    view: &GrafanaUserView,
    mut st: RestoreState,
    original: (bool, Option<Value>),
) -> Result<(), ProvisionError> {
    let g = &ctx.prov.grafana;
    let role = org_role(ctx, view).await?;
    let teams = team_ids(ctx, ctx.org_id, view.id).await?;
    st.removed = true;
    st.role = role.clone().or(st.role);
    st.teams = teams;
    rec.active = false;
    rec.restore = Some(st.to_value());
    save(ctx, rec).await?;
    if role.is_some() {
        match g.remove_org_user(ctx.org_id, view.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) if is_last_admin_refusal(&e) => {
                warn!(grafana_user = view.id, "cannot remove the last org admin: sessions are revoked and the login gate keeps the user out");
                count_last_admin_kept(ctx);
                st.removed = false;
                rec.restore = Some(st.to_value());
            }
            Err(e) => {
                (rec.active, rec.restore) = original;
                save(ctx, rec).await?;
                return Err(grafana_error(&e));
            }
        }
    }
    Ok(())
}

/// Joins `org` again with its role and teams (teams deleted since are skipped).
async fn rejoin(ctx: &Scope<'_>, view: &GrafanaUserView, org: &OrgRestore) -> Result<(), ProvisionError> {
    let g = &ctx.prov.grafana;
    let email = Some(view.email.as_str());
    match crate::provision::org_join::add_user_by_id(g, org.org_id, view.id, &view.login, email, &org.role)
        .await
    {
        Ok(()) => {}
        // An org deleted since (Grafana answers 500 for it) is skipped.
        Err(crate::provision::org_join::JoinError::Grafana(e))
            if e.is_server_error() && matches!(g.get_org(org.org_id).await, Ok(None)) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    for team in &org.teams {
        match g.add_team_member(org.org_id, *team, view.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() || e.is_conflict() => {}
            Err(e) => return Err(grafana_error(&e)),
        }
    }
    Ok(())
}

/// The user's role in the namespace's org, `None` when not a member.
async fn org_role(ctx: &Scope<'_>, view: &GrafanaUserView) -> Result<Option<String>, ProvisionError> {
    let page = ctx
        .prov
        .grafana
        .search_org_users(ctx.org_id, &view.login, 1, 1000)
        .await
        .map_err(|e| grafana_error(&e))?;
    Ok(page.org_users.into_iter().find(|u| u.user_id == view.id).map(|u| u.role))
}

/// Undoes [`cut_off`]: back into the org with the remembered role and teams (teams deleted since
/// are skipped), enabled. Leaves `rec.active = true`, `rec.restore = None`.
pub async fn restore_access(
    ctx: &Scope<'_>,
    rec: &mut UserRecord,
    view: &GrafanaUserView,
) -> Result<(), ProvisionError> {
    let g = &ctx.prov.grafana;
    let _access = access_lock(ctx).await?;
    adopt_restore(ctx, rec).await?;
    let st = RestoreState::from_value(rec.restore.as_ref());
    if !st.orgs.is_empty() {
        for org in &st.orgs {
            rejoin(ctx, view, org).await?;
        }
    } else if st.removed {
        let role = st.role.clone().unwrap_or_else(|| ctx.prov.settings.scim.default_role.clone());
        let org = OrgRestore { org_id: ctx.org_id, role, teams: st.teams.clone() };
        rejoin(ctx, view, &org).await?;
    }
    if st.disabled || (rec.restore.is_none() && view.disabled) {
        match g.enable_user(view.id).await {
            Ok(()) => {}
            Err(e) if is_external_refusal(&e) => {}
            Err(e) => return Err(grafana_error(&e)),
        }
    }
    rec.active = true;
    rec.restore = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_state_round_trips() {
        let st = RestoreState {
            disabled: true,
            removed: true,
            role: Some("Editor".into()),
            teams: vec![3, 4],
            orgs: vec![OrgRestore { org_id: 2, role: "Admin".into(), teams: vec![9] }],
        };
        let v = st.to_value();
        assert_eq!(v["mode"], "removed_from_org");
        assert_eq!(RestoreState::from_value(Some(&v)), st);
        let legacy = json!({"mode": "disabled"});
        assert!(RestoreState::from_value(Some(&legacy)).disabled);
        assert_eq!(RestoreState::from_value(None), RestoreState::default());
        assert_eq!(RestoreState::default().to_value()["mode"], "sessions_revoked");
    }
}
