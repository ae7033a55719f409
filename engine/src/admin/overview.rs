//! `GET /api/overview`: the figures of the console's dashboard header in one
//! answer: routes (active, paused), messages since start by outcome (in
//! memory), deliveries queued and dead (the journal's partial indexes) and
//! the journal's backend and size.

use super::api_error::ApiError;
use super::messages::journal_error;
use super::time::time_text;
use crate::runtime::Engine;
use crate::settings::{Durability, JournalLocation};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes<S: Clone + Send + Sync + 'static>(engine: Arc<Engine>) -> Router<S> {
    Router::new().route("/api/overview", get(overview)).with_state(engine)
}

async fn overview(State(engine): State<Arc<Engine>>) -> Result<Json<Value>, ApiError> {
    let snapshot = engine.snapshot();
    let (mut received, mut replied, mut processed, mut filtered, mut rejected, mut failed) = (0, 0, 0, 0, 0, 0);
    let mut paused = 0;
    for route in &snapshot.routes {
        let activity = engine.activity.of(&route.id);
        received += activity.received;
        replied += activity.replied;
        processed += activity.processed;
        filtered += activity.filtered;
        rejected += activity.rejected;
        failed += activity.failed;
        paused += usize::from(engine.route_states.is_paused(&route.id));
    }
    let (queued, dead) = engine
        .journal
        .delivery_counts()
        .await
        .map_err(journal_error)?
        .into_iter()
        .fold((0, 0), |(queued, dead), (_, q, d)| (queued + q, dead + d));
    let bytes = engine.journal.size_bytes().await.map_err(journal_error)?;
    let settings = engine.settings();
    let backend = match settings.journal {
        JournalLocation::Sqlite(_) => "sqlite",
        JournalLocation::Postgres(_) => "postgres",
    };
    let durability = match settings.journal_durability {
        Durability::Full => "full",
        Durability::Normal => "normal",
    };
    Ok(Json(json!({
        "since": time_text(engine.activity.since),
        "routes": { "total": snapshot.routes.len(), "active": snapshot.routes.len() - paused, "paused": paused },
        "messages": {
            "received": received, "replied": replied, "processed": processed, "filtered": filtered,
            "rejected": rejected, "failed": failed,
        },
        "deliveries": { "queued": queued, "dead": dead },
        "journal": {
            "backend": backend,
            "location": settings.journal.to_string(),
            "durability": durability,
            "bytes": bytes,
        },
    })))
}
