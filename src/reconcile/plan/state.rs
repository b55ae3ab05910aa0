//! The two sides a plan is made from: SCIM's ([`Desired`], from the store) and Grafana's
//! ([`Observed`]). Pure data, filled by `reconcile::load`.

use std::collections::HashMap;

use crate::provision::translate::{GrafanaUserFields, GrafanaUserView};

/// A managed user record, as `reconcile` compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredUser {
    pub scim_id: String,
    pub user_name: String,
    pub grafana_user_id: i64,
    pub active: bool,
    /// Hidden from SCIM (a DELETE with `on_delete = deactivate`).
    pub deleted: bool,
    /// SCIM's deactivation disabled the user in Grafana.
    pub deactivation_disabled: bool,
    /// SCIM's deactivation removed the user from the org (Grafana refused to disable them).
    pub deactivation_removed: bool,
    /// What Grafana should hold (from the stored SCIM document).
    pub fields: GrafanaUserFields,
    /// The org role the sidecar gives this user (`reconcile::desired::org_role`).
    pub role: String,
    /// Role sync is on: a different role in Grafana is drift. Off: `role` is used only to join
    /// the org again (the role itself is SAML's).
    pub role_synced: bool,
    /// Another org whose SCIM deactivation disabled this Grafana user (disabling is global): an
    /// active user is then not enabled from here.
    pub disabled_by_org: Option<i64>,
}

/// A group member's record (any user record: group members need not be managed).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub grafana_user_id: i64,
    pub user_name: String,
    pub active: bool,
    pub managed: bool,
    pub deleted: bool,
}

/// A SCIM-managed group record.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredGroup {
    pub scim_id: String,
    pub display_name: String,
    pub grafana_team_id: i64,
    /// SCIM user ids; `None` when the record predates desired members.
    pub members: Option<Vec<String>>,
}

/// The SCIM side of a namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub users: Vec<DesiredUser>,
    pub groups: Vec<DesiredGroup>,
    /// The records of every SCIM id a desired member list names, by SCIM id.
    pub members: HashMap<String, MemberRecord>,
}

/// A team of the org, with what `reconcile` read of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrafanaTeam {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// Member user ids (read for managed teams only).
    pub members: Vec<i64>,
    /// Team Sync group ids (empty where Team Sync is unavailable).
    pub links: Vec<String>,
}

/// Grafana's side of a namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Every Grafana user, by id.
    pub users: HashMap<i64, GrafanaUserView>,
    /// The org's members and their roles.
    pub org_roles: HashMap<i64, String>,
    /// The org's teams, by id.
    pub teams: HashMap<i64, GrafanaTeam>,
    /// Grafana's `[users] auto_assign_org` and `auto_assign_org_role`, when it said.
    pub auto_assign: Option<(bool, String)>,
    /// The sidecar's own Grafana user (made Admin of the teams it creates), when known.
    pub own_user_id: Option<i64>,
}
