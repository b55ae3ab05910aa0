//! Org membership calls, always in the `/api/orgs/:orgId/…` form: it names the org explicitly
//! and, unlike `DELETE /api/org/users/:id`, never deletes a user left without an org.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Call, GrafanaClient};
use crate::grafana::model::{Org, OrgMembership, OrgUserSearchPage};
use crate::grafana::GrafanaError;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AddedBody {
    user_id: Option<i64>,
}

impl GrafanaClient {
    /// `POST /api/orgs/:orgId/users`. Grafana's 409 becomes [`OrgMembership::AlreadyMember`].
    ///
    /// # Errors
    /// 404 when the user is unknown, 400 for an invalid role.
    pub async fn add_org_user(
        &self,
        org_id: i64,
        login_or_email: &str,
        role: &str,
    ) -> Result<OrgMembership, GrafanaError> {
        let body = json!({"loginOrEmail": login_or_email, "role": role});
        let answer =
            self.exchange(Call::new(Method::POST, format!("/api/orgs/{org_id}/users")).json(&body)?).await?;
        if self.is_shadow() {
            // The planned add names no user; callers in shadow mode do not need one.
            return Ok(OrgMembership::AlreadyMember { user_id: None });
        }
        let added: AddedBody = serde_json::from_slice(&answer.body).unwrap_or_default();
        if answer.status.is_success() {
            let user_id = added.user_id.ok_or_else(|| GrafanaError::Decode {
                status: answer.status,
                detail: "no userId in answer".into(),
            })?;
            return Ok(OrgMembership::Added { user_id });
        }
        if answer.status == http::StatusCode::CONFLICT {
            return Ok(OrgMembership::AlreadyMember { user_id: added.user_id });
        }
        Err(answer.into_error())
    }

    /// `PATCH /api/orgs/:orgId/users/:userId`.
    pub async fn update_org_user_role(
        &self,
        org_id: i64,
        user_id: i64,
        role: &str,
    ) -> Result<(), GrafanaError> {
        let call = Call::new(Method::PATCH, format!("/api/orgs/{org_id}/users/{user_id}"))
            .json(&json!({"role": role}))?;
        self.send_unit(call).await
    }

    /// `DELETE /api/orgs/:orgId/users/:userId`: removes the membership (and, per Grafana, the
    /// user's team memberships in that org); the user is kept even with no org left.
    pub async fn remove_org_user(&self, org_id: i64, user_id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::DELETE, format!("/api/orgs/{org_id}/users/{user_id}"))).await
    }

    /// `GET /api/orgs/:orgId/users/search`.
    pub async fn search_org_users(
        &self,
        org_id: i64,
        query: &str,
        page: u32,
        perpage: u32,
    ) -> Result<OrgUserSearchPage, GrafanaError> {
        let mut call = Call::get(format!("/api/orgs/{org_id}/users/search"))
            .query("perpage", perpage)
            .query("page", page);
        if !query.is_empty() {
            call = call.query("query", query);
        }
        self.send_json(call).await
    }

    /// `GET /api/orgs/:orgId`: the org, or `None` when it does not exist.
    pub async fn get_org(&self, org_id: i64) -> Result<Option<Org>, GrafanaError> {
        match self.send_json(Call::get(format!("/api/orgs/{org_id}"))).await {
            Ok(org) => Ok(Some(org)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/orgs`, every page: all orgs of this Grafana (server admin only).
    ///
    /// Pages of [`ORGS_PER_PAGE`] are read until a short page; at most [`MAX_ORG_PAGES`] pages,
    /// so a misbehaving server cannot keep the caller looping.
    pub async fn list_orgs(&self) -> Result<Vec<Org>, GrafanaError> {
        let mut all: Vec<Org> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for page in 1..=MAX_ORG_PAGES {
            let call = Call::get("/api/orgs".into()).query("perpage", ORGS_PER_PAGE).query("page", page);
            let batch: Vec<Org> = self.send_json(call).await?;
            let short = batch.len() < ORGS_PER_PAGE as usize;
            // A server that ignores paging answers the same full list again: stop on repeats.
            let fresh: Vec<Org> = batch.into_iter().filter(|o| seen.insert(o.id)).collect();
            let repeated = fresh.is_empty();
            all.extend(fresh);
            if short || repeated {
                break;
            }
        }
        Ok(all)
    }
}

/// Page size of [`GrafanaClient::list_orgs`].
pub const ORGS_PER_PAGE: u32 = 1000;
/// Most pages [`GrafanaClient::list_orgs`] reads.
pub const MAX_ORG_PAGES: u32 = 100;
