//! Cutting a person off (`active=false`, DELETE) and restoring access, in ordered, idempotent steps.
//!
//! Disabling is the normal path (Grafana revokes the user's sessions on disable). Grafana refuses
//! to disable users with an external (SAML) login link (500 "Could not disable external user"),
//! so those have every session revoked and are removed from the org; what to restore (org role,
//! team ids: org removal drops team memberships, grafana-api §13.2) is persisted in the record
//! BEFORE the removal, so a crash in between leaves a state a retried request converges from.
//! This module never decides whether to deactivate: the handlers do.

use serde_json::{json, Value};
use tracing::{info, warn};

use super::view::{grafana_error, store_error};
use crate::grafana::GrafanaError;
use crate::metrics::ScimOpLabels;
use crate::provision::translate::GrafanaUserView;
use crate::scim::error::ScimError;
use crate::scim_api::context::ScimContext;
use crate::store::UserRecord;

/// What was done to a deactivated user, kept in `UserRecord::restore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreState {
    /// Disabled in Grafana.
    pub disabled: bool,
    /// Removed from the org; `role` and `teams` are put back on reactivation.
    pub removed: bool,
    pub role: Option<String>,
    pub teams: Vec<i64>,
}

impl RestoreState {
    pub fn from_value(v: Option<&Value>) -> Self {
        let Some(v) = v else { return Self::default() };
        let mode = v.get("mode").and_then(Value::as_str).unwrap_or_default();
        Self {
            disabled: v.get("disabled").and_then(Value::as_bool).unwrap_or(mode == "disabled"),
            removed: mode == "removed_from_org",
            role: v.get("role").and_then(Value::as_str).map(str::to_string),
            teams: v
                .get("teams")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
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
        json!({"mode": mode, "disabled": self.disabled, "role": self.role, "teams": self.teams})
    }
}

fn is_external_refusal(e: &GrafanaError) -> bool {
    e.is_server_error() && e.message().is_some_and(|m| m.to_ascii_lowercase().contains("external"))
}

fn is_last_admin_refusal(e: &GrafanaError) -> bool {
    e.status().is_some_and(|s| s.as_u16() == 400)
        && e.message().is_some_and(|m| m.to_ascii_lowercase().contains("last"))
}

fn count(ctx: &ScimContext<'_>, operation: &'static str, outcome: &'static str) {
    ctx.app
        .metrics
        .scim_operations
        .get_or_create(&ScimOpLabels { resource: "User", operation, outcome })
        .inc();
}

/// Writes `rec` (optimistic version) and adopts the new version.
pub async fn save(ctx: &ScimContext<'_>, rec: &mut UserRecord) -> Result<(), ScimError> {
    rec.last_modified = chrono::Utc::now();
    let version = ctx.app.store.update_user(rec, rec.version).await.map_err(|e| store_error(&e))?;
    rec.version = version;
    Ok(())
}

/// Cuts the user off. `leave_org` also removes a disabled user from the org (SCIM DELETE hides
/// the user, and org removal keeps Grafana's org listing, hence SCIM paging, exact). Leaves
/// `rec.active = false` and `rec.restore` set; the caller saves the final record.
pub async fn cut_off(
    ctx: &ScimContext<'_>,
    rec: &mut UserRecord,
    view: &GrafanaUserView,
    leave_org: bool,
) -> Result<(), ScimError> {
    let g = &ctx.app.grafana;
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
    if !st.disabled {
        match g.logout_user(view.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(grafana_error(&e)),
        }
    }
    let role = org_role(ctx, view).await?;
    let teams = match g.user_teams(ctx.org_id, view.id).await {
        Ok(t) => t.into_iter().map(|t| t.id).collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(grafana_error(&e)),
    };
    // Persist what to restore before the membership (and with it the team list) is gone.
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
                count(ctx, "deactivate", "last_admin_kept");
                st.removed = false;
                rec.restore = Some(st.to_value());
            }
            Err(e) => {
                // Undo the claim: the record goes back to what it was, so the retried request
                // sees the same change to make and tries the removal again.
                (rec.active, rec.restore) = original;
                save(ctx, rec).await?;
                return Err(grafana_error(&e));
            }
        }
    }
    Ok(())
}

/// The user's role in the namespace's org, `None` when not a member.
async fn org_role(ctx: &ScimContext<'_>, view: &GrafanaUserView) -> Result<Option<String>, ScimError> {
    let page = ctx
        .app
        .grafana
        .search_org_users(ctx.org_id, &view.login, 1, 1000)
        .await
        .map_err(|e| grafana_error(&e))?;
    Ok(page.org_users.into_iter().find(|u| u.user_id == view.id).map(|u| u.role))
}

/// Undoes [`cut_off`]: back into the org with the remembered role and teams (teams deleted since
/// are skipped), enabled. Leaves `rec.active = true`, `rec.restore = None`.
pub async fn restore_access(
    ctx: &ScimContext<'_>,
    rec: &mut UserRecord,
    view: &GrafanaUserView,
) -> Result<(), ScimError> {
    let g = &ctx.app.grafana;
    let st = RestoreState::from_value(rec.restore.as_ref());
    if st.removed {
        let role = st.role.clone().unwrap_or_else(|| ctx.app.config.scim.default_role.clone());
        g.add_org_user(ctx.org_id, &view.login, &role).await.map_err(|e| grafana_error(&e))?;
        for team in &st.teams {
            match g.add_team_member(ctx.org_id, *team, view.id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() || e.is_conflict() => {}
                Err(e) => return Err(grafana_error(&e)),
            }
        }
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
        let st =
            RestoreState { disabled: true, removed: true, role: Some("Editor".into()), teams: vec![3, 4] };
        let v = st.to_value();
        assert_eq!(v["mode"], "removed_from_org");
        assert_eq!(RestoreState::from_value(Some(&v)), st);
        let legacy = json!({"mode": "disabled"});
        assert!(RestoreState::from_value(Some(&legacy)).disabled);
        assert_eq!(RestoreState::from_value(None), RestoreState::default());
        assert_eq!(RestoreState::default().to_value()["mode"], "sessions_revoked");
    }
}
