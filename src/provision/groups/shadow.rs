//! Groups in shadow mode (`[scim] mode = "shadow"`): what Grafana would hold had the planned
//! writes been sent, from the store.
//!
//! In shadow mode SCIM is the truth for a managed group: its name is the record's
//! `displayName` and its members are the desired ones ([`MEMBERS_KEY`]), whatever Grafana's team
//! holds; a team created in shadow mode has a placeholder id (`grafana::shadow`) and exists only
//! as its record. Writes diff against this state, so each plans only the change it makes. A
//! placeholder team is never asked of Grafana, in enforce mode either (its record stays until
//! `reconcile --apply` creates the team).

use std::collections::HashMap;

use serde_json::Value;

use super::{store_err, upstream, MANAGED_KEY, MEMBERS_KEY};
use crate::grafana::model::{Team, TeamMember};
use crate::grafana::shadow::is_placeholder;
use crate::provision::{ProvisionError, Scope};
use crate::store::GroupRecord;

/// Store rows read per page.
const PAGE: i64 = 500;

fn on(ctx: &Scope<'_>) -> bool {
    ctx.prov.grafana.is_shadow()
}

/// Whether SCIM wrote the group (its name and members are SCIM's).
pub(super) fn is_managed(record: &GroupRecord) -> bool {
    record.attributes.get(MANAGED_KEY).and_then(Value::as_bool) == Some(true)
}

/// The name a group is shown with: in shadow mode a managed group's own; else Grafana's team's.
pub(super) fn shown_name<'a>(
    ctx: &Scope<'_>,
    record: &'a GroupRecord,
    team_name: Option<&'a str>,
) -> Option<&'a str> {
    if on(ctx) && is_managed(record) {
        Some(record.display_name.as_str())
    } else {
        team_name
    }
}

/// A team as a placeholder record stands for it.
fn placeholder_team(ctx: &Scope<'_>, record: &GroupRecord) -> Team {
    Team {
        id: record.grafana_team_id,
        org_id: ctx.org_id,
        name: record.display_name.clone(),
        ..Team::default()
    }
}

/// Team `team_id` of the namespace's org, `None` when it does not exist. A placeholder is the
/// team its live record stands for; in shadow mode a managed team carries its record's name.
pub(super) async fn team(ctx: &Scope<'_>, team_id: i64) -> Result<Option<Team>, ProvisionError> {
    if is_placeholder(team_id) {
        let record = ctx.prov.store.group_by_grafana_id(ctx.org_id, team_id).await.map_err(store_err)?;
        return Ok(record.filter(|r| !r.deleted).map(|r| placeholder_team(ctx, &r)));
    }
    let mut team = match ctx.prov.grafana.get_team(ctx.org_id, team_id).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(upstream(e)),
    };
    if on(ctx) {
        let record = ctx.prov.store.group_by_grafana_id(ctx.org_id, team_id).await.map_err(store_err)?;
        if let Some(r) = record.filter(|r| !r.deleted && is_managed(r)) {
            team.name = r.display_name;
        }
    }
    Ok(Some(team))
}

/// The members of team `team_id`. In shadow mode a group whose record keeps its desired members
/// has those (resolved through the store); a placeholder team without them has none.
pub(super) async fn team_members(ctx: &Scope<'_>, team_id: i64) -> Result<Vec<TeamMember>, ProvisionError> {
    if on(ctx) || is_placeholder(team_id) {
        let record = ctx.prov.store.group_by_grafana_id(ctx.org_id, team_id).await.map_err(store_err)?;
        let desired = record.as_ref().filter(|r| !r.deleted).and_then(|r| r.attributes.get(MEMBERS_KEY));
        if let Some(ids) = desired.and_then(Value::as_array) {
            let ids: Vec<String> = ids.iter().filter_map(Value::as_str).map(str::to_string).collect();
            return desired_members(ctx, team_id, &ids).await;
        }
        if is_placeholder(team_id) {
            return Ok(Vec::new());
        }
    }
    ctx.prov.grafana.team_members(ctx.org_id, team_id).await.map_err(upstream)
}

/// The users `ids` name, as team members (unknown or hidden ids are left out).
async fn desired_members(
    ctx: &Scope<'_>,
    team_id: i64,
    ids: &[String],
) -> Result<Vec<TeamMember>, ProvisionError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(crate::store::MAX_IDS_PER_LOOKUP) {
        for rec in ctx.prov.store.users_by_scim_ids(ctx.org_id, chunk).await.map_err(store_err)? {
            found.insert(rec.scim_id.clone(), rec);
        }
    }
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id))
        .filter(|r| !r.deleted)
        .map(|r| TeamMember {
            org_id: ctx.org_id,
            team_id,
            user_id: r.grafana_user_id,
            email: r.email.clone().unwrap_or_default(),
            login: r.user_name.clone(),
            name: r.attributes.get("displayName").and_then(Value::as_str).unwrap_or_default().to_string(),
            ..TeamMember::default()
        })
        .collect())
}

/// In shadow mode, the org's live groups that exist only in the store (placeholder teams), by
/// name ignoring case; none otherwise.
pub(super) async fn placeholder_teams(ctx: &Scope<'_>) -> Result<Vec<Team>, ProvisionError> {
    if !on(ctx) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = ctx.prov.store.live_groups_page(ctx.org_id, &after, PAGE).await.map_err(store_err)?;
        let Some(last) = page.last() else { break };
        after = last.scim_id.clone();
        let full = page.len() as i64 >= PAGE;
        out.extend(
            page.iter().filter(|r| is_placeholder(r.grafana_team_id)).map(|r| placeholder_team(ctx, r)),
        );
        if !full {
            break;
        }
    }
    out.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// In shadow mode, the managed group named `name` (case-insensitively) as its team, which
/// Grafana's search cannot find when it is a placeholder or was renamed in shadow mode.
pub(super) async fn named(ctx: &Scope<'_>, name: &str) -> Result<Option<Team>, ProvisionError> {
    if !on(ctx) {
        return Ok(None);
    }
    let record = ctx.prov.store.group_by_display_name(ctx.org_id, name).await.map_err(store_err)?;
    match record.filter(|r| !r.deleted && is_managed(r)) {
        Some(r) => team(ctx, r.grafana_team_id).await,
        None => Ok(None),
    }
}
