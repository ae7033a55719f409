//! What each route did since medbus started, counted in memory as messages
//! are journaled: cheap to read for the admin API's route list, which adds
//! the journal's counts of queued and dead deliveries (partial indexes).
//! Counted by route id, so a reload keeps them.

use crate::journal::MessageStatus;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Activity {
    pub since: DateTime<Utc>,
    routes: Mutex<HashMap<String, RouteActivity>>,
}

/// One route's messages since `since`, by outcome, and its last error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteActivity {
    pub received: u64,
    /// Messages answered to their sender (HTTP, SOAP, MLLP; never timers and folders).
    pub replied: u64,
    pub processed: u64,
    pub filtered: u64,
    pub rejected: u64,
    pub failed: u64,
    pub last_error: Option<LastError>,
    /// Whether the last error was looked up in the journal already (done
    /// once per route: it may predate this start).
    pub last_error_known: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub code: String,
    pub message: String,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            since: Utc::now(),
            routes: Mutex::default(),
        }
    }
}

impl Activity {
    /// Counts a journaled message, and whether it is answered to its sender;
    /// a rejected or failed one becomes the route's last error.
    pub fn count(&self, route: &str, status: MessageStatus, replied: bool, error: Option<LastError>) {
        let mut routes = self.routes.lock().unwrap();
        let activity = match routes.get_mut(route) {
            Some(activity) => activity,
            None => routes.entry(route.to_string()).or_default(),
        };
        activity.received += 1;
        activity.replied += u64::from(replied);
        *match status {
            MessageStatus::Processed => &mut activity.processed,
            MessageStatus::Filtered => &mut activity.filtered,
            MessageStatus::Rejected => &mut activity.rejected,
            MessageStatus::Failed => &mut activity.failed,
        } += 1;
        if let Some(error) = error {
            activity.last_error = Some(error);
            activity.last_error_known = true;
        }
    }

    pub fn of(&self, route: &str) -> RouteActivity {
        self.routes.lock().unwrap().get(route).cloned().unwrap_or_default()
    }

    /// Sets the last error found in the journal, unless one came meanwhile.
    pub fn learn_last_error(&self, route: &str, error: Option<LastError>) {
        let mut routes = self.routes.lock().unwrap();
        let activity = routes.entry(route.to_string()).or_default();
        if !activity.last_error_known {
            activity.last_error = error;
            activity.last_error_known = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_outcome_and_keeps_the_newest_error() {
        let activity = Activity::default();
        let error = |code: &str| LastError {
            at: Utc::now(),
            code: code.into(),
            message: "m".into(),
        };
        activity.count("r", MessageStatus::Processed, true, None);
        activity.count("r", MessageStatus::Rejected, true, Some(error("A")));
        activity.learn_last_error("r", Some(error("OLD")));
        activity.count("r", MessageStatus::Failed, false, Some(error("B")));
        let r = activity.of("r");
        assert_eq!((r.received, r.processed, r.rejected, r.failed), (3, 1, 1, 1));
        assert_eq!(r.replied, 2);
        assert_eq!(
            r.last_error.unwrap().code,
            "B",
            "the journal's older error does not replace a newer one"
        );
        activity.learn_last_error("quiet", Some(error("OLD")));
        assert_eq!(activity.of("quiet").last_error.unwrap().code, "OLD");
        assert_eq!(activity.of("quiet").received, 0);
    }
}
