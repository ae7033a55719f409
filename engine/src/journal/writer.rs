//! The group-commit writer. One thread owns the writing connection; callers
//! queue their writes and wait. Each turn takes everything queued (up to a
//! cap), writes it in one transaction and answers every caller: while one
//! commit waits for the disk, the next batch gathers. The writer has a
//! thread of its own because under load the engine's worker threads are
//! busy with requests: a writer queued behind them would wait at every
//! commit, and every caller with it.

use super::batch::{Batch, Op};
use super::postgres::PostgresStore;
use super::sqlite_writer::SqliteBatchWriter;
use super::store::WriteError;
use super::JournalError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer; callers wait for room beyond this.
pub(super) const QUEUE_CAPACITY: usize = 8192;
/// Writes in one transaction at most.
const MAX_BATCH: usize = 1024;
/// Bytes (raw messages, payloads) in one transaction, past which a batch is closed.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// How long an idle writer polls for the next write before it parks
/// (`next_command`; docs/journal.md, Group commit).
const IDLE_SPIN: Duration = Duration::from_micros(150);

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

/// What writes one batch in one transaction, on the writer's thread.
pub(super) enum BatchWriter {
    Sqlite(SqliteBatchWriter),
    /// sqlx's PostgreSQL driver is async: the writer thread waits for each
    /// commit on a runtime of its own, whose one worker keeps what the pool
    /// runs in the background going between commits.
    Postgres {
        store: PostgresStore,
        runtime: tokio::runtime::Runtime,
    },
}

impl BatchWriter {
    pub fn postgres(store: PostgresStore) -> std::io::Result<BatchWriter> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("medbus-journal-pg")
            .enable_all()
            .build()?;
        Ok(BatchWriter::Postgres { store, runtime })
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        match self {
            BatchWriter::Sqlite(writer) => writer.write(batch),
            BatchWriter::Postgres { store, runtime } => runtime.block_on(store.write(batch)),
        }
    }
}

/// Runs, blocking the calling thread, until a shutdown command arrives or
/// every sender is gone.
pub(super) fn run(mut writer: BatchWriter, mut commands: mpsc::Receiver<Command>, counters: Arc<Counters>) {
    let mut requests = Vec::new();
    while let Some(first) = next_command(&mut commands) {
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
            commit(&mut writer, std::mem::take(&mut requests), &counters);
        }
        if let Some(ack) = shutdown {
            // Whatever was queued after the shutdown is dropped with the
            // receiver; its callers learn that the journal is closed.
            let _ = ack.send(());
            return;
        }
    }
}

/// The next command, waiting for one when none is queued. The writer first
/// polls for up to `IDLE_SPIN`, yielding its CPU between polls, and parks
/// only after that: a parked thread is woken with a context switch, which
/// costs tens of microseconds on a virtual machine, paid by every message
/// of a quiet connection that arrives soon after the last commit. InnoDB's
/// log writer spins before waiting for the same reason.
fn next_command(commands: &mut mpsc::Receiver<Command>) -> Option<Command> {
    let until = Instant::now() + IDLE_SPIN;
    loop {
        match commands.try_recv() {
            Ok(command) => return Some(command),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
            Err(TryRecvError::Empty) => return commands.blocking_recv(),
        }
    }
}

/// Commits the requests together and answers each one. When one write
/// spoils the batch (a duplicate id, an unknown delivery), the rest are
/// written one by one so that only the faulty one fails.
fn commit(writer: &mut BatchWriter, requests: Vec<Request>, counters: &Counters) {
    match write(writer, &requests, counters) {
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
                let result = write(writer, std::slice::from_ref(&request), counters);
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
fn write(writer: &mut BatchWriter, requests: &[Request], counters: &Counters) -> Result<(), WriteError> {
    let batch = Batch::new(requests.iter().map(|r| &r.op));
    let started = Instant::now();
    let result = writer.write(&batch);
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
        WriteError::Sqlite(e) => JournalError::Write(Arc::new(e)),
        WriteError::UnknownDelivery => JournalError::UnknownDelivery(op.id().to_string()),
    }
}
