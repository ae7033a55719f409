//! The running engine: the current configuration snapshot, the journal,
//! the listeners, timers and delivery workers.

pub mod activity;
pub mod delivery;
pub mod file_pollers;
pub mod listeners;
pub mod mllp_listeners;
pub mod pipeline;
pub mod reload;
pub mod reprocess;
pub mod route_states;
pub mod route_tasks;
pub mod snapshot;
pub mod timers;
pub mod watch;

use crate::exchange::{Exchange, Reply};
use crate::journal::{Journal, MessageRecord, MessageStatus, PendingDelivery};
use crate::outbound::Outbound;
use crate::settings::Settings;
use crate::steps::{RunEnv, StepError};
use crate::telemetry;
use arc_swap::ArcSwap;
use snapshot::{Route, Snapshot};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub struct Engine {
    snapshot: ArcSwap<Snapshot>,
    pub journal: Journal,
    pub env: RunEnv,
    pub deliveries: delivery::DeliveryHub,
    pub listeners: listeners::Listeners,
    pub mllp_listeners: listeners::Listeners,
    pub file_pollers: route_tasks::RouteTasks,
    pub timers: route_tasks::RouteTasks,
    pub reloads: reload::Reloads,
    /// Each route's messages since medbus started.
    pub activity: activity::Activity,
    /// Routes an operator paused.
    pub route_states: route_states::RouteStates,
    ready: AtomicBool,
    /// Turns true once medbus is told to stop: listeners stop accepting,
    /// timers and delivery workers finish what they hold and end.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Listeners, timers and workers, awaited when stopping.
    pub tasks: tokio_util::task::TaskTracker,
}

impl Engine {
    pub fn new(snapshot: Snapshot, journal: Journal) -> Arc<Engine> {
        Arc::new(Engine {
            snapshot: ArcSwap::from_pointee(snapshot),
            journal,
            env: RunEnv {
                outbound: Outbound::live(),
            },
            deliveries: delivery::DeliveryHub::default(),
            listeners: listeners::Listeners::new("HTTP"),
            mllp_listeners: listeners::Listeners::new("MLLP"),
            file_pollers: route_tasks::RouteTasks::new("file poller"),
            timers: route_tasks::RouteTasks::new("timer"),
            reloads: reload::Reloads::default(),
            activity: activity::Activity::default(),
            route_states: route_states::RouteStates::default(),
            ready: AtomicBool::new(false),
            stopping: tokio::sync::watch::channel(false).0,
            tasks: tokio_util::task::TaskTracker::new(),
        })
    }

    /// Resolves once medbus is stopping.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.stopping.subscribe();
        async move {
            let _ = receiver.wait_for(|stopping| *stopping).await;
        }
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Stops listeners, timers and workers, waiting up to `grace` for the
    /// requests and deliveries in flight; the journal stays open for them.
    pub async fn stop(&self, grace: std::time::Duration) {
        self.ready.store(false, Ordering::Release);
        self.stopping.send_replace(true);
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait()).await.is_err() {
            tracing::warn!(?grace, "some requests or deliveries were still running when medbus stopped; unacknowledged ones will be sent again");
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Makes `snapshot` the one new requests are served by; requests in
    /// flight keep the routes they started with.
    pub(crate) fn swap_snapshot(&self, snapshot: Arc<Snapshot>) {
        self.snapshot.store(snapshot);
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.snapshot.load().settings.clone()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Processes a message, journals it, then answers. The answer leaves
    /// only after the journal committed the message; if the journal cannot,
    /// the sender gets 503 and nothing is acknowledged.
    pub async fn handle(self: &Arc<Self>, route: &Arc<Route>, mut ex: Exchange, parent_id: Option<String>) -> Reply {
        let started = Instant::now();
        let settings = self.settings();
        ex.config = settings.values.clone();
        ex.secrets = settings.secrets.clone();
        let processed = pipeline::process(route, &mut ex, &self.env).await;
        self.commit(route, ex, processed, parent_id, started).await
    }

    /// Journals a message refused before its steps ran (too large, wrong
    /// content type) and answers it through the route's error policy.
    pub async fn reject(self: &Arc<Self>, route: &Arc<Route>, mut ex: Exchange, error: StepError) -> Reply {
        let started = Instant::now();
        let settings = self.settings();
        ex.config = settings.values.clone();
        ex.secrets = settings.secrets.clone();
        let processed = pipeline::finish(route, &mut ex, MessageStatus::Rejected, Some(error));
        self.commit(route, ex, processed, None, started).await
    }

    async fn commit(
        self: &Arc<Self>,
        route: &Arc<Route>,
        ex: Exchange,
        processed: pipeline::Processed,
        parent_id: Option<String>,
        started: Instant,
    ) -> Reply {
        let error_answer = route.source.error_answer(&ex);
        // A reprocessed or handed-over message answers no one waiting.
        let replied = route.source.answers_sender() && parent_id.is_none();
        let keys = pipeline::business_keys(route, &ex);
        let mut record = MessageRecord {
            id: ex.id.clone(),
            route: route.id.clone(),
            received_at: ex.received_at,
            status: processed.status,
            source: serde_json::Value::Object(ex.headers),
            content_type: ex.content_type,
            raw: ex.raw,
            trace: serde_json::to_string(&ex.trace).unwrap_or_else(|_| "[]".into()),
            reply: serde_json::to_value(&processed.reply).ok(),
            error: processed.error.as_ref().and_then(|e| serde_json::to_value(e).ok()),
            duration_us: started.elapsed().as_micros() as i64,
            parent_id,
            caller: ex.caller,
            keys,
            deliveries: processed.deliveries,
        };
        // Before anything is kept or handed on: the deliveries in memory
        // are the very ones the journal holds.
        let redactor = ex.secrets.redactor();
        record.redact(redactor);
        // Unordered deliveries go to their workers in memory once committed;
        // ordered ones are taken from the journal lane by lane.
        let (fresh, lanes): (Vec<PendingDelivery>, Vec<String>) = {
            let (ordered, unordered): (Vec<_>, Vec<_>) = record.deliveries.iter().partition(|d| d.order_key.is_some());
            let fresh = unordered
                .into_iter()
                .map(|d| PendingDelivery {
                    id: d.id.clone(),
                    message_id: ex.id.clone(),
                    route: route.id.clone(),
                    destination: d.destination.clone(),
                    payload: d.payload.clone(),
                    content_type: d.content_type.clone(),
                    context: d.context.clone(),
                    attempts: 0,
                    created_at: ex.received_at,
                    order_key: None,
                })
                .collect();
            (fresh, ordered.into_iter().map(|d| d.destination.clone()).collect())
        };
        if let Err(e) = self.journal.record(record).await {
            telemetry::journal_failed(&route.id, &e.to_string());
            return error_answer.reply(
                503,
                "JOURNAL_UNAVAILABLE",
                "the message could not be stored; send it again later",
                None,
                &ex.id,
            );
        }
        let logged = processed.error.map(|mut error| {
            error.message = redactor.text(&error.message).into_owned();
            error
        });
        telemetry::message_done(&route.id, processed.status, logged.as_ref(), started.elapsed());
        let last_error = logged.as_ref().map(|error| activity::LastError {
            at: ex.received_at,
            code: error.code.clone(),
            message: error.message.clone(),
        });
        self.activity.count(&route.id, processed.status, replied, last_error);
        self.deliveries.offer(self, route, fresh, &lanes);
        processed.reply
    }
}
