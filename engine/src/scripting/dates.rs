//! Dates for scripts: text in, text out, in the configured time zone.
//! Formats are chrono's strftime codes (`%Y-%m-%d %H:%M:%S`, `%Y%m%d%H%M%S`).

use chrono::format::ParseErrorKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt::Write;

/// The format of `now()`: what Chinese HIS and platform interfaces use.
pub const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn format(time: &DateTime<Tz>, format: &str) -> Result<String, String> {
    let mut out = String::with_capacity(format.len() + 8);
    write!(out, "{}", time.format(format)).map_err(|_| {
        format!("`{format}` is not a valid date format; expected strftime codes such as `%Y-%m-%d %H:%M:%S`")
    })?;
    Ok(out)
}

pub fn now(zone: Tz) -> DateTime<Tz> {
    Utc::now().with_timezone(&zone)
}

/// Reads `text` written in `format`. A text with an offset (`%z`) is
/// converted to `zone`; one without is taken as local time in `zone`;
/// a date without a time is midnight.
pub fn parse(text: &str, format: &str, zone: Tz) -> Result<DateTime<Tz>, String> {
    let mismatch = |e: chrono::ParseError| format!("`{text}` does not match the date format `{format}` ({e})");
    match DateTime::parse_from_str(text, format) {
        Ok(time) => return Ok(time.with_timezone(&zone)),
        Err(e) if e.kind() != ParseErrorKind::NotEnough => return Err(mismatch(e)),
        Err(_) => {}
    }
    let naive = match NaiveDateTime::parse_from_str(text, format) {
        Ok(naive) => naive,
        Err(e) if e.kind() == ParseErrorKind::NotEnough => NaiveDate::parse_from_str(text, format)
            .map_err(mismatch)?
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists"),
        Err(e) => return Err(mismatch(e)),
    };
    zone.from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("`{text}` is not a time that exists in {zone}"))
}

/// `format_date(text, from, to)`: the same moment written another way.
pub fn reformat(text: &str, from: &str, to: &str, zone: Tz) -> Result<String, String> {
    format(&parse(text, from, zone)?, to)
}

/// Seconds since 1970-01-01T00:00:00Z as a time in `zone`.
pub fn from_unix(seconds: i64, zone: Tz) -> Result<DateTime<Tz>, String> {
    DateTime::from_timestamp(seconds, 0)
        .map(|t| t.with_timezone(&zone))
        .ok_or_else(|| format!("{seconds} is out of the range of dates"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    #[test]
    fn parses_local_offset_and_date_only_texts() {
        let t = parse("2024-05-01 08:30:00", DEFAULT_FORMAT, Shanghai).unwrap();
        assert_eq!(t.timestamp(), 1_714_523_400);
        let t = parse("2024-05-01T00:30:00+00:00", "%Y-%m-%dT%H:%M:%S%:z", Shanghai).unwrap();
        assert_eq!(format(&t, DEFAULT_FORMAT).unwrap(), "2024-05-01 08:30:00");
        let t = parse("20240501", "%Y%m%d", Shanghai).unwrap();
        assert_eq!(format(&t, "%Y-%m-%d %H:%M").unwrap(), "2024-05-01 00:00");
    }

    #[test]
    fn reformats_hl7_timestamps_and_explains_mismatches() {
        assert_eq!(
            reformat("20240501083000", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M", Shanghai).unwrap(),
            "2024年05月01日 08:30"
        );
        let err = reformat("2024-13-01", "%Y-%m-%d", "%Y", Shanghai).unwrap_err();
        assert!(
            err.starts_with("`2024-13-01` does not match the date format `%Y-%m-%d` ("),
            "{err}"
        );
        let err = reformat("2024-05-01", "%Y-%m-%d", "%Y-%Q", Shanghai).unwrap_err();
        assert!(err.contains("not a valid date format"), "{err}");
    }

    #[test]
    fn converts_unix_seconds_in_the_zone() {
        let t = from_unix(0, Shanghai).unwrap();
        assert_eq!(format(&t, "%Y-%m-%d %H:%M:%S %z").unwrap(), "1970-01-01 08:00:00 +0800");
        assert!(from_unix(i64::MAX, Shanghai).is_err());
    }
}
