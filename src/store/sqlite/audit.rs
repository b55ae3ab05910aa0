//! [`AuditStore`] on SQLite: a batch is one writer job (joining the group commit of the SCIM
//! writes) that runs one cached single-row `INSERT` per record, binding the row's encoded text
//! and columns where they lie (no copies); one statement text, so the
//! connection's statement cache keeps the store's hot queries (a multi-row statement per batch
//! size evicted them). Audit rows append to the table's and the time index's last pages, so a
//! batch fills about one single-row commit's worth of the WAL per eight rows. Reads and the prune
//! go to the blocking pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as V;

use super::{map_err, SqliteStore};
use crate::audit::{AuditQuery, AuditRecord};
use crate::store::audit::{self, AuditRow, AuditStore, Param};
use crate::store::StoreError;

/// Most records per writer job.
const ROWS_PER_JOB: usize = 256;
/// Audit rows per single-row commit's worth of WAL (they share pages).
const ROWS_PER_LOG_SHARE: usize = 8;

fn value(p: Param) -> V {
    match p {
        Param::Int(i) => V::Integer(i),
        Param::Text(Some(t)) => V::Text(t),
        Param::Text(None) => V::Null,
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn insert_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<AuditRow> = rows.by_ref().take(ROWS_PER_JOB).collect();
            let n = chunk.len();
            self.writer
                .run_rows_filling(n, n.div_ceil(ROWS_PER_LOG_SHARE), move |c| {
                    let sql = audit::insert_sql(1, |n| format!("?{n}"));
                    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
                    for r in &chunk {
                        stmt.execute(rusqlite::params![
                            r.at,
                            r.request_id,
                            r.namespace,
                            r.kind,
                            r.operation,
                            r.outcome,
                            r.scim_id,
                            r.user_key,
                            r.group_key,
                            r.json,
                        ])
                        .map_err(map_err)?;
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let (sql, params) = audit::select_sql(query, |n| format!("?{n}"));
        let params: Vec<V> = params.into_iter().map(value).collect();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let texts = stmt
                .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(0))
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            texts.iter().map(|t| audit::decode(t)).collect()
        })
        .await
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let at = crate::store::to_micros(&before);
        let sql = format!("{}?1", audit::PRUNE);
        self.writer.run(move |c| c.execute(&sql, [at]).map(|n| n as u64).map_err(map_err)).await
    }
}
