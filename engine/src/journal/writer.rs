//! The group-commit writer. One task owns the writing connection; callers
//! queue their writes and wait. Each turn takes everything queued (up to a
//! cap), writes it in one transaction and answers every caller: while one
//! commit waits for the disk, the next batch gathers.

use super::batch::{Batch, Op};
use super::store::{Store, WriteError};
use super::JournalError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer; callers wait for room beyond this.
pub(super) const QUEUE_CAPACITY: usize = 8192;
/// Writes in one transaction at most.
const MAX_BATCH: usize = 1024;
/// Bytes (raw messages, payloads) in one transaction, past which a batch is closed.
const MAX_BATCH_BYTES: usize = 32 << 20;

/// One caller's write and where to tell it the outcome.
pub(super) struct Request {
    pub op: Op,
    pub done: oneshot::Sender<Result<(), JournalError>>,
}

pub(super) enum Command {
    Write(Request),
    /// Write what was queued before this, then stop.
    Shutdown(oneshot::Sender<()>),
}

/// What the writer has done so far.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Writes answered "committed".
    pub committed: AtomicU64,
    /// Writes answered with an error.
    pub failed: AtomicU64,
}

/// Runs until a shutdown command arrives or every sender is gone.
pub(super) async fn run(store: Store, mut commands: mpsc::Receiver<Command>, counters: Arc<Counters>) {
    let mut requests = Vec::new();
    while let Some(first) = commands.recv().await {
        let mut shutdown = None;
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Write(request) => {
                    bytes += request.op.size();
                    requests.push(request);
                }
                Command::Shutdown(ack) => {
                    shutdown = Some(ack);
                    break;
                }
            }
            if requests.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                next = commands.try_recv().ok();
            }
        }
        if !requests.is_empty() {
            commit(&store, std::mem::take(&mut requests), &counters).await;
        }
        if let Some(ack) = shutdown {
            // Whatever was queued after the shutdown is dropped with the
            // receiver; its callers learn that the journal is closed.
            let _ = ack.send(());
            return;
        }
    }
}

/// Commits the requests together and answers each one. When one write
/// spoils the batch (a duplicate id, an unknown delivery), the rest are
/// written one by one so that only the faulty one fails.
async fn commit(store: &Store, requests: Vec<Request>, counters: &Counters) {
    match write(store, &requests, counters).await {
        Ok(()) => {
            for request in requests {
                answer(request, Ok(()), counters);
            }
        }
        Err(error) if requests.len() > 1 && error.is_caused_by_a_write() => {
            tracing::warn!(
                writes = requests.len(),
                error = %error,
                "journal batch refused by one of its writes; writing them one by one"
            );
            for request in requests {
                let result = write(store, std::slice::from_ref(&request), counters).await;
                let result = result.map_err(|e| request_error(e, &request.op));
                answer(request, result, counters);
            }
        }
        Err(error) => {
            tracing::error!(writes = requests.len(), error = %error, "journal commit failed");
            let error = request_error(error, &requests[0].op);
            for request in requests {
                answer(request, Err(error.clone()), counters);
            }
        }
    }
}

/// Writes one transaction, timing it.
async fn write(store: &Store, requests: &[Request], counters: &Counters) -> Result<(), WriteError> {
    let batch = Batch::new(requests.iter().map(|r| &r.op));
    let started = Instant::now();
    let result = store.write(&batch).await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::counter!("medbus_journal_commits_total", "outcome" => outcome).increment(1);
    if result.is_ok() {
        metrics::histogram!("medbus_journal_commit_batch_size").record(requests.len() as f64);
        metrics::histogram!("medbus_journal_commit_seconds").record(started.elapsed().as_secs_f64());
        counters.commits.fetch_add(1, Ordering::Relaxed);
    }
    result
}

fn answer(request: Request, result: Result<(), JournalError>, counters: &Counters) {
    let counter = if result.is_ok() {
        &counters.committed
    } else {
        &counters.failed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    // A caller that stopped waiting still had its write committed (or not).
    let _ = request.done.send(result);
}

/// The error one caller gets for its write.
fn request_error(error: WriteError, op: &Op) -> JournalError {
    match error {
        WriteError::Database(e) => JournalError::Write(Arc::new(e)),
        WriteError::UnknownDelivery => JournalError::UnknownDelivery(op.id().to_string()),
    }
}
