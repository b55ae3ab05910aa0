//! PostgreSQL's half of `store copy`.

use super::rows::{group_row, insert_group_params, insert_user_params, user_row};
use super::{backend, conninfo, map_err, tls, with_causes, CONNECT_TIMEOUT};
use crate::store::sql::{self, GroupRow, UserRow};
use crate::store::transfer::{self, Counts, Snapshot, TransferError};
use crate::store::StoreError;

/// One connection outside any pool (the `store` commands), with the URL's TLS settings; the
/// connection task ends when the client drops.
///
/// # Errors
/// `InvalidUrl` for a bad URL or TLS file, `Backend` when the server cannot be reached.
async fn connect_one(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let conninfo::ConnInfo { config: mut cfg, tls } = conninfo::parse(url)?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(CONNECT_TIMEOUT);
    }
    let (client, connection) = cfg.connect(tls::connector(&tls)?).await.map_err(|e| with_causes(&e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "store connection ended");
        }
    });
    Ok(client)
}

async fn counts(tx: &tokio_postgres::Transaction<'_>) -> Result<Counts, StoreError> {
    let mut n = [0_i64; 3];
    for (slot, q) in
        n.iter_mut().zip([transfer::COUNT_USERS, transfer::COUNT_GROUPS, transfer::COUNT_PENDING])
    {
        *slot = tx.query_one(q, &[]).await.and_then(|r| r.try_get(0)).map_err(map_err)?;
    }
    Ok(Counts { users: n[0], groups: n[1], pending_team_members: n[2] })
}

/// Every record, in one repeatable-read snapshot.
pub(crate) async fn read(url: &str) -> Result<Snapshot, StoreError> {
    let mut client = connect_one(url).await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(backend)?;
    let schema_version: i64 =
        tx.query_one(transfer::SCHEMA_VERSION, &[]).await.and_then(|r| r.try_get(0)).map_err(backend)?;
    let users = tx
        .query(&sql::select_user("TRUE ORDER BY org_id, scim_id"), &[])
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| user_row(r)?.decode())
        .collect::<Result<Vec<_>, _>>()?;
    let groups = tx
        .query(&sql::select_group("TRUE ORDER BY org_id, scim_id"), &[])
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| group_row(r)?.decode())
        .collect::<Result<Vec<_>, _>>()?;
    let counts = counts(&tx).await?;
    tx.commit().await.map_err(backend)?;
    Ok(Snapshot { users, groups, counts, schema_version })
}

/// Writes `snapshot` into the (migrated) store `url` names in one transaction that locks its
/// tables against other writers; returns what it replaced and what it holds afterwards.
pub(crate) async fn write(
    url: &str,
    snapshot: &Snapshot,
    force: bool,
) -> Result<(Counts, Counts), TransferError> {
    let mut client = connect_one(url).await?;
    let tx = client.transaction().await.map_err(backend)?;
    tx.batch_execute("LOCK TABLE scim_users, scim_groups IN EXCLUSIVE MODE").await.map_err(backend)?;
    let before = counts(&tx).await?;
    if before != Counts::default() {
        if !force {
            return Err(TransferError::TargetNotEmpty(before));
        }
        for q in transfer::CLEAR {
            tx.execute(q, &[]).await.map_err(map_err)?;
        }
    }
    let insert_user = tx.prepare(sql::INSERT_USER).await.map_err(map_err)?;
    for user in &snapshot.users {
        let row = UserRow::encode(user)?;
        tx.execute(&insert_user, &insert_user_params(&row)).await.map_err(map_err)?;
    }
    let insert_group = tx.prepare(sql::INSERT_GROUP).await.map_err(map_err)?;
    for group in &snapshot.groups {
        let row = GroupRow::encode(group)?;
        tx.execute(&insert_group, &insert_group_params(&row)).await.map_err(map_err)?;
    }
    let after = counts(&tx).await?;
    transfer::verify(snapshot.counts, after)?;
    tx.commit().await.map_err(backend)?;
    Ok((before, after))
}
