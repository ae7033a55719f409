//! Masking secret values out of what the journal keeps: every occurrence
//! of a configured secret becomes `******`, in one pass of an Aho-Corasick
//! automaton built once per secrets load.

use crate::value::Value;
use aho_corasick::{AhoCorasick, MatchKind};
use std::borrow::Cow;

/// What a secret value becomes.
pub const MASK: &str = "******";

/// Secrets shorter than this are not masked: they would mask ordinary
/// text (a code, a word) as often as the secret.
pub const MIN_MASKED_LEN: usize = 6;

/// Masks the configured secrets; does nothing when there are none.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor for `values`: each as it is, and as it reads escaped in
    /// JSON, XML and a URL, so that a secret carried inside a document or
    /// a query is found too. Values shorter than [`MIN_MASKED_LEN`] are left out.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut patterns: Vec<String> = Vec::new();
        for value in values.into_iter().filter(|v| v.chars().count() >= MIN_MASKED_LEN) {
            let json = serde_json::to_string(value).expect("a string serialises");
            let forms = [
                value.to_string(),
                json[1..json.len() - 1].to_string(),
                crate::templates::escape_xml(value),
                form_urlencoded::byte_serialize(value.as_bytes()).collect(),
            ];
            for form in forms {
                if !patterns.contains(&form) {
                    patterns.push(form);
                }
            }
        }
        if patterns.is_empty() {
            return Redactor::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("literal patterns of bounded size build");
        Redactor { matcher: Some(matcher) }
    }

    /// Whether there is anything to mask.
    pub fn is_active(&self) -> bool {
        self.matcher.is_some()
    }

    /// Whether `text` holds a secret.
    pub fn finds(&self, text: &[u8]) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(text))
    }

    /// `text` with every secret masked; borrowed when it holds none.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(text) => {
                Cow::Owned(matcher.replace_all(text, &vec![MASK; matcher.patterns_len()]))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Raw bytes with every secret masked; borrowed when they hold none.
    pub fn bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(bytes) => {
                let masks = vec![MASK.as_bytes(); matcher.patterns_len()];
                Cow::Owned(matcher.replace_all_bytes(bytes, &masks))
            }
            _ => Cow::Borrowed(bytes),
        }
    }

    /// JSON text with every secret masked, still valid JSON: a document
    /// holding a secret is masked string by string (a plain replacement
    /// could cut an escape sequence in two).
    pub fn json_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.finds(text.as_bytes()) {
            return Cow::Borrowed(text);
        }
        match serde_json::from_str::<Value>(text) {
            Ok(mut value) => {
                self.value(&mut value);
                Cow::Owned(value.to_string())
            }
            Err(_) => self.text(text),
        }
    }

    /// Masks every string and key in `value`.
    pub fn value(&self, value: &mut Value) {
        if !self.is_active() {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.text(text) {
                    *text = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => {
                if map.keys().any(|key| self.finds(key.as_bytes())) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(key, value)| (self.text(&key).into_owned(), value))
                        .collect();
                }
                map.values_mut().for_each(|item| self.value(item));
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_occurrence_in_one_pass() {
        let r = Redactor::new(["s3cret-120", "s3cret-120-long", "short"]);
        assert_eq!(
            r.text("a s3cret-120 b s3cret-120-long c short"),
            "a ****** b ****** c short",
            "the longest secret wins where two overlap; short values are left alone"
        );
        assert!(matches!(r.text("nothing here"), Cow::Borrowed(_)));
        assert_eq!(
            r.bytes(b"<secret>s3cret-120</secret>").as_ref(),
            b"<secret>******</secret>"
        );
    }

    #[test]
    fn finds_secrets_escaped_in_json_xml_and_urls() {
        let r = Redactor::new(["p&ss\"word/1"]);
        assert_eq!(r.text(r#"{"s":"p&ss\"word/1"}"#), r#"{"s":"******"}"#);
        assert_eq!(r.text("<s>p&amp;ss&quot;word/1</s>"), "<s>******</s>");
        assert_eq!(r.text("?s=p%26ss%22word%2F1&x=1"), "?s=******&x=1");
    }

    #[test]
    fn json_stays_json() {
        let r = Redactor::new(["n12345678"]);
        // `\n12345678` is a newline then digits: no secret, and a plain
        // replacement inside the escape would break the document.
        let text = r#"{"a":"x\n12345678","b":["n12345678"],"n12345678":1}"#;
        let masked = r.json_text(text);
        let value: Value = serde_json::from_str(&masked).unwrap();
        assert_eq!(value, json!({"a": "x\n12345678", "b": ["******"], "******": 1}));
    }

    #[test]
    fn without_secrets_nothing_is_touched() {
        let r = Redactor::new([]);
        assert!(!r.is_active());
        let mut value = json!({"a": "anything"});
        r.value(&mut value);
        assert_eq!(value, json!({"a": "anything"}));
        assert!(matches!(r.json_text("{}"), Cow::Borrowed(_)));
    }
}
