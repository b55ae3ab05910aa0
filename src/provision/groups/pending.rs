//! Pending members: deactivated users who belong to a group but not (now) to its Grafana team.
//!
//! A group write never adds a deactivated user to the org or the team; the team is remembered in
//! the user's restore state (per org, `orgs[].teams`), and reactivation adds it. Deactivation by
//! org removal remembers the teams the user was in the same way. Those users stay in the group's
//! SCIM member list: every representation with `members` lists Grafana's members, then the
//! pending ones Grafana does not list, so GET, list and filter results, `If-Match` and the ETag
//! of a write's response all see one member set.
//!
//! Design: the store keeps a side table `scim_pending_team_members(org_id, grafana_team_id,
//! scim_user_id)` that triggers derive from `restore` in the statement that writes it (migration
//! 7), so it can never disagree with the restore state reactivation reads, and a group's pending
//! members are one keyed query ([`crate::store::MappingStore::pending_team_members`]) rather than
//! a decode of every deactivated user. Only the teams remembered for the record's own org count:
//! a team of another org that a deactivation through this namespace remembered belongs to that
//! org's namespace, whose own record of the person is the one its groups show.
//!
//! Taking a pending member out of the group (PATCH remove, a PUT or replace not naming them, the
//! group's DELETE) drops the team from their restore state, under the shared `user-access` lock
//! that reactivation holds exclusively, so reactivation restores only what the IdP still assigns.

use serde_json::Value;

use super::repr::{member_ids, member_records, member_value, members_json};
use super::store_err;
use crate::grafana::model::TeamMember;
use crate::provision::users::{OrgRestore, RestoreState};
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::store::{StoreError, UserRecord, USER_ACCESS_LOCK};

/// Attempts at a restore-state edit that lost an optimistic-version race to another group write.
const EDIT_ATTEMPTS: usize = 5;

/// The team's pending members, by `userName` (a stable order for listings).
pub(super) async fn of_team(ctx: &Scope<'_>, team_id: i64) -> Result<Vec<UserRecord>, ProvisionError> {
    let mut users = ctx.prov.store.pending_team_members(ctx.org_id, team_id).await.map_err(store_err)?;
    users.sort_by_cached_key(|u| u.user_name.to_lowercase());
    Ok(users)
}

/// `members` of the team from Grafana's list `current` (already read), then its pending members
/// that list does not hold.
pub(super) async fn listing(
    ctx: &Scope<'_>,
    team_id: i64,
    current: &[TeamMember],
) -> Result<Vec<Value>, ProvisionError> {
    let records = member_records(ctx, current).await?;
    let mut list = members_json(ctx, current, &records);
    let pending = of_team(ctx, team_id).await?;
    if pending.is_empty() {
        return Ok(list);
    }
    let shown: std::collections::HashSet<String> =
        member_ids(&list).into_iter().map(str::to_string).collect();
    list.extend(pending.iter().filter(|u| !shown.contains(&u.scim_id)).map(|u| member_value(ctx, u, None)));
    Ok(list)
}

/// Reads Grafana's members of the team and returns them with the group's whole `members` list.
pub(super) async fn read(
    ctx: &Scope<'_>,
    team_id: i64,
) -> Result<(Vec<TeamMember>, Vec<Value>), ProvisionError> {
    let current = super::shadow::team_members(ctx, team_id).await?;
    let list = listing(ctx, team_id, &current).await?;
    Ok((current, list))
}

/// Remembers `team_id` in each deactivated user's restore state (for this org) instead of adding
/// them to the team now; reactivation joins the org and the team. Already remembered: no write.
/// The caller holds the `user-access` lock.
pub(super) async fn remember(
    ctx: &Scope<'_>,
    team_id: i64,
    inactive: Vec<UserRecord>,
) -> Result<(), ProvisionError> {
    let default_role = ctx.prov.settings.scim.default_role.clone();
    for rec in inactive {
        let (user, scim_id) = (rec.grafana_user_id, rec.scim_id.clone());
        let saved = edit(ctx, rec, true, |st| {
            let entry = match st.orgs.iter().position(|o| o.org_id == ctx.org_id) {
                Some(i) => &mut st.orgs[i],
                None => {
                    let role = if st.removed { st.role.clone() } else { None };
                    let role = role.unwrap_or_else(|| default_role.clone());
                    let teams = if st.removed { st.teams.clone() } else { Vec::new() };
                    st.orgs.push(OrgRestore { org_id: ctx.org_id, role, teams });
                    let last = st.orgs.len() - 1;
                    &mut st.orgs[last]
                }
            };
            if entry.teams.contains(&team_id) {
                return false;
            }
            entry.teams.push(team_id);
            if st.removed && !st.teams.contains(&team_id) {
                st.teams.push(team_id);
            }
            true
        })
        .await?;
        if saved {
            tracing::info!(
                grafana_user = user,
                scim_id,
                team_id,
                "deactivated member kept out of the team until reactivation"
            );
        }
    }
    Ok(())
}

/// Drops `team_id` from the restore state of `users` (pending members the group no longer
/// holds), so reactivation does not add it. The caller holds the `user-access` lock.
pub(super) async fn forget(
    ctx: &Scope<'_>,
    team_id: i64,
    users: impl IntoIterator<Item = UserRecord>,
) -> Result<(), ProvisionError> {
    for rec in users {
        let scim_id = rec.scim_id.clone();
        let saved = edit(ctx, rec, false, |st| {
            let before = st.teams.len() + st.orgs.iter().map(|o| o.teams.len()).sum::<usize>();
            st.teams.retain(|t| *t != team_id);
            for org in st.orgs.iter_mut().filter(|o| o.org_id == ctx.org_id) {
                org.teams.retain(|t| *t != team_id);
            }
            before != st.teams.len() + st.orgs.iter().map(|o| o.teams.len()).sum::<usize>()
        })
        .await?;
        if saved {
            tracing::info!(
                scim_id,
                team_id,
                "pending member left the group: reactivation will not add the team"
            );
        }
    }
    Ok(())
}

/// Forgets the team for every pending member (the group is gone), under the `user-access` lock.
pub(super) async fn forget_team(ctx: &Scope<'_>, team_id: i64) -> Result<(), ProvisionError> {
    let _access = ctx.prov.store.lock_rw(USER_ACCESS_LOCK, false).await.map_err(store_err)?;
    let pending = of_team(ctx, team_id).await?;
    forget(ctx, team_id, pending).await
}

/// Applies `change` to an inactive user's restore state and saves it when it reports a change
/// (then `true`).
/// Another group write may have saved the record meanwhile (group writes share the lock): then
/// the record is read again and the change applied to that. `without_state` lets `change` run on
/// a user who has none yet.
async fn edit(
    ctx: &Scope<'_>,
    mut rec: UserRecord,
    without_state: bool,
    change: impl Fn(&mut RestoreState) -> bool,
) -> Result<bool, ProvisionError> {
    let store = ctx.prov.store.as_ref();
    for _ in 0..EDIT_ATTEMPTS {
        if rec.active || rec.deleted || (rec.restore.is_none() && !without_state) {
            return Ok(false);
        }
        let mut st = RestoreState::from_value(rec.restore.as_ref());
        if !change(&mut st) {
            return Ok(false);
        }
        rec.restore = Some(st.to_value());
        rec.last_modified = chrono::Utc::now();
        match store.update_user(&rec, rec.version).await {
            Ok(_) => return Ok(true),
            Err(StoreError::StaleVersion) => {
                match store.get_user(ctx.org_id, &rec.scim_id).await.map_err(store_err)? {
                    Some(fresh) => rec = fresh,
                    None => return Ok(false),
                }
            }
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(ProvisionError::retry("a member's record keeps changing; retry the request"))
}
