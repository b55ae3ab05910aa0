//! `scim-sidecar store backup` and `store copy`: whole-store operations for operators.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction of the live file, so it is a
//! consistent copy while the sidecar keeps writing (WAL lets the reader and the writer run side
//! by side). A PostgreSQL store is backed up with `pg_dump`; the command says so.
//!
//! A copy moves every record from one store to another, whatever their backends (SQLite to
//! PostgreSQL when a deployment grows to several replicas, or back). The source is read in one
//! snapshot (a read transaction) and must be at this binary's schema version, so nothing is
//! lost to a column the copy does not know; the target is migrated first, then written in one
//! transaction that holds its tables against concurrent writers, refuses a target that already
//! holds records (unless forced: then they are replaced), and commits only when the row counts
//! it reads back equal the source's, the pending team memberships (which the target's triggers
//! derive from the users) included. A failed copy leaves the target as it was.
//!
//! Rows travel through the same record types and codecs as every store call, so SCIM ids,
//! versions, timestamps and documents arrive unchanged.

use std::path::Path;

use super::{migrations::LATEST, parse_url, GroupRecord, SqliteTarget, StoreError, Target, UserRecord};

/// Rows of a store: `pending_team_members` is derived from the users by triggers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: i64,
    pub groups: i64,
    pub pending_team_members: i64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} groups, {} pending team memberships",
            self.users, self.groups, self.pending_team_members
        )
    }
}

/// Everything a copy reads from the source, in one snapshot.
pub(crate) struct Snapshot {
    pub users: Vec<UserRecord>,
    pub groups: Vec<GroupRecord>,
    pub counts: Counts,
    pub schema_version: i64,
}

/// Why a backup or copy did not happen. `Usage` and `TargetNotEmpty` ask the operator to
/// change the command (`EX_USAGE`); the others are failures.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{0}")]
    Usage(String),
    #[error(
        "the target store already holds records ({0}); copy into a new, empty store, or pass --force to replace them"
    )]
    TargetNotEmpty(Counts),
    #[error("the copy does not match its source (source {expected}, target {found}); nothing was committed")]
    Mismatch { expected: Counts, found: Counts },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a finished copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySummary {
    pub from_backend: &'static str,
    pub to_backend: &'static str,
    pub copied: Counts,
    /// Rows the target held and `force` replaced.
    pub replaced: Counts,
    pub schema_version: i64,
}

/// Writes a consistent copy of the SQLite store `url` names to the new file `dest`, and
/// checks it (`PRAGMA integrity_check`); returns the copy's row counts.
///
/// # Errors
/// `Usage` for a PostgreSQL or in-memory store, a missing store file, or an existing `dest`;
/// `Store` when SQLite fails.
pub async fn backup(url: &str, dest: &Path) -> Result<Counts, TransferError> {
    let path = match parse_url(url)? {
        Target::Postgres(_) => {
            return Err(TransferError::Usage(
                "the store is PostgreSQL: back it up with pg_dump (e.g. pg_dump --format=custom \
                 --file=sidecar.dump \"$DATABASE\"; restore with pg_restore), which copies it \
                 consistently while the sidecar runs; `store backup` copies SQLite stores"
                    .into(),
            ))
        }
        Target::Sqlite(SqliteTarget::Memory) => {
            return Err(TransferError::Usage("an in-memory store has nothing to back up".into()))
        }
        Target::Sqlite(SqliteTarget::File(path)) => path.to_owned(),
    };
    if !Path::new(&path).is_file() {
        return Err(TransferError::Usage(format!("no SQLite store at {path}")));
    }
    if dest.exists() {
        return Err(TransferError::Usage(format!("{} exists; give a new file name", dest.display())));
    }
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || super::sqlite::transfer::backup(&path, &dest))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .map_err(TransferError::from)
}

/// Copies every record of the store `from` names into the store `to` names (see the module
/// docs for the guarantees).
///
/// # Errors
/// `Usage` when both name the same store, the source is not at this binary's schema version or
/// a URL is invalid; `TargetNotEmpty` without `force`; `Mismatch` when the counts read back
/// differ; `Store` for database failures (a uniqueness conflict included).
pub async fn copy(from: &str, to: &str, force: bool) -> Result<CopySummary, TransferError> {
    if from == to {
        return Err(TransferError::Usage("--from and --to name the same store".into()));
    }
    let (source, target) = (parse_url(from)?, parse_url(to)?);
    let snapshot = match &source {
        Target::Sqlite(SqliteTarget::File(path)) => {
            if !Path::new(path).is_file() {
                return Err(TransferError::Usage(format!("no SQLite store at {path}")));
            }
            let path = (*path).to_owned();
            tokio::task::spawn_blocking(move || super::sqlite::transfer::read(&path))
                .await
                .map_err(|e| StoreError::Backend(e.to_string()))??
        }
        Target::Sqlite(SqliteTarget::Memory) => {
            return Err(TransferError::Usage("an in-memory store cannot be copied from".into()))
        }
        Target::Postgres(url) => super::postgres::transfer::read(url).await?,
    };
    if snapshot.schema_version != LATEST {
        return Err(TransferError::Usage(format!(
            "the source store is at schema version {}, this binary's is {LATEST}: upgrade the source \
             first (scim-sidecar migrate with a binary of its version or later) or copy with a \
             matching binary",
            snapshot.schema_version
        )));
    }
    // Migrate the target first: the copy writes into the current schema.
    let schema_version = super::migrate(to).await?;
    let (to_backend, replaced, copied) = match &target {
        Target::Sqlite(SqliteTarget::File(path)) => {
            let path = (*path).to_owned();
            let (replaced, copied) =
                tokio::task::spawn_blocking(move || super::sqlite::transfer::write(&path, &snapshot, force))
                    .await
                    .map_err(|e| StoreError::Backend(e.to_string()))??;
            ("sqlite", replaced, copied)
        }
        Target::Sqlite(SqliteTarget::Memory) => {
            return Err(TransferError::Usage("an in-memory store would vanish with the copy".into()))
        }
        Target::Postgres(url) => {
            let (replaced, copied) = super::postgres::transfer::write(url, &snapshot, force).await?;
            ("postgres", replaced, copied)
        }
    };
    let from_backend = if matches!(source, Target::Postgres(_)) { "postgres" } else { "sqlite" };
    Ok(CopySummary { from_backend, to_backend, copied, replaced, schema_version })
}

/// The verdict a writer gives once its rows are in, before it commits.
pub(crate) fn verify(source: Counts, target: Counts) -> Result<(), TransferError> {
    if source == target {
        Ok(())
    } else {
        Err(TransferError::Mismatch { expected: source, found: target })
    }
}

/// SQL both backends count rows with.
pub(crate) const COUNT_USERS: &str = "SELECT COUNT(*) FROM scim_users";
pub(crate) const COUNT_GROUPS: &str = "SELECT COUNT(*) FROM scim_groups";
pub(crate) const COUNT_PENDING: &str = "SELECT COUNT(*) FROM scim_pending_team_members";
pub(crate) const SCHEMA_VERSION: &str = "SELECT MAX(version) FROM schema_version";
/// Deletes in this order; the pending memberships go with their users (triggers).
pub(crate) const CLEAR: [&str; 2] = ["DELETE FROM scim_users", "DELETE FROM scim_groups"];
