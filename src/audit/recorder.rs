//! [`Auditor`]: takes records from request handlers without waiting on the store.
//!
//! `record` puts the record on a bounded queue; a background task encodes each record once, emits
//! that text as the record's log event and stores what has queued up in one batch, so a burst of
//! creates costs one audit write per batch, not per request, and no record is encoded twice. A
//! full queue (the store is down or slow) drops the record: its log event is still emitted, and
//! the drop is counted and logged, never waited for, so the IdP never sees an audit fault. The
//! same task prunes records older than `[audit] retention` every hour.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::{info, warn};

use super::record::AuditRecord;
use crate::store::audit::AuditRow;
use crate::store::MappingStore;

/// Records queued before `record` starts dropping.
pub const QUEUE: usize = 8192;
/// Most records stored in one batch.
const BATCH: usize = 512;
/// How often old records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How long the writer lets records gather after the first of a batch, not listening for them:
/// one store write and one wake-up of the writer per burst instead of one per request (a flush
/// cuts it short).
const LINGER: Duration = Duration::from_millis(50);

enum Msg {
    Record(Box<AuditRecord>),
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

/// How long the same drift, seen again by reads, is not recorded again.
const DRIFT_QUIET: Duration = Duration::from_secs(3600);
/// Most distinct drifts remembered for [`DRIFT_QUIET`] (forgotten all at once past this).
const DRIFT_MEMORY: usize = 10_000;

/// The audit recorder; cheap to clone. A disabled one records nothing.
#[derive(Clone)]
pub struct Auditor {
    tx: Option<mpsc::Sender<Msg>>,
    /// Cuts the writer's gathering short for a flush.
    flush_requested: Arc<Notify>,
    failures: Counter,
    /// Drift recorded lately, by its text: every read of a drifted object notices it again.
    drift_seen: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor").field("enabled", &self.tx.is_some()).finish()
    }
}

impl Auditor {
    /// An auditor that records nothing (`[audit] enabled = false`).
    pub fn disabled() -> Self {
        Self {
            tx: None,
            flush_requested: Arc::default(),
            failures: Counter::default(),
            drift_seen: Arc::default(),
        }
    }

    /// Starts the background writer on the current runtime; it stops when every clone of the
    /// returned auditor is dropped, after storing what was queued.
    pub fn start(store: Arc<dyn MappingStore>, retention: Duration, failures: Counter) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let flush_requested = Arc::new(Notify::new());
        tokio::spawn(writer(store, rx, flush_requested.clone(), retention, failures.clone()));
        Self { tx: Some(tx), flush_requested, failures, drift_seen: Arc::default() }
    }

    /// True the first time `what` is asked about in [`DRIFT_QUIET`]: a drift that reads keep
    /// noticing until someone repairs it is recorded once an hour, not once per read.
    pub fn first_sighting(&self, what: &str) -> bool {
        let Ok(mut seen) = self.drift_seen.lock() else { return true };
        let now = std::time::Instant::now();
        if seen.get(what).is_some_and(|at| now.duration_since(*at) < DRIFT_QUIET) {
            return false;
        }
        if seen.len() >= DRIFT_MEMORY {
            seen.clear();
        }
        seen.insert(what.to_owned(), now);
        true
    }

    /// Whether records are kept.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues `record` for its log event and the store. Never waits.
    pub fn record(&self, record: AuditRecord) {
        let Some(tx) = &self.tx else { return };
        if let Err(e) = tx.try_send(Msg::Record(Box::new(record))) {
            self.failures.inc();
            let full = matches!(e, mpsc::error::TrySendError::Full(_));
            if let mpsc::error::TrySendError::Full(Msg::Record(record))
            | mpsc::error::TrySendError::Closed(Msg::Record(record)) = e
            {
                // Not stored, but shippers still get it.
                if let Ok(row) = AuditRow::new(*record) {
                    emit(&row);
                }
            }
            warn!(target: super::TARGET, queue_full = full, "audit record dropped");
        }
    }

    /// Waits until every record queued so far is stored (or failed): a reader of the log
    /// (`GET /audit`) sees this process's own records.
    pub async fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = oneshot::channel();
        if tx.send(Msg::Flush(done)).await.is_ok() {
            self.flush_requested.notify_one();
            let _ = wait.await;
        }
    }
}

/// The record as one log event: its stored JSON text as a field, plus the fields shippers filter
/// on.
fn emit(r: &AuditRow) {
    info!(
        target: super::TARGET,
        request_id = %r.request_id,
        kind = %r.kind,
        operation = %r.operation,
        outcome = r.outcome,
        namespace = %r.namespace,
        actor = %r.actor,
        record = %r.json(),
        "audit"
    );
}

async fn writer(
    store: Arc<dyn MappingStore>,
    mut rx: mpsc::Receiver<Msg>,
    flush_requested: Arc<Notify>,
    retention: Duration,
    failures: Counter,
) {
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut gathered = Gathered::default();
    loop {
        let first = tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => msg,
                None => break,
            },
            _ = prune.tick() => {
                prune_once(store.as_ref(), retention).await;
                continue;
            }
        };
        gathered.take(first, &failures);
        gathered.drain(&mut rx, &failures);
        if !gathered.full() && gathered.waiting.is_empty() {
            // Let records gather without listening for them: a record queued meanwhile does not
            // wake this task (listening cost a wake-up and a timer per create); a flush does.
            tokio::select! {
                () = tokio::time::sleep(LINGER) => {}
                () = flush_requested.notified() => {}
            }
            gathered.drain(&mut rx, &failures);
        }
        store_batch(store.as_ref(), &mut gathered.batch, &failures).await;
        for done in gathered.waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// What the writer has taken off the queue since its last store: encoded rows, and the flushes
/// to answer once they are stored.
#[derive(Default)]
struct Gathered {
    batch: Vec<AuditRow>,
    waiting: Vec<oneshot::Sender<()>>,
}

impl Gathered {
    fn full(&self) -> bool {
        self.batch.len() >= BATCH
    }

    /// Encodes a record (emitting its log event) or notes a flush.
    fn take(&mut self, msg: Msg, failures: &Counter) {
        match msg {
            Msg::Record(r) => match AuditRow::new(*r) {
                Ok(row) => {
                    emit(&row);
                    self.batch.push(row);
                }
                Err(e) => {
                    failures.inc();
                    warn!(target: super::TARGET, error = %e, "cannot encode audit record");
                }
            },
            Msg::Flush(done) => self.waiting.push(done),
        }
    }

    /// Takes what is queued, up to a batch.
    fn drain(&mut self, rx: &mut mpsc::Receiver<Msg>, failures: &Counter) {
        while !self.full() {
            match rx.try_recv() {
                Ok(msg) => self.take(msg, failures),
                Err(_) => return,
            }
        }
    }
}

async fn store_batch(store: &dyn MappingStore, batch: &mut Vec<AuditRow>, failures: &Counter) {
    if batch.is_empty() {
        return;
    }
    let rows = std::mem::take(batch);
    let n = rows.len();
    if let Err(e) = store.insert_audit(rows).await {
        failures.inc_by(n as u64);
        warn!(target: super::TARGET, error = %e, records = n, "cannot store audit records");
    }
}

async fn prune_once(store: &dyn MappingStore, retention: Duration) {
    let Ok(keep) = chrono::Duration::from_std(retention) else { return };
    let Some(before) = Utc::now().checked_sub_signed(keep) else { return };
    match store.prune_audit(before).await {
        Ok(0) => {}
        Ok(n) => info!(target: super::TARGET, pruned = n, "audit records past retention pruned"),
        Err(e) => warn!(target: super::TARGET, error = %e, "cannot prune audit records"),
    }
}
