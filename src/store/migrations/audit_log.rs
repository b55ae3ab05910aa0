//! Migration 8: the audit log table (`store::audit`), indexed by time (newest-first reads, the
//! retention prune), by user and by group (`--user`, `--group`).

/// SQLite: `id` is the rowid, so newest-first ties break by insertion order.
pub const SQLITE: &str = "
CREATE TABLE scim_audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    scim_id TEXT,
    user_key TEXT,
    group_key TEXT,
    record TEXT NOT NULL
);
CREATE INDEX scim_audit_at_idx ON scim_audit (at);
CREATE INDEX scim_audit_user_idx ON scim_audit (user_key, at) WHERE user_key IS NOT NULL;
CREATE INDEX scim_audit_group_idx ON scim_audit (group_key, at) WHERE group_key IS NOT NULL;
";

/// PostgreSQL: the same shape.
pub const POSTGRES: &str = "
CREATE TABLE scim_audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    scim_id TEXT,
    user_key TEXT,
    group_key TEXT,
    record TEXT NOT NULL
);
CREATE INDEX scim_audit_at_idx ON scim_audit (at);
CREATE INDEX scim_audit_user_idx ON scim_audit (user_key, at) WHERE user_key IS NOT NULL;
CREATE INDEX scim_audit_group_idx ON scim_audit (group_key, at) WHERE group_key IS NOT NULL;
";
