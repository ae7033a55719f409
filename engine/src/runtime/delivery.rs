//! Delivery workers: one per (route, destination), fed from the journal's
//! queue. A worker takes the due deliveries, sends them a few at a time,
//! and writes each outcome back: delivered, pending again with the next
//! attempt's time (exponential backoff with jitter), or dead after the
//! destination's `max_attempts` or on a failure that retrying cannot heal.

use super::snapshot::Route;
use super::Engine;
use crate::destinations::{Attempt, Endpoint, Outgoing};
use crate::exchange::Exchange;
use crate::journal::{DeliveryStatus, DeliveryUpdate, PendingDelivery};
use crate::telemetry;
use chrono::Utc;
use futures::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Deliveries taken from the journal per round.
const BATCH: u32 = 256;
/// Deliveries of one destination in flight at once.
const CONCURRENCY: usize = 32;
/// How often an idle worker looks for retries that became due.
const IDLE_POLL: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct DeliveryHub {
    workers: Mutex<HashMap<(String, String), Arc<Notify>>>,
}

impl DeliveryHub {
    /// Wakes (starting if needed) the workers of every destination of a route.
    pub fn wake_route(&self, engine: &Arc<Engine>, route: &Route) {
        for destination in &route.destinations {
            self.wake(engine, &route.id, &destination.name);
        }
    }

    pub fn wake(&self, engine: &Arc<Engine>, route: &str, destination: &str) {
        let mut workers = self.workers.lock().unwrap();
        let key = (route.to_string(), destination.to_string());
        let notify = workers.entry(key).or_insert_with(|| {
            let notify = Arc::new(Notify::new());
            engine.tasks.spawn(run_worker(
                Arc::downgrade(engine),
                route.to_string(),
                destination.to_string(),
                notify.clone(),
            ));
            notify
        });
        notify.notify_one();
    }

    /// At start: a worker for every destination with queued deliveries.
    pub async fn resume(&self, engine: &Arc<Engine>) -> Result<usize, crate::journal::JournalError> {
        let pending = engine.journal.pending_destinations().await?;
        for (route, destination) in &pending {
            self.wake(engine, route, destination);
        }
        Ok(pending.len())
    }
}

async fn run_worker(engine: Weak<Engine>, route: String, destination: String, notify: Arc<Notify>) {
    loop {
        let Some(engine) = engine.upgrade() else { return };
        if engine.is_stopping() {
            return;
        }
        let due = match engine
            .journal
            .due_deliveries(&route, &destination, Utc::now(), BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(route = %route, destination = %destination, "cannot read the delivery queue: {e}");
                Vec::new()
            }
        };
        if due.is_empty() {
            let stopping = engine.stopping();
            drop(engine);
            tokio::select! {
                _ = tokio::time::timeout(IDLE_POLL, notify.notified()) => {}
                _ = stopping => return,
            }
            continue;
        }
        stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |delivery| {
                let engine = engine.clone();
                async move { deliver_one(&engine, delivery).await }
            })
            .await;
    }
}

async fn deliver_one(engine: &Arc<Engine>, delivery: PendingDelivery) {
    let snapshot = engine.snapshot();
    let Some(route) = snapshot.route(&delivery.route).cloned() else {
        return park(engine, delivery, "the route is no longer loaded").await;
    };
    let Some(destination) = route.destinations.iter().find(|d| d.name == delivery.destination) else {
        return park(engine, delivery, "the destination is no longer in its route").await;
    };
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
    let attempts = delivery.attempts + 1;
    let duration_us = started.elapsed().as_micros() as i64;
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
                at: Utc::now(),
                duration_us,
            }
        }
        Attempt::Failed { error, retry, response } => {
            let dead = !retry || attempts >= destination.max_attempts;
            let outcome = if dead { "dead" } else { "retry" };
            telemetry::delivery_done(&delivery.route, &delivery.destination, outcome, attempts, Some(&error));
            DeliveryUpdate {
                id: delivery.id.clone(),
                status: if dead {
                    DeliveryStatus::Dead
                } else {
                    DeliveryStatus::Pending
                },
                attempts,
                next_attempt_at: (!dead).then(|| Utc::now() + backoff(attempts)),
                error: Some(error),
                response,
                at: Utc::now(),
                duration_us,
            }
        }
    };
    if let Err(e) = engine.journal.update_delivery(update).await {
        tracing::error!(delivery = %delivery.id, "cannot record a delivery outcome; it will be attempted again: {e}");
    }
}

/// A queued delivery's context with the current settings' values as `config`.
pub fn with_config(
    context: &serde_json::Value,
    values: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let mut context = context.clone();
    if let Some(map) = context.as_object_mut() {
        map.insert("config".into(), serde_json::Value::Object(values.clone()));
    }
    context
}

/// Keeps a delivery queued, untouched, when its route or destination is
/// gone from the configuration: it resumes if they come back.
async fn park(engine: &Arc<Engine>, delivery: PendingDelivery, why: &str) {
    tracing::warn!(route = %delivery.route, destination = %delivery.destination, "delivery held: {why}");
    let update = DeliveryUpdate {
        id: delivery.id,
        status: DeliveryStatus::Pending,
        attempts: delivery.attempts,
        next_attempt_at: Some(Utc::now() + chrono::Duration::seconds(60)),
        error: Some(why.to_string()),
        response: None,
        at: Utc::now(),
        duration_us: 0,
    };
    let _ = engine.journal.update_delivery(update).await;
}

/// Runs the target route on the payload; delivered once the target's
/// message is journaled (whatever its own outcome).
async fn hand_over(
    engine: &Arc<Engine>,
    snapshot: &super::Snapshot,
    target: &str,
    delivery: &PendingDelivery,
) -> Attempt {
    let Some(route) = snapshot.route(target).cloned() else {
        return Attempt::Failed {
            error: format!("route `{target}` is not loaded"),
            retry: true,
            response: None,
        };
    };
    let mut headers = serde_json::Map::new();
    headers.insert("from_route".into(), delivery.route.clone().into());
    headers.insert("from_message".into(), delivery.message_id.clone().into());
    headers.insert("content-type".into(), delivery.content_type.clone().into());
    let ex = Exchange::new(
        &route.id,
        bytes::Bytes::from(delivery.payload.clone()),
        Some(delivery.content_type.clone()),
        headers,
    );
    let id = ex.id.clone();
    let reply = engine.handle(&route, ex, Some(delivery.message_id.clone())).await;
    if reply.status == 503 {
        return Attempt::Failed {
            error: format!("route `{target}` could not journal the message"),
            retry: true,
            response: None,
        };
    }
    Attempt::Delivered {
        response: Some(serde_json::json!({ "route": target, "message": id, "status": reply.status })),
    }
}

/// 1 s, 2 s, 4 s ... capped at 10 min, with up to 25 % jitter so that
/// retries of many messages do not arrive together.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let base_ms = 1000u64
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(600_000);
    let jitter = (base_ms / 4) * (uuid::Uuid::new_v4().as_u128() % 1000) as u64 / 1000;
    chrono::Duration::milliseconds((base_ms + jitter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1).num_milliseconds() >= 1000 && backoff(1).num_milliseconds() <= 1250);
        assert!(backoff(4).num_milliseconds() >= 8000);
        assert!(backoff(40).num_milliseconds() <= 750_000);
    }
}
