//! [`AuditStore`] on PostgreSQL: a batch is one multi-row `INSERT`; reads and the prune are
//! single statements on the shared pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::{map_err, PgStore};
use crate::audit::{AuditQuery, AuditRecord};
use crate::store::audit::{self, AuditRow, AuditStore, Param};
use crate::store::StoreError;

/// Most records per statement: 10 values each, far under PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT: usize = 256;

fn boxed(p: Param) -> Box<dyn ToSql + Sync + Send> {
    match p {
        Param::Int(i) => Box::new(i),
        Param::Text(t) => Box::new(t),
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn insert_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut values: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * audit::COLS_PER_ROW);
            for r in chunk {
                values.extend_from_slice(&[
                    &r.at,
                    &r.request_id,
                    &r.namespace,
                    &r.kind,
                    &r.operation,
                    &r.outcome,
                    &r.scim_id,
                    &r.user_key,
                    &r.group_key,
                    &r.json,
                ]);
            }
            let sql = audit::insert_sql(chunk.len(), |n| format!("${n}"));
            // Not cached: the text differs with the batch size.
            let conn = self.conn().await?;
            conn.execute(sql.as_str(), &values).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let (sql, params) = audit::select_sql(query, |n| format!("${n}"));
        let values: Vec<Box<dyn ToSql + Sync + Send>> = params.into_iter().map(boxed).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
        let rows = self.rows(&sql, &refs).await?;
        rows.iter().map(|r| audit::decode(&r.try_get::<_, String>(0).map_err(map_err)?)).collect()
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let at = crate::store::to_micros(&before);
        self.execute(&format!("{}$1", audit::PRUNE), &[&at]).await
    }
}
