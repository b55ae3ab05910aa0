//! The pure half of `reconcile`: SCIM's state (from the store) and Grafana's (as loaded) in, the
//! list of changes that makes Grafana match out. No I/O; unit-tested below.
//!
//! Rules, per namespace (org):
//! - Only what SCIM manages is compared: managed user records (hidden ones included, for their
//!   deactivation) and SCIM-managed group records. Nothing else in Grafana is looked at.
//! - A managed user Grafana lacks is created again (a hidden one is not); an active one then
//!   joins the org with its desired role unless Grafana's auto-assignment already gives it,
//!   an inactive one is disabled right after.
//! - Login, email and name follow SCIM (one `PUT /api/users/:id` for all three).
//! - An active user is enabled, is an org member, with the desired role ([`super::desired`]).
//! - An inactive (or hidden) user is never enabled: disabled again when SCIM's deactivation
//!   disabled it, removed from the org again when the deactivation removed it (SAML users).
//! - A managed team Grafana lacks is created again (and the sidecar's account, which Grafana
//!   makes the creator's Admin, taken out); a renamed one gets SCIM's name back; its Team Sync
//!   links are removed.
//! - Team members follow the desired set the group writes keep (`provision::groups::MEMBERS_KEY`):
//!   missing members are added, others removed; deactivated managed members are left as they are
//!   (reactivation adds them), and a group whose desired set is unknown is not compared.
//!
//! Every change is one Grafana call (a recreated team also drops its creator: its own change).

mod change;
mod state;

use std::collections::HashSet;

use serde_json::Value;

use change::field;
pub use change::{Action, Change, FieldChange, Kind, Plan, TeamRef, UserRef};
pub use state::{Desired, DesiredGroup, DesiredUser, GrafanaTeam, MemberRecord, Observed};

/// The changes that make Grafana match SCIM in org `org_id`.
pub fn plan(namespace: &str, org_id: i64, desired: &Desired, observed: &Observed) -> Plan {
    let mut out = Plan { namespace: namespace.into(), org_id, ..Plan::default() };
    let mut created: HashSet<&str> = HashSet::new();
    let mut users: Vec<&DesiredUser> = desired.users.iter().collect();
    users.sort_by_cached_key(|a| a.user_name.to_lowercase());
    for u in users {
        if plan_user(&mut out, u, observed) {
            created.insert(u.scim_id.as_str());
        }
    }
    let mut groups: Vec<&DesiredGroup> = desired.groups.iter().collect();
    groups.sort_by_cached_key(|a| a.display_name.to_lowercase());
    for g in groups {
        plan_group(&mut out, g, desired, observed, &created);
    }
    out
}

fn push(
    out: &mut Plan,
    kind: Kind,
    user: &DesiredUser,
    grafana_id: Option<i64>,
    fields: Vec<FieldChange>,
    action: Action,
) {
    let call = action.call(out.org_id);
    out.changes.push(Change {
        kind,
        resource_type: "User",
        scim_id: user.scim_id.clone(),
        name: user.user_name.clone(),
        grafana_id,
        member: None,
        fields,
        action,
        call,
    });
}

/// Plans one user; true when the user is to be created.
fn plan_user(out: &mut Plan, u: &DesiredUser, observed: &Observed) -> bool {
    let wanted = &u.fields;
    let Some(g) = observed.users.get(&u.grafana_user_id) else {
        if u.deleted {
            return false;
        }
        let fields = vec![field("exists", false, true)];
        let action = Action::CreateUser {
            scim_id: u.scim_id.clone(),
            login: wanted.login.clone(),
            email: wanted.email.clone(),
            name: wanted.name.clone(),
        };
        push(out, Kind::User, u, None, fields, action);
        let me = UserRef::Created(u.scim_id.clone());
        if u.active {
            match &observed.auto_assign {
                Some((true, role)) if role.eq_ignore_ascii_case(&u.role) => {}
                Some((true, role)) => {
                    let fields = vec![field("role", role.as_str(), u.role.as_str())];
                    push(
                        out,
                        Kind::OrgMembership,
                        u,
                        None,
                        fields,
                        Action::SetOrgRole { user: me, role: u.role.clone() },
                    );
                }
                _ => {
                    let fields =
                        vec![field("member", false, true), field("role", Value::Null, u.role.as_str())];
                    let action = Action::AddOrgUser {
                        user: me,
                        login: wanted.login.clone(),
                        email: wanted.email.clone(),
                        role: u.role.clone(),
                    };
                    push(out, Kind::OrgMembership, u, None, fields, action);
                }
            }
        } else {
            push(
                out,
                Kind::User,
                u,
                None,
                vec![field("disabled", false, true)],
                Action::DisableUser { user: me },
            );
        }
        return true;
    };
    let id = Some(g.id);
    if !u.deleted && crate::provision::translate::differs(g, wanted) {
        let mut fields = Vec::new();
        if !g.login.eq_ignore_ascii_case(&wanted.login) {
            fields.push(field("login", g.login.as_str(), wanted.login.as_str()));
        }
        if !g.email.eq_ignore_ascii_case(&wanted.email) {
            fields.push(field("email", g.email.as_str(), wanted.email.as_str()));
        }
        if !wanted.name.is_empty() && g.name != wanted.name {
            fields.push(field("name", g.name.as_str(), wanted.name.as_str()));
        }
        let name = if wanted.name.is_empty() { g.name.clone() } else { wanted.name.clone() };
        let action = Action::UpdateUser {
            user_id: g.id,
            login: wanted.login.clone(),
            email: wanted.email.clone(),
            name,
        };
        push(out, Kind::User, u, id, fields, action);
    }
    let role_now = observed.org_roles.get(&g.id);
    if u.active && !u.deleted {
        match (g.disabled, u.disabled_by_org) {
            (true, Some(org)) => out.notes.push(format!(
                "user {:?} ({}) stays disabled: SCIM deactivated them in {}",
                u.user_name,
                u.scim_id,
                crate::audit::AuditRecord::namespace_of(org)
            )),
            (true, None) => {
                let fields = vec![field("disabled", true, false)];
                push(out, Kind::User, u, id, fields, Action::EnableUser { user_id: g.id });
            }
            (false, _) => {}
        }
        match role_now {
            None => {
                let fields = vec![field("member", false, true), field("role", Value::Null, u.role.as_str())];
                let action = Action::AddOrgUser {
                    user: UserRef::Id(g.id),
                    login: g.login.clone(),
                    email: g.email.clone(),
                    role: u.role.clone(),
                };
                push(out, Kind::OrgMembership, u, id, fields, action);
            }
            Some(r) if u.role_synced && !r.eq_ignore_ascii_case(&u.role) => {
                let fields = vec![field("role", r.as_str(), u.role.as_str())];
                push(
                    out,
                    Kind::OrgMembership,
                    u,
                    id,
                    fields,
                    Action::SetOrgRole { user: UserRef::Id(g.id), role: u.role.clone() },
                );
            }
            Some(_) => {}
        }
    } else {
        // Never re-enabled: SCIM deactivated (or hid) this user.
        if u.deactivation_disabled && !g.disabled {
            push(
                out,
                Kind::User,
                u,
                id,
                vec![field("disabled", false, true)],
                Action::DisableUser { user: UserRef::Id(g.id) },
            );
        }
        if u.deactivation_removed {
            if let Some(r) = role_now {
                let fields = vec![field("member", true, false), field("role", r.as_str(), Value::Null)];
                push(out, Kind::OrgMembership, u, id, fields, Action::RemoveOrgUser { user_id: g.id });
            }
        }
    }
    false
}

fn group_change(
    out: &mut Plan,
    kind: Kind,
    g: &DesiredGroup,
    grafana_id: Option<i64>,
    member: Option<String>,
    fields: Vec<FieldChange>,
    action: Action,
) {
    let call = action.call(out.org_id);
    out.changes.push(Change {
        kind,
        resource_type: "Group",
        scim_id: g.scim_id.clone(),
        name: g.display_name.clone(),
        grafana_id,
        member,
        fields,
        action,
        call,
    });
}

fn plan_group(
    out: &mut Plan,
    g: &DesiredGroup,
    desired: &Desired,
    observed: &Observed,
    created: &HashSet<&str>,
) {
    let (team, current): (TeamRef, Vec<i64>) = match observed.teams.get(&g.grafana_team_id) {
        None => {
            let action = Action::CreateTeam { scim_id: g.scim_id.clone(), name: g.display_name.clone() };
            group_change(out, Kind::Team, g, None, None, vec![field("exists", false, true)], action);
            // Grafana makes the creating account the new team's Admin.
            (TeamRef::Created(g.scim_id.clone()), observed.own_user_id.into_iter().collect())
        }
        Some(t) => {
            let id = Some(t.id);
            if t.name != g.display_name {
                let fields = vec![field("name", t.name.as_str(), g.display_name.as_str())];
                let action = Action::RenameTeam {
                    team_id: t.id,
                    name: g.display_name.clone(),
                    email: t.email.clone(),
                };
                group_change(out, Kind::Team, g, id, None, fields, action);
            }
            for link in &t.links {
                let fields = vec![field("team_sync_link", link.as_str(), Value::Null)];
                let action = Action::RemoveTeamSyncLink { team_id: t.id, group_id: link.clone() };
                group_change(out, Kind::TeamSyncLink, g, id, None, fields, action);
            }
            (TeamRef::Id(t.id), t.members.clone())
        }
    };
    let team_id = match team {
        TeamRef::Id(id) => Some(id),
        TeamRef::Created(_) => None,
    };
    let none = Vec::new();
    let ids = match &g.members {
        Some(ids) => ids,
        None => {
            out.notes.push(format!(
                "group {:?} ({}): members not compared (its desired members are kept from its next SCIM write on)",
                g.display_name, g.scim_id
            ));
            if team_id.is_some() {
                return;
            }
            // A team made again starts empty, without its creator.
            &none
        }
    };
    let mut wanted: Vec<(UserRef, &str)> = Vec::new();
    let mut keep: HashSet<i64> = HashSet::new();
    for id in ids {
        let Some(rec) = desired.members.get(id).filter(|r| !r.deleted) else { continue };
        if rec.managed && !rec.active {
            // Deactivated: reactivation adds them; never added, never taken out here.
            keep.insert(rec.grafana_user_id);
            continue;
        }
        if created.contains(id.as_str()) {
            wanted.push((UserRef::Created(id.clone()), rec.user_name.as_str()));
            continue;
        }
        if !observed.users.contains_key(&rec.grafana_user_id) {
            continue;
        }
        if !rec.managed && !observed.org_roles.contains_key(&rec.grafana_user_id) {
            // Not a user SCIM manages, and outside the org: left alone.
            continue;
        }
        keep.insert(rec.grafana_user_id);
        wanted.push((UserRef::Id(rec.grafana_user_id), rec.user_name.as_str()));
    }
    let have: HashSet<i64> = current.iter().copied().collect();
    for (user, name) in wanted {
        if matches!(user, UserRef::Id(id) if have.contains(&id)) {
            continue;
        }
        let fields = vec![field("member", false, true)];
        let action = Action::AddTeamMember { team: team.clone(), user };
        group_change(out, Kind::TeamMember, g, team_id, Some(name.to_string()), fields, action);
    }
    for user_id in current.iter().filter(|id| !keep.contains(id)) {
        let name = observed
            .users
            .get(user_id)
            .map_or_else(|| format!("grafana user {user_id}"), |u| u.login.clone());
        let fields = vec![field("member", true, false)];
        let action = Action::RemoveTeamMember { team: team.clone(), user_id: *user_id };
        group_change(out, Kind::TeamMember, g, team_id, Some(name), fields, action);
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
