//! The journal: medbus's durable message store. Every message is written
//! here (raw input, step traces, reply, deliveries, timings) before it is
//! acknowledged, and delivery workers find their pending work here after a
//! restart.
//!
//! Writes are group-committed: concurrent callers share one transaction,
//! made by a single writer task, so durability costs one disk flush per
//! batch rather than per message. SQLite (WAL) is the default; PostgreSQL
//! serves production and several nodes. See `docs/journal.md` for the
//! schema and the durability levels.

mod batch;
mod postgres;
mod records;
pub mod retention;
mod rows;
mod shared;
mod size;
mod sql;
mod sqlite;
mod sqlite_writer;
pub mod stats;
mod store;
mod writer;

#[cfg(test)]
mod tests;

pub use records::{
    DeliveryAttempt, DeliveryStatus, DeliveryUpdate, DueKind, MessageFilter, MessageRecord, MessageStatus,
    MessageSummary, NewDelivery, PendingDelivery, PruneCursor, PruneCutoffs, Pruned, ReprocessSelection, RouteState,
    SearchCursor, SearchPage, SelectedStatus, StatsQuery, StoredDelivery, StoredMessage, UnknownStatus,
    TEXT_SCAN_LIMIT,
};
use stats::{StatsRow, Tally};
use std::collections::BTreeMap;

use crate::settings::{Durability, JournalLocation};
use anyhow::Context;
use batch::Op;
use chrono::{DateTime, Utc};
use rows::{MessageRow, UpdateRow};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use store::Store;
use tokio::sync::{mpsc, oneshot};
use writer::{BatchWriter, Command, Counters, Request};

/// A handle on the journal; cheap to clone, all clones share one writer.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    store: Store,
    counters: Arc<Counters>,
    /// The writer's thread; it ends when every handle is dropped.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Why a journal operation did not succeed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal was shut down (or its writer stopped); nothing was written.
    #[error("the journal is closed")]
    Closed,
    /// The write cannot be stored as given; nothing was written.
    #[error("the journal refuses this write: {0}")]
    Invalid(String),
    /// A delivery update names a delivery the journal does not hold.
    #[error("the journal holds no delivery `{0}`")]
    UnknownDelivery(String),
    /// The transaction holding this write failed; nothing of it was committed.
    #[error("the journal could not commit: {0}")]
    Write(Arc<dyn std::error::Error + Send + Sync>),
    #[error("the journal could not be read: {0}")]
    Read(Arc<sqlx::Error>),
    /// A stored row does not decode.
    #[error("the journal holds a malformed row: {0}")]
    Malformed(String),
}

impl From<sqlx::Error> for JournalError {
    fn from(error: sqlx::Error) -> Self {
        JournalError::Read(Arc::new(error))
    }
}

/// What the writer has done since the journal was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Transactions committed.
    pub commits: u64,
    /// Writes (`record`, `update_delivery`) reported committed.
    pub committed: u64,
    /// Writes reported failed.
    pub failed: u64,
}

fn tally<G: Ord>(rows: Vec<StatsRow<G>>) -> BTreeMap<G, Tally> {
    let mut tallies: BTreeMap<G, Tally> = BTreeMap::new();
    for row in rows {
        tallies
            .entry(row.group)
            .or_default()
            .add(row.status, row.class, row.count);
    }
    tallies
}

impl Journal {
    /// Opens the journal (creating the SQLite file and its folders if
    /// needed), applies pending migrations and starts the writer.
    pub async fn open(location: &JournalLocation, durability: Durability) -> anyhow::Result<Journal> {
        let store = Store::open(location, durability).await?;
        let batch_writer = match &store {
            Store::Sqlite(sqlite) => {
                let path = sqlite.path.clone();
                let opened =
                    tokio::task::spawn_blocking(move || sqlite_writer::SqliteBatchWriter::open(&path, durability))
                        .await?;
                BatchWriter::Sqlite(opened.context("cannot open the journal for writing")?)
            }
            Store::Postgres(postgres) => BatchWriter::postgres(postgres.clone())?,
        };
        let (commands, receiver) = mpsc::channel(writer::QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let handle = std::thread::Builder::new().name("medbus-journal".into()).spawn({
            let counters = counters.clone();
            move || writer::run(batch_writer, receiver, counters)
        })?;
        Ok(Journal {
            inner: Arc::new(Inner {
                commands,
                store,
                counters,
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    /// Resolves once the message and its deliveries are durably committed.
    pub async fn record(&self, message: MessageRecord) -> Result<(), JournalError> {
        self.submit(Op::Record(Box::new(MessageRow::encode(message)?))).await
    }

    /// Records a delivery attempt's outcome (group-committed like `record`):
    /// sets the delivery's state and appends to its attempt history.
    pub async fn update_delivery(&self, update: DeliveryUpdate) -> Result<(), JournalError> {
        self.submit(Op::Update(UpdateRow::encode(update)?)).await
    }

    async fn submit(&self, op: Op) -> Result<(), JournalError> {
        let (done, outcome) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Write(Request { op, done }))
            .await
            .map_err(|_| JournalError::Closed)?;
        // A dropped answer means the writer stopped before this write.
        outcome.await.unwrap_or(Err(JournalError::Closed))
    }

    /// Pending deliveries of one destination due at `now`, oldest first: in
    /// the order they fell due (a new delivery falls due when its message
    /// was received), then in the order they were made; or, for an ordered
    /// destination, the due heads of its lanes.
    pub async fn due_deliveries(
        &self,
        route: &str,
        destination: &str,
        now: DateTime<Utc>,
        limit: u32,
        kind: DueKind,
    ) -> Result<Vec<PendingDelivery>, JournalError> {
        let query = store::DueQuery {
            route,
            destination,
            now_us: rows::micros(now),
            limit,
            kind,
        };
        self.inner.store.due_deliveries(&query).await
    }

    /// Every (route, destination) with pending deliveries, due or not; used
    /// at start to resume delivery.
    pub async fn pending_destinations(&self) -> Result<Vec<(String, String)>, JournalError> {
        self.inner.store.pending_destinations().await
    }

    /// One message with its deliveries and their attempts.
    pub async fn message(&self, id: &str) -> Result<Option<StoredMessage>, JournalError> {
        self.inner.store.message(id).await
    }

    /// One page of the messages matching the filter, newest first, each
    /// with its business keys.
    pub async fn search(&self, filter: &MessageFilter) -> Result<SearchPage, JournalError> {
        self.inner.store.search(filter).await
    }

    /// Message counts by status and latency histograms per time bucket
    /// (the bucket's index from `query.from`); buckets without messages are absent.
    pub async fn stats_over_time(&self, query: &StatsQuery) -> Result<BTreeMap<i64, Tally>, JournalError> {
        let found = self.inner.store.stats_over_time(query).await?;
        Ok(tally(found))
    }

    /// Message counts by status and latency histograms per (caller, route),
    /// of the messages received in `[from, to)` from a known caller.
    pub async fn stats_by_caller(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BTreeMap<(String, String), Tally>, JournalError> {
        let found = self.inner.store.stats_by_caller(from, to).await?;
        Ok(tally(found))
    }

    /// Every route an operator paused or resumed, as last set.
    pub async fn route_states(&self) -> Result<Vec<RouteState>, JournalError> {
        self.inner.store.route_states().await
    }

    /// Records that a route was paused or resumed; committed at once on the
    /// writing connection (an operator's action, not traffic).
    pub async fn set_route_state(&self, state: &RouteState) -> Result<(), JournalError> {
        if state.route.contains('\0') || state.changed_by.as_deref().is_some_and(|by| by.contains('\0')) {
            return Err(JournalError::Invalid("a route state holds a NUL character".into()));
        }
        self.inner.store.set_route_state(state).await
    }

    /// Deliveries pending and dead, per route that has any: (route, pending, dead).
    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64, i64)>, JournalError> {
        self.inner.store.delivery_counts().await
    }

    /// When the route's last rejected or failed message was received, with its error.
    pub async fn last_error(
        &self,
        route: &str,
    ) -> Result<Option<(DateTime<Utc>, Option<serde_json::Value>)>, JournalError> {
        self.inner.store.last_error(route).await
    }

    /// How many messages have each status, of one route or of all; statuses
    /// without messages are left out.
    pub async fn count_by_status(&self, route: Option<&str>) -> Result<Vec<(String, i64)>, JournalError> {
        self.inner.store.count_by_status(route).await
    }

    /// The ids of the messages a bulk reprocess takes, oldest first.
    pub async fn select_for_reprocess(&self, selection: &ReprocessSelection) -> Result<Vec<String>, JournalError> {
        self.inner.store.select_for_reprocess(selection).await
    }

    /// Records a re-delivery: a message whose deliveries go out under the
    /// id `sent_as` (the original message's), so that receivers recognise
    /// the same business message. Committed in a short transaction of its
    /// own, not group-committed: an operator's action, not traffic.
    pub async fn record_redelivery(&self, message: MessageRecord, sent_as: &str) -> Result<(), JournalError> {
        let row = MessageRow::encode(message)?;
        if sent_as.contains('\0') {
            return Err(JournalError::Invalid("sent_as contains a NUL character".into()));
        }
        self.inner.store.record_redelivery(&row, sent_as).await
    }

    /// One pruning batch: empties the bodies of up to `limit` messages past
    /// their cutoff (after `cursor`, which it moves on), then, when a
    /// metadata cutoff is set, deletes up to `limit` messages older than it.
    /// Pending deliveries and their messages are never touched. Each part
    /// is one short transaction.
    pub async fn prune_batch(
        &self,
        cutoffs: &PruneCutoffs,
        cursor: &mut PruneCursor,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Pruned, JournalError> {
        let store = &self.inner.store;
        let bodies = store.prune_bodies(cutoffs, cursor, rows::micros(now), limit).await?;
        let metadata = match cutoffs.metadata {
            Some(cutoff) => store.delete_old(rows::micros(cutoff), limit).await?,
            None => 0,
        };
        Ok(Pruned { bodies, metadata })
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> JournalStats {
        let counters = &self.inner.counters;
        JournalStats {
            commits: counters.commits.load(Ordering::Relaxed),
            committed: counters.committed.load(Ordering::Relaxed),
            failed: counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Commits what is queued, stops the writer and closes the database.
    /// Writes queued afterwards fail with [`JournalError::Closed`].
    pub async fn shutdown(&self) {
        let (ack, stopped) = oneshot::channel();
        if self.inner.commands.send(Command::Shutdown(ack)).await.is_ok() {
            let _ = stopped.await;
        }
        let handle = self.inner.writer.lock().map(|mut h| h.take()).unwrap_or(None);
        if let Some(handle) = handle {
            // The writer answered the shutdown as its last act; joining is short.
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!("the journal writer stopped abnormally");
            }
        }
        self.inner.store.close().await;
    }
}
