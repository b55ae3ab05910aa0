//! [`ResourceLock`]: the guard returned by `MappingStore::lock`, and the in-process keyed mutex
//! used by the SQLite backend (and by user creates, whatever the backend).
//!
//! The PostgreSQL variant holds a pooled connection with a session advisory lock. Dropping the
//! guard unlocks on a spawned task and returns the connection to the pool; if that is impossible
//! (no runtime, unlock failed) the connection is detached and closed, which also releases the
//! lock, so a pooled connection never keeps a stale lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

/// Held while the caller works on a locked resource; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ResourceLock {
    inner: Inner,
}

enum Inner {
    Local(#[allow(dead_code)] OwnedMutexGuard<()>),
    LocalRead(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    LocalWrite(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
    Postgres { conn: Option<Box<deadpool_postgres::Object>>, key: String, shared: bool },
}

impl std::fmt::Debug for ResourceLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Local(_) | Inner::LocalRead(_) | Inner::LocalWrite(_) => "local",
            Inner::Postgres { .. } => "postgres",
        };
        f.debug_struct("ResourceLock").field("kind", &kind).finish()
    }
}

impl ResourceLock {
    pub(crate) fn postgres(conn: deadpool_postgres::Object, key: String, shared: bool) -> Self {
        Self { inner: Inner::Postgres { conn: Some(Box::new(conn)), key, shared } }
    }
}

impl Drop for ResourceLock {
    fn drop(&mut self) {
        let Inner::Postgres { conn, key, shared } = &mut self.inner else { return };
        let Some(conn) = conn.take().map(|b| *b) else { return };
        let key = std::mem::take(key);
        let sql = if *shared {
            "SELECT pg_advisory_unlock_shared(hashtext($1))"
        } else {
            "SELECT pg_advisory_unlock(hashtext($1))"
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    let unlocked = conn.query_one(sql, &[&key]).await.map(|row| row.get::<_, bool>(0));
                    if !matches!(unlocked, Ok(true)) {
                        tracing::warn!("advisory unlock failed, closing the connection");
                        drop(deadpool_postgres::Object::take(conn));
                    }
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(conn)),
        }
    }
}

/// Keyed async mutexes for one process. Entries whose mutex nobody holds are pruned lazily.
#[derive(Debug, Default)]
pub(crate) struct LocalLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

const PRUNE_THRESHOLD: usize = 1024;

impl LocalLocks {
    pub(crate) async fn lock(&self, key: &str) -> ResourceLock {
        let mutex = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= PRUNE_THRESHOLD {
                // Only the map holds these: nobody waits on or holds them.
                map.retain(|_, m| Arc::strong_count(m) > 1);
            }
            map.entry(key.to_owned()).or_default().clone()
        };
        ResourceLock { inner: Inner::Local(mutex.lock_owned().await) }
    }
}

/// Keyed async readers-writer locks for one process (a key space of their own, apart from
/// [`LocalLocks`]). Entries nobody holds are pruned lazily.
#[derive(Debug, Default)]
pub(crate) struct LocalRwLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::RwLock<()>>>>,
}

impl LocalRwLocks {
    pub(crate) async fn lock(&self, key: &str, exclusive: bool) -> ResourceLock {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= PRUNE_THRESHOLD {
                map.retain(|_, m| Arc::strong_count(m) > 1);
            }
            map.entry(key.to_owned()).or_default().clone()
        };
        let inner = if exclusive {
            Inner::LocalWrite(lock.write_owned().await)
        } else {
            Inner::LocalRead(lock.read_owned().await)
        };
        ResourceLock { inner }
    }
}
