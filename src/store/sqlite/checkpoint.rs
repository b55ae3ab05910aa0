//! WAL checkpoints on their own thread, off the write path.
//!
//! In WAL mode every commit appends pages to the log, and a checkpoint copies them back into the
//! database file (with an fsync of each under `synchronous = NORMAL`). SQLite runs that checkpoint
//! inside whichever commit crosses the 1,000-page mark, so one write in a hundred or so paid for
//! it, and every write queued behind that one waited too. Here the writer connection has
//! automatic checkpoints off, and after every [`EVERY_ROWS`] committed rows (or their worth of
//! log, for batches whose rows share pages) it nudges this thread, which runs a `PASSIVE`
//! checkpoint on a connection of its own. Passive checkpoints never block the writer or readers.
//!
//! Copying is only half of the job: SQLite rewinds the log to its start only in a writer whose
//! transaction begins while the whole log is already copied, and the writer keeps committing
//! while this thread copies. So once a checkpoint here has copied everything it saw, it raises a
//! flag, and the writer, before its next batch, runs a small passive checkpoint of its own over
//! the few pages committed meanwhile ([`Checkpointer::before_batch`]); its next transaction then
//! rewinds the log. The log's size stays near one interval's worth of pages, whatever the load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

use rusqlite::Connection;

use super::backend;
use crate::store::StoreError;

/// Committed rows between checkpoints (a write counts one; a multi-row job the single-row
/// commits' worth of log it declares, which for an import page's rows is far less than their
/// number: `SqliteStore::insert_users`).
/// A user row with its indexes is about seven pages, so the log holds near 1,800 pages (7 MiB)
/// when a checkpoint starts. Longer intervals copy less, since
/// an index page written by many inserts within one interval is copied back once (at 128,
/// checkpoints took 7% of a create's CPU); 512 made no clear difference to creates but let the log
/// reach 36 MiB in `checkpoint_thread_bounds_the_wal` (one commit per row).
const EVERY_ROWS: usize = 256;

/// Nothing under way; the writer counts commits towards the next nudge.
const IDLE: u8 = 0;
/// The thread is copying (or about to).
const RUNNING: u8 = 1;
/// The thread copied the whole log it saw; the writer catches up before its next batch.
const COPIED: u8 = 2;

/// The writer's handle; the thread stops when it is dropped. Only the writer's current leader
/// calls it.
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
    state: Arc<AtomicU8>,
    since: usize,
}

impl Checkpointer {
    /// Opens a connection to `path` for checkpoints and starts the thread.
    pub(super) fn start(path: &str) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        super::configure(&conn, super::CHECKPOINT_CACHE_KIB)?;
        let (wake, nudges) = mpsc::sync_channel(1);
        let state = Arc::new(AtomicU8::new(IDLE));
        let shared = state.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || work(&conn, &nudges, &shared))
            .map_err(backend)?;
        Ok(Self { wake, state, since: 0 })
    }

    /// Whether [`Self::before_batch`] will run a catch-up checkpoint (it copies pages and syncs,
    /// so the writer runs that batch off the async worker threads).
    pub(super) fn catch_up_due(&self) -> bool {
        self.state.load(Ordering::Acquire) == COPIED
    }

    /// Called by the writer before each batch, on its own connection: after a background
    /// checkpoint, copies what was committed during it, so the next transaction rewinds the log.
    pub(super) fn before_batch(&self, writer: &Connection) {
        if self.catch_up_due() {
            if let Err(e) = checkpoint(writer) {
                tracing::warn!(error = %e, "sqlite wal catch-up checkpoint failed; the next one retries");
            }
            self.state.store(IDLE, Ordering::Release);
        }
    }

    /// Called by the writer after a batch that committed about `rows` rows; wakes the thread once
    /// enough have piled up and no checkpoint is under way. Never blocks.
    pub(super) fn after_batch(&mut self, rows: usize) {
        self.since += rows;
        if self.since >= EVERY_ROWS && self.state.load(Ordering::Acquire) == IDLE {
            self.since = 0;
            self.state.store(RUNNING, Ordering::Release);
            if self.wake.try_send(()).is_err() {
                self.state.store(IDLE, Ordering::Release);
            }
        }
    }
}

fn work(conn: &Connection, nudges: &Receiver<()>, state: &AtomicU8) {
    while nudges.recv().is_ok() {
        let next = match checkpoint(conn) {
            Ok((log, done)) if log >= 0 && done == log => COPIED,
            Ok(_) => IDLE,
            Err(e) => {
                tracing::warn!(error = %e, "sqlite wal checkpoint failed; the next one retries");
                IDLE
            }
        };
        state.store(next, Ordering::Release);
    }
}

/// One passive checkpoint; returns the log's size and how much of it is now in the database, in
/// pages (-1 for both when another checkpoint was running).
fn checkpoint(conn: &Connection) -> Result<(i64, i64), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?))).map_err(backend)
}
