//! The mapping store: everything about SCIM resources that Grafana cannot hold.
//!
//! Grafana keeps users and teams; this store keeps their SCIM side: SCIM ids (UUID v7),
//! `externalId`, the original-case `userName`, SCIM attributes Grafana has no field for, the
//! active/deleted state, what to restore on reactivation and `meta` (created, lastModified,
//! version). [`MappingStore`] is the one interface; [`open`] picks SQLite (`sqlite://PATH`, one
//! process) or PostgreSQL (`postgres://…`, several replicas) by URL scheme and runs the numbered
//! migrations ([`migrations`]). A PostgreSQL URL takes libpq's TLS parameters (`sslmode`,
//! `sslrootcert`, `sslcert`, `sslkey`; `postgres::conninfo`), spoken over rustls
//! (`postgres::tls`). [`transfer`] backs up and copies whole stores (the `store` commands).
//!
//! Uniqueness (per org `userName`/`displayName` ignoring case, `externalId`, Grafana id) is
//! enforced by the database, so concurrent inserts from several replicas yield exactly one row.
//! Deleted rows keep their keys: a later create with the same `userName` revives the row.
//!
//! This module knows nothing of Grafana's HTTP API, SCIM parsing or HTTP types.

pub mod audit;
mod lock;
pub mod migrations;
mod postgres;
mod sql;
mod sqlite;
#[cfg(test)]
mod tests;
pub mod transfer;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use audit::AuditStore;
pub(crate) use lock::LocalLocks;
pub use lock::ResourceLock;

/// The [`MappingStore::lock_rw`] key deactivation (exclusive) and group member writes (shared)
/// serialise on.
pub const USER_ACCESS_LOCK: &str = "user-access";

/// Largest number of ids one `*_by_grafana_ids` call accepts; callers page far below this.
pub const MAX_IDS_PER_LOOKUP: usize = 10_000;

/// The SCIM side of one Grafana user in one org.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    /// SCIM id: a UUID string (v7 for new ids), never derived from Grafana ids or `externalId`.
    pub scim_id: String,
    pub org_id: i64,
    pub grafana_user_id: i64,
    pub grafana_uid: Option<String>,
    /// `userName` as the IdP sent it (Grafana stores logins lowercased).
    pub user_name: String,
    pub external_id: Option<String>,
    /// Primary email; the store lowercases it on write because the login gate looks it up.
    pub email: Option<String>,
    pub active: bool,
    /// Hidden from SCIM (`on_delete = deactivate`); keeps its keys so a create can revive it.
    pub deleted: bool,
    /// Created or adopted through SCIM: the passthrough guard protects it.
    pub managed: bool,
    /// The canonical SCIM resource minus `id` and `meta`; `null` for an unmanaged user, whom SCIM
    /// shows from Grafana's copy (older versions stored a document derived from that copy).
    pub attributes: Value,
    /// Org role and team ids to restore on reactivation.
    pub restore: Option<Value>,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: i64,
}

/// What [`MappingStore::create_lookups`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateLookups {
    /// The org's records holding the userName key or the externalId (at most two).
    pub claims: Vec<UserRecord>,
    /// The managed records of every org holding the externalId, ignoring ASCII case; empty
    /// without an externalId.
    pub holders: Vec<UserRecord>,
}

/// The SCIM side of one Grafana team.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub scim_id: String,
    pub org_id: i64,
    pub grafana_team_id: i64,
    pub grafana_team_uid: Option<String>,
    pub display_name: String,
    pub external_id: Option<String>,
    pub deleted: bool,
    /// The canonical SCIM resource minus `id` and `meta`; `null` for an unmanaged user, whom SCIM
    /// shows from Grafana's copy (older versions stored a document derived from that copy).
    pub attributes: Value,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: i64,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; `constraint` is one of the [`constraints`] names.
    #[error("unique constraint {constraint} violated")]
    Conflict { constraint: String },
    /// The row's version moved since the caller read it.
    #[error("record was modified concurrently")]
    StaleVersion,
    #[error("record not found")]
    NotFound,
    /// Database or driver failure. Never contains the connection URL.
    #[error("store backend error: {0}")]
    Backend(String),
    #[error("store migration error: {0}")]
    Migration(String),
    /// The store URL is not usable (unknown scheme, bad syntax).
    #[error("invalid store url: {0}")]
    InvalidUrl(String),
}

/// Names reported in [`StoreError::Conflict`], identical for both backends.
pub mod constraints {
    pub const USER_PRIMARY_KEY: &str = "scim_users_pkey";
    pub const USER_NAME: &str = "scim_users_user_name_uq";
    pub const USER_EXTERNAL_ID: &str = "scim_users_external_id_uq";
    pub const USER_GRAFANA_ID: &str = "scim_users_grafana_id_uq";
    pub const GROUP_PRIMARY_KEY: &str = "scim_groups_pkey";
    pub const GROUP_DISPLAY_NAME: &str = "scim_groups_display_name_uq";
    pub const GROUP_EXTERNAL_ID: &str = "scim_groups_external_id_uq";
    pub const GROUP_GRAFANA_ID: &str = "scim_groups_grafana_id_uq";
}

/// The mapping store. Every lookup also returns deleted rows (callers decide whether a deleted
/// row is visible); counts only count non-deleted rows.
#[async_trait]
pub trait MappingStore: AuditStore + Send + Sync + 'static {
    /// # Errors
    /// `Conflict` when a uniqueness rule is violated.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Inserts `users`, each on its own: the answer holds, in order, `Ok` or that user's
    /// `Conflict`. A backend that can commit them together does (SQLite: one writer job, a
    /// statement per row; PostgreSQL: one statement that skips the conflicting rows, which are
    /// then tried alone); the default runs [`MappingStore::insert_user`] for each concurrently.
    ///
    /// # Errors
    /// Failures other than a uniqueness conflict; then some of `users` may have been inserted.
    async fn insert_users(&self, users: &[UserRecord]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let mut outcomes = Vec::with_capacity(users.len());
        for outcome in futures_util::future::join_all(users.iter().map(|u| self.insert_user(u))).await {
            match outcome {
                Err(e) if !matches!(e, StoreError::Conflict { .. }) => return Err(e),
                outcome => outcomes.push(outcome),
            }
        }
        Ok(outcomes)
    }
    /// Writes every field of `user` (keyed by org and SCIM id) and sets `version =
    /// expected_version + 1`; returns the new version.
    ///
    /// # Errors
    /// `StaleVersion` when the stored version is not `expected_version`, `NotFound`, `Conflict`.
    async fn update_user(&self, user: &UserRecord, expected_version: i64) -> Result<i64, StoreError>;
    async fn get_user(&self, org_id: i64, scim_id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Case-insensitive `userName` lookup.
    async fn user_by_user_name(&self, org_id: i64, user_name: &str)
        -> Result<Option<UserRecord>, StoreError>;
    /// The records of `org_id` holding `user_name` (case-insensitively) or, when given,
    /// `external_id` (exactly): at most two, in one round trip. A create checks both at once.
    async fn users_claiming(
        &self,
        org_id: i64,
        user_name: &str,
        external_id: Option<&str>,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// What a create reads before it touches Grafana, in one call: the records of `org_id`
    /// claiming `user_name` or `external_id` (as [`Self::users_claiming`]) and, when
    /// `external_id` is given, its managed holders in every org (as
    /// [`Self::managed_users_by_external_id_folded`]). PostgreSQL answers both with one
    /// statement (one round trip and one wake-up of the database server instead of two); the
    /// default asks for them side by side.
    async fn create_lookups(
        &self,
        org_id: i64,
        user_name: &str,
        external_id: Option<&str>,
    ) -> Result<CreateLookups, StoreError> {
        let holders = async {
            match external_id {
                Some(x) => self.managed_users_by_external_id_folded(x).await,
                None => Ok(Vec::new()),
            }
        };
        let (claims, holders) = tokio::join!(self.users_claiming(org_id, user_name, external_id), holders);
        Ok(CreateLookups { claims: claims?, holders: holders? })
    }
    /// Exact (case-sensitive) `externalId` lookup.
    async fn user_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_grafana_id(
        &self,
        org_id: i64,
        grafana_user_id: i64,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// One query for a listing page; order unspecified; at most [`MAX_IDS_PER_LOOKUP`] ids.
    /// For presenting users beside Grafana's copy of them: the `attributes` of unmanaged records
    /// (which SCIM shows from that copy) are not read and come back as `Value::Null`.
    async fn users_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<UserRecord>, StoreError>;
    /// The records of these SCIM ids in `org_id` (deleted ones included); one query; order
    /// unspecified; at most [`MAX_IDS_PER_LOOKUP`] ids. Resolves group member references.
    async fn users_by_scim_ids(&self, org_id: i64, ids: &[String]) -> Result<Vec<UserRecord>, StoreError>;
    /// Managed records (deleted ones included) with this email, any org, case-insensitive: the
    /// login gate and the `emails.value` filter decide on managed records only, and the index
    /// holds no other rows.
    async fn managed_users_by_email(&self, email: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// Any org, case-insensitive.
    async fn users_by_user_name_any_org(&self, user_name: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// Any org, exact (the login gate finds a person by the external UID of an assertion).
    async fn users_by_external_id_any_org(&self, external_id: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// Managed records (deleted ones included), any org, whose `externalId` equals `external_id`
    /// ignoring ASCII case (both backends fold only `A`–`Z`): who already holds an external
    /// identity, which belongs to one person (one Grafana user, in any number of orgs). Served
    /// from an index.
    async fn managed_users_by_external_id_folded(
        &self,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Every record of this Grafana user, any org (deleted ones included): the login gate judges
    /// the account Grafana will sign into by all of its records.
    async fn users_of_grafana_user(&self, grafana_user_id: i64) -> Result<Vec<UserRecord>, StoreError>;
    /// True when any org has a `managed` row for this Grafana user (deleted rows included:
    /// a hidden user still exists in Grafana). Served from an index.
    async fn is_managed_grafana_user(&self, grafana_user_id: i64) -> Result<bool, StoreError>;
    /// True when any org has a `managed` row for the Grafana user with this uid.
    async fn is_managed_grafana_uid(&self, grafana_uid: &str) -> Result<bool, StoreError>;
    /// Managed, non-deleted users of an org that were removed from it on deactivation
    /// (`restore` mode `removed_from_org`), ordered by `userName` ignoring case, then SCIM id.
    async fn users_detached(
        &self,
        org_id: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// How many rows [`MappingStore::users_detached`] pages over.
    async fn count_users_detached(&self, org_id: i64) -> Result<i64, StoreError>;
    /// Inactive, non-deleted users of `org_id` whose restore state remembers team
    /// `grafana_team_id` for that org (reactivation adds them to it): the team's pending members.
    /// One query on an index the store keeps equal to `restore` (migration 7); order unspecified.
    async fn pending_team_members(
        &self,
        org_id: i64,
        grafana_team_id: i64,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Removes the mapping row. `NotFound` when there was none.
    async fn delete_user_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError>;
    /// Non-deleted users of an org.
    async fn count_users(&self, org_id: i64) -> Result<i64, StoreError>;

    async fn insert_group(&self, group: &GroupRecord) -> Result<(), StoreError>;
    /// Same contract as [`MappingStore::update_user`].
    async fn update_group(&self, group: &GroupRecord, expected_version: i64) -> Result<i64, StoreError>;
    async fn get_group(&self, org_id: i64, scim_id: &str) -> Result<Option<GroupRecord>, StoreError>;
    /// Case-insensitive `displayName` lookup.
    async fn group_by_display_name(
        &self,
        org_id: i64,
        display_name: &str,
    ) -> Result<Option<GroupRecord>, StoreError>;
    async fn group_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError>;
    async fn group_by_grafana_id(
        &self,
        org_id: i64,
        grafana_team_id: i64,
    ) -> Result<Option<GroupRecord>, StoreError>;
    async fn groups_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<GroupRecord>, StoreError>;
    /// True when a non-deleted group maps this team (deleted groups' teams are gone from Grafana
    /// and their ids may be reused).
    async fn is_managed_grafana_team(&self, grafana_team_id: i64) -> Result<bool, StoreError>;
    /// The live records mapping Grafana team `grafana_team_id`, in whatever org (team ids are
    /// unique across Grafana's orgs).
    async fn live_groups_by_team(&self, grafana_team_id: i64) -> Result<Vec<GroupRecord>, StoreError>;
    /// The id of the team a live SCIM-managed record maps, found by the team's UID.
    async fn managed_team_by_uid(&self, grafana_team_uid: &str) -> Result<Option<i64>, StoreError>;
    async fn delete_group_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError>;
    async fn count_groups(&self, org_id: i64) -> Result<i64, StoreError>;
    /// Managed user records of `org_id` (hidden ones included) with a SCIM id after `after`
    /// (`""` from the start), at most `limit`, in SCIM id order: `reconcile` pages over them.
    async fn managed_users_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Live group records of `org_id` after `after`, at most `limit`, in SCIM id order.
    async fn live_groups_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<GroupRecord>, StoreError>;
    /// The orgs that hold a managed user record or a live group record, ascending.
    async fn record_orgs(&self) -> Result<Vec<i64>, StoreError>;

    /// A round trip to the database, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;
    async fn schema_version(&self) -> Result<i64, StoreError>;
    fn backend_name(&self) -> &'static str;
    /// Serialises work on `key` across tasks (SQLite) or replicas (PostgreSQL advisory lock);
    /// released when the guard drops.
    async fn lock(&self, key: &str) -> Result<ResourceLock, StoreError>;
    /// A readers-writer lock on `key`: many shared holders, or one exclusive (across replicas
    /// with PostgreSQL: shared and exclusive advisory locks). Deactivation holds `user-access`
    /// exclusively and group member writes hold it shared. Use a key only with this method.
    async fn lock_rw(&self, key: &str, exclusive: bool) -> Result<ResourceLock, StoreError>;
}

/// Which backend a store URL names.
enum Target<'a> {
    Sqlite(SqliteTarget<'a>),
    Postgres(&'a str),
}

enum SqliteTarget<'a> {
    File(&'a str),
    Memory,
}

fn parse_url(url: &str) -> Result<Target<'_>, StoreError> {
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Target::Sqlite(SqliteTarget::Memory));
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() {
            return Err(StoreError::InvalidUrl("sqlite url has no path".into()));
        }
        return Ok(Target::Sqlite(SqliteTarget::File(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url));
    }
    // Never echo the URL: it may carry a password.
    Err(StoreError::InvalidUrl("expected sqlite://PATH, postgres:// or postgresql://".into()))
}

/// Opens the store named by `url`, running pending migrations.
///
/// `max_connections` sizes the PostgreSQL pool and the SQLite reader set.
///
/// # Errors
/// `InvalidUrl`, `Backend` when the database is unreachable, `Migration` when the schema is newer
/// than this binary or a step fails.
pub async fn open(url: &str, max_connections: usize) -> Result<Arc<dyn MappingStore>, StoreError> {
    let max = max_connections.clamp(1, 256);
    match parse_url(url)? {
        Target::Sqlite(SqliteTarget::File(path)) => {
            Ok(Arc::new(sqlite::SqliteStore::open_file(path, max).await?))
        }
        Target::Sqlite(SqliteTarget::Memory) => Ok(Arc::new(sqlite::SqliteStore::open_memory().await?)),
        Target::Postgres(url) => Ok(Arc::new(postgres::PgStore::open(url, max).await?)),
    }
}

/// What `url` names, in one line for `check-config` and `check`: the backend and, for
/// PostgreSQL, the TLS mode and what it verifies (`sslmode`, libpq's conventions). Reads the
/// TLS certificate files the URL names, without connecting. Never echoes a password.
///
/// # Errors
/// `InvalidUrl` for a URL `open` would refuse, a bad TLS parameter or an unreadable file.
pub fn describe_url(url: &str) -> Result<String, StoreError> {
    match parse_url(url)? {
        Target::Sqlite(SqliteTarget::File(path)) => Ok(format!("sqlite file {path}")),
        Target::Sqlite(SqliteTarget::Memory) => Ok("sqlite in memory".to_owned()),
        Target::Postgres(url) => Ok(format!("postgres, {}", postgres::conninfo::describe_tls(url)?)),
    }
}

/// Runs pending migrations and returns the resulting schema version (the `migrate` subcommand).
///
/// # Errors
/// As [`open`].
pub async fn migrate(url: &str) -> Result<i64, StoreError> {
    let store = open(url, 1).await?;
    store.schema_version().await
}

/// Lowercased key used for case-insensitive uniqueness of `userName` and `displayName`.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Timestamps are stored as microseconds since the epoch in both backends.
pub(crate) fn to_micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Backend(format!("timestamp out of range: {us}")))
}

pub(crate) fn to_json_text(v: &Value) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encode json: {e}")))
}

pub(crate) fn from_json_text(s: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("stored json is invalid: {e}")))
}
