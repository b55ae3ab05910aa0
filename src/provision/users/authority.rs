//! Who may change which Grafana user through SCIM. The sidecar writes users with a server admin's
//! credential, so every write names its target and is judged here, from Grafana's current state,
//! before Grafana is touched:
//!
//! - The sidecar's own Grafana user (by the id, login and email `GET /api/user` names, and the
//!   configured `[grafana] user`) and `[scim] protected_users` are never written, however they are
//!   reached (a SCIM id recorded by a listing, a create matching their login or email), and no
//!   write may give anyone their login or email: 403.
//! - A Grafana server admin is never taken over (a create that would adopt or revive them, or the
//!   first write to a record SCIM only listed) unless `[scim] adoptable_admins` lists their login.
//! - A Grafana service-account token speaks for one org: through it no write touches a server
//!   admin (listed or not) or a member of any other org, judged at every write, since both can
//!   change after adoption. Static tokens, which the operator configured, keep full authority
//!   over the users they already manage.
//!
//! Refusals of a create answer 409 `uniqueness` (the login or email is taken by an account this
//! caller may not take over); refusals of a write to an existing id answer 403.

use tracing::info;

use super::view::grafana_error;
use crate::grafana::model::UserProfile;
use crate::provision::Principal;
use crate::provision::ProvisionError;
use crate::provision::Scope;

/// The sidecar's own Grafana user, as Grafana names it.
#[derive(Debug, Clone)]
pub struct OwnAccount {
    id: i64,
    login: String,
    email: String,
}

/// What the judged write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// `POST /Users` adopting or reviving an existing Grafana user: refusals are 409.
    Create,
    /// `PUT`, `PATCH` or `DELETE` of an existing SCIM id: refusals are 403.
    Write,
}

/// Names compare trimmed and ignoring case, as Grafana's logins and emails do.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && a.to_lowercase() == b.to_lowercase()
}

/// The sidecar's own Grafana user, asked of Grafana once per process (a failure is not kept:
/// the next write asks again, and this one fails closed).
async fn own_account<'a>(ctx: &Scope<'a>) -> Result<&'a OwnAccount, ProvisionError> {
    ctx.prov
        .users
        .own
        .get_or_try_init(|| async {
            let me = ctx.prov.grafana.current_user().await.map_err(|e| grafana_error(&e))?;
            Ok(OwnAccount { id: me.id, login: me.login, email: me.email })
        })
        .await
}

fn protected_error() -> ProvisionError {
    ProvisionError::forbidden("this user is protected and cannot be modified through SCIM")
}

/// True when `name` (a login or an email) names the sidecar's own account or a protected user.
/// Grafana matches a login containing `@` against emails too, so each name is compared with both.
fn is_protected_name(ctx: &Scope<'_>, own: &OwnAccount, name: &str) -> bool {
    let cfg = &ctx.prov.settings;
    [own.login.as_str(), own.email.as_str(), cfg.grafana_user.as_str()]
        .into_iter()
        .chain(cfg.scim.protected_users.iter().map(String::as_str))
        .any(|p| same(name, p))
}

/// Refuses a login or email a write would give a Grafana user when it names a protected account
/// (renaming someone into the sidecar's own login or email included).
///
/// # Errors
/// 403 for a protected name; Grafana's failure to name the sidecar's own user.
pub async fn check_names(ctx: &Scope<'_>, login: &str, email: &str) -> Result<(), ProvisionError> {
    let own = own_account(ctx).await?;
    if is_protected_name(ctx, own, login) || is_protected_name(ctx, own, email) {
        return Err(protected_error());
    }
    Ok(())
}

/// Judges a write to the Grafana user `target` (read from Grafana for this write). `taking_over`:
/// SCIM did not manage this user until now (a create adopting or reviving it, or the first write
/// to a listed record).
///
/// # Errors
/// 403 for a protected target; 409 (`Act::Create`) or 403 (`Act::Write`) for a target beyond the
/// caller's authority; Grafana failures while looking.
pub async fn authorize(
    ctx: &Scope<'_>,
    target: &UserProfile,
    act: Act,
    taking_over: bool,
) -> Result<(), ProvisionError> {
    let own = own_account(ctx).await?;
    if target.id == own.id
        || is_protected_name(ctx, own, &target.login)
        || is_protected_name(ctx, own, &target.email)
    {
        return Err(protected_error());
    }
    if ctx.principal == Principal::GrafanaToken {
        // One answer for both reasons: the org's admins learn no more than that the user is
        // beyond their org.
        // A placeholder (shadow mode) is in no Grafana org yet: it is this org's.
        let beyond = target.is_grafana_admin
            || (!crate::grafana::shadow::is_placeholder(target.id)
                && ctx
                    .prov
                    .grafana
                    .user_orgs(target.id)
                    .await
                    .map_err(|e| grafana_error(&e))?
                    .iter()
                    .any(|o| o.org_id != ctx.org_id));
        if beyond {
            info!(grafana_user = target.id, "refused a grafana token's write to a user beyond its org");
            return Err(refusal(
                act,
                "is beyond this org (a server admin, or a member of another org); a Grafana token of this \
                 org may not",
            ));
        }
    } else if target.is_grafana_admin
        && taking_over
        && !ctx.prov.settings.scim.adoptable_admins.iter().any(|a| same(a, &target.login))
    {
        info!(grafana_user = target.id, "refused taking over a grafana server admin");
        return Err(refusal(
            act,
            "is a Grafana server admin, whom SCIM takes over only when [scim] adoptable_admins lists \
             their login; SCIM may not",
        ));
    }
    Ok(())
}

fn refusal(act: Act, why: &str) -> ProvisionError {
    match act {
        Act::Create => ProvisionError::uniqueness(format!(
            "a Grafana user with this login or email exists and {why} take it over"
        )),
        Act::Write => {
            ProvisionError::forbidden(format!("the Grafana user behind this SCIM user {why} modify it"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn names_compare_trimmed_and_ignoring_case() {
        assert!(same("Admin", " admin "));
        assert!(same("ADMIN@localhost", "admin@LOCALHOST"));
        assert!(!same("", ""), "an empty name protects nobody");
        assert!(!same("admin", "admin2"));
    }
}
