//! Statistics on the admin listener, from the journal:
//!
//! - `GET /api/stats?route=&caller=&from=&to=&bucket=1m|5m|1h|1d`: per time
//!   bucket, messages by status and latency percentiles;
//! - `GET /api/stats/callers?from=&to=`: per caller (the secret an
//!   `authenticate` step matched) and route, messages by status, error rate
//!   and latency percentiles.
//!
//! Counts are the database's GROUP BY; percentiles come from a fixed
//! histogram of latency classes (see `journal::stats`).

use super::api_error::ApiError;
use super::messages::journal_error;
use super::time::{parse_time, time_text};
use crate::journal::stats::Tally;
use crate::journal::{MessageStatus, StatsQuery};
use crate::runtime::Engine;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Buckets in one answer at most.
const MAX_BUCKETS: i64 = 2_000;
/// The window when none is given: the last day.
const DEFAULT_WINDOW: Duration = Duration::days(1);

pub fn routes<S: Clone + Send + Sync + 'static>(engine: Arc<Engine>) -> Router<S> {
    Router::new()
        .route("/api/stats", get(over_time))
        .route("/api/stats/callers", get(by_caller))
        .with_state(engine)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsParams {
    route: Option<String>,
    caller: Option<String>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

async fn over_time(
    State(engine): State<Arc<Engine>>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    let (bucket_name, bucket) = bucket(params.bucket.as_deref().unwrap_or("1h"))?;
    let (from, to) = window(params.from.as_deref(), params.to.as_deref())?;
    // Buckets start on whole minutes, hours, days (UTC).
    let bucket_us = bucket.num_microseconds().unwrap_or(i64::MAX);
    let from_us = from.timestamp_micros().div_euclid(bucket_us) * bucket_us;
    let from = DateTime::from_timestamp_micros(from_us).unwrap_or(from);
    let count = (to.timestamp_micros() - from_us + bucket_us - 1) / bucket_us;
    if count > MAX_BUCKETS {
        return Err(ApiError::bad_request(
            "BAD_BUCKET",
            format!("{count} buckets of {bucket_name} from `from` to `to`; at most {MAX_BUCKETS}: widen the bucket"),
        ));
    }
    let query = StatsQuery {
        route: params.route.clone(),
        caller: params.caller.clone(),
        from,
        to,
        bucket_us,
    };
    let tallies = engine.journal.stats_over_time(&query).await.map_err(journal_error)?;
    let empty = Tally::default();
    let buckets: Vec<Value> = (0..count)
        .map(|index| {
            let start = from + bucket * index as i32;
            let mut row = tally_json(tallies.get(&index).unwrap_or(&empty));
            row["start"] = json!(time_text(start));
            row
        })
        .collect();
    Ok(Json(json!({
        "route": params.route,
        "caller": params.caller,
        "from": time_text(from),
        "to": time_text(to),
        "bucket": bucket_name,
        "buckets": buckets,
    })))
}

async fn by_caller(
    State(engine): State<Arc<Engine>>,
    params: Result<Query<StatsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("BAD_REQUEST", e.body_text()))?;
    if params.route.is_some() || params.caller.is_some() || params.bucket.is_some() {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            "per-caller statistics take `from` and `to` only",
        ));
    }
    let (from, to) = window(params.from.as_deref(), params.to.as_deref())?;
    let tallies = engine.journal.stats_by_caller(from, to).await.map_err(journal_error)?;
    let callers: Vec<Value> = tallies
        .iter()
        .map(|((caller, route), tally)| {
            let mut row = tally_json(tally);
            row["caller"] = json!(caller);
            row["route"] = json!(route);
            row
        })
        .collect();
    Ok(Json(
        json!({ "from": time_text(from), "to": time_text(to), "callers": callers }),
    ))
}

/// Counts by status, the error rate (rejected and failed among all) and
/// latency percentiles in microseconds (null without messages).
fn tally_json(tally: &Tally) -> Value {
    let mut row = Map::new();
    let total = tally.total();
    row.insert("total".into(), json!(total));
    for status in MessageStatus::ALL {
        row.insert(status.as_str().into(), json!(tally.count(status)));
    }
    let errors = tally.count(MessageStatus::Rejected) + tally.count(MessageStatus::Failed);
    let rate = if total == 0 { 0.0 } else { errors as f64 / total as f64 };
    row.insert("error_rate".into(), json!((rate * 10_000.0).round() / 10_000.0));
    row.insert(
        "latency_us".into(),
        json!({
            "p50": tally.percentile(0.50),
            "p95": tally.percentile(0.95),
            "p99": tally.percentile(0.99),
        }),
    );
    Value::Object(row)
}

fn bucket(name: &str) -> Result<(&str, Duration), ApiError> {
    let bucket = match name {
        "1m" => Duration::minutes(1),
        "5m" => Duration::minutes(5),
        "1h" => Duration::hours(1),
        "1d" => Duration::days(1),
        _ => {
            return Err(ApiError::bad_request(
                "BAD_BUCKET",
                format!("bucket `{name}` is unknown; expected 1m, 5m, 1h or 1d"),
            ))
        }
    };
    Ok((name, bucket))
}

/// `[from, to)`: the last day up to now unless given.
fn window(from: Option<&str>, to: Option<&str>) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = match to {
        Some(text) => parse_time("to", text)?,
        None => Utc::now(),
    };
    let from = match from {
        Some(text) => parse_time("from", text)?,
        None => to - DEFAULT_WINDOW,
    };
    if from >= to {
        return Err(ApiError::bad_request("BAD_TIME", "`from` must be before `to`"));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_buckets_are_checked() {
        assert_eq!(bucket("5m").unwrap().1, Duration::minutes(5));
        assert_eq!(bucket("2h").unwrap_err().code, "BAD_BUCKET");
        let (from, to) = window(None, Some("2026-03-02T00:00:00Z")).unwrap();
        assert_eq!(to - from, DEFAULT_WINDOW);
        assert_eq!(
            window(Some("2026-03-02T00:00:00Z"), Some("2026-03-01T00:00:00Z"))
                .unwrap_err()
                .code,
            "BAD_TIME"
        );
    }

    #[test]
    fn a_tally_answers_counts_rate_and_percentiles() {
        let mut tally = Tally::default();
        tally.add(MessageStatus::Processed, 7, 3);
        tally.add(MessageStatus::Rejected, 7, 1);
        let row = tally_json(&tally);
        assert_eq!(
            (&row["total"], &row["rejected"], &row["error_rate"]),
            (&json!(4), &json!(1), &json!(0.25))
        );
        assert!(row["latency_us"]["p95"].as_i64().unwrap() <= 1_500);
        assert_eq!(tally_json(&Tally::default())["latency_us"]["p50"], Value::Null);
    }
}
