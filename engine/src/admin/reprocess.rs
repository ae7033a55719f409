//! The reprocess API on the admin listener:
//!
//! - `POST /api/messages/{id}/reprocess`: the whole message again, through
//!   its route's current configuration;
//! - `POST /api/messages/{id}/deliveries/{destination}/reprocess`: one
//!   destination's stored payload again;
//! - `POST /api/reprocess`: in bulk, by route, status and time range.

use super::api_error::ApiError;
use super::time::parse_time;
use crate::journal::{ReprocessSelection, SelectedStatus};
use crate::runtime::reprocess::{self, ReprocessError, Reprocessed};
use crate::runtime::Engine;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// A bulk reprocess takes this many messages unless told otherwise ...
const DEFAULT_LIMIT: u32 = 1_000;
/// ... and never more than this.
const MAX_LIMIT: u32 = 10_000;

pub fn routes<S: Clone + Send + Sync + 'static>(engine: Arc<Engine>) -> Router<S> {
    Router::new()
        .route("/api/messages/{id}/reprocess", post(reprocess_message))
        .route(
            "/api/messages/{id}/deliveries/{destination}/reprocess",
            post(reprocess_delivery),
        )
        .route("/api/reprocess", post(reprocess_bulk))
        .with_state(engine)
}

async fn reprocess_message(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let done = reprocess::message(&engine, &id).await.map_err(api_error)?;
    Ok(Json(answer(&done)))
}

async fn reprocess_delivery(
    State(engine): State<Arc<Engine>>,
    Path((id, destination)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let done = reprocess::delivery(&engine, &id, &destination)
        .await
        .map_err(api_error)?;
    Ok(Json(answer(&done)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkRequest {
    route: String,
    /// A message status, or `dead`: messages with a dead-lettered delivery.
    status: String,
    /// RFC 3339; received at or after.
    from: String,
    /// RFC 3339; received strictly before.
    to: String,
    /// Only with `dead`: re-deliver this destination instead of the whole message.
    destination: Option<String>,
    limit: Option<u32>,
    #[serde(default)]
    dry_run: bool,
}

async fn reprocess_bulk(
    State(engine): State<Arc<Engine>>,
    request: Result<Json<BulkRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = request?;
    let selection = selection(&request)?;
    let snapshot = engine.snapshot();
    if let (Some(destination), Some(route)) = (&selection.destination, snapshot.route(&selection.route)) {
        if !route.destinations.iter().any(|d| &d.name == destination) {
            return Err(ApiError::bad_request(
                "UNKNOWN_DESTINATION",
                format!("route `{}` has no destination `{destination}`", selection.route),
            ));
        }
    }
    drop(snapshot);
    let (selected, items) = reprocess::bulk(&engine, &selection, request.dry_run)
        .await
        .map_err(api_error)?;
    let messages: Vec<Value> = if request.dry_run {
        selected.iter().map(|id| json!({ "id": id })).collect()
    } else {
        items
            .iter()
            .map(|item| match &item.outcome {
                Ok(done) => json!({ "id": item.original, "new_id": done.id, "status": done.status.as_str() }),
                Err(e) => json!({ "id": item.original, "error": { "code": e.code(), "message": e.to_string() } }),
            })
            .collect()
    };
    let failed = items.iter().filter(|item| item.outcome.is_err()).count();
    Ok(Json(json!({
        "route": selection.route,
        "status": request.status,
        "destination": selection.destination,
        "dry_run": request.dry_run,
        "selected": selected.len(),
        "reprocessed": items.len() - failed,
        "failed": failed,
        "messages": messages,
    })))
}

/// Checks a bulk request; nothing runs unless all of it is right.
fn selection(request: &BulkRequest) -> Result<ReprocessSelection, ApiError> {
    let status: SelectedStatus = request.status.parse().map_err(|_| {
        ApiError::bad_request(
            "BAD_STATUS",
            format!(
                "status `{}` is unknown; expected processed, filtered, rejected, failed or dead",
                request.status
            ),
        )
    })?;
    if request.destination.is_some() && status != SelectedStatus::Dead {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            "`destination` goes with status `dead`: it re-delivers that destination's dead letters",
        ));
    }
    let (from, to) = (parse_time("from", &request.from)?, parse_time("to", &request.to)?);
    if from >= to {
        return Err(ApiError::bad_request("BAD_TIME", "`from` must be before `to`"));
    }
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "BAD_LIMIT",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(ReprocessSelection {
        route: request.route.clone(),
        status,
        destination: request.destination.clone(),
        received_from: from,
        received_before: to,
        limit,
    })
}

fn answer(done: &Reprocessed) -> Value {
    let mut answer = json!({ "id": done.id, "reprocess_of": done.reprocess_of, "status": done.status.as_str() });
    if let Some(reply) = &done.reply {
        answer["reply"] = json!({ "status": reply.status, "content_type": reply.content_type, "body": reply.body });
    }
    if let Some(delivery) = &done.delivery {
        answer["destination"] = json!(delivery.destination);
        answer["delivery"] = json!(delivery.id);
        answer["sent_as"] = json!(delivery.sent_as);
    }
    answer
}

fn api_error(error: ReprocessError) -> ApiError {
    if matches!(error, ReprocessError::Journal(_) | ReprocessError::NotJournaled(_)) {
        tracing::error!("reprocess failed: {error}");
    }
    ApiError::new(error.status(), error.code(), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: &str, from: &str, to: &str) -> BulkRequest {
        BulkRequest {
            route: "r".into(),
            status: status.into(),
            from: from.into(),
            to: to.into(),
            destination: None,
            limit: None,
            dry_run: false,
        }
    }

    #[test]
    fn a_bulk_request_is_checked_whole() {
        let ok = selection(&request("dead", "2026-03-01T08:00:00+08:00", "2026-03-02T00:00:00Z")).unwrap();
        assert_eq!((ok.status, ok.limit), (SelectedStatus::Dead, DEFAULT_LIMIT));
        assert_eq!(ok.received_from.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        let code = |r: BulkRequest| selection(&r).unwrap_err().code;
        assert_eq!(
            code(request("lost", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")),
            "BAD_STATUS"
        );
        assert_eq!(code(request("failed", "yesterday", "2026-03-02T00:00:00Z")), "BAD_TIME");
        assert_eq!(
            code(request("failed", "2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z")),
            "BAD_TIME"
        );
        let mut too_many = request("failed", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        too_many.limit = Some(MAX_LIMIT + 1);
        assert_eq!(code(too_many), "BAD_LIMIT");
        let mut destination = request("failed", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        destination.destination = Some("hospital".into());
        assert_eq!(code(destination), "BAD_REQUEST");
    }
}
