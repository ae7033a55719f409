//! Times as the admin API reads and writes them: RFC 3339, to the microsecond, in UTC.

use super::api_error::ApiError;
use chrono::{DateTime, SecondsFormat, Utc};

/// A time parameter, or `BAD_TIME` naming it.
pub fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::bad_request(
                "BAD_TIME",
                format!("`{name}` is not an RFC 3339 time ({e}); expected e.g. 2026-03-01T08:00:00+08:00"),
            )
        })
}

pub fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}
