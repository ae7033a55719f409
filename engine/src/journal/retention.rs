//! Retention: message bodies (raw input, traces, replies, the payloads of
//! finished deliveries) are emptied once older than their age, errors after
//! an age of their own; metadata stays, or is deleted past `metadata` when
//! that is set. A task checks every `check_every`, in short batches so that
//! message commits never wait long behind it.

use super::{Journal, JournalError, PruneCursor, PruneCutoffs, Pruned};
use crate::config::DurationText;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// Messages one batch empties or deletes at most: one short transaction.
const BATCH: u32 = 64;
/// The pause between batches, in which the writer commits what waited.
const PAUSE: Duration = Duration::from_millis(5);

/// The `retention` section of `medbus.yaml`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Bodies of processed and filtered messages are emptied past this age.
    /// Env: MEDBUS_RETENTION_BODIES.
    pub bodies: DurationText,
    /// Bodies of rejected and failed messages and of messages with a dead
    /// delivery. Env: MEDBUS_RETENTION_ERRORS.
    pub errors: DurationText,
    /// Whole messages (metadata too) are deleted past this age; unset keeps
    /// them forever. Env: MEDBUS_RETENTION_METADATA.
    pub metadata: Option<DurationText>,
    /// How often the pruning runs. Env: MEDBUS_RETENTION_CHECK_EVERY.
    pub check_every: DurationText,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            bodies: DurationText::secs(30 * 24 * 3600),
            errors: DurationText::secs(90 * 24 * 3600),
            metadata: None,
            check_every: DurationText::secs(3600),
        }
    }
}

/// Every environment variable that overrides a retention setting, with its key.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("MEDBUS_RETENTION_BODIES", "bodies"),
    ("MEDBUS_RETENTION_ERRORS", "errors"),
    ("MEDBUS_RETENTION_METADATA", "metadata"),
    ("MEDBUS_RETENTION_CHECK_EVERY", "check_every"),
];

impl RetentionSettings {
    /// What is old enough to go at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> PruneCutoffs {
        let before = |age: DurationText| {
            chrono::Duration::from_std(age.0)
                .ok()
                .and_then(|age| now.checked_sub_signed(age))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        PruneCutoffs {
            bodies: before(self.bodies),
            errors: before(self.errors),
            metadata: self.metadata.map(before),
        }
    }
}

/// One pruning pass over the whole journal, batch after batch.
pub async fn prune(
    journal: &Journal,
    settings: &RetentionSettings,
    now: DateTime<Utc>,
) -> Result<Pruned, JournalError> {
    let cutoffs = settings.cutoffs(now);
    let mut cursor = PruneCursor::default();
    let mut total = Pruned::default();
    loop {
        let pruned = journal.prune_batch(&cutoffs, &mut cursor, now, BATCH).await?;
        metrics::counter!("medbus_journal_pruned_total", "what" => "bodies").increment(pruned.bodies);
        metrics::counter!("medbus_journal_pruned_total", "what" => "metadata").increment(pruned.metadata);
        total += pruned;
        if pruned.bodies < u64::from(BATCH) && pruned.metadata < u64::from(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Prunes now, then every `check_every`, until `stopping` resolves.
pub async fn run(journal: Journal, settings: RetentionSettings, stopping: impl std::future::Future<Output = ()>) {
    let mut ticks = tokio::time::interval(settings.check_every.0);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = &mut stopping => return,
            _ = ticks.tick() => {}
        }
        let pass = tokio::select! {
            _ = &mut stopping => return,
            pass = prune(&journal, &settings, Utc::now()) => pass,
        };
        match pass {
            Ok(pruned) if pruned == Pruned::default() => {}
            Ok(pruned) => tracing::info!(
                bodies = pruned.bodies,
                metadata = pruned.metadata,
                "retention pruned the journal"
            ),
            Err(e) => tracing::error!("retention could not prune the journal: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_are_now_minus_each_age() {
        let settings = RetentionSettings {
            metadata: Some(DurationText::secs(400 * 24 * 3600)),
            ..RetentionSettings::default()
        };
        let now = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let cutoffs = settings.cutoffs(now);
        assert_eq!(now - cutoffs.bodies, chrono::Duration::days(30));
        assert_eq!(now - cutoffs.errors, chrono::Duration::days(90));
        assert_eq!(cutoffs.metadata.map(|m| now - m), Some(chrono::Duration::days(400)));
        let forever = RetentionSettings {
            bodies: DurationText(Duration::MAX),
            ..settings
        };
        assert_eq!(forever.cutoffs(now).bodies, DateTime::<Utc>::MIN_UTC);
    }
}
