//! Reading both sides of one namespace for the plan: SCIM's from the mapping store
//! ([`desired`]), Grafana's through the client ([`observed`]). Reads only.
//!
//! Grafana is read in pages of 1000 (users, org users, teams), then each SCIM-managed team that
//! exists is asked for its members and its Team Sync links (once Grafana says Team Sync is not
//! there, it is not asked again).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::plan::{Desired, DesiredGroup, DesiredUser, GrafanaTeam, MemberRecord, Observed};
use super::ReconcileError;
use crate::config::ScimConfig;
use crate::grafana::GrafanaClient;
use crate::provision::groups::{MANAGED_KEY, MEMBERS_KEY};
use crate::provision::translate::{grafana_fields, GrafanaUserFields, GrafanaUserView};
use crate::provision::users::RestoreState;
use crate::store::{MappingStore, UserRecord, MAX_IDS_PER_LOOKUP};

/// Store rows read per query.
const STORE_PAGE: i64 = 500;
/// Grafana rows read per call.
const GRAFANA_PAGE: u32 = 1000;
/// Most Grafana pages read per listing (a misbehaving server cannot keep the loop going).
const MAX_PAGES: u32 = 1000;

/// The SCIM side of org `org_id`.
///
/// # Errors
/// The store failing.
pub async fn desired(
    store: &dyn MappingStore,
    scim: &ScimConfig,
    org_id: i64,
) -> Result<Desired, ReconcileError> {
    let mut out = Desired::default();
    let mut after = String::new();
    loop {
        let page = store.managed_users_page(org_id, &after, STORE_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.scim_id.clone();
        out.users.extend(page.iter().map(|r| desired_user(scim, r)));
        if (page.len() as i64) < STORE_PAGE {
            break;
        }
    }
    let mut after = String::new();
    loop {
        let page = store.live_groups_page(org_id, &after, STORE_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.scim_id.clone();
        let full = page.len() as i64 >= STORE_PAGE;
        for g in page {
            if g.attributes.get(MANAGED_KEY).and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let members = g
                .attributes
                .get(MEMBERS_KEY)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<String>>());
            out.groups.push(DesiredGroup {
                scim_id: g.scim_id,
                display_name: g.display_name,
                grafana_team_id: g.grafana_team_id,
                members,
            });
        }
        if !full {
            break;
        }
    }
    let ids: Vec<String> = out
        .groups
        .iter()
        .flat_map(|g| g.members.iter().flatten().cloned())
        .collect::<HashSet<String>>()
        .into_iter()
        .collect();
    for chunk in ids.chunks(MAX_IDS_PER_LOOKUP) {
        for r in store.users_by_scim_ids(org_id, chunk).await? {
            let rec = MemberRecord {
                grafana_user_id: r.grafana_user_id,
                user_name: r.user_name.clone(),
                active: r.active,
                managed: r.managed,
                deleted: r.deleted,
            };
            out.members.insert(r.scim_id, rec);
        }
    }
    Ok(out)
}

fn desired_user(scim: &ScimConfig, r: &UserRecord) -> DesiredUser {
    let restore = RestoreState::from_value(r.restore.as_ref());
    let fields = if r.attributes.is_object() {
        grafana_fields(&r.attributes)
    } else {
        // No stored document: only the userName is known; the name is not compared.
        let email = r.email.clone().unwrap_or_else(|| r.user_name.clone());
        GrafanaUserFields { login: r.user_name.clone(), email, name: String::new() }
    };
    let (role, role_synced) = super::desired::org_role(scim, r);
    DesiredUser {
        scim_id: r.scim_id.clone(),
        user_name: r.user_name.clone(),
        grafana_user_id: r.grafana_user_id,
        active: r.active,
        deleted: r.deleted,
        deactivation_disabled: !r.active && restore.disabled,
        deactivation_removed: !r.active && restore.removed,
        fields,
        role,
        role_synced,
        disabled_by_org: None,
    }
}

/// Grafana's side of org `org_id`, as far as `desired` needs it.
///
/// # Errors
/// Any Grafana call failing (nothing is planned from half a picture).
pub async fn observed(g: &GrafanaClient, org_id: i64, desired: &Desired) -> Result<Observed, ReconcileError> {
    let mut out = Observed::default();
    for page in 1..=MAX_PAGES {
        let res = g.search_users("", page, GRAFANA_PAGE).await?;
        let n = res.users.len();
        for u in res.users {
            let view = GrafanaUserView {
                id: u.id,
                uid: u.uid.filter(|s| !s.is_empty()),
                login: u.login,
                email: u.email,
                name: u.name,
                disabled: u.is_disabled,
            };
            out.users.insert(view.id, view);
        }
        if n < GRAFANA_PAGE as usize || out.users.len() as i64 >= res.total_count {
            break;
        }
    }
    for page in 1..=MAX_PAGES {
        let res = g.search_org_users(org_id, "", page, GRAFANA_PAGE).await?;
        let n = res.org_users.len();
        for u in res.org_users {
            out.org_roles.insert(u.user_id, u.role);
        }
        if n < GRAFANA_PAGE as usize || out.org_roles.len() as i64 >= res.total_count {
            break;
        }
    }
    let mut teams: HashMap<i64, GrafanaTeam> = HashMap::new();
    for page in 1..=MAX_PAGES {
        let res = g.search_teams(org_id, None, None, page, GRAFANA_PAGE).await?;
        let n = res.teams.len();
        for t in res.teams {
            teams.insert(
                t.id,
                GrafanaTeam { id: t.id, name: t.name, email: t.email, ..GrafanaTeam::default() },
            );
        }
        if n < GRAFANA_PAGE as usize || teams.len() as i64 >= res.total_count {
            break;
        }
    }
    let mut team_sync = true;
    for group in &desired.groups {
        let Some(team) = teams.get_mut(&group.grafana_team_id) else { continue };
        team.members = g.team_members(org_id, team.id).await?.into_iter().map(|m| m.user_id).collect();
        if team_sync {
            match g.team_groups(org_id, team.id).await? {
                Some(links) => team.links = links.into_iter().map(|l| l.group_id).collect(),
                None => team_sync = false,
            }
        }
    }
    out.teams = teams;
    let needs_create =
        desired.users.iter().any(|u| !u.deleted && !out.users.contains_key(&u.grafana_user_id));
    if needs_create {
        out.auto_assign = match g.admin_settings().await {
            Ok(s) => {
                let on = s.get_bool("users", "auto_assign_org").unwrap_or(true);
                let role = s.get("users", "auto_assign_org_role").unwrap_or("Viewer").to_string();
                Some((on, role))
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot read grafana's auto-assign settings");
                None
            }
        };
    }
    if desired.groups.iter().any(|grp| !out.teams.contains_key(&grp.grafana_team_id)) {
        out.own_user_id = Some(g.current_user().await?.id);
    }
    Ok(out)
}

/// Marks the active users of `org_id` whom Grafana shows disabled because SCIM deactivated the
/// same Grafana user through another namespace (disabling is global): they are not enabled.
///
/// # Errors
/// The store failing.
pub async fn held_elsewhere(
    store: &dyn MappingStore,
    org_id: i64,
    desired: &mut Desired,
    observed: &Observed,
) -> Result<(), ReconcileError> {
    for u in desired.users.iter_mut().filter(|u| u.active && !u.deleted) {
        if !observed.users.get(&u.grafana_user_id).is_some_and(|g| g.disabled) {
            continue;
        }
        let others = store.users_of_grafana_user(u.grafana_user_id).await?;
        u.disabled_by_org = others
            .iter()
            .find(|r| {
                r.org_id != org_id
                    && r.managed
                    && !r.active
                    && RestoreState::from_value(r.restore.as_ref()).disabled
            })
            .map(|r| r.org_id);
    }
    Ok(())
}
