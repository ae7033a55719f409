//! Messages in the journal, read from the admin listener:
//!
//! - `GET /api/messages`: a search by route, status, caller, time range,
//!   id, business key and text in the raw input; newest first, a page at a
//!   time (`next` is the cursor of the following page);
//! - `GET /api/messages/{id}`: one message whole, with its trace, reply,
//!   keys and each delivery's attempts.

use super::api_error::ApiError;
use super::time::{parse_time, time_text};
use crate::journal::{MessageFilter, MessageSummary, SearchCursor, StoredDelivery, StoredMessage};
use crate::runtime::Engine;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A page holds this many messages unless told otherwise ...
const DEFAULT_LIMIT: u32 = 50;
/// ... and never more than this.
const MAX_LIMIT: u32 = 500;

pub fn routes<S: Clone + Send + Sync + 'static>(engine: Arc<Engine>) -> Router<S> {
    Router::new()
        .route("/api/messages", get(search))
        .route("/api/messages/{id}", get(one))
        .with_state(engine)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    route: Option<String>,
    status: Option<String>,
    caller: Option<String>,
    /// RFC 3339; received at or after.
    from: Option<String>,
    /// RFC 3339; received strictly before.
    to: Option<String>,
    id: Option<String>,
    /// `name:value`, e.g. `applyNo:A0001`.
    key: Option<String>,
    text: Option<String>,
    limit: Option<u32>,
    /// The `next` of the previous page.
    before: Option<String>,
}

async fn search(
    State(engine): State<Arc<Engine>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let filter = filter(params)?;
    let page = engine.journal.search(&filter).await.map_err(journal_error)?;
    Ok(Json(json!({
        "messages": page.messages.iter().map(summary).collect::<Vec<_>>(),
        "next": page.next.map(|cursor| cursor.to_string()),
        "truncated": page.truncated,
    })))
}

/// Checks a search's parameters; nothing is read unless all of them are right.
fn filter(params: SearchParams) -> Result<MessageFilter, ApiError> {
    let status = params
        .status
        .map(|s| {
            s.parse().map_err(|_| {
                ApiError::bad_request(
                    "BAD_STATUS",
                    format!("status `{s}` is unknown; expected processed, filtered, rejected or failed"),
                )
            })
        })
        .transpose()?;
    let key = params
        .key
        .map(|key| match key.split_once(':') {
            Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
            _ => Err(ApiError::bad_request(
                "BAD_KEY",
                format!("key `{key}` is not `name:value`; expected e.g. applyNo:A0001"),
            )),
        })
        .transpose()?;
    let received_from = params.from.as_deref().map(|t| parse_time("from", t)).transpose()?;
    let received_before = params.to.as_deref().map(|t| parse_time("to", t)).transpose()?;
    if let (Some(from), Some(to)) = (received_from, received_before) {
        if from >= to {
            return Err(ApiError::bad_request("BAD_TIME", "`from` must be before `to`"));
        }
    }
    let after = params
        .before
        .map(|cursor| {
            cursor
                .parse::<SearchCursor>()
                .map_err(|e| ApiError::bad_request("BAD_CURSOR", e))
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "BAD_LIMIT",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let text = params.text.filter(|t| !t.is_empty());
    Ok(MessageFilter {
        id: params.id,
        route: params.route,
        status,
        caller: params.caller,
        key,
        text,
        received_from,
        received_before,
        after,
        limit,
    })
}

async fn one(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    match engine.journal.message(&id).await.map_err(journal_error)? {
        Some(message) => Ok(Json(whole(&message))),
        None => Err(ApiError::new(
            404,
            "UNKNOWN_MESSAGE",
            format!("the journal holds no message `{id}`"),
        )),
    }
}

fn keys_object(keys: &[(String, String)]) -> Value {
    Value::Object(
        keys.iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

fn summary(message: &MessageSummary) -> Value {
    json!({
        "id": message.id,
        "route": message.route,
        "received_at": time_text(message.received_at),
        "status": message.status.as_str(),
        "duration_us": message.duration_us,
        "caller": message.caller,
        "parent_id": message.parent_id,
        "content_type": message.content_type,
        "error": message.error,
        "keys": keys_object(&message.keys),
    })
}

/// A message whole: what a search shows of it, and its bodies and deliveries.
fn whole(message: &StoredMessage) -> Value {
    let (raw, raw_encoding) = match std::str::from_utf8(&message.raw) {
        Ok(text) => (text.to_string(), "utf-8"),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(&message.raw), "base64"),
    };
    let mut value = summary(&MessageSummary {
        id: message.id.clone(),
        route: message.route.clone(),
        received_at: message.received_at,
        status: message.status,
        content_type: message.content_type.clone(),
        duration_us: message.duration_us,
        parent_id: message.parent_id.clone(),
        caller: message.caller.clone(),
        error: message.error.clone(),
        keys: message.keys.clone(),
    });
    for (name, part) in [
        ("source", message.source.clone()),
        ("raw", Value::String(raw)),
        ("raw_encoding", Value::String(raw_encoding.into())),
        ("trace", message.trace.clone()),
        ("reply", json!(message.reply)),
        ("pruned_at", json!(message.pruned_at.map(time_text))),
        (
            "deliveries",
            Value::Array(message.deliveries.iter().map(delivery).collect()),
        ),
    ] {
        value[name] = part;
    }
    value
}

fn delivery(delivery: &StoredDelivery) -> Value {
    json!({
        "id": delivery.id,
        "destination": delivery.destination,
        "status": delivery.status.as_str(),
        "attempts": delivery.attempts,
        "created_at": time_text(delivery.created_at),
        "updated_at": time_text(delivery.updated_at),
        "next_attempt_at": delivery.next_attempt_at.map(time_text),
        "last_error": delivery.last_error,
        "content_type": delivery.content_type,
        "payload": delivery.payload,
        "response": delivery.response,
        "history": delivery.history.iter().map(|attempt| json!({
            "attempt": attempt.attempt,
            "at": time_text(attempt.at),
            "status": attempt.status.as_str(),
            "error": attempt.error,
            "response": attempt.response,
            "duration_us": attempt.duration_us,
        })).collect::<Vec<_>>(),
    })
}

/// A journal that cannot be read: logged, answered 503.
pub(super) fn journal_error(error: crate::journal::JournalError) -> ApiError {
    tracing::error!("admin API: {error}");
    ApiError::new(503, "JOURNAL_UNAVAILABLE", error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_parameters_are_checked_whole() {
        let code = |params: SearchParams| filter(params).unwrap_err().code;
        let ok = filter(SearchParams {
            key: Some("MSH-10:MSG:0001".into()),
            before: Some("1772352000000000_0193abc".into()),
            ..SearchParams::default()
        })
        .unwrap();
        assert_eq!(ok.key, Some(("MSH-10".to_string(), "MSG:0001".to_string())));
        assert_eq!(ok.after.unwrap().received_at_us, 1_772_352_000_000_000);
        assert_eq!(ok.limit, DEFAULT_LIMIT);
        let bad = |f: fn(&mut SearchParams)| {
            let mut params = SearchParams::default();
            f(&mut params);
            code(params)
        };
        assert_eq!(bad(|p| p.status = Some("lost".into())), "BAD_STATUS");
        assert_eq!(bad(|p| p.key = Some("applyNo".into())), "BAD_KEY");
        assert_eq!(bad(|p| p.from = Some("yesterday".into())), "BAD_TIME");
        assert_eq!(bad(|p| p.before = Some("page-2".into())), "BAD_CURSOR");
        assert_eq!(bad(|p| p.limit = Some(MAX_LIMIT + 1)), "BAD_LIMIT");
        assert_eq!(
            bad(|p| {
                p.from = Some("2026-03-02T00:00:00Z".into());
                p.to = Some("2026-03-01T00:00:00Z".into());
            }),
            "BAD_TIME"
        );
    }
}
