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

/// Inserts many users in one statement, skipping (not failing on) rows that break a unique rule;
/// returns the SCIM ids of the rows it inserted. Parameters: [`UserColumns::params`].
pub(super) const INSERT_USERS: &str = "INSERT INTO scim_users (scim_id, org_id, grafana_user_id, grafana_uid, \
     user_name, user_name_key, external_id, email, active, deleted, managed, attributes, restore, created, \
     last_modified, version) \
     SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], \
     $8::text[], $9::bool[], $10::bool[], $11::bool[], $12::text[], $13::text[], $14::int8[], $15::int8[], \
     $16::int8[]) \
     ON CONFLICT DO NOTHING RETURNING scim_id";

/// Users in column form: one array per column, for [`INSERT_USERS`].
#[derive(Default)]
pub(super) struct UserColumns {
    scim_id: Vec<String>,
    org_id: Vec<i64>,
    grafana_user_id: Vec<i64>,
    grafana_uid: Vec<Option<String>>,
    user_name: Vec<String>,
    user_name_key: Vec<String>,
    external_id: Vec<Option<String>>,
    email: Vec<Option<String>>,
    active: Vec<bool>,
    deleted: Vec<bool>,
    managed: Vec<bool>,
    attributes: Vec<String>,
    restore: Vec<Option<String>>,
    created: Vec<i64>,
    last_modified: Vec<i64>,
    version: Vec<i64>,
}

impl UserColumns {
    pub(super) fn new(rows: &[UserRow]) -> Self {
        let mut c = Self::default();
        for r in rows {
            c.scim_id.push(r.scim_id.clone());
            c.org_id.push(r.org_id);
            c.grafana_user_id.push(r.grafana_user_id);
            c.grafana_uid.push(r.grafana_uid.clone());
            c.user_name.push(r.user_name.clone());
            c.user_name_key.push(r.user_name_key.clone());
            c.external_id.push(r.external_id.clone());
            c.email.push(r.email.clone());
            c.active.push(r.active);
            c.deleted.push(r.deleted);
            c.managed.push(r.managed);
            c.attributes.push(r.attributes.clone());
            c.restore.push(r.restore.clone());
            c.created.push(r.created);
            c.last_modified.push(r.last_modified);
            c.version.push(r.version);
        }
        c
    }

    pub(super) fn params(&self) -> [P<'_>; 16] {
        [
            &self.scim_id,
            &self.org_id,
            &self.grafana_user_id,
            &self.grafana_uid,
            &self.user_name,
            &self.user_name_key,
            &self.external_id,
            &self.email,
            &self.active,
            &self.deleted,
            &self.managed,
            &self.attributes,
            &self.restore,
            &self.created,
            &self.last_modified,
            &self.version,
        ]
    }
}
