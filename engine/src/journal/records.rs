//! What the journal stores and gives back: the public record types.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// One message as the engine hands it to the journal, with the deliveries
/// it enqueues. Written in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRecord {
    /// A UUID v7 in text form, made by the caller.
    pub id: String,
    pub route: String,
    pub received_at: DateTime<Utc>,
    pub status: MessageStatus,
    /// Source metadata: headers, method, path, remote address.
    pub source: Value,
    pub content_type: Option<String>,
    /// The bytes as received, kept exactly.
    pub raw: Bytes,
    /// A JSON array (as text) with one entry per step that ran.
    pub trace: String,
    pub reply: Option<Value>,
    /// `{kind, code, message}` when the message was rejected or failed.
    pub error: Option<Value>,
    pub duration_us: i64,
    /// The message this one was handed over from (another route) or reprocessed from.
    pub parent_id: Option<String>,
    /// Who sent it: the name of the secret an `authenticate` step matched.
    pub caller: Option<String>,
    /// The route's business keys that had a value: (name, value).
    pub keys: Vec<(String, String)>,
    pub deliveries: Vec<NewDelivery>,
}

impl MessageRecord {
    /// Masks every configured secret in what the journal keeps of the
    /// message: the raw input, the source metadata, the trace, the reply,
    /// the error and the deliveries' payloads and contexts. A caller that
    /// sent its secret where no `authenticate` step removed it leaves no
    /// trace of it. Nothing is done when no secrets are configured.
    pub fn redact(&mut self, redactor: &crate::secrets::Redactor) {
        if !redactor.is_active() {
            return;
        }
        if let std::borrow::Cow::Owned(raw) = redactor.bytes(&self.raw) {
            self.raw = Bytes::from(raw);
        }
        if let std::borrow::Cow::Owned(trace) = redactor.json_text(&self.trace) {
            self.trace = trace;
        }
        redactor.value(&mut self.source);
        for value in [&mut self.reply, &mut self.error].into_iter().flatten() {
            redactor.value(value);
        }
        for (_, value) in &mut self.keys {
            if let std::borrow::Cow::Owned(masked) = redactor.text(value) {
                *value = masked;
            }
        }
        for delivery in &mut self.deliveries {
            if let std::borrow::Cow::Owned(payload) = redactor.text(&delivery.payload) {
                delivery.payload = payload;
            }
            redactor.value(&mut delivery.context);
            if let Some(key) = &mut delivery.order_key {
                if let std::borrow::Cow::Owned(masked) = redactor.text(key) {
                    *key = masked;
                }
            }
        }
    }
}

/// A delivery to enqueue with its message. It falls due when the message was received.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDelivery {
    pub id: String,
    /// The destination's name within the message's route.
    pub destination: String,
    pub payload: String,
    pub content_type: String,
    /// What the destination's templates need at delivery time.
    pub context: Value,
    /// The lane of an ordered destination (`""` when it has one lane);
    /// `None` when the destination is not ordered.
    pub order_key: Option<String>,
}

/// The outcome of one delivery attempt. Sets the delivery's state and
/// appends to its attempt history.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryUpdate {
    /// The delivery's id.
    pub id: String,
    pub status: DeliveryStatus,
    /// Attempts made so far, this one included.
    pub attempts: u32,
    /// When to try again, for a delivery left `Pending`; `None` means at once.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub response: Option<Value>,
    /// When the attempt was made.
    pub at: DateTime<Utc>,
    pub duration_us: i64,
}

/// A delivery waiting for its destination, as a delivery worker needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingDelivery {
    pub id: String,
    pub message_id: String,
    pub route: String,
    pub destination: String,
    pub payload: String,
    pub content_type: String,
    pub context: Value,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub order_key: Option<String>,
}

/// Which due deliveries of a destination a worker asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueKind {
    /// Every due delivery, by due time.
    All,
    /// Due deliveries already attempted or put off: new ones reach the
    /// worker in memory.
    Retries,
    /// In each lane of an ordered destination, the oldest pending delivery
    /// if it is due; oldest first.
    LaneHeads,
}

/// A message read back, with everything the journal holds about it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    pub id: String,
    pub route: String,
    pub received_at: DateTime<Utc>,
    pub status: MessageStatus,
    pub source: Value,
    pub content_type: Option<String>,
    pub raw: Bytes,
    pub trace: Value,
    pub reply: Option<Value>,
    pub error: Option<Value>,
    pub duration_us: i64,
    pub parent_id: Option<String>,
    /// Who sent it: the name of the secret an `authenticate` step matched.
    pub caller: Option<String>,
    /// When retention emptied its bodies (raw, trace, reply, finished
    /// deliveries' payloads); `None` while they are whole.
    pub pruned_at: Option<DateTime<Utc>>,
    /// Its business keys, by name.
    pub keys: Vec<(String, String)>,
    /// In the order they were enqueued.
    pub deliveries: Vec<StoredDelivery>,
}

/// A delivery read back: its current state and every attempt made.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDelivery {
    pub id: String,
    pub destination: String,
    pub status: DeliveryStatus,
    pub payload: String,
    pub content_type: String,
    pub context: Value,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// Set while the delivery is pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The last attempt's response.
    pub response: Option<Value>,
    /// Every attempt, oldest first.
    pub history: Vec<DeliveryAttempt>,
}

/// One entry of a delivery's attempt history.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAttempt {
    /// The attempt count the update reported.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// The delivery's state after this attempt.
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub response: Option<Value>,
    pub duration_us: i64,
}

/// One line of a message search.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageSummary {
    pub id: String,
    pub route: String,
    pub received_at: DateTime<Utc>,
    pub status: MessageStatus,
    pub content_type: Option<String>,
    pub duration_us: i64,
    pub parent_id: Option<String>,
    pub caller: Option<String>,
    pub error: Option<Value>,
    /// Its business keys, by name.
    pub keys: Vec<(String, String)>,
}

/// Which messages a search returns; every condition set must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageFilter {
    /// One message by its id.
    pub id: Option<String>,
    pub route: Option<String>,
    pub status: Option<MessageStatus>,
    pub caller: Option<String>,
    /// A business key's name and value.
    pub key: Option<(String, String)>,
    /// Bytes the raw input contains (case-sensitive). Such a search reads
    /// bodies, so it looks at no more than [`TEXT_SCAN_LIMIT`] messages.
    pub text: Option<String>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received strictly before.
    pub received_before: Option<DateTime<Utc>>,
    /// Messages past this place in the newest-first order: the `next` of the previous page.
    pub after: Option<SearchCursor>,
    /// At most this many, newest first.
    pub limit: u32,
}

impl Default for MessageFilter {
    fn default() -> Self {
        MessageFilter {
            id: None,
            route: None,
            status: None,
            caller: None,
            key: None,
            text: None,
            received_from: None,
            received_before: None,
            after: None,
            limit: 100,
        }
    }
}

/// Messages a text search reads at most per page.
pub const TEXT_SCAN_LIMIT: u32 = 10_000;

/// A place in the newest-first order of messages: a message's time and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCursor {
    pub received_at_us: i64,
    pub id: String,
}

impl fmt::Display for SearchCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.received_at_us, self.id)
    }
}

impl FromStr for SearchCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (us, id) = s
            .split_once('_')
            .ok_or_else(|| format!("cursor `{s}` is not one a search answered as `next`"))?;
        let received_at_us = us
            .parse()
            .map_err(|_| format!("cursor `{s}` is not one a search answered as `next`"))?;
        Ok(SearchCursor {
            received_at_us,
            id: id.to_string(),
        })
    }
}

/// One page of a search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    pub messages: Vec<MessageSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<SearchCursor>,
    /// A text search stopped after [`TEXT_SCAN_LIMIT`] messages before the
    /// page was full: `next` goes on from where it stopped.
    pub truncated: bool,
}

/// Which messages a bulk reprocess takes: one route, received in
/// `[received_from, received_before)`, oldest first, at most `limit`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReprocessSelection {
    pub route: String,
    pub status: SelectedStatus,
    /// With [`SelectedStatus::Dead`]: only dead deliveries to this destination.
    pub destination: Option<String>,
    pub received_from: DateTime<Utc>,
    pub received_before: DateTime<Utc>,
    pub limit: u32,
}

/// A message status, or "has a dead-lettered delivery".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectedStatus {
    Message(MessageStatus),
    Dead,
}

impl FromStr for SelectedStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "dead" {
            return Ok(SelectedStatus::Dead);
        }
        s.parse().map(SelectedStatus::Message)
    }
}

/// Which messages one pruning pass empties or deletes: received strictly
/// before these times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneCutoffs {
    /// Bodies of processed and filtered messages without a dead delivery.
    pub bodies: DateTime<Utc>,
    /// Bodies of rejected and failed messages and of those with a dead delivery.
    pub errors: DateTime<Utc>,
    /// Whole messages (rows deleted); `None` keeps metadata forever.
    pub metadata: Option<DateTime<Utc>>,
}

/// Where a pruning pass has got to: batches go on after the last message
/// they emptied, so messages kept (too young for their cutoff) are read once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PruneCursor {
    pub(super) after_us: i64,
    pub(super) after_id: String,
}

impl Default for PruneCursor {
    fn default() -> Self {
        PruneCursor {
            after_us: i64::MIN,
            after_id: String::new(),
        }
    }
}

/// What one pruning batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Messages whose bodies were emptied.
    pub bodies: u64,
    /// Messages deleted with everything they held.
    pub metadata: u64,
}

impl std::ops::AddAssign for Pruned {
    fn add_assign(&mut self, other: Pruned) {
        self.bodies += other.bodies;
        self.metadata += other.metadata;
    }
}

/// Which messages statistics count: received in `[from, to)`, in buckets
/// of `bucket_us` counted from `from`, of one route and one caller when set.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsQuery {
    pub route: Option<String>,
    pub caller: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bucket_us: i64,
}

/// Whether a route is paused, as an operator last set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteState {
    pub route: String,
    pub paused: bool,
    pub changed_at: DateTime<Utc>,
    /// Who changed it, when the admin API knew.
    pub changed_by: Option<String>,
}

/// What became of a message. Stored as its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// The steps ran to the end.
    Processed,
    /// A filter step dropped it on purpose.
    Filtered,
    /// Refused as invalid (authentication, validation).
    Rejected,
    /// A step or the engine failed.
    Failed,
}

/// Where a delivery stands. Stored as its lower-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Given up on.
    Dead,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 4] = [
        MessageStatus::Processed,
        MessageStatus::Filtered,
        MessageStatus::Rejected,
        MessageStatus::Failed,
    ];

    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Processed => "processed",
            MessageStatus::Filtered => "filtered",
            MessageStatus::Rejected => "rejected",
            MessageStatus::Failed => "failed",
        }
    }
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Dead];

    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

/// A status name the journal does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for MessageStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

impl FromStr for DeliveryStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
