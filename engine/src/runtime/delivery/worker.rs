//! One destination's worker. It keeps up to `concurrency` deliveries in
//! flight, taking them from its in-memory inbox and from the journal, and
//! never holds one delivery twice: every delivery it holds is *claimed*,
//! and a journal read that may have started before a claimed delivery was
//! finished ignores it.

use super::{hand_over, with_config};
use crate::destinations::{Attempt, Endpoint, Outgoing};
use crate::journal::{DeliveryStatus, DeliveryUpdate, DueKind, PendingDelivery};
use crate::runtime::snapshot::Route;
use crate::runtime::Engine;
use crate::telemetry;
use chrono::Utc;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

/// Deliveries waiting in memory for their worker; past this, new ones wait
/// in the journal.
const INBOX: usize = 4096;
/// Deliveries read from the journal at once.
const BATCH: u32 = 256;
/// How often a worker looks in the journal for retries that fell due.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long a delivery waits when its route or destination is gone and
/// was never seen by this worker (e.g. removed while medbus was down).
const HELD_FOR: Duration = Duration::from_secs(60);

pub(super) struct Worker {
    pub route: String,
    pub destination: String,
    inbox: mpsc::Sender<PendingDelivery>,
    wake: Notify,
    claims: Mutex<Claims>,
}

#[derive(Default)]
struct Claims {
    held: HashSet<String>,
    /// Set while a journal read runs: the claims given up meanwhile.
    finished_during_read: Option<HashSet<String>>,
    /// Deliveries wait in the journal that the inbox did not take (or that
    /// were left from before a restart): read new ones too, not only retries.
    backlog: bool,
}

impl Worker {
    pub fn start(engine: &Arc<Engine>, route: &str, destination: &str, seen: Option<Arc<Route>>) -> Arc<Worker> {
        let (inbox, receiver) = mpsc::channel(INBOX);
        let worker = Arc::new(Worker {
            route: route.to_string(),
            destination: destination.to_string(),
            inbox,
            wake: Notify::new(),
            claims: Mutex::new(Claims {
                backlog: true,
                ..Claims::default()
            }),
        });
        engine
            .tasks
            .spawn(run(Arc::downgrade(engine), worker.clone(), receiver, seen));
        worker
    }

    /// Whether its task ended (its queue drained after its route was removed).
    pub fn has_ended(&self) -> bool {
        self.inbox.is_closed()
    }

    pub fn look_at_the_journal(&self) {
        self.claims.lock().unwrap().backlog = true;
        self.wake.notify_one();
    }

    /// Takes a delivery into the inbox, or leaves it to the journal when
    /// the inbox is full. Err when the worker has ended.
    pub fn offer(&self, delivery: PendingDelivery) -> Result<(), ()> {
        let id = delivery.id.clone();
        self.claims.lock().unwrap().held.insert(id.clone());
        let refused = match self.inbox.try_send(delivery) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        };
        self.claims.lock().unwrap().held.remove(&id);
        self.look_at_the_journal();
        refused
    }

    fn finished(&self, id: &str) {
        let mut claims = self.claims.lock().unwrap();
        claims.held.remove(id);
        if let Some(finished) = &mut claims.finished_during_read {
            finished.insert(id.to_string());
        }
    }

    /// Reads due deliveries and claims those not held already.
    /// Due deliveries this worker does not hold yet, up to `limit`, and whether more may
    /// be due: the read was full and brought new ones (a read of only held ones says no,
    /// so that a worker busy with them does not read again and again).
    async fn read(&self, engine: &Engine, ordered: bool, limit: u32) -> (Vec<PendingDelivery>, bool) {
        let kind = {
            let mut claims = self.claims.lock().unwrap();
            claims.finished_during_read = Some(HashSet::new());
            match (ordered, std::mem::take(&mut claims.backlog)) {
                (true, _) => DueKind::LaneHeads,
                (false, true) => DueKind::All,
                (false, false) => DueKind::Retries,
            }
        };
        let read = engine
            .journal
            .due_deliveries(&self.route, &self.destination, Utc::now(), limit, kind)
            .await;
        let mut claims = self.claims.lock().unwrap();
        let finished = claims.finished_during_read.take().unwrap_or_default();
        let due = match read {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(route = %self.route, destination = %self.destination, "cannot read the delivery queue: {e}");
                claims.backlog |= kind == DueKind::All;
                return (Vec::new(), false);
            }
        };
        let full = due.len() as u32 >= limit;
        if kind == DueKind::All && full {
            claims.backlog = true;
        }
        let fresh: Vec<_> = due
            .into_iter()
            .filter(|d| !claims.held.contains(&d.id) && !finished.contains(&d.id))
            .collect();
        for delivery in &fresh {
            claims.held.insert(delivery.id.clone());
        }
        let more_due = full && !fresh.is_empty();
        (fresh, more_due)
    }

    /// Whether the destination has nothing queued at all, due or not.
    async fn queue_is_empty(&self, engine: &Engine) -> bool {
        let far = Utc::now() + chrono::Duration::days(365 * 100);
        let kind = DueKind::All;
        matches!(
            engine.journal.due_deliveries(&self.route, &self.destination, far, 1, kind).await,
            Ok(due) if due.is_empty()
        )
    }
}

/// The route whose destination settings a delivery goes out with: the
/// loaded one; or, once the route or the destination is gone from the
/// configuration, the last one this worker saw, so that its queue drains.
fn current_route(engine: &Engine, worker: &Worker, last_seen: &mut Option<Arc<Route>>) -> Option<Arc<Route>> {
    let has_destination = |route: &Route| route.destinations.iter().any(|d| d.name == worker.destination);
    if let Some(route) = engine.snapshot().route(&worker.route) {
        if has_destination(route) {
            *last_seen = Some(route.clone());
            return Some(route.clone());
        }
    }
    last_seen.clone()
}

async fn run(
    engine: Weak<Engine>,
    worker: Arc<Worker>,
    mut inbox: mpsc::Receiver<PendingDelivery>,
    mut last_seen: Option<Arc<Route>>,
) {
    let mut running: JoinSet<String> = JoinSet::new();
    let mut queue: VecDeque<PendingDelivery> = VecDeque::new();
    let mut read_at = Instant::now();
    loop {
        let Some(engine) = engine.upgrade() else { return };
        if engine.is_stopping() {
            while running.join_next().await.is_some() {}
            return;
        }
        let route = current_route(&engine, &worker, &mut last_seen);
        let policy = route
            .as_ref()
            .and_then(|r| r.destinations.iter().find(|d| d.name == worker.destination))
            .map(|d| &d.policy);
        let concurrency = policy.map_or(1, |p| p.concurrency);
        let ordered = policy.is_some_and(|p| p.is_ordered());

        // A paused route's worker starts nothing and reads nothing: its
        // deliveries wait in the journal (and its inbox) until a resume wakes it.
        let paused = engine.route_states.is_paused(&worker.route);
        while !paused && running.len() < concurrency {
            let Some(delivery) = queue.pop_front().or_else(|| inbox.try_recv().ok()) else {
                break;
            };
            let (engine, route, worker) = (engine.clone(), route.clone(), worker.clone());
            running.spawn(async move {
                let id = delivery.id.clone();
                deliver_one(&engine, route.as_deref(), delivery).await;
                worker.finished(&id);
                id
            });
        }
        let room = if paused {
            0
        } else {
            concurrency.saturating_sub(running.len())
        };
        if room > 0 && queue.is_empty() && Instant::now() >= read_at {
            read_at = Instant::now() + POLL_EVERY;
            let limit = if ordered { room as u32 } else { BATCH };
            let (found, more_due) = worker.read(&engine, ordered, limit).await;
            if more_due {
                // Read again as soon as these went out, not at the next poll, or a
                // backlog drains at no more than BATCH per POLL_EVERY.
                read_at = Instant::now();
            }
            queue.extend(found);
            if !queue.is_empty() {
                continue;
            }
            let gone = engine
                .snapshot()
                .route(&worker.route)
                .is_none_or(|r| !r.destinations.iter().any(|d| d.name == worker.destination));
            if gone && running.is_empty() && inbox.is_empty() && worker.queue_is_empty(&engine).await {
                inbox.close();
                engine.deliveries.retire(&worker);
                tracing::info!(route = %worker.route, destination = %worker.destination, "queue drained; worker stopped");
                // A request that began before the route was removed may have
                // committed a delivery since: a new worker takes it from the journal.
                if inbox.try_recv().is_ok() {
                    let (route, destination) = (&worker.route, &worker.destination);
                    engine
                        .deliveries
                        .worker(&engine, route, destination, last_seen.as_ref())
                        .look_at_the_journal();
                }
                return;
            }
        }

        let stopping = engine.stopping();
        drop(engine);
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {
                // The next head of the lane may be due now.
                if ordered {
                    read_at = Instant::now();
                }
            }
            Some(delivery) = inbox.recv(), if room > 0 && queue.is_empty() => queue.push_back(delivery),
            _ = worker.wake.notified() => read_at = Instant::now(),
            _ = tokio::time::sleep_until(read_at.into()), if room > 0 => {}
            _ = stopping => {}
        }
    }
}

async fn deliver_one(engine: &Arc<Engine>, route: Option<&Route>, delivery: PendingDelivery) {
    let Some(destination) = route.and_then(|r| r.destinations.iter().find(|d| d.name == delivery.destination)) else {
        return hold(engine, delivery, "the route or the destination is not loaded").await;
    };
    let snapshot = engine.snapshot();
    let started = Instant::now();
    let attempt = match &destination.endpoint {
        Endpoint::Route(target) => hand_over(engine, &snapshot, target, &delivery).await,
        endpoint => {
            let context = with_config(&delivery.context, &snapshot.settings.values);
            let outgoing = Outgoing {
                message_id: &delivery.message_id,
                destination: &delivery.destination,
                payload: &delivery.payload,
                content_type: &delivery.content_type,
                context: &context,
            };
            endpoint
                .deliver(&outgoing, &engine.env.outbound, &snapshot.settings)
                .await
        }
    };
    let attempt = attempt.redacted(snapshot.settings.secrets.redactor());
    drop(snapshot);
    let policy = &destination.policy;
    let attempts = delivery.attempts + 1;
    let duration_us = started.elapsed().as_micros() as i64;
    let now = Utc::now();
    let update = match attempt {
        Attempt::Delivered { response } => {
            telemetry::delivery_done(&delivery.route, &delivery.destination, "delivered", attempts, None);
            DeliveryUpdate {
                id: delivery.id.clone(),
                status: DeliveryStatus::Delivered,
                attempts,
                next_attempt_at: None,
                error: None,
                response,
                at: now,
                duration_us,
            }
        }
        Attempt::Failed {
            error,
            failure,
            response,
        } => {
            let too_old = policy
                .max_age
                .is_some_and(|age| (now - delivery.created_at).to_std().unwrap_or_default() >= age);
            let dead = !policy.retries(&failure) || attempts >= policy.max_attempts || too_old;
            let outcome = if dead { "dead" } else { "retry" };
            telemetry::delivery_done(&delivery.route, &delivery.destination, outcome, attempts, Some(&error));
            let next = (!dead).then(|| now + chrono::Duration::from_std(policy.backoff(attempts)).unwrap_or_default());
            DeliveryUpdate {
                id: delivery.id.clone(),
                status: if dead {
                    DeliveryStatus::Dead
                } else {
                    DeliveryStatus::Pending
                },
                attempts,
                next_attempt_at: next,
                error: Some(error),
                response,
                at: now,
                duration_us,
            }
        }
    };
    if let Err(e) = engine.journal.update_delivery(update).await {
        tracing::error!(delivery = %delivery.id, "cannot record a delivery outcome; it will be attempted again: {e}");
    }
}

/// Keeps a delivery queued, untouched but for its next look, when its
/// route or destination is not loaded: it resumes if they come back.
async fn hold(engine: &Arc<Engine>, delivery: PendingDelivery, why: &str) {
    tracing::warn!(route = %delivery.route, destination = %delivery.destination, "delivery held: {why}");
    let update = DeliveryUpdate {
        id: delivery.id,
        status: DeliveryStatus::Pending,
        attempts: delivery.attempts,
        next_attempt_at: Some(Utc::now() + chrono::Duration::from_std(HELD_FOR).unwrap_or_default()),
        error: Some(why.to_string()),
        response: None,
        at: Utc::now(),
        duration_us: 0,
    };
    let _ = engine.journal.update_delivery(update).await;
}
