//! The SQLite backend: one file in WAL mode, one writing connection (the
//! group-commit writer's) and a pool of read-only connections, which WAL
//! lets read while the writer writes.

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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Rows in one multi-row statement at most: a power of two, and 1,024 rows
/// of 13 columns stay under SQLite's 32,766 bound variables.
const ROWS_PER_STATEMENT: usize = 1024;

/// Prepared statements the writing connection keeps: one per shape of batch
/// (see [`padded`]), of which a steady load uses a few dozen.
const WRITER_STATEMENT_CACHE: usize = 512;

const READERS: u32 = 4;

#[derive(Clone, Debug)]
pub(super) struct SqliteStore {
    writer: SqlitePool,
    pub(super) reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (or creates) the journal file and applies pending migrations.
    pub async fn open(path: &Path, durability: Durability) -> anyhow::Result<SqliteStore> {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .with_context(|| format!("cannot create the folder {}", parent.display()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(Duration::from_secs(5));
        // In WAL mode FULL syncs the log on every commit. NORMAL syncs it only
        // at checkpoints: commits survive a process crash, and a power loss
        // may undo the last of them.
        let synchronous = match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .statement_cache_capacity(WRITER_STATEMENT_CACHE)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous),
            )
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        MIGRATOR
            .run(&writer)
            .await
            .with_context(|| format!("cannot migrate {}", path.display()))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("cannot open {} for reading", path.display()))?;
        Ok(SqliteStore { writer, reader })
    }

    /// Writes one batch in one transaction. The whole transaction, from
    /// `BEGIN` to `COMMIT`, goes to SQLite as one query (sqlx binds the
    /// arguments across the statements in order): one round trip to the
    /// connection's thread per batch instead of one per statement, which
    /// under load is what bounded the writer.
    pub async fn write(&self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let mut connection = self.writer.acquire().await?;
        // IMMEDIATE takes the write lock up front, so a busy database makes
        // us wait (busy_timeout) instead of failing on the first insert.
        let mut q = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE;\n");
        for chunk in batch.messages.chunks(ROWS_PER_STATEMENT) {
            q.push(
                "INSERT INTO messages (id, route, received_at_us, status, source, content_type, \
                 raw, trace, reply, error, duration_us, parent_id, caller) SELECT * FROM (",
            );
            q.push_values(padded(chunk), |mut b, m| {
                let Some(m) = m else { return nulls(b, 13) };
                b.push_bind(m.id.as_str())
                    .push_bind(m.route.as_str())
                    .push_bind(m.received_at_us)
                    .push_bind(m.status)
                    .push_bind(m.source.as_str())
                    .push_bind(m.content_type.as_deref())
                    .push_bind(m.raw.as_ref())
                    .push_bind(m.trace.as_str())
                    .push_bind(m.reply.as_deref())
                    .push_bind(m.error.as_deref())
                    .push_bind(m.duration_us)
                    .push_bind(m.parent_id.as_deref())
                    .push_bind(m.caller.as_deref());
            });
            q.push(") WHERE column1 IS NOT NULL;\n");
        }

        for chunk in batch.deliveries.chunks(ROWS_PER_STATEMENT) {
            q.push(
                "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, \
                 content_type, attempts, created_at_us, next_attempt_at_us, updated_at_us, order_key, body) \
                 SELECT * FROM (",
            );
            q.push_values(padded(chunk), |mut b, d| {
                let Some(d) = d else { return nulls(b, 13) };
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
            q.push(") WHERE column1 IS NOT NULL;\n");
        }

        for chunk in batch.bodies.chunks(ROWS_PER_STATEMENT) {
            q.push("INSERT INTO delivery_bodies (message_id, body, payload, context) SELECT * FROM (");
            q.push_values(padded(chunk), |mut b, body| {
                let Some(body) = body else { return nulls(b, 4) };
                b.push_bind(body.message.id.as_str())
                    .push_bind(body.body.body)
                    .push_bind(body.body.payload.as_str())
                    .push_bind(body.body.context.as_str());
            });
            q.push(") WHERE column1 IS NOT NULL;\n");
        }

        for chunk in batch.keys.chunks(ROWS_PER_STATEMENT) {
            q.push("INSERT INTO message_keys (message_id, name, value) SELECT * FROM (");
            q.push_values(padded(chunk), |mut b, k| {
                let Some(k) = k else { return nulls(b, 3) };
                b.push_bind(k.message_id).push_bind(k.name).push_bind(k.value);
            });
            q.push(") WHERE column1 IS NOT NULL;\n");
        }

        // Each delivery's last attempt so far moves from its row into the
        // history before the row takes the new one. An update naming no
        // delivery inserts a history row whose foreign key fails: so the
        // batch learns of it. Padding rows have a NULL id.
        for chunk in batch.latest.chunks(ROWS_PER_STATEMENT) {
            q.push("WITH u (id) AS (");
            q.push_values(padded(chunk), |mut b, u| match u {
                Some(u) => {
                    b.push_bind(u.id.as_str());
                }
                None => nulls(b, 1),
            });
            q.push(
                ") INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, response, \
                 duration_us) \
                 SELECT u.id, COALESCE(d.attempts, 0), COALESCE(d.updated_at_us, 0), COALESCE(d.status, 'pending'), \
                        d.last_error, d.response, COALESCE(d.last_duration_us, 0) \
                 FROM u LEFT JOIN deliveries d ON d.id = u.id \
                 WHERE u.id IS NOT NULL AND (d.id IS NULL OR d.last_duration_us IS NOT NULL);\n",
            );
        }

        for chunk in batch.superseded.chunks(ROWS_PER_STATEMENT) {
            q.push(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, \
                 response, duration_us) SELECT * FROM (",
            );
            q.push_values(padded(chunk), |mut b, u| {
                let Some(u) = u else { return nulls(b, 7) };
                b.push_bind(u.id.as_str())
                    .push_bind(u.attempts)
                    .push_bind(u.at_us)
                    .push_bind(u.status)
                    .push_bind(u.error.as_deref())
                    .push_bind(u.response.as_deref())
                    .push_bind(u.duration_us);
            });
            q.push(") WHERE column1 IS NOT NULL;\n");
        }

        for chunk in batch.latest.chunks(ROWS_PER_STATEMENT) {
            q.push(
                "WITH u (id, status, attempts, next_attempt_at_us, last_error, response, \
                 updated_at_us, duration_us) AS (",
            );
            q.push_values(padded(chunk), |mut b, u| {
                let Some(u) = u else { return nulls(b, 8) };
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
                 response = u.response, updated_at_us = u.updated_at_us, last_duration_us = u.duration_us \
                 FROM u WHERE deliveries.id = u.id;\n",
            );
        }

        q.push("COMMIT;");
        match q.build().execute(&mut *connection).await {
            Ok(_) => Ok(()),
            Err(error) => {
                // Whatever statement failed, the transaction may still be open.
                let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                match error {
                    // An unknown delivery's update inserts an attempt whose
                    // foreign key finds no delivery.
                    sqlx::Error::Database(e)
                        if !batch.latest.is_empty() && e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
                    {
                        Err(WriteError::UnknownDelivery)
                    }
                    e => Err(WriteError::Database(e)),
                }
            }
        }
    }

    /// A pragma's value on the writing connection.
    #[cfg(test)]
    pub async fn writer_setting(&self, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(&self.writer)
            .await
            .unwrap();
        row.try_get_unchecked(0).unwrap()
    }

    /// Closes every connection; the last one to go checkpoints the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The rows of one multi-row statement, padded with `None` up to a power of
/// two. A batch's SQL text then takes one of a few shapes, which the writing
/// connection keeps prepared; without padding every batch size was a new
/// text, and parsing it was a quarter of the writer's work. The statements
/// skip the padding rows (`WHERE column1 IS NOT NULL`, or an id no row has).
fn padded<T>(rows: &[T]) -> impl Iterator<Item = Option<&T>> {
    let len = rows.len().next_power_of_two();
    rows.iter().map(Some).chain(std::iter::repeat_n(None, len - rows.len()))
}

/// A padding row: `width` NULLs.
fn nulls(mut row: sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, width: usize) {
    for _ in 0..width {
        row.push("NULL");
    }
}

// Reads and the short writes of reprocessing and retention. `BEGIN
// IMMEDIATE` takes the write lock at once, so a busy database makes the
// transaction wait (busy_timeout) instead of failing on its first write.
super::shared::shared_queries!(SqliteStore, SqliteRow, begin_read: "BEGIN", begin_write: "BEGIN IMMEDIATE", json: "", dialect: sql::Dialect::Sqlite);
