//! Routes on the admin listener:
//!
//! - `GET /api/routes`: every loaded route with its source, state and
//!   counters (messages since start by outcome, in memory; deliveries
//!   queued and dead, from the journal's partial indexes) and last error;
//! - `GET /api/routes/{id}`: one route as loaded: its file, the file's text
//!   and the route as JSON;
//! - `POST /api/routes/{id}/pause`, `POST /api/routes/{id}/resume`.

use super::api_error::ApiError;
use super::auth::Caller;
use super::messages::journal_error;
use super::time::time_text;
use crate::journal::RouteState;
use crate::runtime::activity::LastError;
use crate::runtime::snapshot::{Route, Source};
use crate::runtime::Engine;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes<S: Clone + Send + Sync + 'static>(engine: Arc<Engine>) -> Router<S> {
    Router::new()
        .route("/api/routes", get(list))
        .route("/api/routes/{id}", get(one))
        .route("/api/routes/{id}/pause", post(pause))
        .route("/api/routes/{id}/resume", post(resume))
        .with_state(engine)
}

async fn list(State(engine): State<Arc<Engine>>) -> Result<Json<Value>, ApiError> {
    let snapshot = engine.snapshot();
    let queues: HashMap<String, (i64, i64)> = engine
        .journal
        .delivery_counts()
        .await
        .map_err(journal_error)?
        .into_iter()
        .map(|(route, pending, dead)| (route, (pending, dead)))
        .collect();
    let mut routes = Vec::new();
    for route in &snapshot.routes {
        learn_last_error(&engine, &route.id).await?;
        let queue = queues.get(&route.id).copied().unwrap_or_default();
        routes.push(summary(&engine, route, queue));
    }
    Ok(Json(
        json!({ "since": time_text(engine.activity.since), "routes": routes }),
    ))
}

/// Looks up the route's last error in the journal once: it may predate this start.
async fn learn_last_error(engine: &Engine, route: &str) -> Result<(), ApiError> {
    if engine.activity.of(route).last_error_known {
        return Ok(());
    }
    let found = engine.journal.last_error(route).await.map_err(journal_error)?;
    let last = found.map(|(at, error)| {
        let text = |name: &str| {
            error
                .as_ref()
                .and_then(|e| e[name].as_str())
                .unwrap_or_default()
                .to_string()
        };
        LastError {
            at,
            code: text("code"),
            message: text("message"),
        }
    });
    engine.activity.learn_last_error(route, last);
    Ok(())
}

fn summary(engine: &Engine, route: &Route, (queued, dead): (i64, i64)) -> Value {
    let activity = engine.activity.of(&route.id);
    json!({
        "id": route.id,
        "description": route.spec.description,
        "file": route.file.display().to_string(),
        "source": source(route),
        "state": state(engine.route_states.paused(&route.id)),
        "keys": route.spec.keys.keys().map(|name| name.0.as_str()).collect::<Vec<_>>(),
        "destinations": route.destinations.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        "counters": {
            "received": activity.received,
            "replied": activity.replied,
            "processed": activity.processed,
            "filtered": activity.filtered,
            "rejected": activity.rejected,
            "failed": activity.failed,
            "queued": queued,
            "dead": dead,
        },
        "last_error": activity.last_error.map(|e| json!({ "at": time_text(e.at), "code": e.code, "message": e.message })),
    })
}

fn state(paused: Option<RouteState>) -> Value {
    match paused {
        Some(state) => json!({
            "state": "paused",
            "since": time_text(state.changed_at),
            "by": state.changed_by,
        }),
        None => json!({ "state": "active" }),
    }
}

/// Where the route's messages come from, for people: kind and address, schedule or folder.
fn source(route: &Route) -> Value {
    match &route.source {
        Source::Http { addr, method, config } => {
            json!({ "kind": "http", "listen": addr.to_string(), "method": method.as_str(), "path": config.path })
        }
        Source::Soap { addr, config } => json!({
            "kind": "soap", "listen": addr.to_string(), "path": config.path,
            "service": config.service, "operation": config.operation,
        }),
        Source::Mllp { addr, config, .. } => {
            json!({ "kind": "mllp", "listen": addr.to_string(), "messages": config.messages })
        }
        Source::File { dir, config, .. } => json!({
            "kind": "file", "dir": dir.display().to_string(), "pattern": config.pattern,
            "every": humantime::format_duration(config.every.0).to_string(),
        }),
        Source::Timer { .. } => {
            let crate::config::SourceSpec::Timer(config) = &route.spec.source.value else {
                return json!({ "kind": "timer" });
            };
            json!({
                "kind": "timer",
                "every": config.every.map(|every| humantime::format_duration(every.0).to_string()),
                "cron": config.cron,
            })
        }
    }
}

async fn one(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let snapshot = engine.snapshot();
    let route = snapshot.route(&id).ok_or_else(|| unknown_route(&id))?;
    let text = snapshot.route_text(&id).map(|t| t.to_string()).unwrap_or_default();
    // The file as read at the last (re)load, as JSON: keys as written, paths as text.
    let spec: Value = serde_saphyr::from_str(&text).unwrap_or(Value::Null);
    Ok(Json(json!({
        "id": route.id,
        "file": route.file.display().to_string(),
        "yaml": text,
        "spec": spec,
        "state": state(engine.route_states.paused(&id)),
    })))
}

async fn pause(
    State(engine): State<Arc<Engine>>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_paused(&engine, &id, true, caller).await
}

async fn resume(
    State(engine): State<Arc<Engine>>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_paused(&engine, &id, false, caller).await
}

/// Pauses or resumes, recording who did (the user or token the auth layer found).
async fn set_paused(
    engine: &Arc<Engine>,
    id: &str,
    paused: bool,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Value>, ApiError> {
    if engine.snapshot().route(id).is_none() {
        return Err(unknown_route(id));
    }
    let by = caller.map(|Extension(caller)| caller.name);
    let done = engine.set_paused(id, paused, by).await.map_err(journal_error)?;
    let changed_at = time_text(done.changed_at);
    let mut answer = state(paused.then_some(done));
    answer["id"] = json!(id);
    answer["changed_at"] = json!(changed_at);
    Ok(Json(answer))
}

fn unknown_route(id: &str) -> ApiError {
    ApiError::new(404, "UNKNOWN_ROUTE", format!("no route `{id}` is loaded"))
}
