//! The SQLite backend: one file in WAL mode, a writing connection for
//! migrations and the operators' short writes, and a pool of read-only
//! connections, which WAL lets read while the writers write. The group
//! commit has a connection of its own (`sqlite_writer.rs`).

use super::records::{
    DueKind, MessageFilter, PendingDelivery, PruneCursor, PruneCutoffs, ReprocessSelection, RouteState, SearchCursor,
    SearchPage, SelectedStatus, StatsQuery, StoredMessage,
};
use super::rows::{self, JournalRow, MessageRow};
use super::sql::{self, SearchArg};
use super::stats::StatsRow;
use super::store::DueQuery;
use super::{JournalError, MessageSummary};
use crate::settings::Durability;
use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

const READERS: u32 = 4;

#[derive(Clone, Debug)]
pub(super) struct SqliteStore {
    /// The journal file, which the group commit opens on its own connection
    /// (`sqlite_writer.rs`).
    pub(super) path: PathBuf,
    /// Migrations and the operators' short writes.
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
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer,
            reader,
        })
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

// Reads and the short writes of reprocessing and retention. `BEGIN
// IMMEDIATE` takes the write lock at once, so a busy database makes the
// transaction wait (busy_timeout) instead of failing on its first write.
super::shared::shared_queries!(SqliteStore, SqliteRow, begin_read: "BEGIN", begin_write: "BEGIN IMMEDIATE", json: "", dialect: sql::Dialect::Sqlite);
