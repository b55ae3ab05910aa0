//! The SQLite writer thread: every write of a [`super::SqliteStore`] runs here, one at a time, and
//! writes that queue up while a batch runs are committed together (group commit).
//!
//! SQLite has one writer per database. Handing each write to the blocking pool made concurrent
//! writers contend for the writer connection's mutex (a futex wait and a context switch per
//! contended write) and paid one commit, with its WAL append, per row. Here the thread takes
//! every queued job (up to [`MAX_BATCH`]), runs each inside its own savepoint within one
//! `BEGIN IMMEDIATE … COMMIT`, and only then answers the callers. A job that fails (a unique
//! violation, say) is rolled back to its savepoint alone; the others still commit. When the commit
//! itself fails, every job in the batch gets that error, and nothing of the batch is kept.
//! A caller learns that its write succeeded only once it is committed.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::PoisonError;

use rusqlite::Connection;

use super::checkpoint::Checkpointer;
use super::{backend, Shared};
use crate::store::StoreError;

/// Most jobs committed in one transaction; keeps a batch's latency bounded under heavy load.
const MAX_BATCH: usize = 128;

/// Tells a caller how its job ended: `Ok` once its batch committed, or the commit's error.
type Finish = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// Runs a job inside its savepoint and returns how to answer its caller.
type Job = Box<dyn FnOnce(&mut Connection) -> Finish + Send>;

/// The handle the store keeps; the thread stops when it is dropped.
pub(crate) struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the thread that owns all writes to `conn`. With a `checkpointer`, that thread
    /// keeps the log short (the caller has turned SQLite's automatic checkpoints off).
    pub(crate) fn start(conn: Shared, checkpointer: Option<Checkpointer>) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || work(&conn, &queue, checkpointer))
            .map_err(backend)?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the writer connection and waits until its batch is committed.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |commit: Result<(), &StoreError>| {
                let answer = match commit {
                    Ok(()) => outcome,
                    Err(e) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                };
                // The caller may have gone away; its write stands (or not) all the same.
                let _ = tx.send(answer);
            })
        });
        self.jobs.send(job).map_err(|_| backend("the sqlite writer has stopped"))?;
        rx.await.map_err(|_| backend("the sqlite writer has stopped"))?
    }
}

/// One job inside `SAVEPOINT job`: released when it succeeds, rolled back alone when it fails.
fn in_savepoint<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT job").map_err(backend)?;
    let result = f(conn);
    let end = if result.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    match conn.execute_batch(end) {
        Ok(()) => result,
        Err(e) => Err(backend(e)),
    }
}

fn work(conn: &Shared, queue: &Receiver<Job>, mut checkpointer: Option<Checkpointer>) {
    // `recv` fails once the store (the only sender) is gone.
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = &checkpointer {
            c.before_batch(&conn);
        }
        let jobs = batch.len();
        commit_batch(&mut conn, batch);
        drop(conn);
        if let Some(c) = &mut checkpointer {
            c.after_batch(jobs);
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Cannot open the shared transaction: each job's savepoint becomes its own transaction.
        tracing::warn!(error = %e, "sqlite batch could not begin; committing writes one by one");
        for job in batch {
            job(conn)(Ok(()));
        }
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        finishes.push(job(conn));
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk): what ran so
            // far is lost, and the remaining jobs each get a transaction of their own.
            let err = backend("sqlite rolled back the batch");
            tracing::warn!(error = %err, jobs = finishes.len(), "sqlite batch lost");
            finishes.into_iter().for_each(|finish| finish(Err(&err)));
            for job in jobs {
                job(conn)(Ok(()));
            }
            return;
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => finishes.into_iter().for_each(|finish| finish(Ok(()))),
        Err(e) => {
            let err = backend(e);
            tracing::warn!(error = %err, jobs = finishes.len(), "sqlite batch commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            finishes.into_iter().for_each(|finish| finish(Err(&err)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn open(dir: &tempfile::TempDir) -> (Writer, Connection) {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER NOT NULL UNIQUE);").unwrap();
        let writer = Writer::start(Arc::new(Mutex::new(conn)), None).unwrap();
        (writer, Connection::open(&path).unwrap())
    }

    fn insert(x: i64) -> impl FnOnce(&mut Connection) -> Result<usize, StoreError> {
        move |c| c.execute("INSERT INTO t (x) VALUES (?1)", [x]).map_err(backend)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_commit_and_a_failing_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let writer = Arc::new(writer);
        // 200 writers, every fourth repeating a value another one writes: the repeats fail,
        // whichever batch they land in, and nothing else does.
        let tasks: Vec<_> = (0..200i64)
            .map(|i| {
                let w = writer.clone();
                let x = if i % 4 == 3 { i - 1 } else { i };
                tokio::spawn(async move { w.run(insert(x)).await })
            })
            .collect();
        let mut ok = 0;
        let mut failed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(1) => ok += 1,
                Ok(n) => panic!("inserted {n} rows"),
                Err(_) => failed += 1,
            }
        }
        assert_eq!((ok, failed), (150, 50));
        let rows: i64 = reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 150);
    }

    #[tokio::test]
    async fn a_write_is_visible_to_other_connections_once_answered() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        for x in 0..20 {
            writer.run(insert(x)).await.unwrap();
            let seen: i64 =
                reader.query_row("SELECT COUNT(*) FROM t WHERE x = ?1", [x], |r| r.get(0)).unwrap();
            assert_eq!(seen, 1);
        }
        let err = writer.run(insert(3)).await.unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        // The writer is still usable after a failed job.
        assert_eq!(writer.run(insert(99)).await.unwrap(), 1);
    }
}
