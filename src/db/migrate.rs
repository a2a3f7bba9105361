//! Applies `migrations/*.sql` in name order, once each, recording what ran.
//!
//! Several servers may start on one database at once: a session advisory lock makes the
//! second wait until the first has finished, after which it finds nothing left to apply.

use tokio_postgres::Client;

use super::DbError;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Arbitrary but fixed: the advisory lock key that serialises migrations on one database.
const MIGRATION_LOCK_KEY: i64 = 0x0b5_0001;

/// Applies the migrations this database has not seen; returns the versions applied now.
pub(crate) async fn migrate(client: &mut Client) -> Result<Vec<&'static str>, DbError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    // Unlock even after a failure; the connection may be reused from a pool.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn apply_pending(client: &mut Client) -> Result<Vec<&'static str>, DbError> {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS obsportal;
             CREATE TABLE IF NOT EXISTS obsportal.schema_migration (
                 version    text PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let done: Vec<String> = client
        .query("SELECT version FROM obsportal.schema_migration", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS {
        if done.iter().any(|v| v == version) {
            continue;
        }
        let transaction = client.transaction().await?;
        transaction
            .batch_execute(sql)
            .await
            .map_err(|source| DbError::Migration { version, source })?;
        transaction
            .execute(
                "INSERT INTO obsportal.schema_migration (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        transaction.commit().await?;
        tracing::info!(version, "migration applied");
        applied.push(version);
    }
    Ok(applied)
}
