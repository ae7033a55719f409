//! The database behind the journal, whichever backend it is.

use super::postgres::PostgresStore;
use super::records::{
    DueKind, MessageFilter, PendingDelivery, PruneCursor, PruneCutoffs, ReprocessSelection, RouteState, SearchPage,
    StatsQuery, StoredMessage,
};
use super::rows::MessageRow;
use super::sqlite::SqliteStore;
use super::stats::StatsRow;
use super::JournalError;
use crate::settings::{Durability, JournalLocation};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::error::ErrorKind;

/// A worker's request for due deliveries.
pub(super) struct DueQuery<'a> {
    pub route: &'a str,
    pub destination: &'a str,
    pub now_us: i64,
    pub limit: u32,
    pub kind: DueKind,
}

#[derive(Clone, Debug)]
pub(super) enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Why a batch was not committed. Nothing of it was.
#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// An update named a delivery the journal does not hold.
    #[error("an update names an unknown delivery")]
    UnknownDelivery,
}

impl WriteError {
    /// Whether one write of the batch, rather than the database, caused the
    /// failure: then the others can still be committed without it.
    pub fn is_caused_by_a_write(&self) -> bool {
        match self {
            WriteError::UnknownDelivery => true,
            WriteError::Database(sqlx::Error::Database(e)) => !matches!(e.kind(), ErrorKind::Other),
            WriteError::Database(_) => false,
            WriteError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::ConstraintViolation
            }
            WriteError::Sqlite(_) => false,
        }
    }
}

impl Store {
    pub async fn open(location: &JournalLocation, durability: Durability) -> anyhow::Result<Store> {
        Ok(match location {
            JournalLocation::Sqlite(path) => Store::Sqlite(SqliteStore::open(path, durability).await?),
            JournalLocation::Postgres(url) => Store::Postgres(PostgresStore::open(url, durability).await?),
        })
    }

    pub async fn due_deliveries(&self, query: &DueQuery<'_>) -> Result<Vec<PendingDelivery>, JournalError> {
        match self {
            Store::Sqlite(s) => s.due_deliveries(query).await,
            Store::Postgres(s) => s.due_deliveries(query).await,
        }
    }

    pub async fn pending_destinations(&self) -> Result<Vec<(String, String)>, JournalError> {
        match self {
            Store::Sqlite(s) => s.pending_destinations().await,
            Store::Postgres(s) => s.pending_destinations().await,
        }
    }

    pub async fn message(&self, id: &str) -> Result<Option<StoredMessage>, JournalError> {
        match self {
            Store::Sqlite(s) => s.message(id).await,
            Store::Postgres(s) => s.message(id).await,
        }
    }

    pub async fn search(&self, filter: &MessageFilter) -> Result<SearchPage, JournalError> {
        match self {
            Store::Sqlite(s) => s.search(filter).await,
            Store::Postgres(s) => s.search(filter).await,
        }
    }

    pub async fn stats_over_time(&self, query: &StatsQuery) -> Result<Vec<StatsRow<i64>>, JournalError> {
        match self {
            Store::Sqlite(s) => s.stats_over_time(query).await,
            Store::Postgres(s) => s.stats_over_time(query).await,
        }
    }

    pub async fn stats_by_caller(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StatsRow<(String, String)>>, JournalError> {
        match self {
            Store::Sqlite(s) => s.stats_by_caller(from, to).await,
            Store::Postgres(s) => s.stats_by_caller(from, to).await,
        }
    }

    pub async fn route_states(&self) -> Result<Vec<RouteState>, JournalError> {
        match self {
            Store::Sqlite(s) => s.route_states().await,
            Store::Postgres(s) => s.route_states().await,
        }
    }

    pub async fn set_route_state(&self, state: &RouteState) -> Result<(), JournalError> {
        match self {
            Store::Sqlite(s) => s.set_route_state(state).await,
            Store::Postgres(s) => s.set_route_state(state).await,
        }
    }

    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64, i64)>, JournalError> {
        match self {
            Store::Sqlite(s) => s.delivery_counts().await,
            Store::Postgres(s) => s.delivery_counts().await,
        }
    }

    pub async fn last_error(&self, route: &str) -> Result<Option<(DateTime<Utc>, Option<Value>)>, JournalError> {
        match self {
            Store::Sqlite(s) => s.last_error(route).await,
            Store::Postgres(s) => s.last_error(route).await,
        }
    }

    pub async fn count_by_status(&self, route: Option<&str>) -> Result<Vec<(String, i64)>, JournalError> {
        match self {
            Store::Sqlite(s) => s.count_by_status(route).await,
            Store::Postgres(s) => s.count_by_status(route).await,
        }
    }

    pub async fn select_for_reprocess(&self, selection: &ReprocessSelection) -> Result<Vec<String>, JournalError> {
        match self {
            Store::Sqlite(s) => s.select_for_reprocess(selection).await,
            Store::Postgres(s) => s.select_for_reprocess(selection).await,
        }
    }

    pub async fn record_redelivery(&self, message: &MessageRow, sent_as: &str) -> Result<(), JournalError> {
        match self {
            Store::Sqlite(s) => s.record_redelivery(message, sent_as).await,
            Store::Postgres(s) => s.record_redelivery(message, sent_as).await,
        }
    }

    pub async fn prune_bodies(
        &self,
        cutoffs: &PruneCutoffs,
        cursor: &mut PruneCursor,
        now_us: i64,
        limit: u32,
    ) -> Result<u64, JournalError> {
        match self {
            Store::Sqlite(s) => s.prune_bodies(cutoffs, cursor, now_us, limit).await,
            Store::Postgres(s) => s.prune_bodies(cutoffs, cursor, now_us, limit).await,
        }
    }

    pub async fn delete_old(&self, cutoff_us: i64, limit: u32) -> Result<u64, JournalError> {
        match self {
            Store::Sqlite(s) => s.delete_old(cutoff_us, limit).await,
            Store::Postgres(s) => s.delete_old(cutoff_us, limit).await,
        }
    }

    /// A durability setting as the writer's connection sees it.
    #[cfg(test)]
    pub async fn writer_setting(&self, name: &str) -> String {
        match self {
            Store::Sqlite(s) => s.writer_setting(name).await,
            Store::Postgres(s) => s.writer_setting(name).await,
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }
}
