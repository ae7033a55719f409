//! Timer routes: each fires on its schedule and runs like any message.
//! One task per timer route, kept by route id with the compiled route it
//! runs: a reload that keeps a route (same `Arc`) keeps its task and its
//! cadence; a changed route's task is replaced, a removed one's stopped.

use super::snapshot::{Route, Source};
use super::Engine;
use crate::exchange::Exchange;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The running timer tasks, by route id.
#[derive(Default)]
pub struct Timers {
    running: Mutex<HashMap<String, (Arc<Route>, CancellationToken)>>,
}

/// Makes the running timers match the current snapshot: starts the new and
/// changed ones, stops the changed and removed ones, leaves the others be.
pub fn sync(engine: &Arc<Engine>) {
    let snapshot = engine.snapshot();
    let mut running = engine.timers.running.lock().unwrap();
    let wanted: HashMap<&str, &Arc<Route>> = snapshot
        .routes
        .iter()
        .filter(|r| matches!(r.source, Source::Timer { .. }))
        .map(|r| (r.id.as_str(), r))
        .collect();
    running.retain(|id, (route, stop)| {
        let keep = wanted.get(id.as_str()).is_some_and(|new| Arc::ptr_eq(new, route));
        if !keep {
            stop.cancel();
            tracing::info!(route = %id, "timer stopped");
        }
        keep
    });
    for (id, route) in wanted {
        if running.contains_key(id) {
            continue;
        }
        let stop = CancellationToken::new();
        engine
            .tasks
            .spawn(run_timer(engine.clone(), route.clone(), stop.clone()));
        running.insert(id.to_string(), (route.clone(), stop));
    }
}

async fn run_timer(engine: Arc<Engine>, route: Arc<Route>, stop: CancellationToken) {
    let Source::Timer { schedule, body } = &route.source else {
        return;
    };
    let mut last = Utc::now();
    loop {
        let Some(next) = schedule.next_after(last) else {
            tracing::warn!(route = %route.id, "the schedule has no next firing; timer stopped");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
            _ = engine.stopping() => return,
        }
        last = next;
        if engine.route_states.is_paused(&route.id) {
            tracing::debug!(route = %route.id, "timer turn skipped: the route is paused");
            continue;
        }
        let mut headers = serde_json::Map::new();
        headers.insert("fired_at".into(), next.to_rfc3339().into());
        let ex = Exchange::new(&route.id, bytes::Bytes::from(body.clone()), None, headers);
        let reply = engine.handle(&route, ex, None).await;
        if reply.status >= 400 {
            tracing::warn!(route = %route.id, status = reply.status, "timer message did not succeed: {}", reply.body);
        }
    }
}
