//! Message counts and latencies over time, per route and per caller. The
//! database counts (GROUP BY) messages by status and by latency class, a
//! fixed histogram of `duration_us`; percentiles are read from the
//! histogram, so a window of millions of messages answers in one pass
//! and a few hundred rows, at the price of a class's width (steps of 1.5
//! to 2x, interpolated within the class).

use super::records::MessageStatus;
use std::sync::LazyLock;

/// The latency classes' upper bounds in microseconds: class `i` holds
/// durations below `LATENCY_BOUNDS_US[i]` and at or above the bound before;
/// the last class, everything from a minute on.
pub const LATENCY_BOUNDS_US: [i64; 35] = [
    100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 15_000, 20_000, 30_000, 50_000,
    70_000, 100_000, 150_000, 200_000, 300_000, 500_000, 700_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000,
    5_000_000, 7_000_000, 10_000_000, 15_000_000, 20_000_000, 30_000_000, 60_000_000,
];

/// `CAST(CASE WHEN m.duration_us < 100 THEN 0 ... END AS BIGINT)`: a message's latency class.
pub(super) static LATENCY_CLASS_SQL: LazyLock<String> = LazyLock::new(|| {
    let mut sql = String::from("CAST(CASE");
    for (class, bound) in LATENCY_BOUNDS_US.iter().enumerate() {
        sql.push_str(&format!(" WHEN m.duration_us < {bound} THEN {class}"));
    }
    sql.push_str(&format!(" ELSE {} END AS BIGINT)", LATENCY_BOUNDS_US.len()));
    sql
});

/// Counts by status and a latency histogram: one bucket of time, or one caller's route.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub by_status: [u64; 4],
    pub latency: Vec<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            by_status: [0; 4],
            latency: vec![0; LATENCY_BOUNDS_US.len() + 1],
        }
    }
}

impl Tally {
    pub fn add(&mut self, status: MessageStatus, class: usize, count: u64) {
        let index = MessageStatus::ALL.iter().position(|s| *s == status).unwrap_or(0);
        self.by_status[index] += count;
        if let Some(slot) = self.latency.get_mut(class) {
            *slot += count;
        }
    }

    pub fn count(&self, status: MessageStatus) -> u64 {
        let index = MessageStatus::ALL.iter().position(|s| *s == status).unwrap_or(0);
        self.by_status[index]
    }

    pub fn total(&self) -> u64 {
        self.by_status.iter().sum()
    }

    /// The latency below which `fraction` (0..=1) of the messages fell, in
    /// microseconds, interpolated within its class; `None` without messages.
    pub fn percentile(&self, fraction: f64) -> Option<i64> {
        let total = self.latency.iter().sum::<u64>();
        if total == 0 {
            return None;
        }
        let rank = (fraction * total as f64).ceil().max(1.0);
        let mut below = 0u64;
        for (class, &count) in self.latency.iter().enumerate() {
            if count == 0 || ((below + count) as f64) < rank {
                below += count;
                continue;
            }
            let low = if class == 0 { 0 } else { LATENCY_BOUNDS_US[class - 1] };
            let high = LATENCY_BOUNDS_US.get(class).copied().unwrap_or(low * 2);
            let within = (rank - below as f64) / count as f64;
            return Some(low + ((high - low) as f64 * within).round() as i64);
        }
        None
    }
}

/// One row of a statistics query: (group, status, latency class, count).
#[derive(Clone, Debug, PartialEq)]
pub struct StatsRow<G> {
    pub group: G,
    pub status: MessageStatus,
    pub class: usize,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram_within_a_class() {
        let mut tally = Tally::default();
        // 90 messages between 1 and 1.5 ms, 10 between 50 and 70 ms.
        tally.add(MessageStatus::Processed, 7, 90);
        tally.add(MessageStatus::Failed, 17, 10);
        assert_eq!((tally.total(), tally.count(MessageStatus::Failed)), (100, 10));
        let p50 = tally.percentile(0.5).unwrap();
        assert!((1_000..1_500).contains(&p50), "{p50}");
        let p95 = tally.percentile(0.95).unwrap();
        assert!((50_000..=70_000).contains(&p95), "{p95}");
        assert_eq!(tally.percentile(1.0), Some(70_000));
        assert_eq!(Tally::default().percentile(0.5), None);
    }

    #[test]
    fn the_class_expression_follows_the_bounds() {
        assert!(LATENCY_CLASS_SQL.starts_with("CAST(CASE WHEN m.duration_us < 100 THEN 0 WHEN"));
        assert!(LATENCY_CLASS_SQL.ends_with("ELSE 35 END AS BIGINT)"));
    }
}
