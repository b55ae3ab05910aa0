//! Lock behaviour: exclusivity under load, and a second holder (same store, or on PostgreSQL a
//! second store instance) waiting until the first guard drops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{user, Harness, Kind, PG_BASE};
use crate::store::MappingStore;

pub(super) async fn lock_is_exclusive(h: &Harness) {
    let key = format!("group:{}", uuid::Uuid::new_v4());
    let inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, key, inside) = (h.store.clone(), key.clone(), inside.clone());
        tasks.push(tokio::spawn(async move {
            let _guard = s.lock(&key).await.unwrap();
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
            // Real store work while holding the lock gives other tasks every chance to interleave.
            s.insert_user(&user(9, i, &format!("l{i}"))).await.unwrap();
            tokio::task::yield_now().await;
            inside.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(h.store.count_users(9).await.unwrap(), 8);
}

/// A second holder (same store or, on PostgreSQL, another store instance) waits for the first.
async fn second_holder_waits(h: &Harness, other: Arc<dyn MappingStore>) {
    let key = format!("group:{}", uuid::Uuid::new_v4());
    let first = h.store.lock(&key).await.unwrap();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let k = key.clone();
    let waiter = tokio::spawn(async move {
        let guard = other.lock(&k).await.unwrap();
        let _ = tx.send(());
        guard
    });
    match &h.kind {
        Kind::Postgres { .. } => wait_for_pg_waiter(&key).await,
        Kind::Sqlite { .. } => {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
        }
    }
    assert!(rx.try_recv().is_err(), "second holder got the lock while the first held it");
    drop(first);
    rx.await.unwrap();
    drop(waiter.await.unwrap());
    // Released again: a third acquisition succeeds.
    drop(h.store.lock(&key).await.unwrap());
}

/// Polls `pg_locks` (bounded) until a backend waits for the advisory lock on `key`.
async fn wait_for_pg_waiter(key: &str) {
    let (client, conn) = tokio_postgres::connect(PG_BASE, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    for _ in 0..2000 {
        let n: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND objid = (hashtext($1)::bigint & 4294967295)::oid",
                &[&key],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            drop(client);
            let _ = task.await;
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("no backend ever waited for the advisory lock");
}

pub(super) async fn lock_second_holder_same_store(h: &Harness) {
    second_holder_waits(h, h.store.clone()).await;
}

pub(super) async fn lock_second_holder_other_instance(h: &Harness) {
    let other = match h.kind {
        Kind::Postgres { .. } => h.reopen().await.unwrap(),
        // One process per SQLite file: the same instance is the only meaningful case.
        Kind::Sqlite { .. } => h.store.clone(),
    };
    second_holder_waits(h, other).await;
}

/// A waiter cancelled mid-wait must not leave the lock held once the first holder releases.
pub(super) async fn lock_cancelled_waiter_leaves_no_holder(h: &Harness) {
    let key = format!("group:{}", uuid::Uuid::new_v4());
    let first = h.store.lock(&key).await.unwrap();
    let (s, k) = (h.store.clone(), key.clone());
    let waiter = tokio::spawn(async move { drop(s.lock(&k).await) });
    if let Kind::Postgres { .. } = h.kind {
        wait_for_pg_waiter(&key).await;
    }
    waiter.abort();
    let _ = waiter.await;
    drop(first);
    // Bounded so a leaked holder fails the test instead of hanging it.
    let third = tokio::time::timeout(std::time::Duration::from_secs(60), h.store.lock(&key)).await;
    assert!(matches!(third, Ok(Ok(_))), "lock never became free after a cancelled waiter");
}

/// `lock_rw`: shared holders (group member writes) coexist, an exclusive one (a deactivation),
/// also from another instance (replica), waits for them, and a shared one waits for it.
pub(super) async fn rw_lock_exclusive_waits_for_shared_across_instances(h: &Harness) {
    let other = match h.kind {
        Kind::Postgres { .. } => h.reopen().await.unwrap(),
        Kind::Sqlite { .. } => h.store.clone(),
    };
    let key = format!("user-access-{}", uuid::Uuid::new_v4());
    let r1 = h.store.lock_rw(&key, false).await.unwrap();
    let r2 = other.lock_rw(&key, false).await.unwrap();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let (o, k) = (other.clone(), key.clone());
    let writer = tokio::spawn(async move {
        let guard = o.lock_rw(&k, true).await.unwrap();
        let _ = tx.send(());
        guard
    });
    settle(h, &key).await;
    assert!(rx.try_recv().is_err(), "exclusive granted while shared holders held it");
    drop(r1);
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(rx.try_recv().is_err(), "exclusive granted while one shared holder remained");
    drop(r2);
    rx.await.unwrap();
    let w = writer.await.unwrap();
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let (s, k) = (h.store.clone(), key.clone());
    let reader = tokio::spawn(async move {
        let guard = s.lock_rw(&k, false).await.unwrap();
        let _ = tx.send(());
        guard
    });
    settle(h, &key).await;
    assert!(rx.try_recv().is_err(), "shared granted while exclusive held it");
    drop(w);
    rx.await.unwrap();
    drop(reader.await.unwrap());
}

async fn settle(h: &Harness, key: &str) {
    match &h.kind {
        Kind::Postgres { .. } => wait_for_pg_waiter(key).await,
        Kind::Sqlite { .. } => {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
        }
    }
}
