//! Stable SCIM ids for Grafana users and teams, including those SCIM never wrote.
//!
//! Every user and team visible through SCIM needs an id that survives restarts and is the same on
//! every replica. Ids are UUID v7 strings recorded in the mapping store the first time an object is
//! seen (`managed = false` until SCIM writes it). The store's unique keys make concurrent first
//! sightings converge: the loser of an insert race re-reads the winner's row.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{json, Value};

use super::translate::GrafanaUserView;
use crate::store::{GroupRecord, MappingStore, StoreError, UserRecord};

/// A fresh SCIM id: opaque, never all digits, never derived from Grafana ids or `externalId`.
///
/// Version 7 (a millisecond timestamp, then 74 random bits) rather than 4: ids made one after
/// another sort together, so the store's primary-key index grows at its end instead of touching
/// a random page per insert. The time it reveals is `meta.created`, which SCIM shows anyway.
pub fn new_scim_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A record for a Grafana user SCIM has not written yet. It keeps no document (`attributes` is
/// `null`): SCIM shows such a user from Grafana's current copy, so a stored one would go unread.
pub fn unmanaged_user_record(org_id: i64, view: &GrafanaUserView) -> UserRecord {
    let now = Utc::now();
    UserRecord {
        scim_id: new_scim_id(),
        org_id,
        grafana_user_id: view.id,
        grafana_uid: view.uid.clone().filter(|u| !u.is_empty()),
        user_name: view.login.clone(),
        external_id: None,
        email: (!view.email.is_empty()).then(|| view.email.clone()),
        active: !view.disabled,
        deleted: false,
        managed: false,
        attributes: Value::Null,
        restore: None,
        created: now,
        last_modified: now,
        version: 1,
    }
}

/// The mapping records of `views` in `org_id`, creating the missing ones.
///
/// # Errors
/// Store failures other than a lost insert race.
pub async fn ensure_user_records(
    store: &dyn MappingStore,
    org_id: i64,
    views: &[GrafanaUserView],
) -> Result<HashMap<i64, UserRecord>, StoreError> {
    let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
    let mut found: HashMap<i64, UserRecord> =
        store.users_by_grafana_ids(org_id, &ids).await?.into_iter().map(|r| (r.grafana_user_id, r)).collect();
    let missing: Vec<UserRecord> = views
        .iter()
        .filter(|v| !found.contains_key(&v.id))
        .map(|v| unmanaged_user_record(org_id, v))
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    // All at once, so the store can commit them together (one transaction on either backend; a
    // page of first sightings had been a hundred commits).
    let outcomes = store.insert_users(&missing).await?;
    for (record, outcome) in missing.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                found.insert(record.grafana_user_id, record);
            }
            // Another request (or replica) recorded it first, or a SCIM record already holds
            // this userName for a different Grafana user: take whatever now maps this id.
            Err(StoreError::Conflict { .. }) => {
                if let Some(winner) = store.user_by_grafana_id(org_id, record.grafana_user_id).await? {
                    found.insert(winner.grafana_user_id, winner);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Grafana's view of one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrafanaTeamView {
    pub id: i64,
    pub uid: Option<String>,
    pub name: String,
}

/// A record for a Grafana team SCIM has not written yet.
pub fn unmanaged_group_record(org_id: i64, team: &GrafanaTeamView) -> GroupRecord {
    let now = Utc::now();
    GroupRecord {
        scim_id: new_scim_id(),
        org_id,
        grafana_team_id: team.id,
        grafana_team_uid: team.uid.clone().filter(|u| !u.is_empty()),
        display_name: team.name.clone(),
        external_id: None,
        deleted: false,
        attributes: json!({ "displayName": team.name }),
        created: now,
        last_modified: now,
        version: 1,
    }
}

/// The mapping records of `teams` in `org_id`, creating the missing ones.
///
/// # Errors
/// Store failures other than a lost insert race.
pub async fn ensure_group_records(
    store: &dyn MappingStore,
    org_id: i64,
    teams: &[GrafanaTeamView],
) -> Result<HashMap<i64, GroupRecord>, StoreError> {
    let ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
    let mut found: HashMap<i64, GroupRecord> = store
        .groups_by_grafana_ids(org_id, &ids)
        .await?
        .into_iter()
        .map(|r| (r.grafana_team_id, r))
        .collect();
    let missing: Vec<&GrafanaTeamView> = teams.iter().filter(|t| !found.contains_key(&t.id)).collect();
    for team in missing {
        let record = unmanaged_group_record(org_id, team);
        match store.insert_group(&record).await {
            Ok(()) => {
                found.insert(team.id, record);
            }
            Err(StoreError::Conflict { .. }) => {
                if let Some(existing) = store.group_by_grafana_id(org_id, team.id).await? {
                    found.insert(team.id, existing);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// `attributes` of a record with `id` and `meta` removed (what the store keeps).
pub fn stored_attributes(mut doc: Value) -> Value {
    if let Some(map) = doc.as_object_mut() {
        for key in ["id", "meta", "schemas"] {
            map.remove(key);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ids_are_stable_and_concurrent_sightings_converge() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = crate::store::open(&url, 2).await.unwrap();
        let view = GrafanaUserView {
            id: 7,
            uid: Some("abc".into()),
            login: "jane".into(),
            email: "jane@x".into(),
            name: "Jane Doe".into(),
            disabled: false,
        };
        let (a, b) = tokio::join!(
            ensure_user_records(store.as_ref(), 1, std::slice::from_ref(&view)),
            ensure_user_records(store.as_ref(), 1, std::slice::from_ref(&view)),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a[&7].scim_id, b[&7].scim_id);
        assert!(!a[&7].managed);
        assert!(!a[&7].scim_id.bytes().all(|c| c.is_ascii_digit()));
        let again = ensure_user_records(store.as_ref(), 1, &[view]).await.unwrap();
        assert_eq!(again[&7].scim_id, a[&7].scim_id);
        let team = GrafanaTeamView { id: 3, uid: None, name: "Eng".into() };
        let g1 = ensure_group_records(store.as_ref(), 1, std::slice::from_ref(&team)).await.unwrap();
        let g2 = ensure_group_records(store.as_ref(), 1, &[team]).await.unwrap();
        assert_eq!(g1[&3].scim_id, g2[&3].scim_id);
    }
}
