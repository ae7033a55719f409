//! Timer routes: each fires on its schedule and runs like any message.

use super::snapshot::Source;
use super::Engine;
use crate::exchange::Exchange;
use chrono::Utc;
use std::sync::Arc;

/// Starts one task per timer route of the current snapshot.
pub fn start(engine: &Arc<Engine>) {
    for route in &engine.snapshot().routes {
        if let Source::Timer { .. } = route.source {
            engine.tasks.spawn(run_timer(engine.clone(), route.id.clone()));
        }
    }
}

async fn run_timer(engine: Arc<Engine>, route_id: String) {
    let mut last = Utc::now();
    loop {
        let snapshot = engine.snapshot();
        let Some(route) = snapshot.route(&route_id).cloned() else {
            return;
        };
        let Source::Timer { schedule, body } = &route.source else {
            return;
        };
        let Some(next) = schedule.next_after(last) else {
            tracing::warn!(route = %route_id, "the schedule has no next firing; timer stopped");
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        let body = body.clone();
        drop(snapshot);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = engine.stopping() => return,
        }
        last = next;
        let mut headers = serde_json::Map::new();
        headers.insert("fired_at".into(), next.to_rfc3339().into());
        let ex = Exchange::new(&route.id, bytes::Bytes::from(body), None, headers);
        let reply = engine.handle(&route, ex, None).await;
        if reply.status >= 400 {
            tracing::warn!(route = %route_id, status = reply.status, "timer message did not succeed: {}", reply.body);
        }
    }
}
