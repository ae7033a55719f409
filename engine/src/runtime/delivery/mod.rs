//! Delivery: one worker per (route, destination), fed in memory with the
//! deliveries of messages just committed and from the journal with
//! retries, deliveries left from before a restart, and the lanes of ordered
//! destinations. Each outcome is written back: delivered, pending again
//! with its next attempt's time, or dead (see [`policy`]).

pub mod policy;
mod worker;

use super::snapshot::Route;
use super::Engine;
use crate::destinations::{Attempt, Failure};
use crate::exchange::Exchange;
use crate::journal::PendingDelivery;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use worker::Worker;

#[derive(Default)]
pub struct DeliveryHub {
    workers: Mutex<HashMap<(String, String), Arc<Worker>>>,
}

impl DeliveryHub {
    /// Wakes (starting if needed) the workers of every destination of a route.
    pub fn wake_route(&self, engine: &Arc<Engine>, route: &Route) {
        for destination in &route.destinations {
            self.wake(engine, &route.id, &destination.name);
        }
    }

    /// Makes the destination's worker look at its queue in the journal now.
    pub fn wake(&self, engine: &Arc<Engine>, route: &str, destination: &str) {
        self.worker(engine, route, destination, None).look_at_the_journal();
    }

    /// Hands the deliveries of a message just committed to their workers:
    /// `fresh` ones in memory, so that they go out without being read back
    /// (a worker with a full inbox finds them in the journal instead); the
    /// workers of the ordered destinations in `lanes` look at the journal.
    pub fn offer(&self, engine: &Arc<Engine>, route: &Arc<Route>, fresh: Vec<PendingDelivery>, lanes: &[String]) {
        for delivery in fresh {
            let destination = delivery.destination.clone();
            if self
                .worker(engine, &route.id, &destination, Some(route))
                .offer(delivery)
                .is_err()
            {
                // The worker ended in the meantime (its route was removed
                // by a reload): a new one takes the delivery from the journal.
                self.worker(engine, &route.id, &destination, Some(route))
                    .look_at_the_journal();
            }
        }
        for destination in lanes {
            self.worker(engine, &route.id, destination, Some(route))
                .look_at_the_journal();
        }
    }

    /// At start: a worker for every destination with queued deliveries.
    pub async fn resume(&self, engine: &Arc<Engine>) -> Result<usize, crate::journal::JournalError> {
        let pending = engine.journal.pending_destinations().await?;
        for (route, destination) in &pending {
            self.wake(engine, route, destination);
        }
        Ok(pending.len())
    }

    /// The destination's running worker, started if there is none (or it
    /// ended). `seen` is the route a new worker delivers with should the
    /// route be gone from the configuration already.
    fn worker(&self, engine: &Arc<Engine>, route: &str, destination: &str, seen: Option<&Arc<Route>>) -> Arc<Worker> {
        let mut workers = self.workers.lock().unwrap();
        let key = (route.to_string(), destination.to_string());
        if let Some(worker) = workers.get(&key).filter(|w| !w.has_ended()) {
            return worker.clone();
        }
        let worker = Worker::start(engine, route, destination, seen.cloned());
        workers.insert(key, worker.clone());
        worker
    }

    /// Forgets a worker that ended, unless another took its place.
    fn retire(&self, worker: &Arc<Worker>) {
        let mut workers = self.workers.lock().unwrap();
        let key = (worker.route.clone(), worker.destination.clone());
        if workers.get(&key).is_some_and(|w| Arc::ptr_eq(w, worker)) {
            workers.remove(&key);
        }
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
            failure: Failure::Connect,
            response: None,
        };
    };
    if engine.route_states.is_paused(target) {
        return Attempt::Failed {
            error: format!("route `{target}` is paused"),
            failure: Failure::Connect,
            response: None,
        };
    }
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
            failure: Failure::Io,
            response: None,
        };
    }
    Attempt::Delivered {
        response: Some(serde_json::json!({ "route": target, "message": id, "status": reply.status })),
    }
}
