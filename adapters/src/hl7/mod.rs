//! HL7 v2 messages in ER7 (the `|^~\&` encoding): parse, read and edit by path, write back.
//!
//! A pure, synchronous library; docs/hl7.md has the rules in full:
//! - [`Message::parse`] reads a message with its own delimiters (MSH-1, MSH-2) in the character
//!   set named by MSH-18 (or the caller's [`ParseOptions::charset`], which wins), and
//!   [`Message::to_bytes`] writes it back in that character set. An unmodified message is
//!   written back byte for byte; segments end with a carriage return on output, while input
//!   may end them with CR, LF or CRLF.
//! - [`Path`] addresses a part of a message (`PID-5.1`, `OBX[2]-5`, `PID-3[*].1`);
//!   [`Message::get`], [`Message::get_all`], [`Message::set`] and [`Message::clear`] use it.
//!   Escape sequences are decoded on read and written on set.
//! - [`Message::to_value`] and [`Message::from_value`] convert to and from the value tree
//!   (docs/value-model-hl7.md).
//! - [`build_ack`] answers a message, [`AckMode`] tells which answers it wants and
//!   [`AckReply::read`] reads an answer; [`Batch::parse`] splits a batch file.
//!
//! Input is untrusted: nothing here panics on any input, sizes are capped by [`ParseOptions`],
//! and every error is an [`Hl7Error`] that says what was expected and where.

mod ack;
mod batch;
mod charset;
mod delimiters;
mod edit;
mod escape;
mod message;
mod path;
mod read;
mod value;
pub mod value_path;

pub use ack::{build_ack, Ack, AckCode, AckCondition, AckError, AckMode, AckReply, ErrorCode, ErrorLocation, Severity};
pub use batch::{Batch, BatchGroup};
pub use charset::Charset;
pub use delimiters::Delimiters;
pub use message::Message;
pub use path::{Index, Path};

/// The HL7 null value: a field holding exactly `""` tells the receiver to delete what it has,
/// unlike an empty field, which means "not sent". [`Message::get`] returns it as these two
/// characters and [`Message::set`] writes them unchanged.
pub const NULL: &str = "\"\"";

/// Limits and character set choices for reading messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// The character set to read the message in, whatever MSH-18 says (for senders whose
    /// MSH-18 is wrong). The message is written back in this character set too.
    pub charset: Option<Charset>,
    /// The character set when MSH-18 is empty and `charset` is not set: UTF-8 unless the
    /// route says otherwise (many Chinese systems send GBK with an empty MSH-18). Bytes that
    /// are not valid in it are an error naming the byte, never replaced.
    pub default_charset: Charset,
    /// The largest message (or batch file) accepted, in bytes.
    pub max_bytes: usize,
    /// The most segments a message (or batch file) may have.
    pub max_segments: usize,
    /// Whether a batch whose BTS-1 or FTS-1 count disagrees with what it holds is refused.
    pub check_batch_counts: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            charset: None,
            default_charset: Charset::UTF_8,
            max_bytes: 32 * 1024 * 1024,
            max_segments: 100_000,
            check_batch_counts: true,
        }
    }
}

/// Why a message could not be read, edited or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", Location(*position, *segment))]
pub struct Hl7Error {
    /// What is wrong, and what was expected.
    pub message: String,
    /// The byte offset in the input where the problem is, when there is an input.
    pub position: Option<u64>,
    /// The segment concerned, counted from 1 (MSH is segment 1), when there is one.
    pub segment: Option<usize>,
}

impl Hl7Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Hl7Error {
            message: message.into(),
            position: None,
            segment: None,
        }
    }

    pub(crate) fn at(mut self, position: usize) -> Self {
        self.position = Some(position as u64);
        self
    }

    pub(crate) fn in_segment(mut self, segment: usize) -> Self {
        self.segment = Some(segment);
        self
    }
}

/// Shows " (at byte 12, segment 3)", or the part of it that is known.
struct Location(Option<u64>, Option<usize>);

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.0, self.1) {
            (Some(byte), Some(segment)) => write!(f, " (at byte {byte}, segment {segment})"),
            (Some(byte), None) => write!(f, " (at byte {byte})"),
            (None, Some(segment)) => write!(f, " (segment {segment})"),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_where() {
        assert_eq!(Hl7Error::new("bad").to_string(), "bad");
        assert_eq!(Hl7Error::new("bad").at(7).to_string(), "bad (at byte 7)");
        assert_eq!(Hl7Error::new("bad").in_segment(2).to_string(), "bad (segment 2)");
        assert_eq!(
            Hl7Error::new("bad").at(7).in_segment(2).to_string(),
            "bad (at byte 7, segment 2)"
        );
    }
}
