//! PostgreSQL row codecs and parameter lists, kept apart from pooling and locking.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::map_err;
use crate::store::sql::{GroupRow, UserRow};
use crate::store::StoreError;

type P<'a> = &'a (dyn ToSql + Sync);

pub(super) fn insert_user_params(r: &UserRow) -> [P<'_>; 16] {
    [
        &r.scim_id,
        &r.org_id,
        &r.grafana_user_id,
        &r.grafana_uid,
        &r.user_name,
        &r.user_name_key,
        &r.external_id,
        &r.email,
        &r.active,
        &r.deleted,
        &r.managed,
        &r.attributes,
        &r.restore,
        &r.created,
        &r.last_modified,
        &r.version,
    ]
}

pub(super) fn update_user_params<'a>(r: &'a UserRow, new_version: &'a i64, expected: &'a i64) -> [P<'a>; 16] {
    [
        &r.grafana_user_id,
        &r.grafana_uid,
        &r.user_name,
        &r.user_name_key,
        &r.external_id,
        &r.email,
        &r.active,
        &r.deleted,
        &r.managed,
        &r.attributes,
        &r.restore,
        &r.last_modified,
        new_version,
        &r.org_id,
        &r.scim_id,
        expected,
    ]
}

pub(super) fn insert_group_params(r: &GroupRow) -> [P<'_>; 12] {
    [
        &r.scim_id,
        &r.org_id,
        &r.grafana_team_id,
        &r.grafana_team_uid,
        &r.display_name,
        &r.display_name_key,
        &r.external_id,
        &r.deleted,
        &r.attributes,
        &r.created,
        &r.last_modified,
        &r.version,
    ]
}

pub(super) fn update_group_params<'a>(
    r: &'a GroupRow,
    new_version: &'a i64,
    expected: &'a i64,
) -> [P<'a>; 12] {
    [
        &r.grafana_team_id,
        &r.grafana_team_uid,
        &r.display_name,
        &r.display_name_key,
        &r.external_id,
        &r.deleted,
        &r.attributes,
        &r.last_modified,
        new_version,
        &r.org_id,
        &r.scim_id,
        expected,
    ]
}

pub(super) fn user_row(r: &Row) -> Result<UserRow, StoreError> {
    let g = |e| map_err(e);
    Ok(UserRow {
        scim_id: r.try_get(0).map_err(g)?,
        org_id: r.try_get(1).map_err(g)?,
        grafana_user_id: r.try_get(2).map_err(g)?,
        grafana_uid: r.try_get(3).map_err(g)?,
        user_name: r.try_get(4).map_err(g)?,
        user_name_key: String::new(),
        external_id: r.try_get(5).map_err(g)?,
        email: r.try_get(6).map_err(g)?,
        active: r.try_get(7).map_err(g)?,
        deleted: r.try_get(8).map_err(g)?,
        managed: r.try_get(9).map_err(g)?,
        attributes: r.try_get(10).map_err(g)?,
        restore: r.try_get(11).map_err(g)?,
        created: r.try_get(12).map_err(g)?,
        last_modified: r.try_get(13).map_err(g)?,
        version: r.try_get(14).map_err(g)?,
    })
}

pub(super) fn group_row(r: &Row) -> Result<GroupRow, StoreError> {
    let g = |e| map_err(e);
    Ok(GroupRow {
        scim_id: r.try_get(0).map_err(g)?,
        org_id: r.try_get(1).map_err(g)?,
        grafana_team_id: r.try_get(2).map_err(g)?,
        grafana_team_uid: r.try_get(3).map_err(g)?,
        display_name: r.try_get(4).map_err(g)?,
        display_name_key: String::new(),
        external_id: r.try_get(5).map_err(g)?,
        deleted: r.try_get(6).map_err(g)?,
        attributes: r.try_get(7).map_err(g)?,
        created: r.try_get(8).map_err(g)?,
        last_modified: r.try_get(9).map_err(g)?,
        version: r.try_get(10).map_err(g)?,
    })
}
