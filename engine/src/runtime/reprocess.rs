//! Reprocessing from the journal. A reprocess is itself a message, journaled
//! with `parent_id` = the original and `reprocess_of` in its source:
//!
//! - a whole message runs its original raw input (with its source metadata
//!   and content type) through its route's current configuration;
//! - a re-delivery sends one destination's stored payload again, as a new
//!   message carrying one delivery. Receivers see the original message's id
//!   in `X-Medbus-Message-Id`, so that they recognise the same business
//!   message and can drop a duplicate.

use super::Engine;
use crate::exchange::{Exchange, Reply};
use crate::journal::{
    DeliveryStatus, JournalError, MessageRecord, MessageStatus, NewDelivery, ReprocessSelection, StoredMessage,
};
use futures::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Bulk reprocesses run this many messages at once.
const BULK_CONCURRENCY: usize = 8;

/// Why a message cannot be reprocessed.
#[derive(Debug, thiserror::Error)]
pub enum ReprocessError {
    #[error("the journal holds no message `{0}`")]
    UnknownMessage(String),
    #[error("route `{0}` is not loaded")]
    RouteNotLoaded(String),
    #[error("the bodies of message `{0}` were pruned by retention")]
    Pruned(String),
    #[error("message `{message}` has no delivery to `{destination}`")]
    UnknownDelivery { message: String, destination: String },
    #[error("destination `{destination}` is no longer in route `{route}`")]
    DestinationNotLoaded { route: String, destination: String },
    #[error("the delivery to `{0}` is still pending; it will be attempted again without a reprocess")]
    StillPending(String),
    #[error("the reprocessed message could not be journaled: {0}")]
    NotJournaled(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl ReprocessError {
    /// The HTTP status the admin API answers with.
    pub fn status(&self) -> u16 {
        match self {
            ReprocessError::UnknownMessage(_) => 404,
            ReprocessError::UnknownDelivery { .. } => 400,
            ReprocessError::RouteNotLoaded(_)
            | ReprocessError::DestinationNotLoaded { .. }
            | ReprocessError::StillPending(_) => 409,
            ReprocessError::Pruned(_) => 410,
            ReprocessError::NotJournaled(_) | ReprocessError::Journal(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ReprocessError::UnknownMessage(_) => "UNKNOWN_MESSAGE",
            ReprocessError::RouteNotLoaded(_) => "ROUTE_NOT_LOADED",
            ReprocessError::Pruned(_) => "PRUNED",
            ReprocessError::UnknownDelivery { .. } => "UNKNOWN_DELIVERY",
            ReprocessError::DestinationNotLoaded { .. } => "DESTINATION_NOT_LOADED",
            ReprocessError::StillPending(_) => "DELIVERY_PENDING",
            ReprocessError::NotJournaled(_) | ReprocessError::Journal(_) => "JOURNAL_UNAVAILABLE",
        }
    }
}

/// The new message a reprocess made.
#[derive(Clone, Debug)]
pub struct Reprocessed {
    pub id: String,
    pub reprocess_of: String,
    pub status: MessageStatus,
    /// The route's answer (whole-message reprocess only).
    pub reply: Option<Reply>,
    /// The new delivery (re-delivery only).
    pub delivery: Option<NewDeliveryInfo>,
}

#[derive(Clone, Debug)]
pub struct NewDeliveryInfo {
    pub id: String,
    pub destination: String,
    /// The message id its receivers see.
    pub sent_as: String,
}

/// Runs the original input through its route's current configuration.
pub async fn message(engine: &Arc<Engine>, id: &str) -> Result<Reprocessed, ReprocessError> {
    let original = whole_message(engine, id).await?;
    let route = engine
        .snapshot()
        .route(&original.route)
        .cloned()
        .ok_or_else(|| ReprocessError::RouteNotLoaded(original.route.clone()))?;
    let mut headers = match original.source {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    headers.insert("reprocess_of".into(), Value::String(original.id.clone()));
    let mut ex = Exchange::new(&route.id, original.raw, original.content_type, headers);
    // The journaled input holds `******` where the caller's secret was:
    // `authenticate` takes the caller established when the message arrived.
    ex.caller = original.caller;
    let new_id = ex.id.clone();
    let reply = engine.handle(&route, ex, Some(original.id.clone())).await;
    let Some(stored) = engine.journal.message(&new_id).await? else {
        // The engine answers 503 when it cannot journal the message.
        return Err(ReprocessError::NotJournaled(reply.body));
    };
    Ok(Reprocessed {
        id: new_id,
        reprocess_of: original.id,
        status: stored.status,
        reply: Some(reply),
        delivery: None,
    })
}

/// Sends one destination's stored payload again, as a new message with one
/// delivery, and wakes the destination's worker.
pub async fn delivery(engine: &Arc<Engine>, id: &str, destination: &str) -> Result<Reprocessed, ReprocessError> {
    let original = whole_message(engine, id).await?;
    let Some(delivery) = original.deliveries.iter().find(|d| d.destination == destination) else {
        return Err(ReprocessError::UnknownDelivery {
            message: original.id.clone(),
            destination: destination.to_string(),
        });
    };
    let route = engine
        .snapshot()
        .route(&original.route)
        .cloned()
        .ok_or_else(|| ReprocessError::RouteNotLoaded(original.route.clone()))?;
    if !route.destinations.iter().any(|d| d.name == destination) {
        return Err(ReprocessError::DestinationNotLoaded {
            route: route.id.clone(),
            destination: destination.to_string(),
        });
    }
    if delivery.status == DeliveryStatus::Pending {
        return Err(ReprocessError::StillPending(destination.to_string()));
    }
    // A re-delivery of a re-delivery still goes out under the first id.
    let sent_as = match (original.source.get("redelivery_of"), original.source.get("sent_as")) {
        (Some(_), Some(Value::String(sent_as))) => sent_as.clone(),
        _ => original.id.clone(),
    };
    let new_id = uuid::Uuid::now_v7().to_string();
    let new_delivery = NewDelivery {
        id: uuid::Uuid::now_v7().to_string(),
        destination: destination.to_string(),
        payload: delivery.payload.clone(),
        content_type: delivery.content_type.clone(),
        context: delivery.context.clone(),
        // Outside any lane: an operator's re-delivery of a dead letter goes
        // out at once, not behind the lane it was dead-lettered from.
        order_key: None,
    };
    let trace = json!([{
        "step": "redeliver",
        "index": 0,
        "micros": 0,
        "outcome": format!(
            "re-delivery of delivery {} of message {} to `{destination}`", delivery.id, original.id
        ),
    }]);
    let record = MessageRecord {
        id: new_id.clone(),
        route: original.route.clone(),
        received_at: chrono::Utc::now(),
        status: MessageStatus::Processed,
        source: json!({
            "reprocess_of": original.id,
            "redelivery_of": delivery.id,
            "destination": destination,
            "sent_as": sent_as,
        }),
        content_type: original.content_type.clone(),
        raw: original.raw.clone(),
        trace: trace.to_string(),
        reply: None,
        error: None,
        duration_us: 0,
        parent_id: Some(original.id.clone()),
        caller: original.caller.clone(),
        // The same business message: found by the original's keys too.
        keys: original.keys.clone(),
        deliveries: vec![new_delivery.clone()],
    };
    engine.journal.record_redelivery(record, &sent_as).await?;
    engine.deliveries.wake(engine, &route.id, destination);
    Ok(Reprocessed {
        id: new_id,
        reprocess_of: original.id,
        status: MessageStatus::Processed,
        reply: None,
        delivery: Some(NewDeliveryInfo {
            id: new_delivery.id,
            destination: new_delivery.destination,
            sent_as,
        }),
    })
}

/// One selected message's outcome in a bulk reprocess.
pub struct BulkItem {
    pub original: String,
    pub outcome: Result<Reprocessed, ReprocessError>,
}

/// Reprocesses every message the selection takes (at most its limit): the
/// whole message, or with a destination, a re-delivery to it. With
/// `dry_run`, only says which messages those would be.
pub async fn bulk(
    engine: &Arc<Engine>,
    selection: &ReprocessSelection,
    dry_run: bool,
) -> Result<(Vec<String>, Vec<BulkItem>), ReprocessError> {
    if engine.snapshot().route(&selection.route).is_none() {
        return Err(ReprocessError::RouteNotLoaded(selection.route.clone()));
    }
    let selected = engine.journal.select_for_reprocess(selection).await?;
    if dry_run {
        return Ok((selected, Vec::new()));
    }
    let items = stream::iter(selected.clone())
        .map(|original| async move {
            let outcome = match &selection.destination {
                Some(destination) => delivery(engine, &original, destination).await,
                None => message(engine, &original).await,
            };
            BulkItem { original, outcome }
        })
        .buffered(BULK_CONCURRENCY)
        .collect()
        .await;
    Ok((selected, items))
}

/// The original message, refused when unknown or pruned.
async fn whole_message(engine: &Engine, id: &str) -> Result<StoredMessage, ReprocessError> {
    let original = engine
        .journal
        .message(id)
        .await?
        .ok_or_else(|| ReprocessError::UnknownMessage(id.to_string()))?;
    if original.pruned_at.is_some() {
        return Err(ReprocessError::Pruned(original.id));
    }
    Ok(original)
}
