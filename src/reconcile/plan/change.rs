//! What a plan is made of: the [`Change`]s (object, fields, the one Grafana [`Action`] and its
//! call) of one namespace's [`Plan`]. Pure data.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// What a change concerns (the `kind` label of `scim_sidecar_drift_objects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    User,
    OrgMembership,
    Team,
    TeamMember,
    TeamSyncLink,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::User, Kind::OrgMembership, Kind::Team, Kind::TeamMember, Kind::TeamSyncLink];

    pub fn label(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::OrgMembership => "org_membership",
            Kind::Team => "team",
            Kind::TeamMember => "team_member",
            Kind::TeamSyncLink => "team_sync_link",
        }
    }
}

/// A Grafana user: known by id, or the one an earlier change of the plan creates for a SCIM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(i64),
    Created(String),
}

/// A Grafana team: known by id, or the one an earlier change creates for a SCIM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamRef {
    Id(i64),
    Created(String),
}

/// The one Grafana call a change makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateUser { scim_id: String, login: String, email: String, name: String },
    UpdateUser { user_id: i64, login: String, email: String, name: String },
    EnableUser { user_id: i64 },
    DisableUser { user: UserRef },
    AddOrgUser { user: UserRef, login: String, email: String, role: String },
    SetOrgRole { user: UserRef, role: String },
    RemoveOrgUser { user_id: i64 },
    CreateTeam { scim_id: String, name: String },
    RenameTeam { team_id: i64, name: String, email: String },
    AddTeamMember { team: TeamRef, user: UserRef },
    RemoveTeamMember { team: TeamRef, user_id: i64 },
    RemoveTeamSyncLink { team_id: i64, group_id: String },
}

fn user_path(u: &UserRef) -> String {
    match u {
        UserRef::Id(id) => id.to_string(),
        UserRef::Created(scim) => format!("<new id of {scim}>"),
    }
}

fn team_path(t: &TeamRef) -> String {
    match t {
        TeamRef::Id(id) => id.to_string(),
        TeamRef::Created(scim) => format!("<new id of {scim}>"),
    }
}

impl Action {
    /// The action's name (`update_user`), also the audit record's operation.
    pub fn label(&self) -> &'static str {
        match self {
            Action::CreateUser { .. } => "create_user",
            Action::UpdateUser { .. } => "update_user",
            Action::EnableUser { .. } => "enable_user",
            Action::DisableUser { .. } => "disable_user",
            Action::AddOrgUser { .. } => "add_org_user",
            Action::SetOrgRole { .. } => "set_org_role",
            Action::RemoveOrgUser { .. } => "remove_org_user",
            Action::CreateTeam { .. } => "create_team",
            Action::RenameTeam { .. } => "rename_team",
            Action::AddTeamMember { .. } => "add_team_member",
            Action::RemoveTeamMember { .. } => "remove_team_member",
            Action::RemoveTeamSyncLink { .. } => "remove_team_sync_link",
        }
    }

    /// The Grafana call, `METHOD path` (ids an earlier change creates shown as placeholders).
    pub fn call(&self, org_id: i64) -> String {
        match self {
            Action::CreateUser { .. } => "POST /api/admin/users".into(),
            Action::UpdateUser { user_id, .. } => format!("PUT /api/users/{user_id}"),
            Action::EnableUser { user_id } => format!("POST /api/admin/users/{user_id}/enable"),
            Action::DisableUser { user } => format!("POST /api/admin/users/{}/disable", user_path(user)),
            Action::AddOrgUser { .. } => format!("POST /api/orgs/{org_id}/users"),
            Action::SetOrgRole { user, .. } => format!("PATCH /api/orgs/{org_id}/users/{}", user_path(user)),
            Action::RemoveOrgUser { user_id } => format!("DELETE /api/orgs/{org_id}/users/{user_id}"),
            Action::CreateTeam { .. } => "POST /api/teams".into(),
            Action::RenameTeam { team_id, .. } => format!("PUT /api/teams/{team_id}"),
            Action::AddTeamMember { team, .. } => format!("POST /api/teams/{}/members", team_path(team)),
            Action::RemoveTeamMember { team, user_id } => {
                format!("DELETE /api/teams/{}/members/{user_id}", team_path(team))
            }
            Action::RemoveTeamSyncLink { team_id, group_id } => {
                let q: String = url::form_urlencoded::byte_serialize(group_id.as_bytes()).collect();
                format!("DELETE /api/teams/{team_id}/groups?groupId={q}")
            }
        }
    }

    /// `+` adds or creates, `-` removes, `~` changes.
    pub fn symbol(&self) -> char {
        match self {
            Action::CreateUser { .. }
            | Action::AddOrgUser { .. }
            | Action::CreateTeam { .. }
            | Action::AddTeamMember { .. } => '+',
            Action::RemoveOrgUser { .. }
            | Action::RemoveTeamMember { .. }
            | Action::RemoveTeamSyncLink { .. } => '-',
            _ => '~',
        }
    }
}

/// One field of a change: Grafana's value and SCIM's (`null` for "absent").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub grafana: Value,
    pub scim: Value,
}

pub(super) fn field(name: &str, grafana: impl Into<Value>, scim: impl Into<Value>) -> FieldChange {
    FieldChange { field: name.into(), grafana: grafana.into(), scim: scim.into() }
}

/// One change: the object, what differs, and the call that repairs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: Kind,
    /// `User` or `Group`: the SCIM resource the change follows from.
    pub resource_type: &'static str,
    pub scim_id: String,
    /// The SCIM user's `userName` or the group's `displayName`.
    pub name: String,
    /// The Grafana user or team (absent when it is to be created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_id: Option<i64>,
    /// For membership changes: the user concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub fields: Vec<FieldChange>,
    /// Serialized as its label (`update_user`); `call` shows what it sends.
    #[serde(serialize_with = "action_label")]
    pub action: Action,
    pub call: String,
}

fn action_label<S: serde::Serializer>(action: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action.label())
}

/// The changes of one namespace, in the order they must run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub namespace: String,
    pub org_id: i64,
    pub changes: Vec<Change>,
    /// What was not compared, and why.
    pub notes: Vec<String>,
}

impl Plan {
    /// Changes per kind, every kind present (zero included).
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut out: BTreeMap<Kind, usize> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
        for c in &self.changes {
            *out.entry(c.kind).or_default() += 1;
        }
        out
    }
}
