//! SQLite row codecs and statement helpers, kept apart from connection handling.

use rusqlite::types::Value as V;
use rusqlite::{params, Connection, Row};

use super::map_err;
use crate::store::sql::{self, GroupRow, UserRow};
use crate::store::{GroupRecord, StoreError, UserRecord, MAX_IDS_PER_LOOKUP};

pub(super) fn insert_user(c: &Connection, r: &UserRow) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(sql::INSERT_USER).map_err(map_err)?;
    insert_user_with(&mut st, r)
}

/// Each row on its own (one failing leaves the others), with the statement taken from the cache
/// once for the batch rather than once per row.
pub(super) fn insert_users(
    c: &Connection,
    rows: &[UserRow],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut st = c.prepare_cached(sql::INSERT_USER).map_err(map_err)?;
    Ok(rows.iter().map(|r| insert_user_with(&mut st, r)).collect())
}

fn insert_user_with(st: &mut rusqlite::CachedStatement<'_>, r: &UserRow) -> Result<(), StoreError> {
    st.execute(params![
        r.scim_id,
        r.org_id,
        r.grafana_user_id,
        r.grafana_uid,
        r.user_name,
        r.user_name_key,
        r.external_id,
        r.email,
        r.active,
        r.deleted,
        r.managed,
        r.attributes,
        r.restore,
        r.created,
        r.last_modified,
        r.version
    ])
    .map(drop)
    .map_err(map_err)
}

pub(super) fn update_user(
    c: &Connection,
    r: &UserRow,
    new_version: i64,
    expected: i64,
) -> Result<usize, StoreError> {
    let mut st = c.prepare_cached(sql::UPDATE_USER).map_err(map_err)?;
    st.execute(params![
        r.grafana_user_id,
        r.grafana_uid,
        r.user_name,
        r.user_name_key,
        r.external_id,
        r.email,
        r.active,
        r.deleted,
        r.managed,
        r.attributes,
        r.restore,
        r.last_modified,
        new_version,
        r.org_id,
        r.scim_id,
        expected
    ])
    .map_err(map_err)
}

pub(super) fn insert_group(c: &Connection, r: &GroupRow) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(sql::INSERT_GROUP).map_err(map_err)?;
    st.execute(params![
        r.scim_id,
        r.org_id,
        r.grafana_team_id,
        r.grafana_team_uid,
        r.display_name,
        r.display_name_key,
        r.external_id,
        r.deleted,
        r.attributes,
        r.created,
        r.last_modified,
        r.version
    ])
    .map(drop)
    .map_err(map_err)
}

pub(super) fn update_group(
    c: &Connection,
    r: &GroupRow,
    new_version: i64,
    expected: i64,
) -> Result<usize, StoreError> {
    let mut st = c.prepare_cached(sql::UPDATE_GROUP).map_err(map_err)?;
    st.execute(params![
        r.grafana_team_id,
        r.grafana_team_uid,
        r.display_name,
        r.display_name_key,
        r.external_id,
        r.deleted,
        r.attributes,
        r.last_modified,
        new_version,
        r.org_id,
        r.scim_id,
        expected
    ])
    .map_err(map_err)
}

pub(super) fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        scim_id: r.get(0)?,
        org_id: r.get(1)?,
        grafana_user_id: r.get(2)?,
        grafana_uid: r.get(3)?,
        user_name: r.get(4)?,
        user_name_key: String::new(),
        external_id: r.get(5)?,
        email: r.get(6)?,
        active: r.get(7)?,
        deleted: r.get(8)?,
        managed: r.get(9)?,
        attributes: r.get(10)?,
        restore: r.get(11)?,
        created: r.get(12)?,
        last_modified: r.get(13)?,
        version: r.get(14)?,
    })
}

pub(super) fn group_row(r: &Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        scim_id: r.get(0)?,
        org_id: r.get(1)?,
        grafana_team_id: r.get(2)?,
        grafana_team_uid: r.get(3)?,
        display_name: r.get(4)?,
        display_name_key: String::new(),
        external_id: r.get(5)?,
        deleted: r.get(6)?,
        attributes: r.get(7)?,
        created: r.get(8)?,
        last_modified: r.get(9)?,
        version: r.get(10)?,
    })
}

pub(super) fn query_users(
    c: &Connection,
    q: &str,
    p: &[rusqlite::types::Value],
) -> Result<Vec<UserRecord>, StoreError> {
    let mut stmt = c.prepare_cached(q).map_err(map_err)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(p), user_row).map_err(map_err)?;
    rows.map(|r| r.map_err(map_err).and_then(UserRow::decode)).collect()
}

pub(super) fn query_groups(
    c: &Connection,
    q: &str,
    p: &[rusqlite::types::Value],
) -> Result<Vec<GroupRecord>, StoreError> {
    let mut stmt = c.prepare_cached(q).map_err(map_err)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(p), group_row).map_err(map_err)?;
    rows.map(|r| r.map_err(map_err).and_then(GroupRow::decode)).collect()
}

/// After an update matched no row: tell a missing row from a moved version.
pub(super) fn miss(c: &Connection, exists_sql: &str, org: i64, id: &str) -> StoreError {
    match c.query_row(exists_sql, params![org, id], |r| r.get::<_, i64>(0)) {
        Ok(0) => StoreError::NotFound,
        Ok(_) => StoreError::StaleVersion,
        Err(e) => map_err(e),
    }
}

pub(super) fn id_list_filter(column: &str, n: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = format!("org_id = $1 AND {column} IN (");
    for i in 0..n {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{sep}${}", i + 2);
    }
    sql.push(')');
    sql
}

pub(super) fn check_ids<T>(ids: &[T]) -> Result<(), StoreError> {
    if ids.len() > MAX_IDS_PER_LOOKUP {
        return Err(StoreError::Backend(format!("too many ids in one lookup ({})", ids.len())));
    }
    Ok(())
}

pub(super) fn s(v: &str) -> V {
    V::Text(v.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn id_list_filter_numbers_its_placeholders_after_the_org() {
        assert_eq!(super::id_list_filter("scim_id", 1), "org_id = $1 AND scim_id IN ($2)");
        assert_eq!(
            super::id_list_filter("grafana_user_id", 3),
            "org_id = $1 AND grafana_user_id IN ($2, $3, $4)"
        );
    }
}
