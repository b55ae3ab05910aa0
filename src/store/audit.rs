//! The audit log's table (`scim_audit`, migration 8): the [`AuditStore`] trait both backends
//! implement, and the SQL they share.
//!
//! A record is kept whole as JSON in `record`; beside it the columns the filters and the
//! retention prune read (`at`, `namespace`, `kind`, lowercased `user_key` and `group_key`), with
//! indexes on time, user and group. Rows are only ever inserted, read newest first, and deleted
//! by age.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{from_json_text, StoreError};
use crate::audit::{AuditQuery, AuditRecord};

/// Columns of one inserted row, in order.
pub(crate) const INSERT_COLS: &str =
    "at, request_id, namespace, kind, operation, outcome, scim_id, user_key, group_key, record";
/// Values per inserted row.
pub(crate) const COLS_PER_ROW: usize = 10;

/// A record ready to store: its JSON text, encoded once (the recorder's log event carries the
/// same text), and the columns the filters and the prune read, moved out of the record rather
/// than copied.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub(crate) at: i64,
    pub(crate) request_id: String,
    pub(crate) namespace: String,
    pub(crate) kind: String,
    pub(crate) operation: String,
    pub(crate) outcome: &'static str,
    pub(crate) scim_id: Option<String>,
    pub(crate) user_key: Option<String>,
    pub(crate) group_key: Option<String>,
    /// `actor.name`, for the log event (it is in `json` too).
    pub(crate) actor: String,
    pub(crate) json: String,
}

impl AuditRow {
    /// Encodes `record`.
    ///
    /// # Errors
    /// `Backend` when the record cannot be encoded (it always can: every field is a string,
    /// number or JSON value).
    pub fn new(record: AuditRecord) -> Result<Self, StoreError> {
        let json = crate::audit::encode(&record)
            .map_err(|e| StoreError::Backend(format!("encode audit record: {e}")))?;
        let r = record;
        Ok(Self {
            at: super::to_micros(&r.time),
            user_key: r.user_name.as_deref().map(super::name_key),
            group_key: r.group_name.as_deref().map(super::name_key),
            request_id: r.request_id,
            namespace: r.namespace,
            kind: r.kind,
            operation: r.operation,
            outcome: r.outcome.label(),
            scim_id: r.scim_id,
            actor: r.actor.name,
            json,
        })
    }

    /// The record's JSON text, as stored.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// Where audit records are kept.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores `rows` together.
    ///
    /// # Errors
    /// `Backend` when the database fails; then none of them is stored.
    async fn insert_audit(&self, rows: Vec<AuditRow>) -> Result<(), StoreError>;
    /// The records matching `query`, newest first, at most `query.limit`.
    ///
    /// # Errors
    /// `Backend`.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// Deletes records older than `before`; returns how many.
    ///
    /// # Errors
    /// `Backend`.
    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A bound value, backend-neutral.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(Option<String>),
}

/// `INSERT` of `rows` rows; `mark(n)` writes the n-th placeholder (1-based).
pub(crate) fn insert_sql(rows: usize, mark: impl Fn(usize) -> String) -> String {
    let mut sql = format!("INSERT INTO scim_audit ({INSERT_COLS}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        let marks: Vec<String> = (1..=COLS_PER_ROW).map(|c| mark(row * COLS_PER_ROW + c)).collect();
        sql.push('(');
        sql.push_str(&marks.join(","));
        sql.push(')');
    }
    sql
}

/// The `SELECT` of `query` and its values; `mark(n)` writes the n-th placeholder.
pub(crate) fn select_sql(query: &AuditQuery, mark: impl Fn(usize) -> String) -> (String, Vec<Param>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut add = |cond: &str, p: Param| {
        params.push(p);
        conds.push(format!("{cond} {}", mark(params.len())));
    };
    if let Some(t) = &query.since {
        add("at >=", Param::Int(super::to_micros(t)));
    }
    if let Some(t) = &query.until {
        add("at <=", Param::Int(super::to_micros(t)));
    }
    if let Some(ns) = &query.namespace {
        add("namespace =", Param::Text(Some(ns.clone())));
    }
    if let Some(u) = &query.user {
        add("user_key =", Param::Text(Some(super::name_key(u))));
    }
    if let Some(g) = &query.group {
        add("group_key =", Param::Text(Some(super::name_key(g))));
    }
    if let Some(k) = &query.kind {
        add("kind =", Param::Text(Some(k.clone())));
    }
    let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    params.push(Param::Int(i64::try_from(query.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT record FROM scim_audit{filter} ORDER BY at DESC, id DESC LIMIT {}",
        mark(params.len())
    );
    (sql, params)
}

/// Deletes by age, served by the time index.
pub(crate) const PRUNE: &str = "DELETE FROM scim_audit WHERE at < ";

/// A stored `record` column as a record.
pub(crate) fn decode(text: &str) -> Result<AuditRecord, StoreError> {
    serde_json::from_value(from_json_text(text)?)
        .map_err(|e| StoreError::Backend(format!("stored audit record is invalid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_binds_every_filter_in_order_and_the_limit_last() {
        let q = AuditQuery { user: Some("Alice".into()), kind: Some("scim".into()), ..AuditQuery::default() };
        let (sql, params) = select_sql(&q, |n| format!("${n}"));
        assert!(sql.contains("WHERE user_key = $1 AND kind = $2"), "{sql}");
        assert!(sql.ends_with("LIMIT $3"), "{sql}");
        assert_eq!(params[0], Param::Text(Some("alice".into())));
    }

    #[test]
    fn inserts_number_placeholders_across_rows() {
        let sql = insert_sql(2, |n| format!("?{n}"));
        assert!(sql.contains("?10),(?11,"), "{sql}");
        assert!(sql.ends_with("?20)"));
    }
}
