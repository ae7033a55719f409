//! Timer routes: each fires on its schedule and runs like any message, one
//! task per route (`RouteTasks`).

use super::snapshot::{Route, Source};
use super::Engine;
use crate::exchange::Exchange;
use chrono::Utc;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Makes the running timers match the current snapshot.
pub fn sync(engine: &Arc<Engine>) {
    engine
        .timers
        .sync(engine, |r| matches!(r.source, Source::Timer { .. }), run_timer);
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
