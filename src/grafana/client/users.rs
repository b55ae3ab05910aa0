//! Global user calls: `/api/admin/users…` and `/api/users…` (server admin only).

use http::Method;
use serde_json::json;

use super::{Call, GrafanaClient};
use crate::config::Secret;
use crate::grafana::model::{CreateUserResponse, Team, UserOrg, UserProfile, UserSearchPage};
use crate::grafana::GrafanaError;

impl GrafanaClient {
    /// `POST /api/admin/users`. `org_id` only matters with `auto_assign_org = true`.
    ///
    /// # Errors
    /// `is_conflict()` (412) when the login or email is taken.
    pub async fn create_user(
        &self,
        login: &str,
        email: &str,
        name: &str,
        password: &Secret,
        org_id: Option<i64>,
    ) -> Result<CreateUserResponse, GrafanaError> {
        let mut body = json!({"login": login, "email": email, "name": name, "password": password.expose()});
        if let Some(org) = org_id {
            body["orgId"] = json!(org);
        }
        self.send_json(Call::new(Method::POST, "/api/admin/users".into()).json(&body)?).await
    }

    /// `GET /api/user` as the caller whose request carried `headers` and `query`.
    pub async fn current_user_as(
        &self,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> Result<UserProfile, GrafanaError> {
        self.send_json(Call::get("/api/user".into()).auth(super::Auth::Caller { headers, query })).await
    }

    /// `GET /api/user` as the sidecar's own credential: its own Grafana user.
    pub async fn current_user(&self) -> Result<UserProfile, GrafanaError> {
        self.send_json(Call::get("/api/user".into())).await
    }

    /// `GET /api/users/:id`.
    pub async fn get_user(&self, id: i64) -> Result<UserProfile, GrafanaError> {
        self.send_json(Call::get(format!("/api/users/{id}"))).await
    }

    /// `GET /api/users/:id` with a user UID: Grafana resolves it from 11.4 on; earlier versions
    /// answer 400 or 404.
    pub async fn get_user_by_uid(&self, uid: &str) -> Result<UserProfile, GrafanaError> {
        self.send_json(Call::get(format!("/api/users/{}", super::seg(uid)))).await
    }

    /// `GET /api/users/lookup`: `None` on 404. The answer is reduced (no uid, no disabled flag);
    /// follow up with [`GrafanaClient::get_user`].
    pub async fn lookup_user(&self, login_or_email: &str) -> Result<Option<UserProfile>, GrafanaError> {
        let call = Call::get("/api/users/lookup".into()).query("loginOrEmail", login_or_email);
        match self.send_json(call).await {
            Ok(user) => Ok(Some(user)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/users/search`. An empty `query` lists everyone. `query` is a substring match
    /// in which `%` and `_` are wildcards: compare hits yourself.
    pub async fn search_users(
        &self,
        query: &str,
        page: u32,
        perpage: u32,
    ) -> Result<UserSearchPage, GrafanaError> {
        let mut call = Call::get("/api/users/search".into()).query("perpage", perpage).query("page", page);
        if !query.is_empty() {
            call = call.query("query", query);
        }
        self.send_json(call).await
    }

    /// `PUT /api/users/:id` with all three fields (an empty field would mean "unchanged").
    ///
    /// # Errors
    /// `is_conflict()` (409) when the login or email is taken; 403 for external users.
    pub async fn update_user(
        &self,
        id: i64,
        login: &str,
        email: &str,
        name: &str,
    ) -> Result<(), GrafanaError> {
        let body = json!({"login": login, "email": email, "name": name});
        self.send_unit(Call::new(Method::PUT, format!("/api/users/{id}")).json(&body)?).await
    }

    /// `DELETE /api/admin/users/:id`.
    pub async fn delete_user(&self, id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::DELETE, format!("/api/admin/users/{id}"))).await
    }

    /// `POST /api/admin/users/:id/disable`. 500 "Could not disable external user" for users
    /// with an external auth link.
    pub async fn disable_user(&self, id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::POST, format!("/api/admin/users/{id}/disable"))).await
    }

    /// `POST /api/admin/users/:id/enable`.
    pub async fn enable_user(&self, id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::POST, format!("/api/admin/users/{id}/enable"))).await
    }

    /// `POST /api/admin/users/:id/logout`: revokes every session (works for external users).
    pub async fn logout_user(&self, id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::POST, format!("/api/admin/users/{id}/logout"))).await
    }

    /// `PUT /api/admin/users/:id/permissions` with `{"isGrafanaAdmin": flag}`: grants or revokes
    /// the server-admin flag. 400 for the last server admin; 403 when the user's provider syncs it.
    pub async fn set_server_admin(&self, id: i64, flag: bool) -> Result<(), GrafanaError> {
        let call = Call::new(Method::PUT, format!("/api/admin/users/{id}/permissions"))
            .json(&serde_json::json!({"isGrafanaAdmin": flag}))?;
        self.send_unit(call).await
    }

    /// `GET /api/users/:id/orgs`.
    pub async fn user_orgs(&self, id: i64) -> Result<Vec<UserOrg>, GrafanaError> {
        self.send_json(Call::get(format!("/api/users/{id}/orgs"))).await
    }

    /// `GET /api/users/:id/teams` in `org_id`.
    pub async fn user_teams(&self, org_id: i64, id: i64) -> Result<Vec<Team>, GrafanaError> {
        self.send_json(Call::get(format!("/api/users/{id}/teams")).org(org_id)).await
    }
}
