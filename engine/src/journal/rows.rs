//! Records as rows and back: times become unix microseconds, JSON becomes
//! text, statuses their names. Encoding runs in the caller's task, so the
//! single writer only binds values.

use super::records::{
    DeliveryAttempt, DeliveryStatus, DeliveryUpdate, MessageRecord, MessageStatus, MessageSummary, PendingDelivery,
    RouteState, StoredDelivery, StoredMessage,
};
use super::JournalError;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A message ready to be written.
#[derive(Debug)]
pub(super) struct MessageRow {
    pub id: String,
    pub route: String,
    pub received_at_us: i64,
    pub status: &'static str,
    pub source: String,
    pub content_type: Option<String>,
    pub raw: Bytes,
    pub trace: String,
    pub reply: Option<String>,
    pub error: Option<String>,
    pub duration_us: i64,
    pub parent_id: Option<String>,
    pub caller: Option<String>,
    pub keys: Vec<(String, String)>,
    pub deliveries: Vec<DeliveryRow>,
    /// The distinct payloads and contexts of its deliveries.
    pub bodies: Vec<BodyRow>,
}

/// A new delivery ready to be written beside its message.
#[derive(Debug)]
pub(super) struct DeliveryRow {
    pub id: String,
    pub destination: String,
    pub content_type: String,
    pub order_key: Option<String>,
    /// Its payload and context: the message's body with this number.
    pub body: i64,
}

/// A payload and context one or more of a message's deliveries carry,
/// numbered by the first of them.
#[derive(Debug)]
pub(super) struct BodyRow {
    pub body: i64,
    pub payload: String,
    pub context: String,
}

/// A delivery attempt's outcome ready to be written.
#[derive(Debug)]
pub(super) struct UpdateRow {
    pub id: String,
    pub status: &'static str,
    pub attempts: i64,
    pub next_attempt_at_us: Option<i64>,
    pub error: Option<String>,
    pub response: Option<String>,
    pub at_us: i64,
    pub duration_us: i64,
}

impl MessageRow {
    pub fn encode(record: MessageRecord) -> Result<MessageRow, JournalError> {
        for (field, value) in [("id", &record.id), ("route", &record.route)] {
            no_nul(field, value)?;
        }
        for (field, value) in [
            ("content_type", &record.content_type),
            ("parent_id", &record.parent_id),
            ("caller", &record.caller),
        ] {
            if let Some(value) = value {
                no_nul(field, value)?;
            }
        }
        for (name, value) in &record.keys {
            no_nul("key name", name)?;
            no_nul("key value", value)?;
        }
        let mut bodies: Vec<BodyRow> = Vec::new();
        let mut deliveries = Vec::with_capacity(record.deliveries.len());
        for (ordinal, d) in record.deliveries.into_iter().enumerate() {
            no_nul("delivery id", &d.id)?;
            no_nul("delivery destination", &d.destination)?;
            no_nul("delivery payload", &d.payload)?;
            no_nul("delivery content_type", &d.content_type)?;
            let context = d.context.to_string();
            let body = match bodies.iter().find(|b| b.payload == d.payload && b.context == context) {
                Some(same) => same.body,
                None => {
                    bodies.push(BodyRow {
                        body: ordinal as i64,
                        payload: d.payload,
                        context,
                    });
                    ordinal as i64
                }
            };
            deliveries.push(DeliveryRow {
                id: d.id,
                destination: d.destination,
                content_type: d.content_type,
                order_key: d.order_key,
                body,
            });
        }
        Ok(MessageRow {
            id: record.id,
            route: record.route,
            received_at_us: micros(record.received_at),
            status: record.status.as_str(),
            source: record.source.to_string(),
            content_type: record.content_type,
            raw: record.raw,
            trace: record.trace,
            reply: record.reply.map(|v| v.to_string()),
            error: record.error.map(|v| v.to_string()),
            duration_us: record.duration_us,
            parent_id: record.parent_id,
            caller: record.caller,
            keys: record.keys,
            deliveries,
            bodies,
        })
    }

    /// Bytes this row carries, to bound a batch's size.
    pub fn size(&self) -> usize {
        let bodies: usize = self.bodies.iter().map(|b| b.payload.len() + b.context.len()).sum();
        self.raw.len() + self.source.len() + self.trace.len() + bodies
    }
}

impl UpdateRow {
    pub fn encode(update: DeliveryUpdate) -> Result<UpdateRow, JournalError> {
        no_nul("delivery id", &update.id)?;
        if let Some(error) = &update.error {
            no_nul("delivery error", error)?;
        }
        // Only a pending delivery has a next attempt; without a time it is due at once.
        let next_attempt_at_us = match update.status {
            DeliveryStatus::Pending => Some(micros(update.next_attempt_at.unwrap_or(update.at))),
            DeliveryStatus::Delivered | DeliveryStatus::Dead => None,
        };
        Ok(UpdateRow {
            id: update.id,
            status: update.status.as_str(),
            attempts: i64::from(update.attempts),
            next_attempt_at_us,
            error: update.error,
            response: update.response.map(|v| v.to_string()),
            at_us: micros(update.at),
            duration_us: update.duration_us,
        })
    }

    pub fn size(&self) -> usize {
        self.response.as_ref().map_or(0, String::len) + self.error.as_ref().map_or(0, String::len)
    }
}

/// PostgreSQL refuses NUL in text; refusing it on both backends keeps them alike.
fn no_nul(field: &str, value: &str) -> Result<(), JournalError> {
    if value.contains('\0') {
        return Err(JournalError::Invalid(format!(
            "{field} contains a NUL character; text fields cannot hold one"
        )));
    }
    Ok(())
}

/// A time as the journal stores it.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Typed access to a row's columns, the same on every backend.
pub(super) trait JournalRow {
    fn text(&self, column: &str) -> Result<String, JournalError>;
    fn text_opt(&self, column: &str) -> Result<Option<String>, JournalError>;
    fn int(&self, column: &str) -> Result<i64, JournalError>;
    fn int_opt(&self, column: &str) -> Result<Option<i64>, JournalError>;
    fn blob(&self, column: &str) -> Result<Vec<u8>, JournalError>;
    fn flag(&self, column: &str) -> Result<bool, JournalError>;

    fn time(&self, column: &str) -> Result<DateTime<Utc>, JournalError> {
        let us = self.int(column)?;
        DateTime::from_timestamp_micros(us).ok_or_else(|| malformed(column, format!("{us} is not a time")))
    }

    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>, JournalError> {
        match self.int_opt(column)? {
            None => Ok(None),
            Some(us) => DateTime::from_timestamp_micros(us)
                .map(Some)
                .ok_or_else(|| malformed(column, format!("{us} is not a time"))),
        }
    }

    fn json(&self, column: &str) -> Result<Value, JournalError> {
        let text = self.text(column)?;
        serde_json::from_str(&text).map_err(|e| malformed(column, e.to_string()))
    }

    fn json_opt(&self, column: &str) -> Result<Option<Value>, JournalError> {
        match self.text_opt(column)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| malformed(column, e.to_string())),
        }
    }

    fn count(&self, column: &str) -> Result<u32, JournalError> {
        let n = self.int(column)?;
        u32::try_from(n).map_err(|_| malformed(column, format!("{n} is not a count")))
    }

    fn message_status(&self, column: &str) -> Result<MessageStatus, JournalError> {
        self.text(column)?
            .parse()
            .map_err(|e: super::records::UnknownStatus| malformed(column, e.to_string()))
    }

    fn delivery_status(&self, column: &str) -> Result<DeliveryStatus, JournalError> {
        self.text(column)?
            .parse()
            .map_err(|e: super::records::UnknownStatus| malformed(column, e.to_string()))
    }
}

fn malformed(column: &str, problem: String) -> JournalError {
    JournalError::Malformed(format!("column `{column}`: {problem}"))
}

/// A row of [`super::sql::DUE_DELIVERIES`].
pub(super) fn pending_delivery(row: &impl JournalRow) -> Result<PendingDelivery, JournalError> {
    Ok(PendingDelivery {
        id: row.text("id")?,
        message_id: row.text("message_id")?,
        route: row.text("route")?,
        destination: row.text("destination")?,
        payload: row.text("payload")?,
        content_type: row.text("content_type")?,
        context: row.json("context")?,
        attempts: row.count("attempts")?,
        created_at: row.time("created_at_us")?,
        order_key: row.text_opt("order_key")?,
    })
}

/// A row of [`super::sql::MESSAGE`]; deliveries are added by the caller.
pub(super) fn stored_message(row: &impl JournalRow) -> Result<StoredMessage, JournalError> {
    Ok(StoredMessage {
        id: row.text("id")?,
        route: row.text("route")?,
        received_at: row.time("received_at_us")?,
        status: row.message_status("status")?,
        source: row.json("source")?,
        content_type: row.text_opt("content_type")?,
        raw: Bytes::from(row.blob("raw")?),
        trace: row.json("trace")?,
        reply: row.json_opt("reply")?,
        error: row.json_opt("error")?,
        duration_us: row.int("duration_us")?,
        parent_id: row.text_opt("parent_id")?,
        caller: row.text_opt("caller")?,
        pruned_at: row.time_opt("pruned_at_us")?,
        keys: Vec::new(),
        deliveries: Vec::new(),
    })
}

/// A row of [`super::sql::MESSAGE_DELIVERIES`], with its last attempt when
/// the row holds it (migration 0008); the earlier ones are added by the caller.
pub(super) fn stored_delivery(
    row: &impl JournalRow,
) -> Result<(StoredDelivery, Option<DeliveryAttempt>), JournalError> {
    let delivery = StoredDelivery {
        id: row.text("id")?,
        destination: row.text("destination")?,
        status: row.delivery_status("status")?,
        payload: row.text("payload")?,
        content_type: row.text("content_type")?,
        context: row.json("context")?,
        attempts: row.count("attempts")?,
        created_at: row.time("created_at_us")?,
        next_attempt_at: row.time_opt("next_attempt_at_us")?,
        updated_at: row.time("updated_at_us")?,
        last_error: row.text_opt("last_error")?,
        response: row.json_opt("response")?,
        history: Vec::new(),
    };
    let last = row.int_opt("last_duration_us")?.map(|duration_us| DeliveryAttempt {
        attempt: delivery.attempts,
        at: delivery.updated_at,
        status: delivery.status,
        error: delivery.last_error.clone(),
        response: delivery.response.clone(),
        duration_us,
    });
    Ok((delivery, last))
}

/// A row of [`super::sql::MESSAGE_ATTEMPTS`], with the delivery it belongs to.
pub(super) fn attempt(row: &impl JournalRow) -> Result<(String, DeliveryAttempt), JournalError> {
    let attempt = DeliveryAttempt {
        attempt: row.count("attempt")?,
        at: row.time("at_us")?,
        status: row.delivery_status("status")?,
        error: row.text_opt("error")?,
        response: row.json_opt("response")?,
        duration_us: row.int("duration_us")?,
    };
    Ok((row.text("delivery_id")?, attempt))
}

/// A row of [`super::sql::MESSAGE_KEYS`] or of [`super::sql::keys_of`]: (message id, name, value).
pub(super) fn key(row: &impl JournalRow) -> Result<(String, String, String), JournalError> {
    Ok((row.text("message_id")?, row.text("name")?, row.text("value")?))
}

/// A row of [`super::sql::ROUTE_STATES`].
pub(super) fn route_state(row: &impl JournalRow) -> Result<RouteState, JournalError> {
    Ok(RouteState {
        route: row.text("route")?,
        paused: row.flag("paused")?,
        changed_at: row.time("changed_at_us")?,
        changed_by: row.text_opt("changed_by")?,
    })
}

/// A row of a statistics query, with its group read by the caller.
pub(super) fn stats_row<G>(row: &impl JournalRow, group: G) -> Result<super::stats::StatsRow<G>, JournalError> {
    let class = row.int("class")?;
    Ok(super::stats::StatsRow {
        group,
        status: row.message_status("status")?,
        class: usize::try_from(class).map_err(|_| malformed("class", format!("{class} is not a class")))?,
        count: row.count("n")?.into(),
    })
}

/// A row of a search built by [`super::sql::search`].
pub(super) fn summary(row: &impl JournalRow) -> Result<MessageSummary, JournalError> {
    Ok(MessageSummary {
        id: row.text("id")?,
        route: row.text("route")?,
        received_at: row.time("received_at_us")?,
        status: row.message_status("status")?,
        content_type: row.text_opt("content_type")?,
        duration_us: row.int("duration_us")?,
        parent_id: row.text_opt("parent_id")?,
        caller: row.text_opt("caller")?,
        error: row.json_opt("error")?,
        keys: Vec::new(),
    })
}

/// Puts each attempt into its delivery's history and the deliveries into the message.
pub(super) fn assemble(
    mut message: StoredMessage,
    deliveries: Vec<(StoredDelivery, Option<DeliveryAttempt>)>,
    attempts: Vec<(String, DeliveryAttempt)>,
) -> StoredMessage {
    let (mut deliveries, last): (Vec<_>, Vec<_>) = deliveries.into_iter().unzip();
    for (delivery_id, attempt) in attempts {
        if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == delivery_id) {
            delivery.history.push(attempt);
        }
    }
    for (delivery, last) in deliveries.iter_mut().zip(last) {
        delivery.history.extend(last);
    }
    message.deliveries = deliveries;
    message
}
