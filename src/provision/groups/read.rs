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
use crate::scim::error::ScimError;
use crate::scim::filter::{self, LookupKey, Plan};
use crate::scim::list::{ListQuery, ListResponse, SearchRequest};
use crate::scim::projection::Projection;
use crate::scim::ResourceType;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse};
use crate::store::GroupRecord;

/// Teams whose members are read concurrently when a page includes members.
const MEMBER_FETCH_CONCURRENCY: usize = 8;

pub(super) async fn get(
    ctx: &ScimContext<'_>,
    id: &str,
    req: &ScimRequest,
) -> Result<ScimResponse, ScimError> {
    let projection = Projection::parse(req.query_param("attributes"), req.query_param("excludedAttributes"))?;
    let (record, team) = load(ctx, id).await?;
    let (doc, etag) = render(ctx, &record, &team, &projection).await?;
    if crate::scim::etag::if_none_match(req.if_none_match.as_deref(), &etag) {
        return Ok(ScimResponse::not_modified(etag));
    }
    Ok(ScimResponse::ok(projection.apply(ResourceType::Group, doc)).with_etag(etag))
}

/// The live (not deleted) record of `id`; 404 otherwise.
pub(super) async fn live_record(ctx: &ScimContext<'_>, id: &str) -> Result<GroupRecord, ScimError> {
    ctx.app
        .store
        .get_group(ctx.org_id, id)
        .await
        .map_err(store_err)?
        .filter(|r| !r.deleted)
        .ok_or_else(|| ScimError::not_found(format!("group {id:?} not found")))
}

/// The live record and team of `id`; 404 when either is gone.
pub(super) async fn load(ctx: &ScimContext<'_>, id: &str) -> Result<(GroupRecord, Team), ScimError> {
    let record = live_record(ctx, id).await?;
    match ctx.app.grafana.get_team(ctx.org_id, record.grafana_team_id).await {
        Ok(team) => Ok((record, team)),
        Err(e) if e.is_not_found() => Err(ScimError::not_found(format!("group {id:?} not found"))),
        Err(e) => Err(upstream(e)),
    }
}

/// The representation of one group (members fetched only when `projection` keeps them).
async fn render(
    ctx: &ScimContext<'_>,
    record: &GroupRecord,
    team: &Team,
    projection: &Projection,
) -> Result<(Value, String), ScimError> {
    let members =
        if projection.wants("members") { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    Ok(resource(ctx, record, Some(&team.name), members))
}

pub(super) async fn list(ctx: &ScimContext<'_>, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
    let query =
        ListQuery::from_query_pairs(req.query.iter().map(|(k, v)| (k, v)), ctx.app.config.scim.max_results)?;
    answer(ctx, query).await
}

pub(super) async fn search(ctx: &ScimContext<'_>, req: &ScimRequest) -> Result<ScimResponse, ScimError> {
    let body =
        req.body.as_ref().ok_or_else(|| ScimError::invalid_syntax("a SearchRequest body is required"))?;
    let query = SearchRequest::parse(body, ctx.app.config.scim.max_results)?;
    answer(ctx, query).await
}

async fn answer(ctx: &ScimContext<'_>, query: ListQuery) -> Result<ScimResponse, ScimError> {
    let projection = query.projection()?;
    let count = query.count_or(ctx.app.config.scim.default_page_size);
    let Some(f) = query.filter.clone() else {
        return page_of_teams(ctx, query.start_index, count, &projection).await;
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
        let (doc, _) = render(ctx, record, team, if needs_members { &full } else { &lean }).await?;
        if filter::matches(&f, ResourceType::Group, &doc)? {
            matched.push((record, team));
        }
    }
    let total = matched.len();
    let window = crate::scim::list::page(&matched, query.start_index, count);
    let mut out = Vec::with_capacity(window.len());
    for (record, team) in window {
        let (doc, _) = render(ctx, record, team, &projection).await?;
        out.push(projection.apply(ResourceType::Group, doc));
    }
    Ok(ScimResponse::ok(ListResponse::new(total, query.start_index, out)))
}

fn filter_mentions_members(f: &filter::Filter) -> bool {
    f.to_string().to_ascii_lowercase().contains("members")
}

/// Teams an indexed key names (at most a handful).
async fn lookup(ctx: &ScimContext<'_>, key: &LookupKey) -> Result<Vec<Team>, ScimError> {
    let store = ctx.app.store.as_ref();
    let record = match key {
        LookupKey::DisplayName(name) => return teams_named(ctx, name).await,
        LookupKey::Id(id) => store.get_group(ctx.org_id, id).await.map_err(store_err)?,
        LookupKey::ExternalId(ext) => store.group_by_external_id(ctx.org_id, ext).await.map_err(store_err)?,
        LookupKey::UserName(_) | LookupKey::Email(_) => None,
    };
    let Some(record) = record.filter(|r| !r.deleted) else { return Ok(Vec::new()) };
    match ctx.app.grafana.get_team(ctx.org_id, record.grafana_team_id).await {
        Ok(team) => Ok(vec![team]),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(upstream(e)),
    }
}

/// Every team of the org, up to `max_results` (more → 400 `tooMany`).
async fn all_teams(ctx: &ScimContext<'_>) -> Result<Vec<Team>, ScimError> {
    let max = ctx.app.config.scim.max_results;
    let perpage = u32::try_from(max.clamp(1, 1000)).unwrap_or(1000);
    let mut out = Vec::new();
    let mut page = 1u32;
    loop {
        let res =
            ctx.app.grafana.search_teams(ctx.org_id, None, None, page, perpage).await.map_err(upstream)?;
        if usize::try_from(res.total_count).unwrap_or(usize::MAX) > max {
            return Err(ScimError::too_many(format!(
                "the filter would scan more than {max} groups; filter on displayName, externalId or id"
            )));
        }
        let got = res.teams.len();
        out.extend(res.teams);
        if got == 0 || out.len() >= usize::try_from(res.total_count).unwrap_or(0) {
            return Ok(out);
        }
        page += 1;
    }
}

/// A listing page without a filter: at most two Grafana search pages.
async fn page_of_teams(
    ctx: &ScimContext<'_>,
    start_index: usize,
    count: usize,
    projection: &Projection,
) -> Result<ScimResponse, ScimError> {
    let offset = start_index.max(1) - 1;
    let (teams, total) = if count == 0 {
        let res = ctx.app.grafana.search_teams(ctx.org_id, None, None, 1, 1).await.map_err(upstream)?;
        (Vec::new(), res.total_count)
    } else {
        let per = u32::try_from(count).unwrap_or(u32::MAX);
        let first = u32::try_from(offset / count + 1).unwrap_or(u32::MAX);
        let skip = offset % count;
        let res = ctx.app.grafana.search_teams(ctx.org_id, None, None, first, per).await.map_err(upstream)?;
        let total = res.total_count;
        let mut teams: Vec<Team> = res.teams.into_iter().skip(skip).collect();
        let more = usize::try_from(total).unwrap_or(0) > offset + teams.len();
        if skip > 0 && teams.len() < count && more {
            let next = ctx
                .app
                .grafana
                .search_teams(ctx.org_id, None, None, first.saturating_add(1), per)
                .await
                .map_err(upstream)?;
            teams.extend(next.teams);
        }
        teams.truncate(count);
        (teams, total)
    };
    let records = team_records(ctx, &teams).await?;
    let with_members = projection.wants("members");
    let mut docs = Vec::with_capacity(teams.len());
    let pairs: Vec<(&GroupRecord, &Team)> = records.iter().zip(&teams).collect();
    for chunk in pairs.chunks(MEMBER_FETCH_CONCURRENCY) {
        let mut futs = Vec::with_capacity(chunk.len());
        for (record, team) in chunk {
            futs.push(listed(ctx, record, team, with_members, projection));
        }
        docs.extend(futures_util::future::try_join_all(futs).await?);
    }
    let total = usize::try_from(total).unwrap_or(0);
    Ok(ScimResponse::ok(ListResponse::new(total, start_index, docs)))
}

/// One listed group.
async fn listed(
    ctx: &ScimContext<'_>,
    record: &GroupRecord,
    team: &Team,
    with_members: bool,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let members = if with_members { Some(super::pending::read(ctx, team.id).await?.1) } else { None };
    let (doc, _) = resource(ctx, record, Some(&team.name), members);
    Ok(projection.apply(ResourceType::Group, doc))
}

/// Teams of the org named `name`, compared case-insensitively by the sidecar itself: Grafana 10
/// compares `name=` exactly, and `query=` is a substring (with SQL wildcards) search.
pub(super) async fn teams_named(ctx: &ScimContext<'_>, name: &str) -> Result<Vec<Team>, ScimError> {
    const PER: u32 = 100;
    let wanted = name.to_lowercase();
    let exact = |teams: Vec<Team>| -> Vec<Team> {
        teams.into_iter().filter(|t| t.name.to_lowercase() == wanted).collect()
    };
    let res = ctx.app.grafana.search_teams(ctx.org_id, None, Some(name), 1, PER).await.map_err(upstream)?;
    let complete = res.total_count <= i64::from(PER);
    let found = exact(res.teams);
    if !found.is_empty() || complete {
        return Ok(found);
    }
    let res = ctx.app.grafana.search_teams(ctx.org_id, Some(name), None, 1, 10).await.map_err(upstream)?;
    Ok(exact(res.teams))
}
