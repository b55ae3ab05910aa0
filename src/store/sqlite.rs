//! SQLite backend: rusqlite with one writer connection and a few read-only connections.
//!
//! The writer connection commits queued writes together ([`writer`]; SQLite has one writer at a
//! time anyway, so serialising writes in process avoids `SQLITE_BUSY` retries); WAL mode lets
//! the read-only connections run beside it. Point lookups (one probe of a unique or narrow index)
//! run on the calling task: they take microseconds, less than a hop to the blocking pool and back.
//! They use the writer connection whenever no commit holds it, since its page cache survives the
//! commits it makes, and a free reader otherwise. Scans, counts and id lists go to the blocking
//! pool's readers. Only one process may use a SQLite file, which is why `lock` is an in-process
//! keyed mutex.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::Value as V;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

mod audit;
mod checkpoint;
mod rows;
pub(crate) mod transfer;
mod writer;

use self::checkpoint::Checkpointer;
use self::rows::{check_ids, id_list_filter, miss, query_groups, query_users, s};
use self::writer::Writer;
use super::lock::{LocalLocks, LocalRwLocks};
use super::migrations::{self, LATEST};
use super::sql::{self, GroupRow, UserRow};
use super::{GroupRecord, MappingStore, ResourceLock, StoreError, UserRecord};

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers beyond this add nothing on two-core machines and cost file descriptors.
const MAX_READERS: usize = 8;
/// Prepared statements kept per connection: every distinct query text the store runs fits.
const STATEMENT_CACHE: usize = 64;
/// Page cache per connection, in KiB (`PRAGMA cache_size`). SQLite's default, 2 MiB for every
/// connection, let eight readers, the writer and the checkpointer grow the process by up to
/// 20 MiB as the directory grew (issue 30: memory must not follow the directory). A reader's
/// miss is a `pread` the kernel's page cache serves; the writer keeps more, for the index pages
/// every insert walks.
pub(super) const WRITER_CACHE_KIB: i64 = 2048;
const READER_CACHE_KIB: i64 = 512;
pub(super) const CHECKPOINT_CACHE_KIB: i64 = 256;
/// Stay well below SQLite's bound-parameter limit.
const IN_CHUNK: usize = 500;
/// Rows of an `insert_users` batch counted as one single-row commit towards the next WAL
/// checkpoint. An import page's first sightings come in Grafana's login order with new ids that
/// sort by time, so they share index pages: 100 of them fill about 20 WAL pages, what three
/// single-row commits fill (7–8 each). Counted one per row, they set off a checkpoint (two
/// `fsync`s) every 2.6 pages of an import. Unrelated users (a group's members seen first) fill
/// about two pages a row; for them the log grows about two and a half times as far.
const ROWS_PER_LOG_SHARE: usize = 8;
/// Most keys a batch lookup probes on the calling task (see `SqliteStore::lookup_many`).
const LOOKUP_ON_TASK_MAX_KEYS: usize = 100;

type Shared = Arc<Mutex<Connection>>;

pub(crate) struct SqliteStore {
    writer: Writer,
    readers: Vec<Shared>,
    next_reader: AtomicUsize,
    locks: LocalLocks,
    rw_locks: LocalRwLocks,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Unique violations become `Conflict`; everything else is a backend error.
fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
            return StoreError::Conflict { constraint: sql::constraint_from_sqlite_message(msg) };
        }
    }
    backend(e)
}

/// Settings every connection gets. `temp_store = MEMORY` keeps statement journals and temporary
/// b-trees in memory: on a file they spill to disk past 64 KiB (when every writer job still ran
/// in a savepoint, a page of first sightings wrote megabytes through the kernel that way).
/// `cache_kib` bounds the connection's page cache.
fn configure(conn: &Connection, cache_kib: i64) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -{cache_kib};"
    ))
    .map_err(backend)
}

/// Puts the file in WAL mode. Switching a new file takes an exclusive lock and SQLite does not
/// wait for it (the busy handler is not called), so another process opening the same file at
/// the same moment (a replica starting, `check` beside `serve`) made this fail with "database is
/// locked": it is retried until the busy timeout.
fn enable_wal(conn: &Connection) -> Result<(), StoreError> {
    let start = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(backend(e)),
        }
    }
}

impl SqliteStore {
    pub(crate) async fn open_file(path: &str, max_connections: usize) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let readers = max_connections.clamp(1, MAX_READERS);
        tokio::task::spawn_blocking(move || {
            let mut writer = Connection::open(&path).map_err(backend)?;
            // The busy timeout first: the migrations' transactions wait on it (switching to WAL
            // does not, so `enable_wal` retries by itself).
            configure(&writer, WRITER_CACHE_KIB)?;
            enable_wal(&writer)?;
            run_migrations(&mut writer)?;
            let checkpointer = Checkpointer::start(&path)?;
            writer.execute_batch("PRAGMA wal_autocheckpoint = 0").map_err(backend)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI;
            let readers = (0..readers)
                .map(|_| {
                    let conn = Connection::open_with_flags(&path, flags).map_err(backend)?;
                    configure(&conn, READER_CACHE_KIB)?;
                    Ok(Arc::new(Mutex::new(conn)))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Self::from_parts(writer, readers, Some(checkpointer))
        })
        .await
        .map_err(backend)?
    }

    /// A private in-memory database for tests; readers share the writer connection.
    pub(crate) async fn open_memory() -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory().map_err(backend)?;
        configure(&conn, WRITER_CACHE_KIB)?;
        run_migrations(&mut conn)?;
        Self::from_parts(conn, Vec::new(), None)
    }

    fn from_parts(
        writer: Connection,
        readers: Vec<Shared>,
        checkpointer: Option<Checkpointer>,
    ) -> Result<Self, StoreError> {
        let writer = Arc::new(Mutex::new(writer));
        let readers = if readers.is_empty() { vec![writer.clone()] } else { readers };
        let writer = Writer::start(writer, checkpointer)?;
        Ok(Self {
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
            locks: LocalLocks::default(),
            rw_locks: LocalRwLocks::default(),
        })
    }

    /// Runs `f` on the blocking pool with the next reader connection (round robin).
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }

    /// Runs a point lookup `f` right here on the writer connection when no commit holds it (its
    /// cache is warm: [`Writer::try_read`]), else on the first free reader; when every reader is
    /// busy, on the blocking pool like [`Self::read`]. Only for queries that probe an index for
    /// a row or two, or up to a page of keys ([`Self::lookup_many`]): anything longer would hold
    /// up the async worker, or the next commit.
    async fn lookup<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if let Some(mut conn) = self.writer.try_read() {
            return f(&mut conn);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..self.readers.len() {
            if let Ok(mut conn) = self.readers[(start + k) % self.readers.len()].try_lock() {
                return f(&mut conn);
            }
        }
        self.read(f).await
    }

    /// A lookup of `keys` rows by a unique key: up to a page of them (an import page, a group's
    /// members) as a point lookup ([`Self::lookup`], on the writer's warm cache when it is free:
    /// a read-only connection re-reads its pages after every commit), more on the blocking pool.
    async fn lookup_many<T, F>(&self, keys: usize, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if keys <= LOOKUP_ON_TASK_MAX_KEYS {
            self.lookup(f).await
        } else {
            self.read(f).await
        }
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// Users matching `filter`, a point lookup on an indexed column.
    async fn users(
        &self,
        filter: &'static str,
        p: Vec<rusqlite::types::Value>,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.lookup(move |c| query_users(c, &sql::select_user(filter), &p)).await
    }

    /// Groups matching `filter`, a point lookup on an indexed column.
    async fn groups(
        &self,
        filter: &'static str,
        p: Vec<rusqlite::types::Value>,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.lookup(move |c| query_groups(c, &sql::select_group(filter), &p)).await
    }

    /// A single number; counts may walk an index, so they go to the blocking pool.
    async fn scalar_i64(&self, q: &'static str, p: Vec<rusqlite::types::Value>) -> Result<i64, StoreError> {
        self.read(move |c| scalar(c, q, &p)).await
    }

    /// A single number from a point lookup (an `EXISTS` probe).
    async fn probe(&self, q: &'static str, p: Vec<rusqlite::types::Value>) -> Result<i64, StoreError> {
        self.lookup(move |c| scalar(c, q, &p)).await
    }
}

fn scalar(c: &Connection, q: &str, p: &[rusqlite::types::Value]) -> Result<i64, StoreError> {
    let mut stmt = c.prepare_cached(q).map_err(map_err)?;
    stmt.query_row(rusqlite::params_from_iter(p), |r| r.get(0)).map_err(map_err)
}

fn run_migrations(conn: &mut Connection) -> Result<i64, StoreError> {
    migrations::check_contiguous(migrations::SQLITE).map_err(StoreError::Migration)?;
    let mig = |e: rusqlite::Error| StoreError::Migration(e.to_string());
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
         INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
    )
    .map_err(mig)?;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(mig)?;
        let current: i64 =
            tx.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0)).map_err(mig)?;
        if current > LATEST {
            return Err(migrations::too_new(current));
        }
        let Some(step) = migrations::SQLITE.iter().find(|s| s.version == current + 1) else {
            return Ok(current);
        };
        tx.execute_batch(step.sql).map_err(mig)?;
        tx.execute("UPDATE schema_version SET version = ?1", [step.version]).map_err(mig)?;
        tx.commit().map_err(mig)?;
        tracing::info!(version = step.version, "sqlite store migrated");
    }
}

#[async_trait]
impl MappingStore for SqliteStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let r = UserRow::encode(user)?;
        self.write(move |c| rows::insert_user(c, &r)).await
    }

    async fn insert_users(&self, users: &[UserRecord]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let rows = users.iter().map(UserRow::encode).collect::<Result<Vec<_>, _>>()?;
        // One statement per row and no savepoint: SQLite checks a single-row INSERT's unique keys
        // before it writes anything, and a failing statement is undone alone (ABORT keeps the
        // transaction's earlier statements), so a clashing row fails by itself.
        let (n, share) = (rows.len(), rows.len().div_ceil(ROWS_PER_LOG_SHARE));
        self.writer.run_rows_filling(n, share, move |c| rows::insert_users(c, &rows)).await
    }

    async fn update_user(&self, user: &UserRecord, expected_version: i64) -> Result<i64, StoreError> {
        let r = UserRow::encode(user)?;
        let new_version = expected_version + 1;
        self.write(move |c| {
            let n = rows::update_user(c, &r, new_version, expected_version)?;
            if n == 0 {
                return Err(miss(c, sql::USER_EXISTS, r.org_id, &r.scim_id));
            }
            Ok(new_version)
        })
        .await
    }

    async fn get_user(&self, org_id: i64, scim_id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users("org_id = $1 AND scim_id = $2", vec![V::Integer(org_id), s(scim_id)]).await?.pop())
    }

    async fn user_by_user_name(
        &self,
        org_id: i64,
        user_name: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let key = super::name_key(user_name);
        Ok(self
            .users("org_id = $1 AND user_name_key = $2", vec![V::Integer(org_id), V::Text(key)])
            .await?
            .pop())
    }

    async fn users_claiming(
        &self,
        org_id: i64,
        user_name: &str,
        external_id: Option<&str>,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let ext = external_id.map_or(V::Null, s);
        let p = vec![V::Integer(org_id), V::Text(super::name_key(user_name)), ext];
        self.users("org_id = $1 AND (user_name_key = $2 OR external_id = $3)", p).await
    }

    async fn user_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .users("org_id = $1 AND external_id = $2", vec![V::Integer(org_id), s(external_id)])
            .await?
            .pop())
    }

    async fn user_by_grafana_id(&self, org_id: i64, id: i64) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .users("org_id = $1 AND grafana_user_id = $2", vec![V::Integer(org_id), V::Integer(id)])
            .await?
            .pop())
    }

    async fn users_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<UserRecord>, StoreError> {
        check_ids(ids)?;
        let chunks: Vec<Vec<i64>> = ids.chunks(IN_CHUNK).map(<[i64]>::to_vec).collect();
        let f = move |c: &mut Connection| {
            let mut out = Vec::new();
            for chunk in chunks {
                let q = sql::select_user_beside_grafana(&id_list_filter("grafana_user_id", chunk.len()));
                let p: Vec<V> = std::iter::once(org_id).chain(chunk).map(V::Integer).collect();
                out.extend(query_users(c, &q, &p)?);
            }
            Ok(out)
        };
        self.lookup_many(ids.len(), f).await
    }

    async fn users_by_scim_ids(&self, org_id: i64, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        check_ids(ids)?;
        let chunks: Vec<Vec<String>> = ids.chunks(IN_CHUNK).map(<[String]>::to_vec).collect();
        let f = move |c: &mut Connection| {
            let mut out = Vec::new();
            for chunk in chunks {
                let q = sql::select_user(&id_list_filter("scim_id", chunk.len()));
                let p: Vec<V> =
                    std::iter::once(V::Integer(org_id)).chain(chunk.into_iter().map(V::Text)).collect();
                out.extend(query_users(c, &q, &p)?);
            }
            Ok(out)
        };
        self.lookup_many(ids.len(), f).await
    }

    async fn managed_users_by_email(&self, email: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users("email = $1 AND managed", vec![V::Text(email.to_lowercase())]).await
    }

    async fn users_by_user_name_any_org(&self, user_name: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users("user_name_key = $1", vec![V::Text(super::name_key(user_name))]).await
    }

    async fn users_by_external_id_any_org(&self, external_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        self.users("external_id = $1", vec![s(external_id)]).await
    }

    async fn managed_users_by_external_id_folded(
        &self,
        external_id: &str,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(sql::EXTERNAL_ID_FOLDED_SQLITE, vec![s(external_id)]).await
    }

    async fn users_of_grafana_user(&self, grafana_user_id: i64) -> Result<Vec<UserRecord>, StoreError> {
        self.users("grafana_user_id = $1", vec![V::Integer(grafana_user_id)]).await
    }

    async fn is_managed_grafana_user(&self, grafana_user_id: i64) -> Result<bool, StoreError> {
        Ok(self.probe(sql::IS_MANAGED_USER, vec![V::Integer(grafana_user_id)]).await? != 0)
    }

    async fn is_managed_grafana_uid(&self, grafana_uid: &str) -> Result<bool, StoreError> {
        Ok(self.probe(sql::IS_MANAGED_UID, vec![s(grafana_uid)]).await? != 0)
    }

    async fn users_detached(
        &self,
        org_id: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let q = sql::select_user(&format!(
            "{} ORDER BY user_name_key, scim_id LIMIT $2 OFFSET $3",
            sql::DETACHED_USERS
        ));
        let p = vec![V::Integer(org_id), V::Integer(limit.max(0)), V::Integer(offset.max(0))];
        self.read(move |c| query_users(c, &q, &p)).await
    }

    async fn count_users_detached(&self, org_id: i64) -> Result<i64, StoreError> {
        self.scalar_i64(sql::COUNT_DETACHED_USERS, vec![V::Integer(org_id)]).await
    }

    async fn pending_team_members(
        &self,
        org_id: i64,
        grafana_team_id: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users(sql::PENDING_TEAM_MEMBERS, vec![V::Integer(org_id), V::Integer(grafana_team_id)]).await
    }

    async fn delete_user_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError> {
        let id = scim_id.to_owned();
        let n =
            self.write(move |c| c.execute(sql::DELETE_USER, params![org_id, id]).map_err(map_err)).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_users(&self, org_id: i64) -> Result<i64, StoreError> {
        self.scalar_i64(sql::COUNT_USERS, vec![V::Integer(org_id)]).await
    }

    async fn insert_group(&self, group: &GroupRecord) -> Result<(), StoreError> {
        let r = GroupRow::encode(group)?;
        self.write(move |c| rows::insert_group(c, &r)).await
    }

    async fn update_group(&self, group: &GroupRecord, expected_version: i64) -> Result<i64, StoreError> {
        let r = GroupRow::encode(group)?;
        let new_version = expected_version + 1;
        self.write(move |c| {
            let n = rows::update_group(c, &r, new_version, expected_version)?;
            if n == 0 {
                return Err(miss(c, sql::GROUP_EXISTS, r.org_id, &r.scim_id));
            }
            Ok(new_version)
        })
        .await
    }

    async fn get_group(&self, org_id: i64, scim_id: &str) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self.groups("org_id = $1 AND scim_id = $2", vec![V::Integer(org_id), s(scim_id)]).await?.pop())
    }

    async fn group_by_display_name(
        &self,
        org_id: i64,
        name: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let key = super::name_key(name);
        Ok(self
            .groups("org_id = $1 AND display_name_key = $2", vec![V::Integer(org_id), V::Text(key)])
            .await?
            .pop())
    }

    async fn group_by_external_id(
        &self,
        org_id: i64,
        external_id: &str,
    ) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self
            .groups("org_id = $1 AND external_id = $2", vec![V::Integer(org_id), s(external_id)])
            .await?
            .pop())
    }

    async fn group_by_grafana_id(&self, org_id: i64, id: i64) -> Result<Option<GroupRecord>, StoreError> {
        Ok(self
            .groups("org_id = $1 AND grafana_team_id = $2", vec![V::Integer(org_id), V::Integer(id)])
            .await?
            .pop())
    }

    async fn groups_by_grafana_ids(&self, org_id: i64, ids: &[i64]) -> Result<Vec<GroupRecord>, StoreError> {
        check_ids(ids)?;
        let chunks: Vec<Vec<i64>> = ids.chunks(IN_CHUNK).map(<[i64]>::to_vec).collect();
        self.read(move |c| {
            let mut out = Vec::new();
            for chunk in chunks {
                let q = sql::select_group(&id_list_filter("grafana_team_id", chunk.len()));
                let p: Vec<V> = std::iter::once(org_id).chain(chunk).map(V::Integer).collect();
                out.extend(query_groups(c, &q, &p)?);
            }
            Ok(out)
        })
        .await
    }

    async fn is_managed_grafana_team(&self, team_id: i64) -> Result<bool, StoreError> {
        Ok(self.probe(sql::IS_MANAGED_TEAM_SQLITE, vec![V::Integer(team_id)]).await? != 0)
    }

    async fn live_groups_by_team(&self, team_id: i64) -> Result<Vec<GroupRecord>, StoreError> {
        self.groups(sql::LIVE_GROUPS_BY_TEAM, vec![V::Integer(team_id)]).await
    }

    async fn managed_team_by_uid(&self, uid: &str) -> Result<Option<i64>, StoreError> {
        let id = self.probe(sql::MANAGED_TEAM_BY_UID_SQLITE, vec![s(uid)]).await?;
        Ok((id != 0).then_some(id))
    }

    async fn delete_group_record(&self, org_id: i64, scim_id: &str) -> Result<(), StoreError> {
        let id = scim_id.to_owned();
        let n =
            self.write(move |c| c.execute(sql::DELETE_GROUP, params![org_id, id]).map_err(map_err)).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_groups(&self, org_id: i64) -> Result<i64, StoreError> {
        self.scalar_i64(sql::COUNT_GROUPS, vec![V::Integer(org_id)]).await
    }

    async fn managed_users_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let p = vec![V::Integer(org_id), s(after), V::Integer(limit.max(0))];
        self.users(sql::MANAGED_USERS_PAGE, p).await
    }

    async fn live_groups_page(
        &self,
        org_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.groups(sql::LIVE_GROUPS_PAGE, vec![V::Integer(org_id), s(after), V::Integer(limit.max(0))]).await
    }

    async fn record_orgs(&self) -> Result<Vec<i64>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(sql::RECORD_ORGS).map_err(map_err)?;
            let rows = stmt.query_map([], |r| r.get::<_, i64>(0)).map_err(map_err)?;
            rows.collect::<Result<Vec<i64>, _>>().map_err(map_err)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.scalar_i64("SELECT 1", Vec::new()).await.map(drop)
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        self.scalar_i64("SELECT MAX(version) FROM schema_version", Vec::new()).await
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn lock(&self, key: &str) -> Result<ResourceLock, StoreError> {
        Ok(self.locks.lock(key).await)
    }

    async fn lock_rw(&self, key: &str, exclusive: bool) -> Result<ResourceLock, StoreError> {
        Ok(self.rw_locks.lock(key, exclusive).await)
    }
}

/// Sets the stored schema version directly (tests of downgrade refusal).
#[cfg(test)]
pub(crate) fn force_version(path: &str, version: i64) -> Result<(), StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.execute("UPDATE schema_version SET version = ?1", [version]).map_err(backend)?;
    Ok(())
}

#[cfg(test)]
mod upgrade_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// The probes that run per passthrough write, the create path's lookups and the per-page
    /// detached-user count must search an index: a scan would cost time in proportion to the
    /// number of users.
    #[test]
    fn probes_and_lookups_search_an_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_migrations(&mut conn).unwrap();
        let queries = [
            sql::IS_MANAGED_USER.to_string(),
            sql::IS_MANAGED_UID.to_string(),
            sql::IS_MANAGED_TEAM_SQLITE.to_string(),
            sql::select_user("org_id = $1 AND (user_name_key = $2 OR external_id = $3)"),
            sql::select_user("org_id = $1 AND scim_id = $2"),
            sql::select_user("org_id = $1 AND grafana_user_id = $2"),
            // Partial indexes (step 5): the conditions must imply theirs.
            sql::select_user("org_id = $1 AND external_id = $2"),
            sql::select_user("external_id = $1"),
            sql::select_user("email = $1 AND managed"),
            sql::select_user(sql::EXTERNAL_ID_FOLDED_SQLITE),
            sql::select_group("org_id = $1 AND display_name_key = $2"),
            sql::select_user(sql::PENDING_TEAM_MEMBERS),
        ];
        // Counted on every unfiltered page, and listed at the end of the last one: a search of
        // the org by `org_id` would pass the checks above yet read every user in it.
        let detached = [
            sql::COUNT_DETACHED_USERS.to_string(),
            sql::select_user(&format!(
                "{} ORDER BY user_name_key, scim_id LIMIT $2 OFFSET $3",
                sql::DETACHED_USERS
            )),
        ];
        for q in queries.into_iter().chain(detached.clone()) {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {q}")).unwrap();
            let p: Vec<V> =
                (1..=stmt.parameter_count()).map(|i| V::Integer(i64::try_from(i).unwrap())).collect();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(p), |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(plan.iter().any(|s| s.starts_with("SEARCH")), "{q}: {plan:?}");
            assert!(!plan.iter().any(|s| s.starts_with("SCAN scim_")), "{q}: {plan:?}");
            if detached.contains(&q) {
                assert!(plan.iter().any(|s| s.contains("scim_users_detached_idx")), "{q}: {plan:?}");
                assert!(!plan.iter().any(|s| s.contains("TEMP B-TREE")), "{q}: {plan:?}");
            }
        }
    }

    /// With SQLite's own checkpoints off, the checkpoint thread alone keeps the log short. Without
    /// rewinds, 3,000 single-row commits leave a WAL of about 125 MiB; with them it holds one
    /// interval plus what is committed while a checkpoint copies (a few MiB on an idle machine,
    /// more when the tests compete for two cores). The rows also reach the database file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkpoint_thread_bounds_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db").to_string_lossy().into_owned();
        let store = SqliteStore::open_file(&path, 4).await.unwrap();
        let wal = |p: &str| std::fs::metadata(format!("{p}-wal")).map_or(0, |m| m.len());
        let empty = std::fs::metadata(&path).unwrap().len();
        let mut largest = 0;
        for i in 0..3_000 {
            store.insert_user(&crate::store::tests::user(1, i, &format!("user{i}"))).await.unwrap();
            largest = largest.max(wal(&path));
        }
        assert!(largest < 48 << 20, "the WAL grew to {largest} bytes");
        // Every interval but the last is copied back: well over 256 KiB of rows and index entries.
        let copied = std::fs::metadata(&path).unwrap().len().saturating_sub(empty);
        assert!(copied > 256 << 10, "only {copied} bytes reached the database file");
        assert_eq!(store.count_users(1).await.unwrap(), 3_000);
    }

    /// Processes that open one new file at once (a replica starting beside another, `check`
    /// beside `serve`) wait for each other instead of failing with "database is locked": the
    /// busy timeout is set before the first statement that needs a lock, and the migrations
    /// run once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_opens_of_a_new_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..30 {
            let path = dir.path().join(format!("race{round}.db")).to_string_lossy().into_owned();
            let opens: Vec<_> = (0..4)
                .map(|_| {
                    let path = path.clone();
                    tokio::spawn(async move { SqliteStore::open_file(&path, 1).await.map(drop) })
                })
                .collect();
            for open in opens {
                open.await.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            let conn = Connection::open(&path).unwrap();
            let versions: Vec<i64> = conn
                .prepare("SELECT version FROM schema_version")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(versions, vec![LATEST], "round {round}");
        }
    }

    /// Import pages' batches count by the WAL they fill, not by their rows: the checkpoint
    /// thread still bounds the log and copies the rows back into the database file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkpoints_keep_up_with_batches_of_first_sightings() {
        use crate::provision::identity::unmanaged_user_record;
        use crate::provision::translate::GrafanaUserView;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pages.db").to_string_lossy().into_owned();
        let store = SqliteStore::open_file(&path, 4).await.unwrap();
        let wal = |p: &str| std::fs::metadata(format!("{p}-wal")).map_or(0, |m| m.len());
        let empty = std::fs::metadata(&path).unwrap().len();
        let mut largest = 0;
        for page in 0..200i64 {
            let records: Vec<UserRecord> = (0..100)
                .map(|i| {
                    let id = page * 100 + i + 1;
                    unmanaged_user_record(
                        1,
                        &GrafanaUserView {
                            id,
                            uid: Some(format!("u{id:06}")),
                            login: format!("user{id:06}"),
                            email: format!("user{id:06}@example.com"),
                            name: format!("User {id}"),
                            disabled: false,
                        },
                    )
                })
                .collect();
            let outcomes = store.insert_users(&records).await.unwrap();
            assert!(outcomes.iter().all(Result::is_ok));
            largest = largest.max(wal(&path));
        }
        assert!(largest < 48 << 20, "the WAL grew to {largest} bytes");
        let copied = std::fs::metadata(&path).unwrap().len().saturating_sub(empty);
        assert!(copied > 1 << 20, "only {copied} bytes reached the database file");
        assert_eq!(store.count_users(1).await.unwrap(), 20_000);
    }
}
