//! `POST /api/reload` reloads the configuration and answers the outcome
//! (200 applied, 422 refused with every error); `GET /api/reload` answers
//! the last outcome, `GET /api/reload/history` the last ones, newest first.

use super::AdminState;
use crate::runtime::reload::{reload, Outcome, Trigger};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub async fn post(State((engine, _)): State<AdminState>) -> Response {
    let report = reload(&engine, Trigger::Api).await;
    let status = match report.outcome {
        Outcome::Applied { .. } => StatusCode::OK,
        Outcome::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, Json(report)).into_response()
}

pub async fn last(State((engine, _)): State<AdminState>) -> Response {
    match engine.reloads.last() {
        Some(report) => Json(report).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "status": "none", "message": "no reload since medbus started" })),
        )
            .into_response(),
    }
}

pub async fn history(State((engine, _)): State<AdminState>) -> Response {
    Json(engine.reloads.history()).into_response()
}
