//! Team calls (`/api/teams…`), each sent with `X-Grafana-Org-Id` for the team's org.

use http::{Method, StatusCode};
use serde_json::json;

use super::{Call, GrafanaClient};
use crate::grafana::model::{CreateTeamResponse, Team, TeamBinding, TeamGroup, TeamMember, TeamSearchPage};
use crate::grafana::GrafanaError;

impl GrafanaClient {
    /// `POST /api/teams`. Grafana makes the calling admin a team Admin; callers remove it.
    ///
    /// # Errors
    /// `is_conflict()` (409) when the name is taken in the org.
    pub async fn create_team(
        &self,
        org_id: i64,
        name: &str,
        email: &str,
    ) -> Result<CreateTeamResponse, GrafanaError> {
        let call = Call::new(Method::POST, "/api/teams".into())
            .org(org_id)
            .json(&json!({"name": name, "email": email}))?;
        self.send_json(call).await
    }

    /// `GET /api/teams/:teamId`.
    pub async fn get_team(&self, org_id: i64, team_id: i64) -> Result<Team, GrafanaError> {
        self.send_json(Call::get(format!("/api/teams/{team_id}")).org(org_id)).await
    }

    /// `GET /api/teams/:teamId` for a team UID (or any key Grafana resolves there), as the caller
    /// whose request carried `headers` and `query` (credentials, `X-Grafana-Org-Id`): the UID
    /// resolves in the org the caller's own request would act in.
    pub async fn team_as(
        &self,
        team: &str,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> Result<Team, GrafanaError> {
        let call = Call::get(format!("/api/teams/{}", super::seg(team)))
            .auth(super::Auth::Caller { headers, query });
        self.send_json(call).await
    }

    /// `GET /apis/<group>/<version>/namespaces/:ns/teambindings/:name` (Grafana's
    /// Kubernetes-style API) as the caller whose request carried `headers` and `query`;
    /// `group_version` is the request's own (`iam.grafana.app/v0alpha1`), sent as given.
    pub async fn team_binding_as(
        &self,
        group_version: (&str, &str),
        namespace: &str,
        name: &str,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> Result<TeamBinding, GrafanaError> {
        let (group, version) = group_version;
        let path = format!(
            "/apis/{}/{}/namespaces/{}/teambindings/{}",
            super::seg(group),
            super::seg(version),
            super::seg(namespace),
            super::seg(name)
        );
        self.send_json(Call::get(path).auth(super::Auth::Caller { headers, query })).await
    }

    /// `GET /api/teams/search`; `name` is an exact (case-insensitive in current Grafana) match,
    /// `query` a substring.
    pub async fn search_teams(
        &self,
        org_id: i64,
        name: Option<&str>,
        query: Option<&str>,
        page: u32,
        perpage: u32,
    ) -> Result<TeamSearchPage, GrafanaError> {
        let mut call =
            Call::get("/api/teams/search".into()).org(org_id).query("perpage", perpage).query("page", page);
        if let Some(name) = name {
            call = call.query("name", name);
        }
        if let Some(query) = query {
            call = call.query("query", query);
        }
        self.send_json(call).await
    }

    /// `PUT /api/teams/:teamId` with both fields (an omitted email would be cleared).
    ///
    /// # Errors
    /// `is_conflict()` for Grafana's 400 "Team name taken".
    pub async fn update_team(
        &self,
        org_id: i64,
        team_id: i64,
        name: &str,
        email: &str,
    ) -> Result<(), GrafanaError> {
        let call = Call::new(Method::PUT, format!("/api/teams/{team_id}"))
            .org(org_id)
            .json(&json!({"name": name, "email": email}))?;
        self.send_unit(call).await
    }

    /// `DELETE /api/teams/:teamId`. Any 404 means gone.
    pub async fn delete_team(&self, org_id: i64, team_id: i64) -> Result<(), GrafanaError> {
        self.send_unit(Call::new(Method::DELETE, format!("/api/teams/{team_id}")).org(org_id)).await
    }

    /// `GET /api/teams/:teamId/members` (an unknown team answers `[]`).
    pub async fn team_members(&self, org_id: i64, team_id: i64) -> Result<Vec<TeamMember>, GrafanaError> {
        self.send_json(Call::get(format!("/api/teams/{team_id}/members")).org(org_id)).await
    }

    /// `POST /api/teams/:teamId/members`.
    ///
    /// # Errors
    /// `is_conflict()` for 400 "User is already added to this team".
    pub async fn add_team_member(&self, org_id: i64, team_id: i64, user_id: i64) -> Result<(), GrafanaError> {
        let call = Call::new(Method::POST, format!("/api/teams/{team_id}/members"))
            .org(org_id)
            .json(&json!({"userId": user_id}))?;
        self.send_unit(call).await
    }

    /// `DELETE /api/teams/:teamId/members/:userId`.
    pub async fn remove_team_member(
        &self,
        org_id: i64,
        team_id: i64,
        user_id: i64,
    ) -> Result<(), GrafanaError> {
        self.send_unit(
            Call::new(Method::DELETE, format!("/api/teams/{team_id}/members/{user_id}")).org(org_id),
        )
        .await
    }

    /// `PUT /api/teams/:teamId/members/:userId`; `permission` 0 = Member, 4 = Admin.
    pub async fn set_team_member_permission(
        &self,
        org_id: i64,
        team_id: i64,
        user_id: i64,
        permission: i64,
    ) -> Result<(), GrafanaError> {
        let call = Call::new(Method::PUT, format!("/api/teams/{team_id}/members/{user_id}"))
            .org(org_id)
            .json(&json!({"permission": permission}))?;
        self.send_unit(call).await
    }

    /// `PUT /api/teams/:teamId/members` (Grafana ≥ 11.1): the team ends with exactly these
    /// members and admins. Send emails lowercased, as Grafana stores them.
    ///
    /// # Errors
    /// 404 for an unknown team or email (nothing applied), or the route missing before 11.1.
    pub async fn set_team_members_bulk(
        &self,
        org_id: i64,
        team_id: i64,
        members: &[String],
        admins: &[String],
    ) -> Result<(), GrafanaError> {
        let call = Call::new(Method::PUT, format!("/api/teams/{team_id}/members"))
            .org(org_id)
            .json(&json!({"members": members, "admins": admins}))?;
        self.send_unit(call).await
    }

    /// `GET /api/teams/:teamId/groups` (team sync, Enterprise). `None` when the route does not
    /// exist (404 `Not found`, as on OSS).
    pub async fn team_groups(
        &self,
        org_id: i64,
        team_id: i64,
    ) -> Result<Option<Vec<TeamGroup>>, GrafanaError> {
        let answer = self.exchange(Call::get(format!("/api/teams/{team_id}/groups")).org(org_id)).await?;
        if answer.status.is_success() {
            return answer.decode().map(Some);
        }
        let err = answer.into_error();
        if err.status() == Some(StatusCode::NOT_FOUND) && err.message() == Some("Not found") {
            return Ok(None);
        }
        Err(err)
    }

    /// `POST /api/teams/:teamId/groups` (team sync): links IdP group `group_id` to the team.
    /// `Ok(false)` when Grafana says the link exists already (400).
    ///
    /// # Errors
    /// 404 for an unknown team or where Team Sync is missing.
    pub async fn add_team_group(
        &self,
        org_id: i64,
        team_id: i64,
        group_id: &str,
    ) -> Result<bool, GrafanaError> {
        let call = Call::new(Method::POST, format!("/api/teams/{team_id}/groups"))
            .org(org_id)
            .json(&json!({"groupId": group_id}))?;
        let answer = self.exchange(call).await?;
        if answer.status.is_success() {
            return Ok(true);
        }
        let err = answer.into_error();
        if err.status() == Some(StatusCode::BAD_REQUEST)
            && err.message().is_some_and(|m| m.to_ascii_lowercase().contains("already"))
        {
            return Ok(false);
        }
        Err(err)
    }

    /// `DELETE /api/teams/:teamId/groups?groupId=…` (team sync), falling back to the older
    /// `DELETE /api/teams/:teamId/groups/:groupId` where the query form is not routed.
    /// `Ok(false)` when the team has no such link (already removed).
    ///
    /// # Errors
    /// 404 for an unknown team, any other refusal.
    pub async fn remove_team_group(
        &self,
        org_id: i64,
        team_id: i64,
        group_id: &str,
    ) -> Result<bool, GrafanaError> {
        let route_missing =
            |e: &GrafanaError| e.status() == Some(StatusCode::NOT_FOUND) && e.message() == Some("Not found");
        let call = Call::new(Method::DELETE, format!("/api/teams/{team_id}/groups"))
            .org(org_id)
            .query("groupId", group_id);
        let mut answer = self.exchange(call).await?;
        if !answer.status.is_success()
            && route_missing(&GrafanaError::from_response(answer.status, &answer.body))
        {
            let old =
                Call::new(Method::DELETE, format!("/api/teams/{team_id}/groups/{}", super::seg(group_id)))
                    .org(org_id);
            answer = self.exchange(old).await?;
        }
        if answer.status.is_success() {
            return Ok(true);
        }
        let err = answer.into_error();
        if err.status() == Some(StatusCode::NOT_FOUND)
            && err.message().is_some_and(|m| m.eq_ignore_ascii_case("Group not found"))
        {
            return Ok(false);
        }
        Err(err)
    }
}
