//! Applying role sync to Grafana: the org role (`PATCH /api/orgs/:orgId/users/:userId`) and,
//! when `grafana_admin_values` is set, the server-admin flag (`PUT
//! /api/admin/users/:id/permissions`), after a user write has put the user in place.
//!
//! [`screen`] runs before a write touches Grafana and refuses what may not happen: a role change
//! while the policy's `role_sync` check fails (Grafana's SAML role sync would overwrite it), and a
//! server-admin grant through a Grafana service-account token. [`apply`] runs after the user
//! exists, is active and is a member of the namespace's org. Unmapped values are reported here
//! (log, `scim_sidecar_unmapped_roles_total{namespace}`, the audit record's notes).

use serde_json::Value;
use tracing::{info, warn};

use super::{desired, same_values, Desired};
use crate::grafana::model::UserProfile;
use crate::metrics::{CheckLabels, NamespaceLabels};
use crate::policy::RoleWrites;
use crate::provision::{grafana_error, Principal, ProvisionError, Scope};

/// What the write changes about roles, decided before Grafana is touched.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What the new document asks for.
    pub desired: Desired,
    /// What the document before the write asked for (`None` for a create).
    pub before: Option<Desired>,
    /// The role values differ from the document before.
    pub values_changed: bool,
}

/// Judges the role part of a write from `before` (the stored document, `None` for a create) to
/// `after`. `None` while role sync is off.
///
/// # Errors
/// 403 while the `role_sync` policy check fails and the roles change; 403 when a Grafana token
/// would make someone a server admin.
pub fn screen(
    ctx: &Scope<'_>,
    before: Option<&Value>,
    after: &Value,
) -> Result<Option<Plan>, ProvisionError> {
    let scim = &ctx.prov.settings.scim;
    let Some(wanted) = desired(scim, ctx.org_id, after) else { return Ok(None) };
    let previous = before.and_then(|b| desired(scim, ctx.org_id, b));
    let values_changed = match before {
        Some(b) => !same_values(b, after),
        None => !super::role_values(after).is_empty(),
    };
    if values_changed {
        if let RoleWrites::Refused(refusal) = &ctx.role_writes {
            ctx.prov.metrics.policy_refusals.get_or_create(&CheckLabels { check: refusal.check }).inc();
            info!(check = refusal.check, "refused a scim role change: grafana's saml role sync is active");
            return Err(ProvisionError::forbidden(refusal.detail.clone()));
        }
    }
    let grants_admin = wanted.grafana_admin && !previous.as_ref().is_some_and(|p| p.grafana_admin);
    if grants_admin {
        let entra_allowed = scim.entra.as_ref().is_some_and(|e| e.allow_grafana_admin);
        let refused = match ctx.principal {
            Principal::StaticToken => None,
            Principal::EntraToken if entra_allowed => None,
            Principal::GrafanaToken => {
                Some("only a static SCIM token may grant; a Grafana service-account token may not")
            }
            Principal::EntraToken => Some(
                "an Entra token may grant only with [scim.entra] allow_grafana_admin = true; a static \
                 SCIM token may",
            ),
        };
        if let Some(why) = refused {
            return Err(ProvisionError::forbidden(format!(
                "these roles make the user a Grafana server admin ([scim.roles] grafana_admin_values), \
                 which {why}"
            )));
        }
    }
    if !wanted.unmapped.is_empty() && (values_changed || before.is_none()) {
        report_unmapped(ctx, &wanted.unmapped);
    }
    Ok(Some(Plan { desired: wanted, before: previous, values_changed }))
}

fn report_unmapped(ctx: &Scope<'_>, values: &[String]) {
    let ns = crate::namespace::name_of(ctx.org_id);
    // The values go to the log and the audit record, never into a metric label.
    info!(namespace = %ns, values = ?values, "scim role values not mapped to a grafana role: kept in scim only");
    ctx.prov
        .metrics
        .unmapped_roles
        .get_or_create(&NamespaceLabels { namespace: ns })
        .inc_by(values.len() as u64);
    crate::audit::notes::unmapped_roles(values);
}

/// When the write must set the org role: the values changed, the role they give changed, or
/// the user (re)gained access or was taken over (`forced`).
pub fn org_role_due(plan: &Plan, forced: bool) -> bool {
    forced || plan.values_changed || plan.before.as_ref().is_none_or(|b| b.org_role != plan.desired.org_role)
}

/// Sets the org role of Grafana user `user_id` in the namespace's org.
///
/// # Errors
/// Grafana's refusal; its "externally synced" refusal names the SAML setting to change.
pub async fn set_org_role(ctx: &Scope<'_>, user_id: i64, role: &str) -> Result<(), ProvisionError> {
    match ctx.prov.grafana.update_org_user_role(ctx.org_id, user_id, role).await {
        Ok(()) => {
            info!(grafana_user = user_id, role, "org role set from scim roles");
            Ok(())
        }
        Err(e)
            if e.status().is_some_and(|s| s.as_u16() == 400)
                && e.message().is_some_and(|m| m.contains("admin left")) =>
        {
            // Like a deactivation that meets the last org admin: kept, reported, not failed.
            warn!(grafana_user = user_id, role, "grafana keeps the org's last admin: scim role not applied");
            crate::audit::notes::drift(format!(
                "org role {role} not applied: the user is the org's last admin"
            ));
            Ok(())
        }
        Err(e) if e.is_forbidden() && e.message().is_some_and(|m| m.contains("externally synced")) => {
            Err(ProvisionError::forbidden(
                "Grafana refuses org role changes for this SAML user because its SAML role sync is on: set \
                 skip_org_role_sync = true in Grafana's SAML settings ([auth.saml] or the SSO settings' \
                 skipOrgRoleSync), or [scim.roles] enabled = false in the sidecar",
            ))
        }
        Err(e) => Err(grafana_error(&e)),
    }
}

/// Grants or revokes the server-admin flag as `plan` asks: granted when an admin value is held
/// and the user is not one yet; revoked only when the roles held before the write granted it
/// (SCIM never revokes an admin flag its roles did not give). Nothing while
/// `grafana_admin_values` is empty.
///
/// # Errors
/// Grafana's failures, except the refusals it answers for the last server admin or an
/// externally synced admin flag (logged, kept).
pub async fn server_admin(
    ctx: &Scope<'_>,
    plan: &Plan,
    profile_is_admin: bool,
    user_id: i64,
) -> Result<(), ProvisionError> {
    if ctx.prov.settings.scim.roles.grafana_admin_values.is_empty() {
        return Ok(());
    }
    let had = plan.before.as_ref().is_some_and(|b| b.grafana_admin);
    let want = plan.desired.grafana_admin;
    let flag = match (want, profile_is_admin) {
        (true, false) => true,
        (false, true) if had => false,
        _ => return Ok(()),
    };
    match ctx.prov.grafana.set_server_admin(user_id, flag).await {
        Ok(()) => {
            info!(grafana_user = user_id, server_admin = flag, "server admin flag set from scim roles");
            Ok(())
        }
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 403) => {
            warn!(grafana_user = user_id, server_admin = flag, error = %e, "grafana refused the server admin flag from scim roles: kept");
            crate::audit::notes::drift(format!("server admin flag not changed: {e}"));
            Ok(())
        }
        Err(e) => Err(grafana_error(&e)),
    }
}

/// Applies `plan` to an active member: the org role when [`org_role_due`], then the admin flag.
/// While role writes are refused (the `role_sync` check), a write that reaches here changes no
/// roles ([`screen`] refused those): a reactivation or takeover then leaves Grafana's roles as
/// they are, so user writes keep working.
///
/// # Errors
/// Grafana's failures ([`set_org_role`], [`server_admin`]).
pub async fn apply(
    ctx: &Scope<'_>,
    plan: &Plan,
    profile: &UserProfile,
    forced: bool,
) -> Result<(), ProvisionError> {
    if matches!(ctx.role_writes, RoleWrites::Refused(_)) {
        return Ok(());
    }
    if org_role_due(plan, forced) {
        set_org_role(ctx, profile.id, &plan.desired.org_role).await?;
    }
    if forced || plan.values_changed || plan.before.is_none() {
        server_admin(ctx, plan, profile.is_grafana_admin, profile.id).await?;
    }
    Ok(())
}
