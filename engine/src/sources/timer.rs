//! The `timer` source: fires a message on a fixed interval or on a cron
//! schedule, in the configured time zone.

use crate::config::DurationText;
use chrono::{DateTime, Utc};
use croner::Cron;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimerSourceConfig {
    /// Fire at this interval, e.g. `30s` or `1h`. Give `every` or `cron`.
    #[serde(default)]
    pub every: Option<DurationText>,
    /// Cron expression in the settings' time zone: five fields (minute
    /// hour day month weekday) or six with seconds first, e.g.
    /// `0 2 * * *` for 02:00 every night.
    #[serde(default)]
    pub cron: Option<String>,
    /// Text of each fired message's raw body; empty when not given.
    #[serde(default)]
    pub body: String,
}

/// When a timer fires next.
#[derive(Clone, Debug)]
pub enum Schedule {
    Every(std::time::Duration),
    Cron(Box<Cron>, chrono_tz::Tz),
}

impl TimerSourceConfig {
    pub fn schedule(&self, timezone: chrono_tz::Tz) -> Result<Schedule, String> {
        match (&self.every, &self.cron) {
            (Some(every), None) if every.0.is_zero() => Err("`every` must be longer than zero".into()),
            (Some(every), None) => Ok(Schedule::Every(every.0)),
            (None, Some(expression)) => Cron::new(expression)
                .with_seconds_optional()
                .parse()
                .map(|cron| Schedule::Cron(Box::new(cron), timezone))
                .map_err(|e| format!("cron `{expression}` is not valid ({e}); expected e.g. `0 2 * * *`")),
            _ => Err("a timer needs exactly one of `every` or `cron`".into()),
        }
    }
}

impl Schedule {
    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(every) => Some(after + chrono::Duration::from_std(*every).ok()?),
            Schedule::Cron(cron, tz) => cron
                .find_next_occurrence(&after.with_timezone(tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config(every: Option<&str>, cron: Option<&str>) -> TimerSourceConfig {
        TimerSourceConfig {
            every: every.map(|e| DurationText(humantime::parse_duration(e).unwrap())),
            cron: cron.map(str::to_string),
            body: String::new(),
        }
    }

    #[test]
    fn cron_runs_in_the_configured_zone() {
        let schedule = config(None, Some("0 2 * * *"))
            .schedule(chrono_tz::Asia::Shanghai)
            .unwrap();
        // 2026-11-21 20:00 UTC is 04:00 in Shanghai; the next 02:00 there is 18:00 UTC on the 22nd.
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 20, 0, 0).unwrap();
        assert_eq!(
            schedule.next_after(now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0).unwrap()
        );
    }

    #[test]
    fn interval_and_errors() {
        let schedule = config(Some("30s"), None).schedule(chrono_tz::UTC).unwrap();
        let now = Utc::now();
        assert_eq!(schedule.next_after(now).unwrap() - now, chrono::Duration::seconds(30));
        assert!(config(None, None).schedule(chrono_tz::UTC).is_err());
        assert!(config(Some("1s"), Some("* * * * *")).schedule(chrono_tz::UTC).is_err());
        assert!(config(None, Some("61 * * * *"))
            .schedule(chrono_tz::UTC)
            .unwrap_err()
            .contains("expected"));
    }
}
