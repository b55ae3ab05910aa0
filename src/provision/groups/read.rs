//! GET `/Groups/{id}`, GET `/Groups` and POST `/Groups/.search`.
//!
//! `displayName eq`, `externalId eq` and `id eq` are direct lookups; a listing without a filter
//! maps `startIndex`/`count` onto at most two Grafana search pages (ordered by name, so paging is
//! stable); other filters are evaluated over a scan bounded by `max_results`. Members are read
//! only when the projection keeps them: Grafana's, then the group's pending (deactivated) members
//! from the store ([`super::pending`]).

use serde_json::Value;

use super::repr::{resource, team_records};
use super::{store_err, upstream};
use crate::grafana::model::Team;
use crate::provision::ProvisionError;
use crate::provision::{Page, Scope, Shown};
use crate::scim::filter::{self, LookupKey, Plan};
use crate::scim::list::ListQuery;
use crate::scim::projection::Projection;
use crate::scim::ResourceType;
use crate::store::GroupRecord;

/// Teams whose members are read concurrently when a page includes members.
const MEMBER_FETCH_CONCURRENCY: usize = 8;
/// Most team-search pages a shadow-mode listing reads.
const MAX_SHADOW_PAGES: u32 = 1000;

/// One group; its members are read only when `view` keeps them.
pub(super) async fn get(ctx: &Scope<'_>, id: &str, view: &Projection) -> Result<Shown, ProvisionError> {
    let (record, team) = load(ctx, id).await?;
    let (doc, etag) = render(ctx, &record, &team, view).await?;
    Ok(Shown { id: record.scim_id, body: doc, etag })
}

/// The live (not deleted) record of `id`; 404 otherwise.
pub(super) async fn live_record(ctx: &Scope<'_>, id: &str) -> Result<GroupRecord, ProvisionError> {
    ctx.prov
        .store
        .get_group(ctx.org_id, id)
        .await
        .map_err(store_err)?
        .filter(|r| !r.deleted)
        .ok_or_else(|| ProvisionError::not_found(format!("group {id:?} not found")))
}

/// The live record and team of `id`; 404 when either is gone.
pub(super) async fn load(ctx: &Scope<'_>, id: &str) -> Result<(GroupRecord, Team), ProvisionError> {
    let record = live_record(ctx, id).await?;
    match super::shadow::team(ctx, record.grafana_team_id).await? {
        Some(team) => {
            super::drift::compare(&record, &team);
            Ok((record, team))
        }
        None => {
            super::drift::gone(&record);
            Err(ProvisionError::not_found(format!("group {id:?} not found")))
        }
    }
}

/// The representation of one group (members fetched only when `projection` keeps them).
async fn render(
    ctx: &Scope<'_>,
    record: &GroupRecord,
    team: &Team,
    projection: &Projection,
) -> Result<(Value, String), ProvisionError> {
    let members =
        if projection.wants("members") { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    Ok(resource(ctx, record, Some(&team.name), members))
}

/// `GET /Groups` and `POST /Groups/.search`: one page, before projection (`view` decides
/// whether members are read).
pub(super) async fn list(
    ctx: &Scope<'_>,
    query: ListQuery,
    view: &Projection,
) -> Result<Page, ProvisionError> {
    let projection = view;
    let count = query.count_or(ctx.prov.settings.scim.default_page_size);
    let Some(f) = query.filter.clone() else {
        return page_of_teams(ctx, query.start_index, count, projection).await;
    };
    filter::validate(ResourceType::Group, &f)?;
    let teams = match filter::plan(ResourceType::Group, &f) {
        Plan::Lookup { key, .. } => lookup(ctx, &key).await?,
        Plan::LookupAny(keys) => {
            let mut all: Vec<Team> = Vec::new();
            for key in &keys {
                for t in lookup(ctx, key).await? {
                    if !all.iter().any(|x| x.id == t.id) {
                        all.push(t);
                    }
                }
            }
            all
        }
        Plan::Scan => all_teams(ctx).await?,
    };
    // Evaluate the whole filter on each candidate (members only when the filter names them).
    let needs_members = filter_mentions_members(&f);
    let full = Projection::default();
    let lean = Projection::parse(None, Some("members"))?;
    let records = team_records(ctx, &teams).await?;
    let mut matched = Vec::new();
    for (record, team) in records.iter().zip(&teams) {
        super::drift::compare(record, team);
        let (doc, _) = render(ctx, record, team, if needs_members { &full } else { &lean }).await?;
        if filter::matches(&f, ResourceType::Group, &doc)? {
            matched.push((record, team));
        }
    }
    let total = matched.len();
    let window = crate::scim::list::page(&matched, query.start_index, count);
    let mut out = Vec::with_capacity(window.len());
    for (record, team) in window {
        let (doc, _) = render(ctx, record, team, projection).await?;
        out.push(doc);
    }
    Ok(Page { total, start_index: query.start_index, resources: out })
}

fn filter_mentions_members(f: &filter::Filter) -> bool {
    f.to_string().to_ascii_lowercase().contains("members")
}

/// Teams an indexed key names (at most a handful).
async fn lookup(ctx: &Scope<'_>, key: &LookupKey) -> Result<Vec<Team>, ProvisionError> {
    let store = ctx.prov.store.as_ref();
    let record = match key {
        LookupKey::DisplayName(name) => return teams_named(ctx, name).await,
        LookupKey::Id(id) => store.get_group(ctx.org_id, id).await.map_err(store_err)?,
        LookupKey::ExternalId(ext) => store.group_by_external_id(ctx.org_id, ext).await.map_err(store_err)?,
        LookupKey::UserName(_) | LookupKey::Email(_) => None,
    };
    let Some(record) = record.filter(|r| !r.deleted) else { return Ok(Vec::new()) };
    match super::shadow::team(ctx, record.grafana_team_id).await? {
        Some(team) => Ok(vec![team]),
        None => {
            super::drift::gone(&record);
            Ok(Vec::new())
        }
    }
}

/// Every team of the org, up to `max_results` (more → 400 `tooMany`).
async fn all_teams(ctx: &Scope<'_>) -> Result<Vec<Team>, ProvisionError> {
    let max = ctx.prov.settings.scim.max_results;
    let perpage = u32::try_from(max.clamp(1, 1000)).unwrap_or(1000);
    let mut out = Vec::new();
    let mut page = 1u32;
    loop {
        let res =
            ctx.prov.grafana.search_teams(ctx.org_id, None, None, page, perpage).await.map_err(upstream)?;
        if usize::try_from(res.total_count).unwrap_or(usize::MAX) > max {
            return Err(ProvisionError::too_many(format!(
                "the filter would scan more than {max} groups; filter on displayName, externalId or id"
            )));
        }
        let got = res.teams.len();
        out.extend(res.teams);
        if got == 0 || out.len() >= usize::try_from(res.total_count).unwrap_or(0) {
            // Shadow mode: teams only the store has take their place in Grafana's name order.
            let planned = super::shadow::placeholder_teams(ctx).await?;
            if !planned.is_empty() {
                out.extend(planned);
                out.sort_by_cached_key(|t| t.name.to_lowercase());
            }
            if out.len() > max {
                return Err(ProvisionError::too_many(format!(
                    "the filter would scan more than {max} groups; filter on displayName, externalId or id"
                )));
            }
            return Ok(out);
        }
        page += 1;
    }
}

/// A listing page without a filter: at most two Grafana search pages.
async fn page_of_teams(
    ctx: &Scope<'_>,
    start_index: usize,
    count: usize,
    projection: &Projection,
) -> Result<Page, ProvisionError> {
    let offset = start_index.max(1) - 1;
    let planned = super::shadow::placeholder_teams(ctx).await?;
    if !planned.is_empty() {
        return shadow_page(ctx, start_index, count, projection, planned).await;
    }
    let (teams, total) = if count == 0 {
        let res = ctx.prov.grafana.search_teams(ctx.org_id, None, None, 1, 1).await.map_err(upstream)?;
        (Vec::new(), res.total_count)
    } else {
        let per = u32::try_from(count).unwrap_or(u32::MAX);
        let first = u32::try_from(offset / count + 1).unwrap_or(u32::MAX);
        let skip = offset % count;
        let res =
            ctx.prov.grafana.search_teams(ctx.org_id, None, None, first, per).await.map_err(upstream)?;
        let total = res.total_count;
        let mut teams: Vec<Team> = res.teams.into_iter().skip(skip).collect();
        let more = usize::try_from(total).unwrap_or(0) > offset + teams.len();
        if skip > 0 && teams.len() < count && more {
            let next = ctx
                .prov
                .grafana
                .search_teams(ctx.org_id, None, None, first.saturating_add(1), per)
                .await
                .map_err(upstream)?;
            teams.extend(next.teams);
        }
        teams.truncate(count);
        (teams, total)
    };
    present_page(ctx, start_index, teams, usize::try_from(total).unwrap_or(0), projection).await
}

/// [`page_of_teams`] in shadow mode with teams only the store has (`planned`): every team of
/// the org is read and the planned ones take their place in Grafana's name order, so the pages
/// are enforce mode's (a rehearsal's cost).
async fn shadow_page(
    ctx: &Scope<'_>,
    start_index: usize,
    count: usize,
    projection: &Projection,
    planned: Vec<Team>,
) -> Result<Page, ProvisionError> {
    let mut teams = Vec::new();
    for page in 1..=MAX_SHADOW_PAGES {
        let res =
            ctx.prov.grafana.search_teams(ctx.org_id, None, None, page, 1000).await.map_err(upstream)?;
        let got = res.teams.len();
        teams.extend(res.teams);
        if got == 0 || teams.len() >= usize::try_from(res.total_count).unwrap_or(0) {
            break;
        }
    }
    teams.extend(planned);
    teams.sort_by_cached_key(|t| t.name.to_lowercase());
    let total = teams.len();
    let window: Vec<Team> = teams.into_iter().skip(start_index.max(1) - 1).take(count).collect();
    present_page(ctx, start_index, window, total, projection).await
}

/// A page of `teams` (already windowed) as SCIM groups.
async fn present_page(
    ctx: &Scope<'_>,
    start_index: usize,
    teams: Vec<Team>,
    total: usize,
    projection: &Projection,
) -> Result<Page, ProvisionError> {
    let records = team_records(ctx, &teams).await?;
    let with_members = projection.wants("members");
    let mut docs = Vec::with_capacity(teams.len());
    let pairs: Vec<(&GroupRecord, &Team)> = records.iter().zip(&teams).collect();
    for chunk in pairs.chunks(MEMBER_FETCH_CONCURRENCY) {
        let mut futs = Vec::with_capacity(chunk.len());
        for (record, team) in chunk {
            futs.push(listed(ctx, record, team, with_members));
        }
        docs.extend(futures_util::future::try_join_all(futs).await?);
    }
    Ok(Page { total, start_index, resources: docs })
}

/// One listed group.
async fn listed(
    ctx: &Scope<'_>,
    record: &GroupRecord,
    team: &Team,
    with_members: bool,
) -> Result<Value, ProvisionError> {
    super::drift::compare(record, team);
    let members = if with_members { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    let (doc, _) = resource(ctx, record, Some(&team.name), members);
    Ok(doc)
}

/// Teams of the org named `name`, compared case-insensitively by the sidecar itself: Grafana 10
/// compares `name=` exactly, and `query=` is a substring (with SQL wildcards) search.
pub(super) async fn teams_named(ctx: &Scope<'_>, name: &str) -> Result<Vec<Team>, ProvisionError> {
    const PER: u32 = 100;
    let wanted = name.to_lowercase();
    let exact = |teams: Vec<Team>| -> Vec<Team> {
        teams.into_iter().filter(|t| t.name.to_lowercase() == wanted).collect()
    };
    let res = ctx.prov.grafana.search_teams(ctx.org_id, None, Some(name), 1, PER).await.map_err(upstream)?;
    let complete = res.total_count <= i64::from(PER);
    let found = exact(res.teams);
    if !found.is_empty() || complete {
        return shadowed(ctx, name, found).await;
    }
    let res = ctx.prov.grafana.search_teams(ctx.org_id, Some(name), None, 1, 10).await.map_err(upstream)?;
    shadowed(ctx, name, exact(res.teams)).await
}

/// In shadow mode, Grafana's teams named `name` as SCIM has them: a managed team renamed in
/// shadow mode no longer answers to its Grafana name, and one named so in the store (renamed,
/// or a placeholder) does. Unchanged otherwise.
async fn shadowed(ctx: &Scope<'_>, name: &str, found: Vec<Team>) -> Result<Vec<Team>, ProvisionError> {
    if !ctx.prov.grafana.is_shadow() {
        return Ok(found);
    }
    let wanted = name.to_lowercase();
    let mut out = Vec::with_capacity(found.len() + 1);
    for t in found {
        if let Some(t) = super::shadow::team(ctx, t.id).await?.filter(|t| t.name.to_lowercase() == wanted) {
            out.push(t);
        }
    }
    if let Some(t) = super::shadow::named(ctx, name).await? {
        if !out.iter().any(|x| x.id == t.id) {
            out.push(t);
        }
    }
    Ok(out)
}
