//! Writes of a [`super::SqliteStore`]: one at a time on the writer connection, and writes that
//! queue up while a batch runs are committed together (group commit).
//!
//! SQLite has one writer per database. Every write is queued; the task that finds no commit under
//! way becomes the leader and commits the queue itself, right on its own worker thread, while the
//! tasks that queued behind it wait for their answers. The batch's jobs run one after another
//! within one `BEGIN IMMEDIATE … COMMIT`. When the commit itself fails, every job in the batch gets
//! that error and nothing of the batch is kept. A caller learns that its write succeeded only once
//! it is committed.
//!
//! A job is a run of single statements, each standing or falling alone, and it fails only with
//! nothing changed (its contract, [`Writer::run`]): SQLite undoes a failing statement by itself
//! (a unique violation aborts that statement and keeps the transaction's earlier ones), so a job
//! that fails leaves the others in its batch to commit. No job runs inside a savepoint of its own:
//! a savepoint made SQLite copy every page the job touched into the statement journal first, a
//! few percent of a create's CPU and more of an import page's. Should a job break its contract
//! (fail after a change of its own stood), the leader rolls the whole batch back, fails the jobs
//! that ran, and commits the rest anew: nothing half-done is ever kept.
//!
//! Why on the caller's thread: with `synchronous = NORMAL` a commit is a `write` to the log and no
//! `fsync`, so a small batch takes about a hundred microseconds, while handing it to another thread
//! and back cost two wake-ups, each waiting for a time slice on a busy core (measured on two cores
//! under sixteen concurrent creates: 280 µs to start a queued job on a writer thread, 180 µs to
//! run the batch, 190 µs to resume the caller). Only small batches stay on the worker thread:
//! more than [`INLINE_BATCH`] queued rows (a job says how many it writes), or a WAL catch-up
//! checkpoint (which copies pages and syncs), go to the blocking pool, where the leader then takes
//! up to [`MAX_BATCH`] rows a round.
//!
//! Gathering: a task that has queued its job yields once before it tries to lead, so the tasks
//! already ready on its worker (other requests whose Grafana answers just arrived) queue their
//! writes first and one commit takes them all. Without it a loaded sidecar committed 1.04 rows
//! per transaction; with it 1.8. Rows committed together share WAL frames (each b-tree's last
//! leaf page is written once per commit, not once per row), and creates cost 11–17% less
//! CPU (`benches/users.rs`, pinned). An idle worker resumes the task at once.
//!
//! No job is left behind: a task that queues while a leader is committing leaves it to the
//! leader, and every leader looks at the queue again after letting go of the connection, and hands
//! whatever arrived to a new leader. A task dropped while it yields hands its job to a new task.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::Connection;
use tokio::runtime::Handle;

use super::checkpoint::Checkpointer;
use super::{backend, Shared};
use crate::store::StoreError;

/// Most rows committed on an async worker thread in one round.
const INLINE_BATCH: usize = 8;
/// Most rows committed in one transaction on the blocking pool (a bigger job goes alone); bounds
/// a batch's latency.
const MAX_BATCH: usize = 128;

/// Tells a caller how its job ended: `Ok` once its batch committed, or the commit's error.
type Finish = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// Runs a job and returns how to answer its caller, and whether it broke its contract.
type Job = Box<dyn FnOnce(&mut Connection) -> Ran + Send>;

/// What running a job left behind.
struct Ran {
    finish: Finish,
    /// The job failed yet a change of its own stands: the transaction holds half a job.
    half_done: bool,
}

/// A queued job and how many rows it writes: batches are bounded in rows, not jobs, so a job
/// writing a page of first sightings goes to the blocking pool like a queue of that many.
struct Queued {
    rows: usize,
    /// How much of the WAL the job fills, in single-row commits (what checkpoints count).
    log_share: usize,
    job: Job,
}

/// The store's handle on its writer connection.
pub(crate) struct Writer {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Shared,
    /// Held by the leader while it commits; carries the checkpoint bookkeeping.
    leader: Mutex<Option<Checkpointer>>,
    queue: Mutex<Vec<Queued>>,
    runtime: Handle,
}

/// Where a leader commits.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// On an async worker thread: small batches only.
    Inline,
    /// On the blocking pool: any batch, and the catch-up checkpoint.
    Blocking,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`locked`] without waiting: `None` while someone else holds `m`.
fn try_locked<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

impl Writer {
    /// Takes over all writes to `conn`. With a `checkpointer`, the leaders keep the log short (the
    /// caller has turned SQLite's automatic checkpoints off). Must run inside a tokio runtime.
    pub(crate) fn start(conn: Shared, checkpointer: Option<Checkpointer>) -> Result<Self, StoreError> {
        let runtime = Handle::try_current().map_err(backend)?;
        let inner = Inner { conn, leader: Mutex::new(checkpointer), queue: Mutex::new(Vec::new()), runtime };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The writer connection for a read, when no batch holds it and no transaction is open on
    /// it. Its page cache stays warm across commits (it made them), where a reader connection
    /// drops its whole cache whenever the log has grown since its last read: under a stream of
    /// creates that is every read, and each lookup re-read its index pages from the file.
    pub(crate) fn try_read(&self) -> Option<MutexGuard<'_, Connection>> {
        try_locked(&self.inner.conn).filter(|conn| conn.is_autocommit())
    }

    /// Runs `f` on the writer connection and waits until its batch is committed.
    ///
    /// `f`'s writes must be single statements that each stand alone, and when `f` fails it must
    /// have changed nothing: its failing statement (SQLite undoes that by itself), or a check that
    /// found nothing to change. See the module docs for what happens to a job that does not.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_rows(1, f).await
    }

    /// [`Writer::run`] for a job that writes about `rows` rows.
    pub(crate) async fn run_rows<T, F>(&self, rows: usize, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_rows_filling(rows, rows, f).await
    }

    /// [`Writer::run_rows`] for rows that share pages, so that together they fill only about
    /// `log_share` single-row commits' worth of the WAL; checkpoints count that, not the rows.
    pub(crate) async fn run_rows_filling<T, F>(
        &self,
        rows: usize,
        log_share: usize,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = job(f);
        locked(&self.inner.queue).push(Queued { rows: rows.max(1), log_share: log_share.max(1), job });
        // Gather before leading: let the tasks that are ready on this worker run first, so
        // that the writes they are about to queue join this commit. See the module docs.
        let pending = PendingLead(Some(self.inner.clone()));
        tokio::task::yield_now().await;
        pending.lead_now();
        rx.await.map_err(|_| backend("the sqlite writer dropped a write"))?
    }
}

/// Wraps `f` as a [`Job`]; the receiver gets `f`'s outcome once the batch is committed, or the
/// commit's error.
fn job<T, F>(f: F) -> (Job, tokio::sync::oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let before = conn.total_changes();
        let outcome = f(conn);
        // A failed statement counts no changes: any here were made by statements that stood.
        let half_done = outcome.is_err() && conn.total_changes() != before;
        let finish: Finish = Box::new(move |commit: Result<(), &StoreError>| {
            let answer = match commit {
                Ok(()) => outcome,
                Err(e) => Err(StoreError::Backend(format!("commit failed: {e}"))),
            };
            // The caller may have gone away; its write stands (or not) all the same.
            let _ = tx.send(answer);
        });
        Ran { finish, half_done }
    });
    (job, rx)
}

/// A queued job whose task has yet to lead. Should the task be dropped while it yields (its
/// request cancelled), a fresh task leads in its place: no job waits in the queue for the
/// next write to come along.
struct PendingLead(Option<Arc<Inner>>);

impl PendingLead {
    fn lead_now(mut self) {
        if let Some(inner) = self.0.take() {
            inner.lead(Place::Inline);
        }
    }
}

impl Drop for PendingLead {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            let me = inner.clone();
            drop(inner.runtime.spawn(async move { me.lead(Place::Inline) }));
        }
    }
}

impl Inner {
    /// Commits what is queued unless another leader is at it, then passes on what arrived
    /// meanwhile.
    fn lead(self: &Arc<Self>, place: Place) {
        loop {
            // The leader at work looks at the queue again once it lets go.
            let Some(mut leader) = try_locked(&self.leader) else { return };
            let heavy = queued_rows(&locked(&self.queue)) > INLINE_BATCH
                || leader.as_ref().is_some_and(Checkpointer::catch_up_due);
            if place == Place::Inline && heavy {
                drop(leader);
                let me = self.clone();
                drop(self.runtime.spawn_blocking(move || me.lead(Place::Blocking)));
                return;
            }
            let limit = if place == Place::Inline { INLINE_BATCH } else { MAX_BATCH };
            let (batch, log_share): (Vec<Job>, usize) = {
                let mut queue = locked(&self.queue);
                let n = batch_len(&queue, limit);
                let share = queue[..n].iter().map(|q| q.log_share).sum();
                (queue.drain(..n).map(|q| q.job).collect(), share)
            };
            if !batch.is_empty() {
                let mut conn = locked(&self.conn);
                if let Some(c) = leader.as_ref().filter(|_| place == Place::Blocking) {
                    c.before_batch(&conn);
                }
                commit_batch(&mut conn, batch);
                drop(conn);
                if let Some(c) = leader.as_mut() {
                    c.after_batch(log_share);
                }
            }
            drop(leader);
            if locked(&self.queue).is_empty() {
                return;
            }
            if place == Place::Inline {
                // Jobs queued while this task committed: their tasks saw a leader and left them
                // to it. A fresh task leads, so this one gets back to its own work.
                let me = self.clone();
                drop(self.runtime.spawn(async move { me.lead(Place::Inline) }));
                return;
            }
        }
    }
}

fn queued_rows(queue: &[Queued]) -> usize {
    queue.iter().map(|q| q.rows).sum()
}

/// How many jobs from the front of `queue` fit in `limit` rows; at least one.
fn batch_len(queue: &[Queued], limit: usize) -> usize {
    let mut rows = 0;
    let fitting = queue.iter().take_while(|q| {
        rows += q.rows;
        rows <= limit
    });
    fitting.count().max(1).min(queue.len())
}

/// Runs one statement from the connection's statement cache: the transaction statements run
/// once per commit, and `execute_batch` would compile them every time.
fn run_cached(conn: &Connection, statement: &str) -> Result<(), StoreError> {
    conn.prepare_cached(statement).and_then(|mut s| s.execute([])).map(drop).map_err(backend)
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    if !conn.is_autocommit() {
        // Left open by a batch whose COMMIT and ROLLBACK both failed: its jobs were told so, and
        // new writes must not join it (they would never be committed).
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
        // Cannot open the shared transaction: each job's statements commit one by one.
        tracing::warn!(error = %e, "sqlite batch could not begin; committing writes one by one");
        run_alone(conn, batch);
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        let ran = job(conn);
        finishes.push(ran.finish);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk): what ran so
            // far is lost, and the remaining jobs each get a transaction of their own.
            let err = backend("sqlite rolled back the batch");
            tracing::warn!(error = %err, jobs = finishes.len(), "sqlite batch lost");
            finishes.into_iter().for_each(|finish| finish(Err(&err)));
            run_alone(conn, jobs.collect());
            return;
        }
        if ran.half_done {
            // A job broke its contract (`Writer::run`): nothing of this transaction may stand.
            let err = backend("a write failed half-way; its batch was rolled back");
            tracing::error!(error = %err, jobs = finishes.len(), "sqlite batch rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            finishes.into_iter().for_each(|finish| finish(Err(&err)));
            commit_batch(conn, jobs.collect());
            return;
        }
    }
    match run_cached(conn, "COMMIT") {
        Ok(()) => finishes.into_iter().for_each(|finish| finish(Ok(()))),
        Err(err) => {
            tracing::warn!(error = %err, jobs = finishes.len(), "sqlite batch commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            finishes.into_iter().for_each(|finish| finish(Err(&err)));
        }
    }
}

/// Runs each job outside any transaction: every statement commits by itself.
fn run_alone(conn: &mut Connection, jobs: Vec<Job>) {
    for job in jobs {
        let ran = job(conn);
        if ran.half_done {
            tracing::error!("a sqlite write failed half-way outside a transaction");
        }
        (ran.finish)(Ok(()));
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

    /// A job that breaks `Writer::run`'s contract: its insert stands, then it fails.
    fn insert_then_fail(x: i64) -> impl FnOnce(&mut Connection) -> Result<usize, StoreError> {
        move |c| {
            insert(x)(c)?;
            Err(backend("second step failed"))
        }
    }

    /// Every committed value, in order.
    fn values(reader: &Connection) -> Vec<i64> {
        let mut st = reader.prepare("SELECT x FROM t ORDER BY x").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
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
    async fn reads_use_the_writer_connection_only_between_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _) = open(&dir);
        writer.run(insert(7)).await.unwrap();
        let count =
            |c: &Connection| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count(&writer.try_read().unwrap()), 1);
        // A transaction left open (a batch whose COMMIT and ROLLBACK both failed) holds writes
        // nobody committed: no read may see them.
        {
            let conn = writer.inner.conn.lock().unwrap();
            conn.execute_batch("BEGIN; INSERT INTO t (x) VALUES (8);").unwrap();
        }
        assert!(writer.try_read().is_none());
        writer.inner.conn.lock().unwrap().execute_batch("ROLLBACK").unwrap();
        // While a leader holds the connection, readers answer instead.
        let held = writer.inner.conn.lock().unwrap();
        assert!(writer.try_read().is_none());
        drop(held);
        assert_eq!(count(&writer.try_read().unwrap()), 1);
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

    /// A transaction left open on the writer (a batch whose COMMIT and ROLLBACK both failed) is
    /// rolled back before the next batch: the next write is committed, not joined to it.
    #[tokio::test]
    async fn a_transaction_left_open_is_dropped_before_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        writer.inner.conn.lock().unwrap().execute_batch("BEGIN; INSERT INTO t (x) VALUES (8);").unwrap();
        assert_eq!(writer.run(insert(9)).await.unwrap(), 1);
        assert_eq!(values(&reader), [9]);
    }

    /// A job that fails after a change of its own stood (against `Writer::run`'s contract) keeps
    /// nothing: its batch is rolled back, and the writer goes on.
    #[tokio::test]
    async fn a_job_failing_half_way_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let err = writer.run(insert_then_fail(5)).await.unwrap_err();
        assert!(err.to_string().contains("half-way"), "{err}");
        assert_eq!(writer.run(insert(6)).await.unwrap(), 1);
        assert_eq!(values(&reader), [6]);
    }

    /// In a batch, the jobs before a half-done one are failed with it and the jobs after it are
    /// committed anew.
    #[tokio::test]
    async fn a_half_done_job_fails_the_jobs_before_it_and_the_rest_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let (first, first_rx) = job(insert(1));
        let (broken, broken_rx) = job(insert_then_fail(2));
        let (third, third_rx) = job(insert(3));
        let (dup, dup_rx) = job(insert(3));
        let (last, last_rx) = job(insert(4));
        commit_batch(&mut writer.inner.conn.lock().unwrap(), vec![first, broken, third, dup, last]);
        assert!(first_rx.await.unwrap().is_err());
        assert!(broken_rx.await.unwrap().is_err());
        assert_eq!(third_rx.await.unwrap().unwrap(), 1);
        assert!(dup_rx.await.unwrap().unwrap_err().to_string().contains("UNIQUE"));
        assert_eq!(last_rx.await.unwrap().unwrap(), 1);
        assert_eq!(values(&reader), [3, 4]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_many_row_job_keeps_its_good_rows_beside_single_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let writer = Arc::new(writer);
        let singles: Vec<_> = (1000..1050i64)
            .map(|x| {
                let w = writer.clone();
                tokio::spawn(async move { w.run(insert(x)).await })
            })
            .collect();
        // 100 rows in one job, one statement each; every tenth repeats the row before it and
        // fails alone, with no savepoint of its own.
        let values: Vec<i64> = (0..100).map(|i| if i % 10 == 9 { i - 1 } else { i }).collect();
        let outcomes = writer
            .run_rows(values.len(), move |c| {
                Ok(values.iter().map(|&x| insert(x)(c).map(drop)).collect::<Vec<_>>())
            })
            .await
            .unwrap();
        assert_eq!(outcomes.iter().filter(|o| o.is_err()).count(), 10);
        assert!(outcomes.iter().enumerate().all(|(i, o)| o.is_err() == (i % 10 == 9)));
        for t in singles {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        let rows: i64 = reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 90 + 50);
    }

    /// A write whose caller goes away after queueing it (here: dropped at its first await,
    /// the gathering yield) is still committed, without waiting for another write.
    #[tokio::test]
    async fn a_write_whose_caller_is_dropped_while_gathering_still_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let mut write = Box::pin(writer.run(insert(7)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::future::Future::poll(write.as_mut(), &mut cx).is_pending());
        drop(write);
        let count = || reader.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap();
        for _ in 0..200 {
            if count() == 1 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the dropped caller's write was never committed");
    }

    fn queue(rows: &[usize]) -> Vec<Queued> {
        rows.iter()
            .map(|&rows| Queued {
                rows,
                log_share: rows,
                job: Box::new(|_| Ran { finish: Box::new(|_| ()), half_done: false }),
            })
            .collect()
    }

    #[test]
    fn batches_are_bounded_in_rows_and_a_big_job_goes_alone() {
        assert_eq!(batch_len(&queue(&[1, 1, 1]), 2), 2);
        assert_eq!(batch_len(&queue(&[1, 1, 1]), 8), 3);
        assert_eq!(batch_len(&queue(&[100, 1]), 8), 1);
        assert_eq!(batch_len(&queue(&[1, 100]), 8), 1);
        assert_eq!(batch_len(&queue(&[200]), MAX_BATCH), 1);
        assert_eq!(batch_len(&queue(&[]), MAX_BATCH), 0);
        assert_eq!(queued_rows(&queue(&[100, 1, 1])), 102);
    }
}
