//! Durations written as text in route files: `500ms`, `5s`, `2m`, `1h 30m`.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationText(pub std::time::Duration);

impl DurationText {
    pub const fn secs(s: u64) -> Self {
        DurationText(std::time::Duration::from_secs(s))
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map(DurationText).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); expected e.g. `500ms`, `5s`, `2m`, `1h`"
            ))
        })
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration such as `500ms`, `5s`, `2m` or `1h 30m`.",
            "pattern": "^\\s*\\d+\\s*[a-zA-Zµ]+(\\s*\\d+\\s*[a-zA-Zµ]+)*\\s*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_explains() {
        let d: DurationText = serde_json::from_str("\"1m 30s\"").unwrap();
        assert_eq!(d.0.as_secs(), 90);
        let err = serde_json::from_str::<DurationText>("\"soon\"").unwrap_err();
        assert!(err.to_string().contains("expected e.g."), "{err}");
    }
}
