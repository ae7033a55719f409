//! The SQLite backend: one file in WAL mode, one writing connection (the
//! group-commit writer's) and a pool of read-only connections, which WAL
//! lets read while the writer writes.

use super::batch::Batch;
use super::records::{
    DueKind, MessageFilter, PendingDelivery, PruneCursor, PruneCutoffs, ReprocessSelection, SelectedStatus,
    StoredMessage,
};
use super::rows::{self, JournalRow, MessageRow};
use super::sql::{self, SearchArg};
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

/// SQLite's limit on bound variables in one statement (SQLITE_MAX_VARIABLE_NUMBER).
const MAX_BINDS: usize = 32_766;

const READERS: u32 = 4;

#[derive(Clone, Debug)]
pub(super) struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
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
        for chunk in batch.messages.chunks(MAX_BINDS / 12) {
            q.push(
                "INSERT INTO messages (id, route, received_at_us, status, source, content_type, \
                 raw, trace, reply, error, duration_us, parent_id) ",
            );
            q.push_values(chunk, |mut b, m| {
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
                    .push_bind(m.parent_id.as_deref());
            });
            q.push(";\n");
        }

        for chunk in batch.deliveries.chunks(MAX_BINDS / 14) {
            q.push(
                "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, \
                 payload, content_type, context, attempts, created_at_us, next_attempt_at_us, \
                 updated_at_us, order_key) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.delivery.id.as_str())
                    .push_bind(d.message.id.as_str())
                    .push_bind(d.message.route.as_str())
                    .push_bind(d.delivery.destination.as_str())
                    .push_bind(d.ordinal)
                    .push("'pending'")
                    .push_bind(d.delivery.payload.as_str())
                    .push_bind(d.delivery.content_type.as_str())
                    .push_bind(d.delivery.context.as_str())
                    .push("0")
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.message.received_at_us)
                    .push_bind(d.delivery.order_key.as_deref());
            });
            q.push(";\n");
        }

        for chunk in batch.latest.chunks(MAX_BINDS / 7) {
            q.push(
                "WITH u (id, status, attempts, next_attempt_at_us, last_error, response, \
                 updated_at_us) AS (",
            );
            q.push_values(chunk, |mut b, u| {
                b.push_bind(u.id.as_str())
                    .push_bind(u.status)
                    .push_bind(u.attempts)
                    .push_bind(u.next_attempt_at_us)
                    .push_bind(u.error.as_deref())
                    .push_bind(u.response.as_deref())
                    .push_bind(u.at_us);
            });
            q.push(
                ") UPDATE deliveries SET status = u.status, attempts = u.attempts, \
                 next_attempt_at_us = u.next_attempt_at_us, last_error = u.last_error, \
                 response = u.response, updated_at_us = u.updated_at_us \
                 FROM u WHERE deliveries.id = u.id;\n",
            );
        }

        for chunk in batch.updates.chunks(MAX_BINDS / 7) {
            q.push(
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
                    .push_bind(u.duration_us);
            });
            q.push(";\n");
        }

        q.push("COMMIT;");
        match q.build().execute(&mut *connection).await {
            Ok(_) => Ok(()),
            Err(error) => {
                // Whatever statement failed, the transaction may still be open.
                let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                match error {
                    // Every update also appends an attempt, whose foreign key
                    // finds an unknown delivery.
                    sqlx::Error::Database(e)
                        if !batch.updates.is_empty() && e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
                    {
                        Err(WriteError::UnknownDelivery)
                    }
                    e => Err(WriteError::Database(e)),
                }
            }
        }
    }

    pub async fn due_deliveries(&self, query: &DueQuery<'_>) -> Result<Vec<PendingDelivery>, JournalError> {
        let (text, fewest_attempts) = match query.kind {
            DueKind::All => (sql::DUE_DELIVERIES, Some(0)),
            DueKind::Retries => (sql::DUE_DELIVERIES, Some(1)),
            DueKind::LaneHeads => (sql::LANE_HEADS, None),
        };
        let mut q = sqlx::query(text)
            .bind(query.route)
            .bind(query.destination)
            .bind(query.now_us)
            .bind(i64::from(query.limit));
        if let Some(fewest) = fewest_attempts {
            q = q.bind(fewest as i64);
        }
        let rows = q.fetch_all(&self.reader).await?;
        rows.iter().map(rows::pending_delivery).collect()
    }

    pub async fn pending_destinations(&self) -> Result<Vec<(String, String)>, JournalError> {
        let rows = sqlx::query(sql::PENDING_DESTINATIONS).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| Ok((row.text("route")?, row.text("destination")?)))
            .collect()
    }

    pub async fn message(&self, id: &str) -> Result<Option<StoredMessage>, JournalError> {
        // One read transaction: one snapshot of the message and its deliveries.
        let mut tx = self.reader.begin().await?;
        let Some(row) = sqlx::query(sql::MESSAGE).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let message = rows::stored_message(&row)?;
        let deliveries = sqlx::query(sql::MESSAGE_DELIVERIES)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::stored_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        let attempts = sqlx::query(sql::MESSAGE_ATTEMPTS)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(rows::attempt)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(Some(rows::assemble(message, deliveries, attempts)))
    }

    pub async fn search(&self, filter: &MessageFilter) -> Result<Vec<MessageSummary>, JournalError> {
        let (text, args) = sql::search(filter);
        let mut query = sqlx::query(&text);
        for arg in args {
            query = match arg {
                SearchArg::Text(s) => query.bind(s),
                SearchArg::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(rows::summary).collect()
    }

    pub async fn count_by_status(&self, route: Option<&str>) -> Result<Vec<(String, i64)>, JournalError> {
        let query = match route {
            Some(route) => sqlx::query(sql::COUNT_BY_STATUS_OF_ROUTE).bind(route),
            None => sqlx::query(sql::COUNT_BY_STATUS),
        };
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| Ok((row.text("status")?, row.int("n")?)))
            .collect()
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

impl JournalRow for SqliteRow {
    fn text(&self, column: &str) -> Result<String, JournalError> {
        Ok(self.try_get(column)?)
    }
    fn text_opt(&self, column: &str) -> Result<Option<String>, JournalError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i64, JournalError> {
        Ok(self.try_get(column)?)
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>, JournalError> {
        Ok(self.try_get(column)?)
    }
    fn blob(&self, column: &str) -> Result<Vec<u8>, JournalError> {
        Ok(self.try_get(column)?)
    }
}

/// Reprocessing and retention. Their writes are short transactions of
/// their own on the writing connection, taken between the writer's batches.
impl SqliteStore {
    pub async fn select_for_reprocess(&self, selection: &ReprocessSelection) -> Result<Vec<String>, JournalError> {
        let (from, before) = (
            rows::micros(selection.received_from),
            rows::micros(selection.received_before),
        );
        let limit = i64::from(selection.limit);
        let query = match (selection.status, &selection.destination) {
            (SelectedStatus::Message(status), _) => sqlx::query(sql::SELECT_BY_STATUS)
                .bind(selection.route.as_str())
                .bind(status.as_str()),
            (SelectedStatus::Dead, None) => sqlx::query(sql::SELECT_DEAD).bind(selection.route.as_str()),
            (SelectedStatus::Dead, Some(destination)) => sqlx::query(sql::SELECT_DEAD_TO)
                .bind(selection.route.as_str())
                .bind(destination.as_str()),
        };
        let rows = query
            .bind(from)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|row| row.text("id")).collect()
    }

    /// Writes a message and its deliveries, each sent under `sent_as`.
    pub async fn record_redelivery(&self, message: &MessageRow, sent_as: &str) -> Result<(), JournalError> {
        let write = async {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(
                "INSERT INTO messages (id, route, received_at_us, status, source, content_type, raw, trace, \
                 reply, error, duration_us, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(message.id.as_str())
            .bind(message.route.as_str())
            .bind(message.received_at_us)
            .bind(message.status)
            .bind(message.source.as_str())
            .bind(message.content_type.as_deref())
            .bind(message.raw.as_ref())
            .bind(message.trace.as_str())
            .bind(message.reply.as_deref())
            .bind(message.error.as_deref())
            .bind(message.duration_us)
            .bind(message.parent_id.as_deref())
            .execute(&mut *tx)
            .await?;
            for (ordinal, delivery) in message.deliveries.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, payload, \
                     content_type, context, attempts, created_at_us, next_attempt_at_us, updated_at_us, sent_as_id, \
                     order_key) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, 0, $9, $9, $9, $10, $11)",
                )
                .bind(delivery.id.as_str())
                .bind(message.id.as_str())
                .bind(message.route.as_str())
                .bind(delivery.destination.as_str())
                .bind(ordinal as i64)
                .bind(delivery.payload.as_str())
                .bind(delivery.content_type.as_str())
                .bind(delivery.context.as_str())
                .bind(message.received_at_us)
                .bind(sent_as)
                .bind(delivery.order_key.as_deref())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        };
        write.await.map_err(|e| JournalError::Write(Arc::new(e)))
    }

    /// Empties the bodies of up to `limit` messages past their cutoff.
    pub async fn prune_bodies(
        &self,
        cutoffs: &PruneCutoffs,
        cursor: &mut PruneCursor,
        now_us: i64,
        limit: u32,
    ) -> Result<u64, JournalError> {
        let (bodies, errors) = (rows::micros(cutoffs.bodies), rows::micros(cutoffs.errors));
        let write = async {
            let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
            let found = sqlx::query(sql::PRUNABLE)
                .bind(cursor.after_us)
                .bind(cursor.after_id.as_str())
                .bind(bodies)
                .bind(errors)
                .bind(bodies.max(errors))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            let ids = found
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get::<String, _>("id")?,
                        row.try_get::<i64, _>("received_at_us")?,
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let Some((last_id, last_us)) = ids.last().cloned() else {
                return Ok(0);
            };
            for statement in sql::prune_bodies(ids.len()) {
                let mut query = sqlx::query(&statement).bind(&[] as &[u8]).bind(now_us);
                for (id, _) in &ids {
                    query = query.bind(id.as_str());
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            (cursor.after_us, cursor.after_id) = (last_us, last_id);
            Ok(ids.len() as u64)
        };
        write.await.map_err(|e: sqlx::Error| JournalError::Write(Arc::new(e)))
    }

    /// Deletes up to `limit` messages received before `cutoff`.
    pub async fn delete_old(&self, cutoff_us: i64, limit: u32) -> Result<u64, JournalError> {
        let done = sqlx::query(sql::DELETE_OLD)
            .bind(cutoff_us)
            .bind(i64::from(limit))
            .execute(&self.writer)
            .await
            .map_err(|e| JournalError::Write(Arc::new(e)))?;
        Ok(done.rows_affected())
    }
}
