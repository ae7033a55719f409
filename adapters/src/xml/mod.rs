//! XML <-> the value tree.
//!
//! The convention, in short (docs/value-model-xml.md has it in full, with examples):
//! - the document is an object with one key, the root element's name;
//! - an element is a key of its parent; siblings with the same name become an array;
//! - attributes are `@name` keys, text beside attributes or child elements is `#text`;
//! - an element with only text (or nothing: `<a/>`) is a string;
//! - names keep their prefixes (`soap:Envelope`), `xmlns` declarations are attributes;
//! - CDATA is text; comments, processing instructions and whitespace between elements
//!   are dropped; all text stays a string, exactly as written after references are decoded.
//!
//! Inputs are untrusted: a DOCTYPE is refused (so no entity but the five predefined ones
//! and character references is ever expanded), nesting is capped at [`MAX_DEPTH`], and
//! malformed input yields an [`XmlError`] with its byte position, never a panic.

mod decode;
mod read;
mod write;

pub use decode::parse_bytes;
pub use read::parse;
pub use write::{write, write_document, write_with, WriteOptions};

/// The deepest element nesting that [`parse`] accepts and the writer produces.
///
/// The root element is at depth 1.
pub const MAX_DEPTH: usize = 256;

/// Why a document could not be read or a value could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct XmlError {
    /// What is wrong, and what was expected.
    pub message: String,
    /// Reading: the byte offset in the input where the problem is.
    /// Writing: how many bytes of output had been produced (the message names the value path).
    pub position: u64,
}

impl XmlError {
    fn new(message: impl Into<String>, position: u64) -> Self {
        XmlError {
            message: message.into(),
            position,
        }
    }
}

/// A character that XML 1.0 allows in a document (the `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The byte index of the first character XML 1.0 does not allow, with that character.
fn first_illegal_char(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| !is_xml_char(c))
}

/// Describes a character that XML cannot hold, for error messages.
fn illegal_char_message(c: char) -> String {
    format!("character U+{:04X} is not allowed in XML 1.0", c as u32)
}

/// An XML 1.0 `Name` (prefixes included: `soap:Envelope`; Chinese names are valid too).
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_xml_name_production() {
        for good in ["a", "soap:Envelope", "_x", "a-b.c1", "患者姓名", "xmlns:ns0", "é"] {
            assert!(is_name(good), "{good}");
        }
        for bad in ["", "1a", "-a", "a b", "a<b", "@id", "#text", "a\"", "a>", "·a"] {
            assert!(!is_name(bad), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_not_xml() {
        assert_eq!(first_illegal_char("ok\t\r\n中文"), None);
        assert_eq!(first_illegal_char("ab\u{1}"), Some((2, '\u{1}')));
        assert_eq!(first_illegal_char("\u{FFFE}"), Some((0, '\u{FFFE}')));
        assert_eq!(
            illegal_char_message('\u{1}'),
            "character U+0001 is not allowed in XML 1.0"
        );
    }

    #[test]
    fn error_display_says_where() {
        assert_eq!(XmlError::new("bad", 7).to_string(), "bad (at byte 7)");
    }
}
