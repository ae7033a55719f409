//! The SQLite group commit, run by the writer's own thread on a connection
//! of its own through rusqlite. sqlx's SQLite driver runs each connection on
//! a worker thread and hands every statement's result back to the async
//! side; a commit then cost several thread hand-offs besides SQLite's own
//! work, and under load each hand-off waited for a CPU. Here the writer's
//! thread calls SQLite itself: a batch's statements run back to back,
//! prepared once and kept. Migrations, reads and the operators' short writes
//! stay on sqlx (`sqlite.rs`); SQLite's file lock orders those writes with
//! this one (`busy_timeout`).

use super::batch::Batch;
use super::store::WriteError;
use crate::settings::Durability;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a commit waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL pages past which a commit copies the log into the database file
/// (SQLite's default is 1,000). A checkpoint writes each page it holds once
/// however often commits changed it, and syncs the database file: the
/// rightmost pages of the messages' indexes change at every commit, so a
/// larger log costs fewer writes and syncs per message. On the ADT^A01
/// benchmark, 8 MLLP connections: about 10,400 messages a second against
/// 9,000, and half the p99. The log then grows to about 40 MB between
/// checkpoints.
const CHECKPOINT_PAGES: i64 = 10_000;

/// Statements the connection keeps prepared: the eight a batch uses.
const STATEMENT_CACHE: usize = 16;

const INSERT_MESSAGE: &str = "INSERT INTO messages (id, route, received_at_us, status, source, content_type, \
     raw, trace, reply, error, duration_us, parent_id, caller) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, \
     content_type, attempts, created_at_us, next_attempt_at_us, updated_at_us, order_key, body) \
     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, 0, ?7, ?7, ?7, ?8, ?9)";

const INSERT_BODY: &str = "INSERT INTO delivery_bodies (message_id, body, payload, context) VALUES (?1, ?2, ?3, ?4)";

const INSERT_KEY: &str = "INSERT INTO message_keys (message_id, name, value) VALUES (?1, ?2, ?3)";

/// A delivery's last attempt so far moves into the history before its row
/// takes the new one (a new delivery has had no attempt yet).
const KEEP_LAST_ATTEMPT: &str = "INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, \
     response, duration_us) \
     SELECT id, attempts, updated_at_us, status, last_error, response, last_duration_us \
     FROM deliveries WHERE id = ?1 AND last_duration_us IS NOT NULL";

const INSERT_ATTEMPT: &str = "INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, error, \
     response, duration_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const UPDATE_DELIVERY: &str = "UPDATE deliveries SET status = ?2, attempts = ?3, next_attempt_at_us = ?4, \
     last_error = ?5, response = ?6, updated_at_us = ?7, last_duration_us = ?8 WHERE id = ?1";

/// The writing connection.
pub(super) struct SqliteBatchWriter {
    connection: Connection,
}

impl SqliteBatchWriter {
    /// Opens the journal file, already created and migrated, for writing.
    pub fn open(path: &Path, durability: Durability) -> rusqlite::Result<SqliteBatchWriter> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // As sqlx's connections have them: an update naming no delivery is
        // caught by the history row's foreign key, and deleting a message
        // deletes its deliveries.
        connection.pragma_update(None, "foreign_keys", true)?;
        // In WAL mode FULL syncs the log on every commit; NORMAL only at
        // checkpoints (commits survive a process crash, a power loss may
        // undo the last ones).
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        connection.pragma_update(None, "synchronous", synchronous)?;
        connection.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)?;
        Ok(SqliteBatchWriter { connection })
    }

    /// Writes one batch in one transaction. `IMMEDIATE` takes the write
    /// lock up front, so that a busy database makes the commit wait
    /// (`busy_timeout`) instead of failing at its first insert.
    pub fn write(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(INSERT_MESSAGE)?;
            for m in &batch.messages {
                insert.execute(params![
                    m.id,
                    m.route,
                    m.received_at_us,
                    m.status,
                    m.source,
                    m.content_type,
                    m.raw.as_ref(),
                    m.trace,
                    m.reply,
                    m.error,
                    m.duration_us,
                    m.parent_id,
                    m.caller,
                ])?;
            }
        }
        if !batch.deliveries.is_empty() {
            let mut insert = tx.prepare_cached(INSERT_DELIVERY)?;
            for d in &batch.deliveries {
                insert.execute(params![
                    d.delivery.id,
                    d.message.id,
                    d.message.route,
                    d.delivery.destination,
                    d.ordinal,
                    d.delivery.content_type,
                    d.message.received_at_us,
                    d.delivery.order_key,
                    d.delivery.body,
                ])?;
            }
        }
        if !batch.bodies.is_empty() {
            let mut insert = tx.prepare_cached(INSERT_BODY)?;
            for b in &batch.bodies {
                insert.execute(params![b.message.id, b.body.body, b.body.payload, b.body.context])?;
            }
        }
        if !batch.keys.is_empty() {
            let mut insert = tx.prepare_cached(INSERT_KEY)?;
            for k in &batch.keys {
                insert.execute(params![k.message_id, k.name, k.value])?;
            }
        }
        if !batch.latest.is_empty() {
            let mut keep = tx.prepare_cached(KEEP_LAST_ATTEMPT)?;
            for u in &batch.latest {
                keep.execute(params![u.id])?;
            }
        }
        if !batch.superseded.is_empty() {
            let mut insert = tx.prepare_cached(INSERT_ATTEMPT)?;
            for u in &batch.superseded {
                insert.execute(params![
                    u.id,
                    u.attempts,
                    u.at_us,
                    u.status,
                    u.error,
                    u.response,
                    u.duration_us
                ])?;
            }
        }
        if !batch.latest.is_empty() {
            let mut update = tx.prepare_cached(UPDATE_DELIVERY)?;
            for u in &batch.latest {
                let changed = update.execute(params![
                    u.id,
                    u.status,
                    u.attempts,
                    u.next_attempt_at_us,
                    u.error,
                    u.response,
                    u.at_us,
                    u.duration_us,
                ])?;
                if changed == 0 {
                    return Err(WriteError::UnknownDelivery);
                }
            }
        }
        // Dropping the transaction unfinished (any `?` above) rolls it back.
        tx.commit()?;
        Ok(())
    }

    /// A pragma's value on the writing connection.
    #[cfg(test)]
    pub fn setting(&self, name: &str) -> String {
        self.connection
            .query_row(&format!("PRAGMA {name}"), [], |row| {
                row.get::<_, rusqlite::types::Value>(0)
            })
            .map(|value| match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    }
}
