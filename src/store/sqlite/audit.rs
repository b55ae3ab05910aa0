//! [`AuditStore`] on SQLite: a batch is one multi-row `INSERT` through the group-committing
//! writer (one statement, so it stands or falls whole, as writer jobs must); reads and the prune
//! go to the blocking pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as V;

use super::{map_err, SqliteStore};
use crate::audit::{AuditQuery, AuditRecord};
use crate::store::audit::{self, AuditStore, Param};
use crate::store::StoreError;

/// Most records per statement: 10 values each, well under SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 256;

fn value(p: Param) -> V {
    match p {
        Param::Int(i) => V::Integer(i),
        Param::Text(Some(t)) => V::Text(t),
        Param::Text(None) => V::Null,
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn insert_audit(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let mut values = Vec::with_capacity(chunk.len() * audit::COLS_PER_ROW);
            for r in chunk {
                values.extend(audit::row_params(r)?.into_iter().map(value));
            }
            let sql = audit::insert_sql(chunk.len(), |n| format!("?{n}"));
            self.writer
                .run_rows(chunk.len(), move |c| {
                    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
                    stmt.execute(rusqlite::params_from_iter(values)).map(drop).map_err(map_err)
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
