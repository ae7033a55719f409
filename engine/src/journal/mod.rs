//! TEMPORARY interface stand-in until the journal branch lands.
#![allow(dead_code, unused_variables)]
use crate::settings::{Durability, JournalLocation};
use chrono::{DateTime, Utc};

#[derive(Clone)]
pub struct Journal {}

#[derive(Debug, thiserror::Error)]
#[error("journal: {0}")]
pub struct JournalError(pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    Processed,
    Filtered,
    Rejected,
    Failed,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
}

pub struct MessageRecord {
    pub id: String,
    pub route: String,
    pub received_at: DateTime<Utc>,
    pub status: MessageStatus,
    pub source: serde_json::Value,
    pub content_type: Option<String>,
    pub raw: bytes::Bytes,
    pub trace: serde_json::Value,
    pub reply: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub duration_us: i64,
    pub parent_id: Option<String>,
    pub deliveries: Vec<NewDelivery>,
}
pub struct NewDelivery {
    pub id: String,
    pub destination: String,
    pub payload: String,
    pub content_type: String,
    pub context: serde_json::Value,
}
pub struct DeliveryUpdate {
    pub id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub response: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
    pub duration_us: i64,
}
#[derive(Clone, Debug)]
pub struct PendingDelivery {
    pub id: String,
    pub message_id: String,
    pub route: String,
    pub destination: String,
    pub payload: String,
    pub content_type: String,
    pub context: serde_json::Value,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}
pub struct StoredMessage {}
pub struct MessageFilter {}
pub struct MessageSummary {}

impl Journal {
    pub async fn open(location: &JournalLocation, durability: Durability) -> anyhow::Result<Journal> {
        todo!()
    }
    pub async fn record(&self, message: MessageRecord) -> Result<(), JournalError> {
        todo!()
    }
    pub async fn update_delivery(&self, update: DeliveryUpdate) -> Result<(), JournalError> {
        todo!()
    }
    pub async fn due_deliveries(
        &self,
        route: &str,
        destination: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingDelivery>, JournalError> {
        todo!()
    }
    pub async fn pending_destinations(&self) -> Result<Vec<(String, String)>, JournalError> {
        todo!()
    }
    pub async fn message(&self, id: &str) -> Result<Option<StoredMessage>, JournalError> {
        todo!()
    }
    pub async fn search(&self, filter: &MessageFilter) -> Result<Vec<MessageSummary>, JournalError> {
        todo!()
    }
    pub async fn count_by_status(&self, route: Option<&str>) -> Result<Vec<(String, i64)>, JournalError> {
        todo!()
    }
    pub async fn shutdown(&self) {}
}
