//! Unit tests of the pure reconcile plan.

use super::*;
use crate::provision::translate::{GrafanaUserFields, GrafanaUserView};

fn view(id: i64, login: &str, email: &str, name: &str, disabled: bool) -> GrafanaUserView {
    GrafanaUserView { id, uid: None, login: login.into(), email: email.into(), name: name.into(), disabled }
}

fn user(scim: &str, id: i64, login: &str) -> DesiredUser {
    DesiredUser {
        scim_id: scim.into(),
        user_name: login.into(),
        grafana_user_id: id,
        active: true,
        deleted: false,
        deactivation_disabled: false,
        deactivation_removed: false,
        fields: GrafanaUserFields {
            login: login.into(),
            email: format!("{login}@corp.example"),
            name: format!("{login} name"),
        },
        role: "Viewer".into(),
        role_synced: true,
        disabled_by_org: None,
    }
}

/// Grafana holding exactly what `users` want, all in the org as Viewer.
fn in_sync(users: &[DesiredUser]) -> Observed {
    let mut o =
        Observed { auto_assign: Some((true, "Viewer".into())), own_user_id: Some(1), ..Observed::default() };
    o.users.insert(1, view(1, "admin", "admin@localhost", "", false));
    for u in users {
        let f = &u.fields;
        o.users.insert(u.grafana_user_id, view(u.grafana_user_id, &f.login, &f.email, &f.name, !u.active));
        o.org_roles.insert(u.grafana_user_id, "Viewer".into());
    }
    o
}

fn member(u: &DesiredUser) -> (String, MemberRecord) {
    let rec = MemberRecord {
        grafana_user_id: u.grafana_user_id,
        user_name: u.user_name.clone(),
        active: u.active,
        managed: true,
        deleted: false,
    };
    (u.scim_id.clone(), rec)
}

fn labels(p: &Plan) -> Vec<(&'static str, String)> {
    p.changes.iter().map(|c| (c.action.label(), c.call.clone())).collect()
}

#[test]
fn matching_state_plans_nothing() {
    let users = vec![user("a", 10, "alice"), user("b", 11, "bob")];
    let mut observed = in_sync(&users);
    observed.teams.insert(
        50,
        GrafanaTeam {
            id: 50,
            name: "Ops".into(),
            email: String::new(),
            members: vec![10, 11],
            links: vec![],
        },
    );
    let desired = Desired {
        members: users.iter().map(member).collect(),
        groups: vec![DesiredGroup {
            scim_id: "g".into(),
            display_name: "Ops".into(),
            grafana_team_id: 50,
            members: Some(vec!["a".into(), "b".into()]),
        }],
        users,
    };
    let p = plan("default", 1, &desired, &observed);
    assert!(p.changes.is_empty(), "{p:?}");
    assert!(p.notes.is_empty());
    assert!(p.counts().values().all(|n| *n == 0));
}

#[test]
fn renamed_re_emailed_and_renamed_user_is_one_update() {
    let users = vec![user("a", 10, "alice")];
    let mut observed = in_sync(&users);
    observed.users.insert(10, view(10, "alice2", "other@corp.example", "Someone", false));
    let p = plan("default", 1, &Desired { users, ..Desired::default() }, &observed);
    assert_eq!(labels(&p), vec![("update_user", "PUT /api/users/10".to_string())]);
    let fields: Vec<(&str, &Value, &Value)> =
        p.changes[0].fields.iter().map(|f| (f.field.as_str(), &f.grafana, &f.scim)).collect();
    assert_eq!(
        fields,
        vec![
            ("login", &Value::from("alice2"), &Value::from("alice")),
            ("email", &Value::from("other@corp.example"), &Value::from("alice@corp.example")),
            ("name", &Value::from("Someone"), &Value::from("alice name")),
        ]
    );
    // Case alone is no drift (Grafana lowercases logins and emails).
    let users = vec![user("a", 10, "Alice")];
    let mut observed = in_sync(&users);
    observed.users.insert(10, view(10, "alice", "alice@corp.example", "Alice name", false));
    assert!(plan("default", 1, &Desired { users, ..Desired::default() }, &observed).changes.is_empty());
}

#[test]
fn active_users_are_enabled_and_joined_with_the_desired_role() {
    let users = vec![user("a", 10, "alice"), user("b", 11, "bob")];
    let mut observed = in_sync(&users);
    observed.users.get_mut(&10).unwrap().disabled = true;
    observed.org_roles.remove(&10);
    observed.org_roles.insert(11, "Admin".into());
    let p = plan("org-2", 2, &Desired { users, ..Desired::default() }, &observed);
    assert_eq!(
        labels(&p),
        vec![
            ("enable_user", "POST /api/admin/users/10/enable".to_string()),
            ("add_org_user", "POST /api/orgs/2/users".to_string()),
            ("set_org_role", "PATCH /api/orgs/2/users/11".to_string()),
        ]
    );
    assert_eq!(p.changes[2].fields[0], field("role", "Admin", "Viewer"));
    assert_eq!(p.counts()[&Kind::OrgMembership], 2);
}

/// Without role sync the org role is SAML's (set at every login): another role is not drift,
/// and a user outside the org joins again with `default_role`.
#[test]
fn without_role_sync_a_different_role_is_not_drift_but_a_lost_membership_is() {
    let mut users = vec![user("a", 10, "alice"), user("b", 11, "bob")];
    for u in &mut users {
        u.role_synced = false;
    }
    let mut observed = in_sync(&users);
    observed.org_roles.remove(&10);
    observed.org_roles.insert(11, "Admin".into());
    let p = plan("default", 1, &Desired { users, ..Desired::default() }, &observed);
    assert_eq!(labels(&p), vec![("add_org_user", "POST /api/orgs/1/users".to_string())]);
    assert_eq!(p.changes[0].fields[1], field("role", Value::Null, "Viewer"));
}

#[test]
fn deactivated_users_are_never_enabled_and_stay_cut_off() {
    let mut disabled = user("a", 10, "alice");
    disabled.active = false;
    disabled.deactivation_disabled = true;
    let mut removed = user("b", 11, "bob");
    removed.active = false;
    removed.deactivation_removed = true;
    let users = vec![disabled, removed];
    let mut observed = in_sync(&users);
    // Someone enabled alice again in Grafana; bob is back in the org (and enabled, which his
    // deactivation never changed: a SAML user Grafana would not disable).
    observed.users.get_mut(&10).unwrap().disabled = false;
    observed.users.get_mut(&11).unwrap().disabled = false;
    let p = plan("default", 1, &Desired { users: users.clone(), ..Desired::default() }, &observed);
    assert_eq!(
        labels(&p),
        vec![
            ("disable_user", "POST /api/admin/users/10/disable".to_string()),
            ("remove_org_user", "DELETE /api/orgs/1/users/11".to_string()),
        ]
    );
    // Disabled and out of the org already: nothing, and never an enable.
    observed.users.get_mut(&10).unwrap().disabled = true;
    observed.org_roles.remove(&11);
    let p = plan("default", 1, &Desired { users, ..Desired::default() }, &observed);
    assert!(p.changes.is_empty(), "{p:?}");
}

#[test]
fn users_gone_from_grafana_are_created_again() {
    let mut off = user("b", 11, "bob");
    off.active = false;
    off.deactivation_disabled = true;
    let mut hidden = user("c", 12, "carol");
    hidden.active = false;
    hidden.deleted = true;
    let users = vec![user("a", 10, "alice"), off, hidden];
    let mut observed = in_sync(&users);
    for id in [10, 11, 12] {
        observed.users.remove(&id);
        observed.org_roles.remove(&id);
    }
    let desired = Desired { users, ..Desired::default() };
    let p = plan("default", 1, &desired, &observed);
    assert_eq!(
        labels(&p),
        vec![
            ("create_user", "POST /api/admin/users".to_string()),
            ("create_user", "POST /api/admin/users".to_string()),
            ("disable_user", "POST /api/admin/users/<new id of b>/disable".to_string()),
        ]
    );
    // Auto-assignment with another role, or none at all, costs an org call.
    observed.auto_assign = Some((true, "Editor".into()));
    let p = plan("default", 1, &desired, &observed);
    assert_eq!(p.changes[1].call, "PATCH /api/orgs/1/users/<new id of a>");
    observed.auto_assign = None;
    let p = plan("default", 1, &desired, &observed);
    assert_eq!(p.changes[1].call, "POST /api/orgs/1/users");
    assert_eq!(
        p.changes[1].action,
        Action::AddOrgUser {
            user: UserRef::Created("a".into()),
            login: "alice".into(),
            email: "alice@corp.example".into(),
            role: "Viewer".into(),
        }
    );
}

#[test]
fn teams_are_renamed_unlinked_and_their_members_follow_scim() {
    let mut off = user("c", 12, "carol");
    off.active = false;
    off.deactivation_disabled = true;
    let users = vec![user("a", 10, "alice"), user("b", 11, "bob"), off];
    let mut observed = in_sync(&users);
    observed.users.insert(20, view(20, "stranger", "s@x", "", false));
    observed.org_roles.insert(20, "Viewer".into());
    observed.teams.insert(
        50,
        GrafanaTeam {
            id: 50,
            name: "Ops renamed".into(),
            email: "ops@x".into(),
            members: vec![11, 12, 20],
            links: vec!["cn=ops,dc=x".into()],
        },
    );
    // An unmanaged team is never looked at.
    observed.teams.insert(
        60,
        GrafanaTeam { id: 60, name: "Other".into(), members: vec![20], ..GrafanaTeam::default() },
    );
    let desired = Desired {
        members: users.iter().map(member).collect(),
        groups: vec![DesiredGroup {
            scim_id: "g".into(),
            display_name: "Ops".into(),
            grafana_team_id: 50,
            // alice wanted, bob not, carol deactivated (left as she is), an unknown id ignored.
            members: Some(vec!["a".into(), "c".into(), "gone".into()]),
        }],
        users,
    };
    let p = plan("default", 1, &desired, &observed);
    assert_eq!(
        labels(&p),
        vec![
            ("rename_team", "PUT /api/teams/50".to_string()),
            ("remove_team_sync_link", "DELETE /api/teams/50/groups?groupId=cn%3Dops%2Cdc%3Dx".to_string()),
            ("add_team_member", "POST /api/teams/50/members".to_string()),
            ("remove_team_member", "DELETE /api/teams/50/members/11".to_string()),
            ("remove_team_member", "DELETE /api/teams/50/members/20".to_string()),
        ]
    );
    assert_eq!(
        p.changes[0].action,
        Action::RenameTeam { team_id: 50, name: "Ops".into(), email: "ops@x".into() }
    );
    assert_eq!(p.changes[2].member.as_deref(), Some("alice"));
    assert_eq!(p.changes[4].member.as_deref(), Some("stranger"));
    let counts = p.counts();
    assert_eq!((counts[&Kind::Team], counts[&Kind::TeamSyncLink], counts[&Kind::TeamMember]), (1, 1, 3));
}

#[test]
fn missing_teams_are_created_with_their_members_and_without_their_creator() {
    let users = vec![user("a", 10, "alice"), user("b", 11, "bob")];
    let mut observed = in_sync(&users);
    observed.users.remove(&11);
    observed.org_roles.remove(&11);
    let desired = Desired {
        members: users.iter().map(member).collect(),
        groups: vec![
            DesiredGroup {
                scim_id: "g".into(),
                display_name: "Ops".into(),
                grafana_team_id: 50,
                members: Some(vec!["a".into(), "b".into()]),
            },
            DesiredGroup {
                scim_id: "h".into(),
                display_name: "Old".into(),
                grafana_team_id: 51,
                members: None,
            },
        ],
        users,
    };
    let p = plan("default", 1, &desired, &observed);
    let actions: Vec<&Action> = p.changes.iter().map(|c| &c.action).collect();
    assert_eq!(p.changes.len(), 7, "{:#?}", labels(&p));
    assert_eq!(actions[0].label(), "create_user");
    // "Old" sorts first; its members were never kept, so only its creator goes.
    assert_eq!(actions[1], &Action::CreateTeam { scim_id: "h".into(), name: "Old".into() });
    assert_eq!(actions[2], &Action::RemoveTeamMember { team: TeamRef::Created("h".into()), user_id: 1 });
    assert_eq!(actions[3], &Action::CreateTeam { scim_id: "g".into(), name: "Ops".into() });
    assert_eq!(
        actions[4],
        &Action::AddTeamMember { team: TeamRef::Created("g".into()), user: UserRef::Id(10) }
    );
    assert_eq!(
        actions[5],
        &Action::AddTeamMember { team: TeamRef::Created("g".into()), user: UserRef::Created("b".into()) }
    );
    assert_eq!(actions[6], &Action::RemoveTeamMember { team: TeamRef::Created("g".into()), user_id: 1 });
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    assert!(p.notes[0].contains("\"Old\""), "{:?}", p.notes);
}

#[test]
fn a_user_another_namespace_deactivated_is_not_enabled_from_this_one() {
    let mut u = user("a", 10, "alice");
    u.disabled_by_org = Some(3);
    let users = vec![u];
    let mut observed = in_sync(&users);
    observed.users.get_mut(&10).unwrap().disabled = true;
    let p = plan("default", 1, &Desired { users, ..Desired::default() }, &observed);
    assert!(p.changes.is_empty(), "{p:?}");
    assert_eq!(
        p.notes,
        vec!["user \"alice\" (a) stays disabled: SCIM deactivated them in org-3".to_string()]
    );
}

#[test]
fn placeholder_ids_of_shadow_mode_are_missing_and_created_with_their_members() {
    // Shadow mode stores negative placeholder ids for what it planned to create; Grafana never
    // has them, so reconcile creates the users (disabling a deactivated one) and the team.
    let real = user("a", 10, "alice");
    let planned = user("p", crate::grafana::shadow::placeholder_id(), "paula");
    let mut off = user("q", crate::grafana::shadow::placeholder_id(), "quinn");
    off.active = false;
    let observed = in_sync(std::slice::from_ref(&real));
    let users = vec![real, planned, off];
    let desired = Desired {
        members: users.iter().map(member).collect(),
        groups: vec![DesiredGroup {
            scim_id: "g".into(),
            display_name: "Ops".into(),
            grafana_team_id: crate::grafana::shadow::placeholder_id(),
            members: Some(vec!["a".into(), "p".into()]),
        }],
        users,
    };
    let p = plan("default", 1, &desired, &observed);
    let actions: Vec<&Action> = p.changes.iter().map(|c| &c.action).collect();
    assert_eq!(p.changes.len(), 7, "{:#?}", labels(&p));
    assert_eq!(actions[0].label(), "create_user");
    assert_eq!(actions[1].label(), "create_user");
    assert_eq!(actions[2], &Action::DisableUser { user: UserRef::Created("q".into()) });
    assert_eq!(actions[3], &Action::CreateTeam { scim_id: "g".into(), name: "Ops".into() });
    assert_eq!(
        actions[4],
        &Action::AddTeamMember { team: TeamRef::Created("g".into()), user: UserRef::Id(10) }
    );
    assert_eq!(
        actions[5],
        &Action::AddTeamMember { team: TeamRef::Created("g".into()), user: UserRef::Created("p".into()) }
    );
    assert_eq!(actions[6], &Action::RemoveTeamMember { team: TeamRef::Created("g".into()), user_id: 1 });
}
