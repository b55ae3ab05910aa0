//! Adding a known Grafana user (by id) to an org.
//!
//! Grafana's `POST /api/orgs/:orgId/users` takes only `loginOrEmail`, resolved like
//! `/api/users/lookup` (email first when the value has `@`, then login), so a login containing
//! `@` or a stale email could name somebody else. The value sent is the user's email when it has
//! an `@` (emails are unique, and matched first), else the login; the id Grafana answers with is
//! compared with the intended one, and a wrong user Grafana just added is removed again.

use crate::grafana::model::OrgMembership;
use crate::grafana::{GrafanaClient, GrafanaError};

/// Why the user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Grafana(#[from] GrafanaError),
    /// Grafana resolved the login or email to another user (undone when it was added).
    #[error("grafana resolved the user's login or email to another user")]
    OtherUser,
}

/// Adds user `user_id` (known as `login` / `email`) to `org_id` with `role`. Already a member is
/// success.
///
/// # Errors
/// [`JoinError::OtherUser`] when Grafana resolved the name to another user; Grafana's errors.
pub async fn add_user_by_id(
    g: &GrafanaClient,
    org_id: i64,
    user_id: i64,
    login: &str,
    email: Option<&str>,
    role: &str,
) -> Result<(), JoinError> {
    if g.is_shadow() {
        // Shadow mode: Grafana's answer would name the user it added, which a planned call
        // cannot; the membership is planned for the user the caller means.
        crate::grafana::shadow::note_planned("POST /api/orgs/:id/users");
        return Ok(());
    }
    let who = email.map(str::trim).filter(|e| e.contains('@')).unwrap_or(login);
    match g.add_org_user(org_id, who, role).await? {
        OrgMembership::Added { user_id: got } if got == user_id => Ok(()),
        OrgMembership::Added { user_id: got } => {
            tracing::warn!(org_id, user_id, other = got, "org add resolved to another user: undoing");
            match g.remove_org_user(org_id, got).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => tracing::warn!(error = %e, "cannot undo an org add of the wrong user"),
            }
            Err(JoinError::OtherUser)
        }
        OrgMembership::AlreadyMember { user_id: Some(got) } if got == user_id => Ok(()),
        OrgMembership::AlreadyMember { user_id: Some(_) } => Err(JoinError::OtherUser),
        OrgMembership::AlreadyMember { user_id: None } => {
            if g.user_orgs(user_id).await?.iter().any(|o| o.org_id == org_id) {
                Ok(())
            } else {
                Err(JoinError::OtherUser)
            }
        }
    }
}
