//! SQLite's half of `store backup` and `store copy` (blocking; run off the async threads).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::rows::{group_row, user_row};
use super::{backend, configure, map_err, rows, WRITER_CACHE_KIB};
use crate::store::sql::{GroupRow, UserRow};
use crate::store::transfer::{self, Counts, Snapshot, TransferError};
use crate::store::{sql, StoreError};

fn open_read_only(path: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    configure(&conn, WRITER_CACHE_KIB)?;
    Ok(conn)
}

fn counts(c: &Connection) -> Result<Counts, StoreError> {
    let n = |q: &str| c.query_row(q, [], |r| r.get::<_, i64>(0)).map_err(map_err);
    Ok(Counts {
        users: n(transfer::COUNT_USERS)?,
        groups: n(transfer::COUNT_GROUPS)?,
        pending_team_members: n(transfer::COUNT_PENDING)?,
    })
}

/// `VACUUM INTO` from a read-only connection: one read transaction, consistent while the
/// sidecar writes. The copy is then opened and checked.
pub(crate) fn backup(path: &str, dest: &Path) -> Result<Counts, StoreError> {
    let dest_text =
        dest.to_str().ok_or_else(|| StoreError::Backend("the backup path is not valid UTF-8".into()))?;
    open_read_only(path)?.execute("VACUUM INTO ?1", [dest_text]).map_err(backend)?;
    let copy = open_read_only(dest_text)?;
    let verdict: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(backend)?;
    if verdict != "ok" {
        return Err(StoreError::Backend(format!("the backup fails its integrity check: {verdict}")));
    }
    counts(&copy)
}

/// Every record, in one read transaction.
pub(crate) fn read(path: &str) -> Result<Snapshot, StoreError> {
    let mut conn = open_read_only(path)?;
    let tx = conn.transaction().map_err(backend)?;
    let schema_version = tx.query_row(transfer::SCHEMA_VERSION, [], |r| r.get(0)).map_err(backend)?;
    let users = {
        let mut st = tx.prepare(&sql::select_user("1 = 1 ORDER BY org_id, scim_id")).map_err(map_err)?;
        let rows = st.query_map([], user_row).map_err(map_err)?;
        rows.map(|r| r.map_err(map_err).and_then(UserRow::decode)).collect::<Result<Vec<_>, _>>()?
    };
    let groups = {
        let mut st = tx.prepare(&sql::select_group("1 = 1 ORDER BY org_id, scim_id")).map_err(map_err)?;
        let rows = st.query_map([], group_row).map_err(map_err)?;
        rows.map(|r| r.map_err(map_err).and_then(GroupRow::decode)).collect::<Result<Vec<_>, _>>()?
    };
    let counts = counts(&tx)?;
    Ok(Snapshot { users, groups, counts, schema_version })
}

/// Writes `snapshot` into the (migrated) store at `path` in one immediate transaction; returns
/// what it replaced and what it holds afterwards.
pub(crate) fn write(path: &str, snapshot: &Snapshot, force: bool) -> Result<(Counts, Counts), TransferError> {
    let mut conn = Connection::open(path).map_err(backend)?;
    configure(&conn, WRITER_CACHE_KIB)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let before = counts(&tx)?;
    if before != Counts::default() {
        if !force {
            return Err(TransferError::TargetNotEmpty(before));
        }
        for q in transfer::CLEAR {
            tx.execute(q, []).map_err(map_err)?;
        }
    }
    for user in &snapshot.users {
        rows::insert_user(&tx, &UserRow::encode(user)?)?;
    }
    for group in &snapshot.groups {
        rows::insert_group(&tx, &GroupRow::encode(group)?)?;
    }
    let after = counts(&tx)?;
    transfer::verify(snapshot.counts, after)?;
    tx.commit().map_err(backend)?;
    Ok((before, after))
}
