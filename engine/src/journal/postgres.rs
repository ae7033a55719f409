//! The PostgreSQL backend: one writing connection (the group-commit
//! writer's) and a pool for reads. Several medbus nodes may share one database.

use super::batch::Batch;
use super::records::{
    DueKind, MessageFilter, PendingDelivery, PruneCursor, PruneCutoffs, ReprocessSelection, RouteState, SearchCursor,
    SearchPage, SelectedStatus, StatsQuery, StoredMessage,
};
use super::rows::{self, JournalRow, MessageRow};
use super::sql::{self, SearchArg};
use super::stats::StatsRow;
use super::store::DueQuery;
use super::store::WriteError;
use super::{JournalError, MessageSummary};
use crate::settings::Durability;
use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use std::str::FromStr;
use std::sync::Arc;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The protocol's limit on bound parameters in one statement.
const MAX_BINDS: usize = 65_535;

const READERS: u32 = 4;

/// Turns synchronous_commit back on where the server's default turned it off,
/// and leaves stronger settings (remote_write, remote_apply) alone.
const SYNCHRONOUS_COMMIT_ON: &str = "SELECT set_config('synchronous_commit', 'on', false) \
    WHERE current_setting('synchronous_commit') = 'off'";

#[derive(Clone, Debug)]
pub(super) struct PostgresStore {
    writer: PgPool,
    pub(super) reader: PgPool,
}

impl PostgresStore {
    /// Connects and applies pending migrations (under PostgreSQL's advisory
    /// lock, so nodes starting together migrate once).
    pub async fn open(url: &str, durability: Durability) -> anyhow::Result<PostgresStore> {
        let mut options = PgConnectOptions::from_str(url).context("the PostgreSQL journal URL is not valid")?;
        if options.get_application_name().is_none() {
            options = options.application_name("medbus");
        }
        let durability_sql = match durability {
            Durability::Full => SYNCHRONOUS_COMMIT_ON,
            // The commit returns before its WAL record is flushed: a server
            // crash loses the last moments, a medbus crash loses nothing.
            Durability::Normal => "SET synchronous_commit = off",
        };
        let writer = PgPoolOptions::new()
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    sqlx::query(durability_sql).execute(conn).await?;
                    Ok(())
                })
            })
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .context("cannot connect to the PostgreSQL journal")?;
        MIGRATOR
            .run(&writer)
            .await
            .context("cannot migrate the PostgreSQL journal")?;
        let reader = PgPoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .context("cannot connect to the PostgreSQL journal for reading")?;
        Ok(PostgresStore { writer, reader })
    }

    /// Writes one batch in one transaction.
    pub async fn write(&self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let mut tx = self.writer.begin().await?;

        for chunk in batch.messages.chunks(MAX_BINDS / 13) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO messages (id, route, received_at_us, status, source, content_type, \
                 raw, trace, reply, error, duration_us, parent_id, caller) ",
            );
            q.push_values(chunk, |mut b, m| {
                b.push_bind(m.id.as_str())
                    .push_bind(m.route.as_str())
                    .push_bind(m.received_at_us)
                    .push_bind(m.status)
                    .push_bind(m.source.as_str())
                    .push_unseparated("::json")
                    .push_bind(m.content_type.as_deref())
                    .push_bind(m.raw.as_ref())
                    .push_bind(m.trace.as_str())
                    .push_unseparated("::json")
                    .push_bind(m.reply.as_deref())
                    .push_unseparated("::json")
                    .push_bind(m.error.as_deref())
                    .push_unseparated("::json")
                    .push_bind(m.duration_us)
                    .push_bind(m.parent_id.as_deref())
                    .push_bind(m.caller.as_deref());
            });
            q.build().execute(&mut *tx).await?;
        }

        for chunk in batch.deliveries.chunks(MAX_BINDS / 13) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, \
                 content_type, attempts, created_at_us, next_attempt_at_us, updated_at_us, order_key, body) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.delivery.id.as_str())
                    .push_bind(d.message.id.as_str())
                    .push_bind(d.message.route.as_str())
                    .push_bind(d.delivery.destination.as_str())
                    .push_bind(d.ordinal)
                    .push("'pending'")
                    .push_bind(d.delivery.content_type.as_str())
                    .push("0")
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.delivery.order_key.as_deref())
                    .push_bind(d.delivery.body);
            });
            q.build().execute(&mut *tx).await?;
        }

        for chunk in batch.bodies.chunks(MAX_BINDS / 4) {
            let mut q =
                QueryBuilder::<Postgres>::new("INSERT INTO delivery_bodies (message_id, body, payload, context) ");
            q.push_values(chunk, |mut b, body| {
                b.push_bind(body.message.id.as_str())
                    .push_bind(body.body.body)
                    .push_bind(body.body.payload.as_str())
                    .push_bind(body.body.context.as_str())
                    .push_unseparated("::json");
            });
            q.build().execute(&mut *tx).await?;
        }

        for chunk in batch.keys.chunks(MAX_BINDS / 3) {
            let mut q = QueryBuilder::<Postgres>::new("INSERT INTO message_keys (message_id, name, value) ");
            q.push_values(chunk, |mut b, k| {
                b.push_bind(k.message_id).push_bind(k.name).push_bind(k.value);
            });
            q.build().execute(&mut *tx).await?;
        }

        for chunk in batch.latest.chunks(MAX_BINDS / 8) {
            // Each delivery's last attempt so far moves from its row into the
            // history before the row takes the new one.
            let ids: Vec<&str> = chunk.iter().map(|u| u.id.as_str()).collect();
            sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, response, duration_us) \
                 SELECT id, attempts, updated_at_us, status, last_error, response, last_duration_us \
                 FROM deliveries WHERE id = ANY($1) AND last_duration_us IS NOT NULL",
            )
            .bind(&ids)
            .execute(&mut *tx)
            .await?;

            let mut q = QueryBuilder::<Postgres>::new(
                "WITH u (id, status, attempts, next_attempt_at_us, last_error, response, \
                 updated_at_us, duration_us) AS (",
            );
            q.push_values(chunk, |mut b, u| {
                b.push_bind(u.id.as_str())
                    .push_bind(u.status)
                    .push_bind(u.attempts)
                    .push_bind(u.next_attempt_at_us)
                    .push_bind(u.error.as_deref())
                    .push_bind(u.response.as_deref())
                    .push_bind(u.at_us)
                    .push_bind(u.duration_us);
            });
            q.push(
                ") UPDATE deliveries SET status = u.status, attempts = u.attempts, \
                 next_attempt_at_us = u.next_attempt_at_us, last_error = u.last_error, \
                 response = u.response::json, updated_at_us = u.updated_at_us, last_duration_us = u.duration_us \
                 FROM u WHERE deliveries.id = u.id",
            );
            let done = q.build().execute(&mut *tx).await?;
            if done.rows_affected() != chunk.len() as u64 {
                return Err(WriteError::UnknownDelivery);
            }
        }

        for chunk in batch.superseded.chunks(MAX_BINDS / 7) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, \
                 response, duration_us) ",
            );
            q.push_values(chunk, |mut b, u| {
                b.push_bind(u.id.as_str())
                    .push_bind(u.attempts)
                    .push_bind(u.at_us)
                    .push_bind(u.status)
                    .push_bind(u.error.as_deref())
                    .push_bind(u.response.as_deref())
                    .push_unseparated("::json")
                    .push_bind(u.duration_us);
            });
            q.build().execute(&mut *tx).await?;
        }

        tx.commit().await?;
        Ok(())
    }

    /// A setting's value on the writing connection.
    #[cfg(test)]
    pub async fn writer_setting(&self, name: &str) -> String {
        let row = sqlx::query("SELECT current_setting($1)")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .unwrap();
        row.get(0)
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

// Reads and the short writes of reprocessing and retention; a message is
// read in one repeatable-read snapshot with its deliveries.
super::shared::shared_queries!(
    PostgresStore,
    PgRow,
    begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    begin_write: "BEGIN",
    json: "::json",
    dialect: sql::Dialect::Postgres
);
