//! `GET /Users/{id}`, `GET /Users` and `POST /Users/.search`.
//!
//! Visible users are the members of the namespace's org (Grafana's org-user search, which leaves
//! out service accounts) plus managed users removed from the org on deactivation ("detached").
//! Paging follows Grafana's order (login ascending) and then the detached users, so a page costs
//! at most two Grafana searches whatever the total. Indexed filters (`plan`) cost one store
//! lookup plus at most one Grafana call per candidate; other valid filters are evaluated over a
//! bounded scan of the org (at most `max_results × SCAN_FACTOR` users, else `tooMany`).

use std::collections::HashSet;

use serde_json::Value;

use super::encoded::write_unmanaged;
use super::known::{alongside, take_if, Key};
use super::view::{
    grafana_error, grafana_profile, load, present, present_owned, store_error, view_from_org_user,
    view_from_profile,
};
use crate::grafana::model::UserProfile;
use crate::provision::identity::ensure_user_records;
use crate::provision::translate::GrafanaUserView;
use crate::provision::ProvisionError;
use crate::provision::{Outcome, Page, Scope, Shown};
use crate::scim::filter::{matches, plan, validate, Filter, LookupKey, Plan};
use crate::scim::list::{page, ListQuery, ListResponse};
use crate::scim::projection::Projection;
use crate::scim::ResourceType;
use crate::store::UserRecord;

/// A scan looks at no more than this many times `max_results` org users.
pub const SCAN_FACTOR: usize = 10;
/// Grafana page size for scans and exact-match searches.
const SEARCH_PAGE: u32 = 1000;
/// Most org-listing pages a shadow-mode page reads (a misbehaving server cannot loop it).
const MAX_SHADOW_PAGES: u32 = 1000;

/// `GET /Users/{id}`: one store read and one Grafana read (to notice users deleted in Grafana).
pub async fn get(ctx: &Scope<'_>, id: &str) -> Result<Shown, ProvisionError> {
    let (rec, view) = load(ctx, id).await?;
    let id = rec.scim_id.clone();
    Ok(present_owned(ctx, rec, Some(&view)).into_shown(id))
}

/// `GET /Users` and `POST /Users/.search`: one page, before projection. `view` only decides the
/// path: an unfiltered page with the default view is encoded straight to bytes.
pub async fn list(ctx: &Scope<'_>, query: ListQuery, view: &Projection) -> Result<Outcome, ProvisionError> {
    let max = ctx.prov.settings.scim.max_results.max(1);
    let count = query.count.unwrap_or(ctx.prov.settings.scim.default_page_size.min(max));
    let (total, items) = match &query.filter {
        None => {
            let (total, shown) = unfiltered_page(ctx, query.start_index, count).await?;
            if view.is_default() {
                return Ok(Outcome::ListedEncoded(encoded_page(ctx, total, query.start_index, shown)));
            }
            (total, shown.into_iter().map(|v| v.present(ctx)).collect())
        }
        Some(f) => {
            validate(ResourceType::User, f)?;
            let all = filtered(ctx, f, max).await?;
            (all.len(), page(&all, query.start_index, count).to_vec())
        }
    };
    Ok(Outcome::Listed(Page { total, start_index: query.start_index, resources: items }))
}

/// A visible user of a listing: its record and, unless it was detached from the org, Grafana's
/// copy from the org search.
struct Visible {
    rec: UserRecord,
    view: Option<GrafanaUserView>,
}

impl Visible {
    fn present(self, ctx: &Scope<'_>) -> Value {
        present_owned(ctx, self.rec, self.view.as_ref()).body
    }
}

/// The ListResponse of an unfiltered page with the default projection, encoded as it is
/// written: users SCIM never wrote straight from Grafana's copy (`encoded`), the others through
/// their `Value`s.
fn encoded_page(ctx: &Scope<'_>, total: usize, start_index: usize, shown: Vec<Visible>) -> Vec<u8> {
    let projection = Projection::default();
    let n = shown.len();
    let mut items = Vec::with_capacity(n * 800);
    let mut scratch = Vec::with_capacity(512);
    for (i, v) in shown.into_iter().enumerate() {
        if i > 0 {
            items.push(b',');
        }
        match &v.view {
            Some(view) if !v.rec.managed => {
                write_unmanaged(&mut items, &mut scratch, &ctx.base_url, &v.rec, view)
            }
            _ => {
                let doc = projection.apply(ResourceType::User, v.present(ctx));
                // Serialising a `Value` cannot fail (its keys are strings).
                let _ = serde_json::to_writer(&mut items, &doc);
            }
        }
    }
    ListResponse::encode(total, start_index, n, &items)
}

/// Org-search hits with their records (created for users seen for the first time), in the
/// search's order; hidden (SCIM-deleted) users are left out.
async fn visible(ctx: &Scope<'_>, views: Vec<GrafanaUserView>) -> Result<Vec<Visible>, ProvisionError> {
    let mut records = ensure_user_records(ctx.prov.store.as_ref(), ctx.org_id, &views)
        .await
        .map_err(|e| store_error(&e))?;
    Ok(views
        .into_iter()
        .filter_map(|v| {
            records.remove(&v.id).filter(|r| !r.deleted).map(|rec| Visible { rec, view: Some(v) })
        })
        .collect())
}

/// [`visible`] users, presented.
async fn present_hits(ctx: &Scope<'_>, views: Vec<GrafanaUserView>) -> Result<Vec<Value>, ProvisionError> {
    Ok(visible(ctx, views).await?.into_iter().map(|v| v.present(ctx)).collect())
}

/// A window of the visible users without a filter: Grafana's org listing (one or two pages of
/// `count`) followed by the detached users from the store.
async fn unfiltered_page(
    ctx: &Scope<'_>,
    start_index: usize,
    count: usize,
) -> Result<(usize, Vec<Visible>), ProvisionError> {
    let g = &ctx.prov.grafana;
    let store = &ctx.prov.store;
    let offset = start_index.max(1) - 1;
    let per = count.max(1);
    let first_page = offset / per + 1;
    // The count does not depend on the search: it runs while Grafana answers.
    let planned = super::shadow::placeholders(ctx).await?;
    if !planned.is_empty() {
        return shadow_page(ctx, offset, count, planned).await;
    }
    let (first, detached) = tokio::join!(
        g.search_org_users(ctx.org_id, "", to_u32(first_page), to_u32(per)),
        store.count_users_detached(ctx.org_id)
    );
    let first = first.map_err(|e| grafana_error(&e))?;
    let in_grafana = usize::try_from(first.total_count.max(0)).unwrap_or(0);
    let detached = usize::try_from(detached.map_err(|e| store_error(&e))?.max(0)).unwrap_or(0);
    let total = in_grafana + detached;
    if count == 0 {
        return Ok((total, Vec::new()));
    }
    let mut views: Vec<GrafanaUserView> = first.org_users.into_iter().map(view_from_org_user).collect();
    let skip = offset - (first_page - 1) * per;
    if skip > 0 && (first_page * per) < in_grafana {
        let second = g
            .search_org_users(ctx.org_id, "", to_u32(first_page + 1), to_u32(per))
            .await
            .map_err(|e| grafana_error(&e))?;
        views.extend(second.org_users.into_iter().map(view_from_org_user));
    }
    let window: Vec<GrafanaUserView> = views.into_iter().skip(skip).take(count).collect();
    let in_window = window.len();
    let mut items = visible(ctx, window).await?;
    if offset + count > in_grafana && detached > 0 {
        let from = offset.saturating_sub(in_grafana);
        let want = count - in_window.min(count);
        let recs = store
            .users_detached(ctx.org_id, to_i64(from), to_i64(want))
            .await
            .map_err(|e| store_error(&e))?;
        items.extend(recs.into_iter().map(|rec| Visible { rec, view: None }));
    }
    Ok((total, items))
}

/// An entry of a shadow-mode listing: a Grafana org user, or a user only the store has.
enum Listed {
    Grafana(GrafanaUserView),
    Planned(Box<UserRecord>),
}

/// [`unfiltered_page`] in shadow mode with users only the store has (`planned`): they take the
/// place in Grafana's login order they will have once created, so the pages are enforce mode's.
/// This reads the whole org listing (a rehearsal's cost), then the detached users follow.
async fn shadow_page(
    ctx: &Scope<'_>,
    offset: usize,
    count: usize,
    planned: Vec<UserRecord>,
) -> Result<(usize, Vec<Visible>), ProvisionError> {
    let g = &ctx.prov.grafana;
    let mut views: Vec<GrafanaUserView> = Vec::new();
    for page_no in 1..=MAX_SHADOW_PAGES {
        let hits =
            g.search_org_users(ctx.org_id, "", page_no, SEARCH_PAGE).await.map_err(|e| grafana_error(&e))?;
        let done = hits.org_users.is_empty()
            || (page_no as usize) * (SEARCH_PAGE as usize) >= usize::try_from(hits.total_count).unwrap_or(0);
        views.extend(hits.org_users.into_iter().map(view_from_org_user));
        if done {
            break;
        }
    }
    let detached = ctx.prov.store.count_users_detached(ctx.org_id).await.map_err(|e| store_error(&e))?;
    let detached = usize::try_from(detached.max(0)).unwrap_or(0);
    // Grafana's users and the planned ones, by login as Grafana orders them.
    let mut merged: Vec<(String, Listed)> =
        views.into_iter().map(|v| (v.login.to_lowercase(), Listed::Grafana(v))).collect();
    merged.extend(planned.into_iter().map(|r| (r.user_name.to_lowercase(), Listed::Planned(Box::new(r)))));
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    let listed = merged.len();
    let total = listed + detached;
    let window: Vec<Listed> = merged.into_iter().skip(offset).take(count).map(|(_, e)| e).collect();
    let in_window = window.len();
    let grafana: Vec<GrafanaUserView> = window
        .iter()
        .filter_map(|e| match e {
            Listed::Grafana(v) => Some(v.clone()),
            Listed::Planned(_) => None,
        })
        .collect();
    let mut seen: std::collections::HashMap<i64, Visible> =
        visible(ctx, grafana).await?.into_iter().map(|v| (v.rec.grafana_user_id, v)).collect();
    let mut items: Vec<Visible> = window
        .into_iter()
        .filter_map(|e| match e {
            Listed::Grafana(v) => seen.remove(&v.id),
            Listed::Planned(rec) => Some(Visible { rec: *rec, view: None }),
        })
        .collect();
    if offset + count > listed && detached > 0 {
        let from = offset.saturating_sub(listed);
        let want = count - in_window.min(count);
        let recs = ctx
            .prov
            .store
            .users_detached(ctx.org_id, to_i64(from), to_i64(want))
            .await
            .map_err(|e| store_error(&e))?;
        items.extend(recs.into_iter().map(|rec| Visible { rec, view: None }));
    }
    Ok((total, items))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Every visible user matching `f`, in a stable order.
async fn filtered(ctx: &Scope<'_>, f: &Filter, max: usize) -> Result<Vec<Value>, ProvisionError> {
    let candidates = match plan(ResourceType::User, f) {
        Plan::Lookup { key, .. } => lookup(ctx, &key).await?,
        Plan::LookupAny(keys) => {
            let mut all = Vec::new();
            for key in &keys {
                all.extend(lookup(ctx, key).await?);
            }
            all
        }
        Plan::Scan => return scan(ctx, f, max).await,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for doc in candidates {
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        if !seen.insert(id) {
            continue;
        }
        // The whole filter, not only the residual: a managed user's stored userName or email can
        // differ from Grafana's copy the search matched on (deferred updates).
        if matches(f, ResourceType::User, &doc)? {
            out.push(doc);
        }
    }
    Ok(out)
}

/// The presented users an indexed key names (before any residual filter).
async fn lookup(ctx: &Scope<'_>, key: &LookupKey) -> Result<Vec<Value>, ProvisionError> {
    let store = &ctx.prov.store;
    let org = ctx.org_id;
    match key {
        LookupKey::Id(id) => match load(ctx, id).await {
            Ok((rec, view)) => Ok(vec![present_owned(ctx, rec, Some(&view)).body]),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        },
        LookupKey::UserName(name) => {
            // A managed user is read by its record: Grafana is asked for the remembered user
            // while the store looks (`known`).
            let (known, key) = (&ctx.prov.users.known, Some(Key::name(name)));
            let guess = known.guess(org, key).await;
            let (rec, early) =
                alongside(store.user_by_user_name(org, name), guess, |g| grafana_profile(ctx, g)).await;
            match rec.map_err(|e| store_error(&e))? {
                Some(rec) if rec.managed && !rec.deleted => {
                    let asked = take_if(early, rec.grafana_user_id);
                    confirmed_with(ctx, rec, asked).await
                }
                other => {
                    if guess.is_some() {
                        known.forget_key(org, key).await;
                    }
                    if other.is_some_and(|r| r.deleted) {
                        Ok(Vec::new())
                    } else {
                        search_exact(ctx, name, |v| v.login.eq_ignore_ascii_case(name)).await
                    }
                }
            }
        }
        LookupKey::ExternalId(x) => {
            match store.user_by_external_id(org, x).await.map_err(|e| store_error(&e))? {
                Some(rec) if !rec.deleted => confirmed(ctx, rec).await,
                _ => Ok(Vec::new()),
            }
        }
        LookupKey::Email(email) => {
            let mut out = search_exact(ctx, email, |v| v.email.eq_ignore_ascii_case(email)).await?;
            let known: HashSet<String> =
                out.iter().filter_map(|d| d.get("id").and_then(Value::as_str)).map(str::to_string).collect();
            // Managed users whose Grafana email lags (deferred update) are found by their record.
            for rec in store.managed_users_by_email(email).await.map_err(|e| store_error(&e))? {
                if rec.org_id == org && rec.managed && !rec.deleted && !known.contains(&rec.scim_id) {
                    out.extend(confirmed(ctx, rec).await?);
                }
            }
            Ok(out)
        }
        LookupKey::DisplayName(_) => {
            Err(ProvisionError::invalid_filter("displayName lookups apply to Groups"))
        }
    }
}

/// A stored record, presented after Grafana confirms the user still exists.
async fn confirmed(ctx: &Scope<'_>, rec: UserRecord) -> Result<Vec<Value>, ProvisionError> {
    confirmed_with(ctx, rec, None).await
}

/// [`confirmed`], with Grafana's answer for the record's user when it was already asked.
async fn confirmed_with(
    ctx: &Scope<'_>,
    rec: UserRecord,
    asked: Option<Result<Option<UserProfile>, ProvisionError>>,
) -> Result<Vec<Value>, ProvisionError> {
    let profile = match asked {
        Some(asked) => asked?,
        None => grafana_profile(ctx, rec.grafana_user_id).await?,
    };
    match profile.as_ref().map(view_from_profile) {
        Some(view) => {
            ctx.prov.users.known.remember(&rec).await;
            Ok(vec![present_owned(ctx, rec, Some(&view)).body])
        }
        None => {
            super::view::forget(ctx, &rec).await;
            Ok(Vec::new())
        }
    }
}

/// One org-scoped Grafana search; hits are compared exactly here (the query is a substring
/// match with SQL wildcards, grafana-api §13.7).
async fn search_exact(
    ctx: &Scope<'_>,
    text: &str,
    keep: impl Fn(&GrafanaUserView) -> bool,
) -> Result<Vec<Value>, ProvisionError> {
    let hits = ctx
        .prov
        .grafana
        .search_org_users(ctx.org_id, text, 1, SEARCH_PAGE)
        .await
        .map_err(|e| grafana_error(&e))?;
    let views: Vec<GrafanaUserView> =
        hits.org_users.into_iter().map(view_from_org_user).filter(|v| keep(v)).collect();
    present_hits(ctx, views).await
}

/// Evaluates `f` over every visible user, refusing orgs larger than the scan bound and result
/// sets larger than `max_results`.
async fn scan(ctx: &Scope<'_>, f: &Filter, max: usize) -> Result<Vec<Value>, ProvisionError> {
    let bound = max.saturating_mul(SCAN_FACTOR);
    let g = &ctx.prov.grafana;
    let mut out = Vec::new();
    let mut page_no = 1u32;
    loop {
        let hits =
            g.search_org_users(ctx.org_id, "", page_no, SEARCH_PAGE).await.map_err(|e| grafana_error(&e))?;
        if usize::try_from(hits.total_count).unwrap_or(usize::MAX) > bound {
            return Err(ProvisionError::too_many(format!(
                "this filter needs a scan of more than {bound} users; filter on userName, externalId, id or emails with eq"
            )));
        }
        let last_page = hits.org_users.is_empty()
            || (page_no as usize) * (SEARCH_PAGE as usize) >= usize::try_from(hits.total_count).unwrap_or(0);
        let views: Vec<GrafanaUserView> = hits.org_users.into_iter().map(view_from_org_user).collect();
        for doc in present_hits(ctx, views).await? {
            if matches(f, ResourceType::User, &doc)? {
                out.push(doc);
            }
        }
        if out.len() > max {
            return Err(ProvisionError::too_many(format!("more than {max} users match; narrow the filter")));
        }
        if last_page {
            break;
        }
        page_no += 1;
    }
    // Shadow mode: users only the store has, in the login order they will have in Grafana.
    let planned = super::shadow::placeholders(ctx).await?;
    if !planned.is_empty() {
        for rec in &planned {
            let doc = present(ctx, rec, None).body;
            if matches(f, ResourceType::User, &doc)? {
                out.push(doc);
            }
        }
        out.sort_by_cached_key(|d| {
            d.get("userName").and_then(Value::as_str).unwrap_or_default().to_lowercase()
        });
    }
    let detached =
        ctx.prov.store.users_detached(ctx.org_id, 0, to_i64(bound)).await.map_err(|e| store_error(&e))?;
    for rec in &detached {
        let doc = present(ctx, rec, None).body;
        if matches(f, ResourceType::User, &doc)? {
            out.push(doc);
        }
    }
    if out.len() > max {
        return Err(ProvisionError::too_many(format!("more than {max} users match; narrow the filter")));
    }
    Ok(out)
}
