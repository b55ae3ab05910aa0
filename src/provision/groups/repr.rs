//! The SCIM representation of a group: stored `displayName`/`externalId`, members read from
//! Grafana (mapped to SCIM user ids), `id`, `meta`, `schemas`, and its weak ETag.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{store_err, MANAGED_KEY};
use crate::grafana::model::{Team, TeamMember};
use crate::provision::identity::{ensure_group_records, ensure_user_records, GrafanaTeamView};
use crate::provision::translate::GrafanaUserView;
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::scim::resource::{finish_with_meta, location, Meta};
use crate::scim::ResourceType;
use crate::store::{GroupRecord, UserRecord};

/// Grafana's view of a team member, as the identity mapping wants it.
pub(super) fn member_view(m: &TeamMember) -> GrafanaUserView {
    GrafanaUserView {
        id: m.user_id,
        uid: m.user_uid.clone().filter(|u| !u.is_empty()),
        login: m.login.clone(),
        email: m.email.clone(),
        name: m.name.clone(),
        disabled: false,
    }
}

pub(super) fn team_view(t: &Team) -> GrafanaTeamView {
    GrafanaTeamView { id: t.id, uid: t.uid.clone().filter(|u| !u.is_empty()), name: t.name.clone() }
}

/// The user records of Grafana team members (recording first sightings), keyed by Grafana id.
pub(super) async fn member_records(
    ctx: &Scope<'_>,
    members: &[TeamMember],
) -> Result<HashMap<i64, UserRecord>, ProvisionError> {
    let views: Vec<GrafanaUserView> = members.iter().map(member_view).collect();
    ensure_user_records(ctx.prov.store.as_ref(), ctx.org_id, &views).await.map_err(store_err)
}

/// One `members` element. Its `display` is what SCIM shows as the user's `displayName`: for a
/// managed user the stored one; for a user SCIM never wrote, Grafana's name (`grafana_name`, when
/// the caller holds Grafana's copy), else what an older version stored at first sight. Either
/// falls back to the userName.
pub(super) fn member_value(ctx: &Scope<'_>, user: &UserRecord, grafana_name: Option<&str>) -> Value {
    let stored = || user.attributes.get("displayName").and_then(Value::as_str).filter(|s| !s.is_empty());
    let from_grafana = grafana_name.map(str::trim).filter(|s| !s.is_empty() && !user.managed);
    let display = from_grafana.or_else(stored).unwrap_or(&user.user_name);
    json!({
        "value": user.scim_id,
        "display": display,
        "$ref": location(&ctx.base_url, ResourceType::User, &user.scim_id),
        "type": "User",
    })
}

/// `members` for the users in `records`, in Grafana's member order.
pub(super) fn members_json(
    ctx: &Scope<'_>,
    members: &[TeamMember],
    records: &HashMap<i64, UserRecord>,
) -> Vec<Value> {
    members
        .iter()
        .filter_map(|m| records.get(&m.user_id).map(|u| member_value(ctx, u, Some(&m.name))))
        .collect()
}

/// The stored SCIM attributes (no members, no private keys).
pub(super) fn stored_doc(record: &GroupRecord, team_name: Option<&str>) -> Map<String, Value> {
    let mut doc = Map::new();
    // Grafana holds the current name (a hand rename of an unmanaged team shows up here).
    let name = team_name.unwrap_or(&record.display_name);
    doc.insert("displayName".into(), Value::from(name));
    if let Some(ext) = &record.external_id {
        doc.insert("externalId".into(), Value::from(ext.clone()));
    }
    doc
}

/// The full representation and its ETag. `members` is `None` when they were not fetched.
pub(super) fn resource(
    ctx: &Scope<'_>,
    record: &GroupRecord,
    team_name: Option<&str>,
    members: Option<Vec<Value>>,
) -> (Value, String) {
    let mut doc = stored_doc(record, super::shadow::shown_name(ctx, record, team_name));
    let ids = members.as_deref().map(member_ids);
    let version = tag(&record.scim_id, &doc, ids);
    if let Some(m) = members.filter(|m| !m.is_empty()) {
        doc.insert("members".into(), Value::Array(m));
    }
    doc.insert("id".into(), Value::from(record.scim_id.clone()));
    let meta = Meta {
        resource_type: ResourceType::Group,
        created: record.created,
        last_modified: record.last_modified,
        location: location(&ctx.base_url, ResourceType::Group, &record.scim_id),
        version: Some(version),
    };
    finish_with_meta(Value::Object(doc), meta)
}

/// A group's weak ETag: over its id, `displayName`, `externalId` and its members' ids in sorted
/// order. Grafana lists members by login and SCIM echoes a POST's in request order, and a
/// member's `display` follows renames made in Grafana: neither changes the group, so neither
/// changes the tag. `members` is `None` for a representation read without them; that tag is what
/// a client holding such a copy may send in `If-Match` (see `precondition`).
pub(super) fn tag(scim_id: &str, stored: &Map<String, Value>, members: Option<Vec<&str>>) -> String {
    let mut canonical = stored.clone();
    canonical.insert("id".into(), Value::from(scim_id));
    if let Some(mut ids) = members {
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            canonical.insert("members".into(), ids.into_iter().map(Value::from).collect());
        }
    }
    crate::scim::etag::weak_etag(&Value::Object(canonical))
}

/// The SCIM ids (`value`) of `members` elements.
pub(super) fn member_ids(members: &[Value]) -> Vec<&str> {
    members.iter().filter_map(|v| v.get("value").and_then(Value::as_str)).collect()
}

/// The records of `teams` (recording first sightings), in the teams' order.
pub(super) async fn team_records(
    ctx: &Scope<'_>,
    teams: &[Team],
) -> Result<Vec<GroupRecord>, ProvisionError> {
    let views: Vec<GrafanaTeamView> = teams.iter().map(team_view).collect();
    let mut found =
        ensure_group_records(ctx.prov.store.as_ref(), ctx.org_id, &views).await.map_err(store_err)?;
    Ok(teams.iter().filter_map(|t| found.remove(&t.id)).collect())
}

/// A new managed record for a team SCIM just created.
pub(super) fn new_record(
    org_id: i64,
    team_id: i64,
    team_uid: Option<String>,
    display_name: &str,
    external_id: Option<String>,
) -> GroupRecord {
    let now = Utc::now();
    let mut rec = GroupRecord {
        scim_id: crate::provision::identity::new_scim_id(),
        org_id,
        grafana_team_id: team_id,
        grafana_team_uid: team_uid.filter(|u| !u.is_empty()),
        display_name: display_name.to_string(),
        external_id,
        deleted: false,
        attributes: Value::Null,
        created: now,
        last_modified: now,
        version: 1,
    };
    set_attributes(&mut rec);
    rec
}

/// Rewrites `attributes` from the record's fields and marks it managed. The desired members
/// ([`super::MEMBERS_KEY`]) are kept as they were.
pub(super) fn set_attributes(rec: &mut GroupRecord) {
    let kept = rec.attributes.get(super::MEMBERS_KEY).cloned();
    let mut doc = stored_doc(rec, None);
    doc.insert(MANAGED_KEY.into(), Value::Bool(true));
    if let Some(members) = kept {
        doc.insert(super::MEMBERS_KEY.into(), members);
    }
    rec.attributes = Value::Object(doc);
}

/// Records `ids` (SCIM user ids, in the request's order) as the members SCIM wants the group to
/// have, for `reconcile` to compare with Grafana's team. Never shown in SCIM output.
pub(super) fn set_desired_members<'a>(rec: &mut GroupRecord, ids: impl IntoIterator<Item = &'a str>) {
    let list: Vec<Value> = ids.into_iter().map(Value::from).collect();
    if let Value::Object(doc) = &mut rec.attributes {
        doc.insert(super::MEMBERS_KEY.into(), Value::Array(list));
    }
}
