//! SQL text and row codecs shared by both backends.
//!
//! SQLite accepts `$N` parameters and binds them in order of first appearance, so one text serves
//! both as long as every statement numbers its parameters in the order they first occur.
//! Timestamps travel as epoch microseconds and JSON as text so neither driver needs extra features.

use super::{
    from_json_text, from_micros, name_key, to_json_text, to_micros, GroupRecord, StoreError, UserRecord,
};

pub(crate) const USER_COLS: &str =
    "scim_id, org_id, grafana_user_id, grafana_uid, user_name, external_id, email, \
     active, deleted, managed, attributes, restore, created, last_modified, version";

/// [`USER_COLS`] for pages shown beside Grafana's copy: an unmanaged user's stored document comes
/// back as JSON `null` instead of being read and decoded, because SCIM shows such a user from
/// Grafana's current copy (`provision::users::view::present`). A page of a hundred unmanaged
/// users had spent an eighth of its time decoding documents it then dropped.
pub(crate) const USER_COLS_BESIDE_GRAFANA: &str =
    "scim_id, org_id, grafana_user_id, grafana_uid, user_name, external_id, email, \
     active, deleted, managed, CASE WHEN managed THEN attributes ELSE 'null' END, restore, created, \
     last_modified, version";

pub(crate) const GROUP_COLS: &str =
    "scim_id, org_id, grafana_team_id, grafana_team_uid, display_name, external_id, \
     deleted, attributes, created, last_modified, version";

pub(crate) const INSERT_USER: &str =
    "INSERT INTO scim_users (scim_id, org_id, grafana_user_id, grafana_uid, \
     user_name, user_name_key, external_id, email, active, deleted, managed, attributes, restore, created, \
     last_modified, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// Parameters: the insert's `$3..$13`, `$15` as `$1..$12`, then new version, org, id, expected.
pub(crate) const UPDATE_USER: &str = "UPDATE scim_users SET grafana_user_id = $1, grafana_uid = $2, user_name = $3, \
     user_name_key = $4, external_id = $5, email = $6, active = $7, deleted = $8, managed = $9, attributes = $10, \
     restore = $11, last_modified = $12, version = $13 WHERE org_id = $14 AND scim_id = $15 AND version = $16";

pub(crate) const INSERT_GROUP: &str =
    "INSERT INTO scim_groups (scim_id, org_id, grafana_team_id, grafana_team_uid, \
     display_name, display_name_key, external_id, deleted, attributes, created, last_modified, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub(crate) const UPDATE_GROUP: &str = "UPDATE scim_groups SET grafana_team_id = $1, grafana_team_uid = $2, \
     display_name = $3, display_name_key = $4, external_id = $5, deleted = $6, attributes = $7, \
     last_modified = $8, version = $9 WHERE org_id = $10 AND scim_id = $11 AND version = $12";

pub(crate) fn select_user(filter: &str) -> String {
    format!("SELECT {USER_COLS} FROM scim_users WHERE {filter}")
}

pub(crate) fn select_user_beside_grafana(filter: &str) -> String {
    format!("SELECT {USER_COLS_BESIDE_GRAFANA} FROM scim_users WHERE {filter}")
}

pub(crate) fn select_group(filter: &str) -> String {
    format!("SELECT {GROUP_COLS} FROM scim_groups WHERE {filter}")
}

pub(crate) const IS_MANAGED_USER: &str =
    "SELECT EXISTS (SELECT 1 FROM scim_users WHERE grafana_user_id = $1 AND managed)";
/// A team is managed when a live record maps it and SCIM wrote that record: the Groups handlers
/// set `"_managed": true` in `attributes` (records made on first sighting lack it). JSON access
/// differs per backend, hence two texts.
pub(crate) const IS_MANAGED_TEAM_SQLITE: &str =
    "SELECT EXISTS (SELECT 1 FROM scim_groups WHERE grafana_team_id = $1 \
     AND NOT deleted AND json_extract(attributes, '$._managed') = 1)";
pub(crate) const IS_MANAGED_TEAM_PG: &str =
    "SELECT EXISTS (SELECT 1 FROM scim_groups WHERE grafana_team_id = $1 \
     AND NOT deleted AND (attributes::jsonb ->> '_managed') = 'true')";
/// Managed users whose `externalId` equals `$1` ignoring ASCII case (SQLite's `lower` folds
/// ASCII only); the expression is the index's (migration 6).
pub(crate) const EXTERNAL_ID_FOLDED_SQLITE: &str = "lower(external_id) = lower($1) AND managed";
/// The team id of the live SCIM-managed record whose team has this UID, 0 when none (a UID
/// identifies a team in one org; a record names its team's org, so no org selector is needed).
pub(crate) const MANAGED_TEAM_BY_UID_SQLITE: &str =
    "SELECT COALESCE((SELECT grafana_team_id FROM scim_groups WHERE grafana_team_uid = $1 \
     AND NOT deleted AND json_extract(attributes, '$._managed') = 1 LIMIT 1), 0)";
pub(crate) const MANAGED_TEAM_BY_UID_PG: &str =
    "SELECT COALESCE((SELECT grafana_team_id FROM scim_groups WHERE grafana_team_uid = $1 \
     AND NOT deleted AND (attributes::jsonb ->> '_managed') = 'true' LIMIT 1), 0)::BIGINT";
/// Filter: the live group records of one Grafana team, in any org.
pub(crate) const LIVE_GROUPS_BY_TEAM: &str = "grafana_team_id = $1 AND NOT deleted";
pub(crate) const IS_MANAGED_UID: &str =
    "SELECT EXISTS (SELECT 1 FROM scim_users WHERE grafana_uid = $1 AND managed)";
/// Managed, visible users cut off by removal from their org (`restore.mode = removed_from_org`):
/// Grafana's org listing no longer shows them, so SCIM lists append them from here.
pub(crate) const DETACHED_USERS: &str =
    "org_id = $1 AND managed AND NOT deleted AND restore LIKE '%\"removed_from_org\"%'";
pub(crate) const COUNT_DETACHED_USERS: &str =
    "SELECT COUNT(*) FROM scim_users WHERE org_id = $1 AND managed \
     AND NOT deleted AND restore LIKE '%\"removed_from_org\"%'";
/// Inactive, visible users of org `$1` whose restore state remembers team `$2` (pending
/// members, `scim_pending_team_members`, migration 7): one search of that table's key, then one
/// primary-key probe per row.
pub(crate) const PENDING_TEAM_MEMBERS: &str =
    "scim_id IN (SELECT scim_user_id FROM scim_pending_team_members \
     WHERE org_id = $1 AND grafana_team_id = $2) AND NOT active AND NOT deleted";
/// A window of org `$1`'s managed user records (hidden ones included) after SCIM id `$2`, at most
/// `$3`, in SCIM id order: what `reconcile` compares with Grafana.
pub(crate) const MANAGED_USERS_PAGE: &str =
    "org_id = $1 AND managed AND scim_id > $2 ORDER BY scim_id LIMIT $3";
/// A window of org `$1`'s live group records after SCIM id `$2`, at most `$3`, in SCIM id order.
pub(crate) const LIVE_GROUPS_PAGE: &str =
    "org_id = $1 AND NOT deleted AND scim_id > $2 ORDER BY scim_id LIMIT $3";
/// The orgs holding a managed user record or a live group record.
pub(crate) const RECORD_ORGS: &str = "SELECT org_id FROM scim_users WHERE managed \
     UNION SELECT org_id FROM scim_groups WHERE NOT deleted ORDER BY 1";
pub(crate) const COUNT_USERS: &str = "SELECT COUNT(*) FROM scim_users WHERE org_id = $1 AND NOT deleted";
pub(crate) const COUNT_GROUPS: &str = "SELECT COUNT(*) FROM scim_groups WHERE org_id = $1 AND NOT deleted";
pub(crate) const DELETE_USER: &str = "DELETE FROM scim_users WHERE org_id = $1 AND scim_id = $2";
pub(crate) const DELETE_GROUP: &str = "DELETE FROM scim_groups WHERE org_id = $1 AND scim_id = $2";
pub(crate) const USER_EXISTS: &str = "SELECT COUNT(*) FROM scim_users WHERE org_id = $1 AND scim_id = $2";
pub(crate) const GROUP_EXISTS: &str = "SELECT COUNT(*) FROM scim_groups WHERE org_id = $1 AND scim_id = $2";

/// A [`UserRecord`] in column form.
pub(crate) struct UserRow {
    pub scim_id: String,
    pub org_id: i64,
    pub grafana_user_id: i64,
    pub grafana_uid: Option<String>,
    pub user_name: String,
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub deleted: bool,
    pub managed: bool,
    pub attributes: String,
    pub restore: Option<String>,
    pub created: i64,
    pub last_modified: i64,
    pub version: i64,
}

impl UserRow {
    pub(crate) fn encode(u: &UserRecord) -> Result<Self, StoreError> {
        Ok(Self {
            scim_id: u.scim_id.clone(),
            org_id: u.org_id,
            grafana_user_id: u.grafana_user_id,
            grafana_uid: u.grafana_uid.clone(),
            user_name: u.user_name.clone(),
            user_name_key: name_key(&u.user_name),
            external_id: u.external_id.clone(),
            email: u.email.as_deref().map(str::to_lowercase),
            active: u.active,
            deleted: u.deleted,
            managed: u.managed,
            attributes: to_json_text(&u.attributes)?,
            restore: u.restore.as_ref().map(to_json_text).transpose()?,
            created: to_micros(&u.created),
            last_modified: to_micros(&u.last_modified),
            version: u.version,
        })
    }

    pub(crate) fn decode(self) -> Result<UserRecord, StoreError> {
        Ok(UserRecord {
            scim_id: self.scim_id,
            org_id: self.org_id,
            grafana_user_id: self.grafana_user_id,
            grafana_uid: self.grafana_uid,
            user_name: self.user_name,
            external_id: self.external_id,
            email: self.email,
            active: self.active,
            deleted: self.deleted,
            managed: self.managed,
            attributes: from_json_text(&self.attributes)?,
            restore: self.restore.as_deref().map(from_json_text).transpose()?,
            created: from_micros(self.created)?,
            last_modified: from_micros(self.last_modified)?,
            version: self.version,
        })
    }
}

/// A [`GroupRecord`] in column form.
pub(crate) struct GroupRow {
    pub scim_id: String,
    pub org_id: i64,
    pub grafana_team_id: i64,
    pub grafana_team_uid: Option<String>,
    pub display_name: String,
    pub display_name_key: String,
    pub external_id: Option<String>,
    pub deleted: bool,
    pub attributes: String,
    pub created: i64,
    pub last_modified: i64,
    pub version: i64,
}

impl GroupRow {
    pub(crate) fn encode(g: &GroupRecord) -> Result<Self, StoreError> {
        Ok(Self {
            scim_id: g.scim_id.clone(),
            org_id: g.org_id,
            grafana_team_id: g.grafana_team_id,
            grafana_team_uid: g.grafana_team_uid.clone(),
            display_name: g.display_name.clone(),
            display_name_key: name_key(&g.display_name),
            external_id: g.external_id.clone(),
            deleted: g.deleted,
            attributes: to_json_text(&g.attributes)?,
            created: to_micros(&g.created),
            last_modified: to_micros(&g.last_modified),
            version: g.version,
        })
    }

    pub(crate) fn decode(self) -> Result<GroupRecord, StoreError> {
        Ok(GroupRecord {
            scim_id: self.scim_id,
            org_id: self.org_id,
            grafana_team_id: self.grafana_team_id,
            grafana_team_uid: self.grafana_team_uid,
            display_name: self.display_name,
            external_id: self.external_id,
            deleted: self.deleted,
            attributes: from_json_text(&self.attributes)?,
            created: from_micros(self.created)?,
            last_modified: from_micros(self.last_modified)?,
            version: self.version,
        })
    }
}

/// Maps the column lists of a SQLite unique-violation message, or a PostgreSQL constraint name,
/// to the names in [`super::constraints`].
pub(crate) fn constraint_from_sqlite_message(msg: &str) -> String {
    use super::constraints::*;
    let table_cols = msg.rsplit(':').next().unwrap_or("").trim();
    let name = if table_cols.starts_with("scim_users") {
        if table_cols.contains("user_name_key") {
            USER_NAME
        } else if table_cols.contains("external_id") {
            USER_EXTERNAL_ID
        } else if table_cols.contains("grafana_user_id") {
            USER_GRAFANA_ID
        } else {
            USER_PRIMARY_KEY
        }
    } else if table_cols.contains("display_name_key") {
        GROUP_DISPLAY_NAME
    } else if table_cols.contains("external_id") {
        GROUP_EXTERNAL_ID
    } else if table_cols.contains("grafana_team_id") {
        GROUP_GRAFANA_ID
    } else {
        GROUP_PRIMARY_KEY
    };
    name.to_owned()
}
