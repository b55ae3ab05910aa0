//! The call log: one record per request the emulator answered (or dropped), so tests can assert
//! how many upstream calls an operation cost. Must not store bodies or credentials.

use std::collections::HashMap;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string (`""` when none).
    pub query: String,
    /// Status sent; 0 when the connection was dropped on purpose.
    pub status: u16,
}

/// A bounded log plus per-`METHOD path` counters.
#[derive(Default)]
pub struct CallLog {
    records: Vec<CallRecord>,
    counters: HashMap<String, u64>,
    total: u64,
}

// Keeps memory bounded during long interactive runs; tests never get close.
const MAX_RECORDS: usize = 100_000;

impl CallLog {
    /// Appends a record.
    pub fn push(&mut self, rec: CallRecord) {
        *self.counters.entry(format!("{} {}", rec.method, rec.path)).or_default() += 1;
        self.total += 1;
        if self.records.len() >= MAX_RECORDS {
            self.records.remove(0);
        }
        self.records.push(rec);
    }

    /// All records, oldest first.
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.clone()
    }

    /// Total calls since the last reset.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Calls to exactly `METHOD path`.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.counters.get(&format!("{method} {path}")).copied().unwrap_or(0)
    }

    /// Clears everything.
    pub fn reset(&mut self) {
        *self = CallLog::default();
    }
}
