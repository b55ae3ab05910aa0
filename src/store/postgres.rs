//! PostgreSQL backend: tokio-postgres through a deadpool pool; for several sidecar replicas.
//!
//! Uniqueness and optimistic concurrency live in single statements, so replicas need no
//! coordination beyond the database. `lock` takes a session advisory lock on a dedicated pooled
//! connection, which serialises holders across replicas. Migrations take a transaction-scoped
//! advisory lock so replicas starting together migrate once.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
#[cfg(test)]
use tokio_postgres::NoTls;
use tokio_postgres::Row;

mod audit;
pub(crate) mod conninfo;
mod lookups;
mod rows;
pub(crate) mod tls;
pub(crate) mod transfer;

use self::rows::{group_row, user_row};
use super::migrations::{self, LATEST};
use super::sql::{self, GroupRow, UserRow};
use super::{
    CreateLookups, GroupRecord, MappingStore, ResourceLock, StoreError, UserRecord, MAX_IDS_PER_LOOKUP,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Added to every session's startup options (after any the URL gives).
///
/// Every query runs as a cached prepared statement. PostgreSQL's default would plan its first
/// five runs with their parameters and then, perhaps, switch to a generic plan built from the
/// table's statistics of that moment; on the empty, unanalysed tables a sidecar starts with, that
/// plan walked the whole org for a lookup by "userName or externalId". Planning every run instead
/// cost 40 to 100 µs of server CPU per query (22–32% of the server's CPU per create), so every
/// statement is planned once per connection and written so that its generic plan is right
/// whatever the statistics say (see `lookups`). Needs PostgreSQL 12 or later.
const SESSION_OPTIONS: &str = "-c plan_cache_mode=force_generic_plan";
/// Arbitrary constant key for the migration advisory lock.
const MIGRATION_LOCK_KEY: &str = "scim-sidecar/migrations";

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) struct PgStore {
    pool: Pool,
    /// Lock holders and waiters park connections for as long as the lock is wanted; a pool of
    /// their own keeps them from starving the queries the holders run under the lock.
    lock_pool: Pool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The error and its causes in one line: tokio-postgres and the pool print only the outermost
/// ("error performing TLS handshake"), the reason (an unknown CA, a wrong host name) is below.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> StoreError {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let line = c.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = c.source();
    }
    StoreError::Backend(text)
}

fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if db.code() == &SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict { constraint: db.constraint().unwrap_or("unknown").to_owned() };
        }
    }
    with_causes(&e)
}

impl PgStore {
    pub(crate) async fn open(url: &str, max_connections: usize) -> Result<Self, StoreError> {
        let conninfo::ConnInfo { config: mut cfg, tls } = conninfo::parse(url)?;
        let tls = tls::connector(&tls)?;
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(CONNECT_TIMEOUT);
        }
        let options = match cfg.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {SESSION_OPTIONS}"),
            _ => SESSION_OPTIONS.to_owned(),
        };
        cfg.options(&options);
        let pool = build_pool(&cfg, &tls, max_connections, Some(POOL_WAIT_TIMEOUT))?;
        // Waiting for a lock slot is waiting for the lock: callers bound it themselves.
        let lock_pool = build_pool(&cfg, &tls, max_connections, None)?;
        let store = Self { pool, lock_pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn conn(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| with_causes(&e))
    }

    async fn migrate(&self) -> Result<i64, StoreError> {
        migrations::check_contiguous(migrations::POSTGRES).map_err(StoreError::Migration)?;
        let mig = |e: tokio_postgres::Error| StoreError::Migration(e.to_string());
        let mut conn = self.conn().await?;
        loop {
            let tx = conn.transaction().await.map_err(mig)?;
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&MIGRATION_LOCK_KEY])
                .await
                .map_err(mig)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
                 INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
            )
            .await
            .map_err(mig)?;
            let current: i64 = tx
                .query_one("SELECT MAX(version) FROM schema_version", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(mig)?;
            if current > LATEST {
                return Err(migrations::too_new(current));
            }
            let Some(step) = migrations::POSTGRES.iter().find(|s| s.version == current + 1) else {
                tx.commit().await.map_err(mig)?;
                return Ok(current);
            };
            tx.batch_execute(step.sql).await.map_err(mig)?;
            tx.execute("UPDATE schema_version SET version = $1", &[&step.version]).await.map_err(mig)?;
            tx.commit().await.map_err(mig)?;
            tracing::info!(version = step.version, "postgres store migrated");
        }
    }

    async fn rows(&self, q: &str, p: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(q).await.map_err(map_err)?;
        conn.query(&stmt, p).await.map_err(map_err)
    }

    async fn execute(&self, q: &str, p: Params<'_>) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(q).await.map_err(map_err)?;
        conn.execute(&stmt, p).await.map_err(map_err)
    }

    async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        q: &str,
        p: Params<'_>,
    ) -> Result<T, StoreError> {
        let rows = self.rows(q, p).await?;
        let row = rows.first().ok_or_else(|| backend("query returned no row"))?;
        row.try_get(0).map_err(map_err)
    }

    async fn users(&self, filter: &str, p: Params<'_>) -> Result<Vec<UserRecord>, StoreError> {
        self.users_from(&sql::select_user(filter), p).await
    }

    /// The users a whole `SELECT` of the user columns returns.
    async fn users_from(&self, statement: &str, p: Params<'_>) -> Result<Vec<UserRecord>, StoreError> {
        self.rows(statement, p).await?.iter().map(|r| user_row(r)?.decode()).collect()
    }

    async fn groups(&self, filter: &str, p: Params<'_>) -> Result<Vec<GroupRecord>, StoreError> {
        self.rows(&sql::select_group(filter), p).await?.iter().map(|r| group_row(r)?.decode()).collect()
    }

    /// After an update matched no row: tell a missing row from a moved version.
    async fn miss(&self, exists_sql: &str, org: i64, id: &str) -> StoreError {
        match self.one::<i64>(exists_sql, &[&org, &id]).await {
            Ok(0) => StoreError::NotFound,
            Ok(_) => StoreError::StaleVersion,
            Err(e) => e,
        }
    }
}

fn build_pool(
    cfg: &tokio_postgres::Config,
    tls: &tls::RustlsConnect,
    size: usize,
    wait: Option<Duration>,
) -> Result<Pool, StoreError> {
    let mgr = Manager::from_config(
        cfg.clone(),
        tls.clone(),
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(mgr)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(wait)
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(backend)
}

fn check_ids<T>(ids: &[T]) -> Result<(), StoreError> {
    if ids.len() > MAX_IDS_PER_LOOKUP {
        return Err(StoreError::Backend(format!("too many ids in one lookup ({})", ids.len())));
    }
    Ok(())
}

#[async_trait]
impl MappingStore for PgStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let r = UserRow::encode(user)?;
        self.execute(sql::INSERT_USER, &rows::insert_user_params(&r)).await.map(drop)
    }

    /// One statement (one round trip and one commit) inserts every row that breaks no unique
    /// rule; the few that do are inserted again one by one, which reports their conflict by name
    /// (or succeeds, if the row they clashed with has gone meanwhile).
    async fn insert_users(&self, users: &[UserRecord]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let rows = users.iter().map(UserRow::encode).collect::<Result<Vec<_>, _>>()?;
        let columns = rows::UserColumns::new(&rows);
        let inserted = self
            .rows(rows::INSERT_USERS, &columns.params())
            .await?
            .iter()
            .map(|r| r.try_get::<_, String>(0).map_err(map_err))
            .collect::<Result<HashSet<String>, _>>()?;
        let mut outcomes = Vec::with_capacity(users.len());
        for user in users {
            if inserted.contains(&user.scim_id) {
                outcomes.push(Ok(()));
                continue;
            }
            match self.insert_user(user).await {
                Err(e) if !matches!(e, StoreError::Conflict { .. }) => return Err(e),
                outcome => outcomes.push(outcome),
            }
        }
        Ok(outcomes)
    }

    async fn update_user(&self, user: &UserRecord, expected_version: i64) -> Result<i64, StoreError> {
        let r = UserRow::encode(user)?;
        let new_version = expected_version + 1;
        let n = self
            .execute(sql::UPDATE_USER, &rows::update_user_params(&r, &new_version, &expected_version))
            .await?;
        if n == 0 {
            return Err(self.miss(sql::USER_EXISTS, r.org_id, &r.scim_id).await);
        }
        Ok(new_version)
    }

    async fn get_user(&self, org_id: i64, scim_id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users(lookups::USER_BY_ID, &[&org_id, &scim_id]).await?.pop())
    }

    async fn user_by_user_name(
        &self,
        org_id: i64,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let key = super::name_key(user_name);
        Ok(self.users(lookups::USER_BY_NAME, &[&org_id, &key]).await?.pop())
    }

    async fn users_claiming(
        &self,
        org_id: i64,
        user_name: &str,
        external_id: Option<&str>,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let key = super::name_key(user_name);
        self.users_from(&lookups::users_claiming(), &[&org_id, &key, &external_id]).await
    }

    async fn create_lookups(
        &self,
        org_id: i64,
        user_name: &str,
        external_id: Option<&str>,
    ) -> Result<CreateLookups, StoreError> {
        let key = super::name_key(user_name);
        let rows = self.rows(lookups::create_lookups(), &[&org_id, &key, &external_id]).await?;
        let mut found = CreateLookups::default();
        for r in &rows {
            let user = user_row(r)?.decode()?;
            // The tag follows the user columns.
            let holder: bool = r.try_get(r.len() - 1).map_err(map_err)?;
            if holder { &mut found.holders } else { &mut found.claims }.push(user);
        }
        Ok(found)
    }

    async fn user_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users(lookups::USER_BY_EXTERNAL_ID, &[&org_id, &external_id]).await?.pop())
    }

    async fn user_by_grafana_id(&self, org_id: i64, id: i64) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users(lookups::USER_BY_GRAFANA_ID, &[&org_id, &id]).await?.pop())
    }

    async fn users_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<UserRecord>, StoreError> {
        check_ids(ids)?;
        let ids = ids.to_vec();
        self.users_from(&sql::select_user_beside_grafana(lookups::USERS_BY_GRAFANA_IDS), &[&org_id, &ids])
            .await
    }

    async fn users_by_scim_ids(&self, org_id: i64, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        check_ids(ids)?;
        let ids = ids.to_vec();
        self.users(lookups::USERS_BY_IDS, &[&org_id, &ids]).await
    }

    async fn managed_users_by_email(&self, email: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users(lookups::MANAGED_USERS_BY_EMAIL, &[&email.to_lowercase()]).await
    }

    async fn users_by_user_name_any_org(&self, user_name: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users(lookups::USERS_BY_NAME_ANY_ORG, &[&super::name_key(user_name)]).await
    }

    async fn users_by_external_id_any_org(&self, external_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users(lookups::USERS_BY_EXTERNAL_ID_ANY_ORG, &[&external_id]).await
    }

    async fn managed_users_by_external_id_folded(
        &self,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(lookups::MANAGED_USERS_BY_EXTERNAL_ID_FOLDED, &[&external_id]).await
    }

    async fn users_of_grafana_user(&self, grafana_user_id: i64) -> Result<Vec<UserRecord>, StoreError> {
        self.users(lookups::USERS_OF_GRAFANA_USER, &[&grafana_user_id]).await
    }

    async fn is_managed_grafana_user(&self, grafana_user_id: i64) -> Result<bool, StoreError> {
        self.one(sql::IS_MANAGED_USER, &[&grafana_user_id]).await
    }

    async fn is_managed_grafana_uid(&self, grafana_uid: &str) -> Result<bool, StoreError> {
        self.one(sql::IS_MANAGED_UID, &[&grafana_uid]).await
    }

    async fn users_detached(
        &self,
        org_id: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(&lookups::users_detached_page(), &[&org_id, &limit.max(0), &offset.max(0)]).await
    }

    async fn count_users_detached(&self, org_id: i64) -> Result<i64, StoreError> {
        self.one(sql::COUNT_DETACHED_USERS, &[&org_id]).await
    }

    async fn pending_team_members(
        &self,
        org_id: i64,
        grafana_team_id: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(sql::PENDING_TEAM_MEMBERS, &[&org_id, &grafana_team_id]).await
    }

    async fn delete_user_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError> {
        match self.execute(sql::DELETE_USER, &[&org_id, &scim_id]).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn count_users(&self, org_id: i64) -> Result<i64, StoreError> {
        self.one(sql::COUNT_USERS, &[&org_id]).await
    }

    async fn insert_group(&self, group: &GroupRecord) -> Result<(), StoreError> {
        let r = GroupRow::encode(group)?;
        self.execute(sql::INSERT_GROUP, &rows::insert_group_params(&r)).await.map(drop)
    }

    async fn update_group(&self, group: &GroupRecord, expected_version: i64) -> Result<i64, StoreError> {
        let r = GroupRow::encode(group)?;
        let new_version = expected_version + 1;
        let n = self
            .execute(sql::UPDATE_GROUP, &rows::update_group_params(&r, &new_version, &expected_version))
            .await?;
        if n == 0 {
            return Err(self.miss(sql::GROUP_EXISTS, r.org_id, &r.scim_id).await);
        }
        Ok(new_version)
    }

    async fn get_group(&self, org_id: i64, scim_id: &str) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self.groups(lookups::GROUP_BY_ID, &[&org_id, &scim_id]).await?.pop())
    }

    async fn group_by_display_name(
        &self,
        org_id: i64,
        name: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let key = super::name_key(name);
        Ok(self.groups(lookups::GROUP_BY_NAME, &[&org_id, &key]).await?.pop())
    }

    async fn group_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self.groups(lookups::GROUP_BY_EXTERNAL_ID, &[&org_id, &external_id]).await?.pop())
    }

    async fn group_by_grafana_id(&self, org_id: i64, id: i64) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self.groups(lookups::GROUP_BY_GRAFANA_ID, &[&org_id, &id]).await?.pop())
    }

    async fn groups_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<GroupRecord>, StoreError> {
        check_ids(ids)?;
        let ids = ids.to_vec();
        self.groups(lookups::GROUPS_BY_GRAFANA_IDS, &[&org_id, &ids]).await
    }

    async fn is_managed_grafana_team(&self, team_id: i64) -> Result<bool, StoreError> {
        self.one(sql::IS_MANAGED_TEAM_PG, &[&team_id]).await
    }

    async fn live_groups_by_team(&self, team_id: i64) -> Result<Vec<GroupRecord>, StoreError> {
        self.groups(sql::LIVE_GROUPS_BY_TEAM, &[&team_id]).await
    }

    async fn managed_team_by_uid(&self, uid: &str) -> Result<Option<i64>, StoreError> {
        let id: i64 = self.one(sql::MANAGED_TEAM_BY_UID_PG, &[&uid]).await?;
        Ok((id != 0).then_some(id))
    }

    async fn delete_group_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError> {
        match self.execute(sql::DELETE_GROUP, &[&org_id, &scim_id]).await? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    async fn count_groups(&self, org_id: i64) -> Result<i64, StoreError> {
        self.one(sql::COUNT_GROUPS, &[&org_id]).await
    }

    async fn managed_users_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(sql::MANAGED_USERS_PAGE, &[&org_id, &after, &limit.max(0)]).await
    }

    async fn live_groups_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.groups(sql::LIVE_GROUPS_PAGE, &[&org_id, &after, &limit.max(0)]).await
    }

    async fn record_orgs(&self) -> Result<Vec<i64>, StoreError> {
        Ok(self.rows(sql::RECORD_ORGS, &[]).await?.iter().map(|r| r.get::<_, i64>(0)).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.one::<i32>("SELECT 1", &[]).await.map(drop)
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.one("SELECT MAX(version) FROM schema_version", &[]).await
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    async fn lock(&self, key: &str) -> Result<ResourceLock, StoreError> {
        self.advisory(key, false).await
    }

    async fn lock_rw(&self, key: &str, exclusive: bool) -> Result<ResourceLock, StoreError> {
        self.advisory(key, !exclusive).await
    }
}

impl PgStore {
    /// A session advisory lock on `key`, shared or exclusive (the two conflict on one key).
    async fn advisory(&self, key: &str, shared: bool) -> Result<ResourceLock, StoreError> {
        let conn = self.lock_pool.get().await.map_err(|e| with_causes(&e))?;
        // If this future is cancelled while waiting, the connection is dropped back to the pool
        // with the lock request still queued; detach it instead so the server drops the request.
        let mut conn = scopeguard_detach(conn);
        let sql = if shared {
            "SELECT pg_advisory_lock_shared(hashtext($1))"
        } else {
            "SELECT pg_advisory_lock(hashtext($1))"
        };
        let result = conn.get()?.execute(sql, &[&key]).await;
        let conn = conn.defuse()?;
        match result {
            Ok(_) => Ok(ResourceLock::postgres(conn, key.to_owned(), shared)),
            Err(e) => {
                drop(Object::take(conn));
                Err(map_err(e))
            }
        }
    }
}

/// Holds a pooled connection that is detached (closed) if dropped before [`Detach::defuse`].
struct Detach(Option<Object>);

fn scopeguard_detach(conn: Object) -> Detach {
    Detach(Some(conn))
}

impl Detach {
    fn get(&mut self) -> Result<&Object, StoreError> {
        self.0.as_ref().ok_or_else(|| backend("lock connection already released"))
    }

    fn defuse(mut self) -> Result<Object, StoreError> {
        self.0.take().ok_or_else(|| backend("lock connection already released"))
    }
}

impl Drop for Detach {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(Object::take(conn));
        }
    }
}

/// Sets the stored schema version directly (tests of downgrade refusal).
#[cfg(test)]
pub(crate) async fn force_version(url: &str, version: i64) -> Result<(), StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(backend)?;
    let task = tokio::spawn(connection);
    client.execute("UPDATE schema_version SET version = $1", &[&version]).await.map_err(backend)?;
    drop(client);
    let _ = task.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG_BASE: &str = "postgres://postgres@127.0.0.1:5432/test";

    async fn admin(sql: &str) {
        let (client, conn) = tokio_postgres::connect(PG_BASE, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    }

    /// A store whose sessions work in a fresh schema of their own (named by the URL's
    /// `search_path` option); `close` drops the schema.
    pub(super) struct Scratch {
        pub(super) store: PgStore,
        pub(super) schema: String,
    }

    impl Scratch {
        pub(super) async fn open() -> Scratch {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            admin(&format!("CREATE SCHEMA {schema}")).await;
            let url = format!("{PG_BASE}?options=-c%20search_path%3D{schema}");
            Scratch { store: PgStore::open(&url, 2).await.unwrap(), schema }
        }

        pub(super) async fn close(self) {
            drop(self.store);
            admin(&format!("DROP SCHEMA {} CASCADE", self.schema)).await;
        }
    }

    /// Sessions keep the options the URL gives (here `search_path`) and add the store's own
    /// plan-cache mode; the count every unfiltered page runs reads its partial index, not the org.
    #[tokio::test]
    async fn sessions_keep_url_options_and_count_detached_users_by_their_index() {
        let scratch = Scratch::open().await;
        let conn = scratch.store.conn().await.unwrap();
        let path: String = conn.query_one("SHOW search_path", &[]).await.unwrap().get(0);
        assert_eq!(path, scratch.schema);
        let mode: String = conn.query_one("SHOW plan_cache_mode", &[]).await.unwrap().get(0);
        assert_eq!(mode, "force_generic_plan");
        let plan = explain(&conn, sql::COUNT_DETACHED_USERS, &[&1_i64]).await;
        assert!(plan.contains("scim_users_detached_idx"), "{plan}");
        drop(conn);
        scratch.close().await;
    }

    /// The plan PostgreSQL would run for `statement`, one line per node.
    async fn explain(conn: &Object, statement: &str, params: Params<'_>) -> String {
        let rows = conn.query(&format!("EXPLAIN {statement}"), params).await.unwrap();
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
    }
}
