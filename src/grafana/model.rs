//! Serde types for the Grafana JSON the sidecar reads and writes (upstream shapes only).
//!
//! Lenient on purpose: every field defaults, unknown keys are ignored, and fields that appeared in
//! later Grafana versions (`uid`, `isProvisioned`, …) are optional, so one client serves 10.x to
//! 13.x. Timestamps stay strings: the sidecar never computes with Grafana's clock.

mod settings;
mod version;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use settings::{AdminSettings, BuildInfo, FrontendSettings, LicenseInfo, SsoSettings};
pub use version::Version;

/// `GET /api/users/:id`, `/api/users/lookup`, `/api/user`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserProfile {
    pub id: i64,
    /// `""` from `/lookup` before 12.3 and absent before ~11.0.
    pub uid: Option<String>,
    pub email: String,
    pub name: String,
    pub login: String,
    pub org_id: i64,
    pub is_grafana_admin: bool,
    /// Always `false` from `/lookup`.
    pub is_disabled: bool,
    pub is_external: bool,
    pub is_externally_synced: bool,
    pub is_provisioned: bool,
    /// `null` from `/lookup`.
    pub auth_labels: Option<Vec<String>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An item of `GET /api/users/search`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserSearchHit {
    pub id: i64,
    pub uid: Option<String>,
    pub name: String,
    pub login: String,
    pub email: String,
    /// Server-admin flag (named differently from [`UserProfile::is_grafana_admin`]).
    pub is_admin: bool,
    pub is_disabled: bool,
    pub is_provisioned: bool,
    pub auth_labels: Option<Vec<String>>,
    pub last_seen_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserSearchPage {
    pub total_count: i64,
    pub users: Vec<UserSearchHit>,
    pub page: i64,
    pub per_page: i64,
}

/// An item of `/api/orgs/:orgId/users/search`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrgUser {
    pub org_id: i64,
    pub user_id: i64,
    pub uid: Option<String>,
    pub email: String,
    pub name: String,
    pub login: String,
    pub role: String,
    pub is_disabled: bool,
    pub is_externally_synced: bool,
    pub is_provisioned: bool,
    pub auth_labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrgUserSearchPage {
    pub total_count: i64,
    pub org_users: Vec<OrgUser>,
    pub page: i64,
    pub per_page: i64,
}

/// An item of `GET /api/users/:id/orgs`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserOrg {
    pub org_id: i64,
    pub name: String,
    pub role: String,
}

/// `GET /api/org` (the caller's current org).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Org {
    pub id: i64,
    pub name: String,
}

/// TeamDTO.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Team {
    pub id: i64,
    pub uid: Option<String>,
    pub org_id: i64,
    pub name: String,
    pub email: String,
    #[serde(rename = "externalUID")]
    pub external_uid: Option<String>,
    pub is_provisioned: bool,
    pub member_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TeamSearchPage {
    pub total_count: i64,
    pub teams: Vec<Team>,
    pub page: i64,
    pub per_page: i64,
}

/// Team member permission: 0 = Member, 4 = Admin.
pub const TEAM_PERMISSION_MEMBER: i64 = 0;
pub const TEAM_PERMISSION_ADMIN: i64 = 4;

/// TeamMemberDTO.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TeamMember {
    pub org_id: i64,
    pub team_id: i64,
    #[serde(rename = "teamUID")]
    pub team_uid: Option<String>,
    pub user_id: i64,
    #[serde(rename = "userUID")]
    pub user_uid: Option<String>,
    /// The one snake_case key in Grafana's team JSON.
    #[serde(rename = "auth_module")]
    pub auth_module: String,
    pub email: String,
    pub name: String,
    pub login: String,
    pub labels: Option<Vec<String>>,
    pub permission: i64,
}

/// A `TeamBinding` of Grafana's Kubernetes-style `iam.grafana.app` API: one team membership,
/// named by the membership's UID. Only the team it binds is read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TeamBinding {
    pub spec: TeamBindingSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TeamBindingSpec {
    pub team_ref: ObjectRef,
}

/// A Kubernetes-style reference to another object by name (for teams and users, their UID).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ObjectRef {
    pub name: String,
}

/// A team-sync group link (Enterprise).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TeamGroup {
    pub org_id: i64,
    pub team_id: i64,
    pub group_id: String,
}

/// `GET /api/health`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Health {
    pub commit: Option<String>,
    pub database: String,
    /// Absent with `hide_version`.
    pub version: Option<String>,
    pub enterprise_commit: Option<String>,
}

impl Health {
    /// The parsed version, when Grafana shows it.
    pub fn parsed_version(&self) -> Option<Version> {
        self.version.as_deref().and_then(Version::parse)
    }
}

/// `POST /api/admin/users`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct CreateUserResponse {
    pub id: i64,
    /// ≥ 11.4.
    pub uid: Option<String>,
}

/// `POST /api/teams`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateTeamResponse {
    pub team_id: i64,
    /// ≥ 11.3.
    pub uid: Option<String>,
}

/// `GET /api/access-control/user/permissions`: action → scopes.
pub type Permissions = BTreeMap<String, Vec<String>>;

/// Who a bearer token is, as Grafana sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenIdentity {
    /// `GET /api/user`; `None` when Grafana has no user view for this identity.
    pub user: Option<UserProfile>,
    /// `GET /api/org`: the org the token acts in.
    pub org: Org,
    pub permissions: Permissions,
}

impl TokenIdentity {
    /// Whether the token holds `action` over every resource of `kind` (`users`, `teams`): unscoped
    /// (as `teams:create` is), or with a wildcard scope (`*`, `users:*`, `users:id:*`, …). A
    /// grant scoped to some of them does not count, since the sidecar would act on any of them.
    pub fn has_action_on_all(&self, action: &str, kind: &str) -> bool {
        let Some(scopes) = self.permissions.get(action) else { return false };
        let wildcard = |s: &str| {
            s == "*"
                || s.strip_prefix(kind)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|rest| rest == "*" || rest == "id:*" || rest == "uid:*")
        };
        scopes.iter().all(String::is_empty) || scopes.iter().any(|s| wildcard(s))
    }
}

/// Result of adding a user to an org: Grafana's 409 is an answer, not a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgMembership {
    Added {
        user_id: i64,
    },
    /// The user was already a member; `user_id` when Grafana echoed it.
    AlreadyMember {
        user_id: Option<i64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_quirks_and_unknown_keys_parse() {
        let p: UserProfile = serde_json::from_str(
            r#"{"id":5,"uid":"","email":"j@x","name":"J","login":"j","theme":"","orgId":1,"isGrafanaAdmin":false,
               "isDisabled":false,"authLabels":null,"avatarUrl":"","brandNew":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(p.id, 5);
        assert_eq!(p.auth_labels, None);
        let m: TeamMember = serde_json::from_str(
            r#"{"orgId":1,"teamId":7,"teamUID":"t","userId":5,"auth_module":"auth.saml","permission":4}"#,
        )
        .unwrap();
        assert_eq!(
            (m.auth_module.as_str(), m.permission, m.team_uid.as_deref()),
            ("auth.saml", 4, Some("t"))
        );
        let t: Team =
            serde_json::from_str(r#"{"id":7,"name":"Eng","accessControl":null,"externalUID":""}"#).unwrap();
        assert_eq!(t.external_uid.as_deref(), Some(""));
        let c: CreateTeamResponse = serde_json::from_str(r#"{"teamId":7,"message":"Team created"}"#).unwrap();
        assert_eq!(c, CreateTeamResponse { team_id: 7, uid: None });
    }
}
