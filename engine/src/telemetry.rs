//! Log lines and metrics of the engine's events, written together.
//! Counters: `medbus_messages_total{route, outcome}` with outcome one of
//! received, replied, rejected, filtered, error; histograms
//! `medbus_message_duration_seconds{route}`; deliveries
//! `medbus_deliveries_total{route, destination, outcome}`.

use crate::journal::MessageStatus;
use crate::steps::StepError;
use std::time::Duration;

pub fn message_done(route: &str, status: MessageStatus, error: Option<&StepError>, elapsed: Duration) {
    let route = route.to_string();
    metrics::counter!("medbus_messages_total", "route" => route.clone(), "outcome" => "received").increment(1);
    let outcome = match status {
        MessageStatus::Processed => "replied",
        MessageStatus::Filtered => "filtered",
        MessageStatus::Rejected => "rejected",
        MessageStatus::Failed => "error",
    };
    metrics::counter!("medbus_messages_total", "route" => route.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!("medbus_message_duration_seconds", "route" => route.clone()).record(elapsed.as_secs_f64());
    match (status, error) {
        (MessageStatus::Rejected, Some(e)) => {
            tracing::info!(route = %route, code = %e.code, "message rejected: {}", e.message)
        }
        (MessageStatus::Failed, Some(e)) => {
            tracing::warn!(route = %route, code = %e.code, "message failed: {}", e.message)
        }
        _ => tracing::debug!(route = %route, ?status, "message processed"),
    }
}

pub fn journal_failed(route: &str, error: &str) {
    metrics::counter!("medbus_journal_errors_total", "route" => route.to_string()).increment(1);
    tracing::error!(route = %route, "journal write failed, message not acknowledged: {error}");
}

pub fn delivery_done(route: &str, destination: &str, outcome: &'static str, attempts: u32, error: Option<&str>) {
    metrics::counter!(
        "medbus_deliveries_total",
        "route" => route.to_string(),
        "destination" => destination.to_string(),
        "outcome" => outcome
    )
    .increment(1);
    match error {
        Some(error) if outcome == "dead" => {
            tracing::error!(route = %route, destination = %destination, attempts, "delivery dead-lettered: {error}")
        }
        Some(error) => {
            tracing::warn!(route = %route, destination = %destination, attempts, "delivery failed, will retry: {error}")
        }
        None => tracing::debug!(route = %route, destination = %destination, attempts, "delivered"),
    }
}
