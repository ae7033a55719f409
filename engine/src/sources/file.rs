//! The `file` source: takes the files dropped in a folder, cuts each into
//! messages (whole, by line, or an HL7 v2 batch) and runs every message
//! through the route. The folder poller is in `runtime::file_pollers`.

use crate::config::{ByteSize, DurationText};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Folder to take files from, relative to the data dir unless absolute;
    /// created when missing. medbus keeps its own subfolders in it:
    /// `.processing/`, `done/` and `error/`.
    pub dir: PathBuf,
    /// Which file names to take, a glob such as `*.hl7` or `ADT_*.txt`.
    /// Names starting with `.` are never taken (editors' and uploaders'
    /// temporary files).
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// How often to look in the folder.
    #[serde(default = "default_every")]
    pub every: DurationText,
    /// A file is taken once it has not been modified for this long, so that
    /// one still being written is left alone.
    #[serde(default = "default_settle")]
    pub settle: DurationText,
    /// How a file is cut into messages.
    #[serde(default)]
    pub split: Split,
    /// What becomes of a file once each of its messages is journaled.
    #[serde(default)]
    pub after: After,
    /// Larger files are not read: they go to `error/` with a note.
    #[serde(default = "default_max_size")]
    pub max_size: ByteSize,
    /// The content type of each message; by default `application/hl7-v2`
    /// for `split: hl7`, none otherwise.
    #[serde(default)]
    pub content_type: Option<String>,
}

fn default_pattern() -> String {
    "*".into()
}

fn default_every() -> DurationText {
    DurationText::secs(1)
}

fn default_settle() -> DurationText {
    DurationText::secs(1)
}

fn default_max_size() -> ByteSize {
    ByteSize(64 << 20)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The whole file is one message.
    #[default]
    Whole,
    /// Each line that is not blank is a message (JSON Lines, CSV rows
    /// without a header, ...). `\n` and `\r\n` both end a line.
    Lines,
    /// An HL7 v2 batch file: `FHS`/`BHS`/`BTS`/`FTS` envelopes are checked
    /// and dropped, every `MSH` starts a message. A file of messages back
    /// to back without envelopes is read the same way.
    Hl7,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// Moved to `done/` under its own name (a name already there gets the
    /// time appended).
    #[default]
    Move,
    /// Deleted.
    Delete,
}

impl FileSourceConfig {
    pub fn check(&self) -> Result<glob::Pattern, String> {
        if self.every.0.is_zero() {
            return Err("`every` must be longer than zero".into());
        }
        if self.pattern.contains(['/', '\\']) {
            return Err(format!(
                "pattern `{}` may not contain `/` or `\\`; expected a file name glob such as `*.hl7`",
                self.pattern
            ));
        }
        glob::Pattern::new(&self.pattern)
            .map_err(|e| format!("pattern `{}` is not a glob ({e}); expected e.g. `*.hl7`", self.pattern))
    }

    pub fn content_type(&self) -> Option<String> {
        match (&self.content_type, self.split) {
            (Some(given), _) => Some(given.clone()),
            (None, Split::Hl7) => Some("application/hl7-v2".into()),
            (None, _) => None,
        }
    }
}

/// Why a file could not be cut into messages.
pub type SplitError = String;

/// The messages of a file, as byte ranges of its content.
pub fn split(content: &[u8], how: Split) -> Result<Vec<std::ops::Range<usize>>, SplitError> {
    match how {
        Split::Whole => Ok(std::iter::once(0..content.len()).collect()),
        Split::Lines => Ok(lines(content)),
        Split::Hl7 => hl7_messages(content),
    }
}

/// The messages of an HL7 batch file, cut at the bytes: every segment that
/// begins with `MSH` starts one, and the envelope segments end it. Segment
/// ends (CR, LF) are never part of a multi-byte character in the character
/// sets HL7 messages use, so each message keeps its own MSH-18 for the
/// `parse` step. A BTS-1 (messages) or FTS-1 (batches) count that
/// disagrees is an error.
fn hl7_messages(content: &[u8]) -> Result<Vec<std::ops::Range<usize>>, SplitError> {
    let mut messages: Vec<std::ops::Range<usize>> = Vec::new();
    let mut open: Option<std::ops::Range<usize>> = None;
    let (mut in_batch, mut batches) = (0usize, 0usize);
    let mut start = 0;
    while start < content.len() {
        let end = content[start..]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .map_or(content.len(), |i| start + i);
        let segment = &content[start..end];
        match segment.get(..3) {
            _ if segment.iter().all(u8::is_ascii_whitespace) => {}
            Some(b"MSH") => {
                messages.extend(open.take());
                in_batch += 1;
                open = Some(start..end);
            }
            Some(name @ (b"FHS" | b"BHS" | b"BTS" | b"FTS")) => {
                messages.extend(open.take());
                let (count, what) = match name {
                    b"BTS" => (std::mem::take(&mut in_batch), "BTS-1"),
                    b"FTS" => (batches, "FTS-1"),
                    b"BHS" => {
                        in_batch = 0;
                        batches += 1;
                        (0, "")
                    }
                    _ => (0, ""),
                };
                if let Some(declared) = (!what.is_empty()).then(|| first_field(segment)).flatten() {
                    if declared != count {
                        let counted = if what == "FTS-1" { "batches" } else { "messages" };
                        return Err(format!(
                            "{what} says {declared} {counted}, and there are {count}; the file may be cut short"
                        ));
                    }
                }
            }
            _ => match &mut open {
                Some(message) => message.end = end,
                None => {
                    let shown = String::from_utf8_lossy(&segment[..segment.len().min(20)]).into_owned();
                    return Err(format!(
                        "a segment `{shown}` stands before any MSH; expected a batch of HL7 v2 messages, each starting with MSH"
                    ));
                }
            },
        }
        start = end + 1;
    }
    messages.extend(open);
    if messages.is_empty() {
        return Err("the file holds no HL7 message (no segment starts with MSH)".into());
    }
    Ok(messages)
}

/// BTS-1 or FTS-1 as a count, when it is one.
fn first_field(segment: &[u8]) -> Option<usize> {
    let separator = *segment.get(3)?;
    let field = segment[4..].split(|&b| b == separator).next()?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

fn lines(content: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, &byte) in content.iter().enumerate() {
        if byte == b'\n' {
            push_line(content, start..i, &mut ranges);
            start = i + 1;
        }
    }
    push_line(content, start..content.len(), &mut ranges);
    ranges
}

fn push_line(content: &[u8], mut range: std::ops::Range<usize>, ranges: &mut Vec<std::ops::Range<usize>>) {
    if range.end > range.start && content[range.end - 1] == b'\r' {
        range.end -= 1;
    }
    if content[range.clone()].iter().any(|b| !b.is_ascii_whitespace()) {
        ranges.push(range);
    }
}

/// The id of a file's `index`th message: the same each time the same file,
/// taken at the same moment, is read, so that a file read again after a
/// crash skips the messages already journaled. A UUID v7 whose time is the
/// moment the file was taken, whose next 26 random bits hold the index (so
/// a file's messages sort in file order) and whose last 48 come from the
/// route, the file's name and content.
pub fn message_id(taken_at_ms: u64, route: &str, name: &str, content_hash: &[u8; 32], index: usize) -> String {
    let mut hasher = Sha256::new();
    for part in [route.as_bytes(), name.as_bytes(), content_hash] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let index = index as u64;
    // The builder overwrites the top 4 bits of byte 0 (version) and the top 2
    // of byte 2 (variant): the index skips them.
    let mut random = [0u8; 10];
    random[0] = ((index >> 22) & 0x0F) as u8;
    random[1] = (index >> 14) as u8;
    random[2] = ((index >> 8) & 0x3F) as u8;
    random[3] = index as u8;
    random[4..].copy_from_slice(&digest[..6]);
    uuid::Builder::from_unix_timestamp_millis(taken_at_ms, &random)
        .into_uuid()
        .to_string()
}

pub fn content_hash(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(content: &str, how: Split) -> Vec<&str> {
        split(content.as_bytes(), how)
            .unwrap()
            .into_iter()
            .map(|r| &content[r])
            .collect()
    }

    #[test]
    fn lines_skip_blank_ones_and_take_both_line_ends() {
        assert_eq!(texts("a\r\n\n  \nb\nc", Split::Lines), ["a", "b", "c"]);
        assert_eq!(texts("", Split::Lines), Vec::<&str>::new());
        assert_eq!(texts("whole\nfile", Split::Whole), ["whole\nfile"]);
    }

    #[test]
    fn hl7_batches_are_cut_at_each_msh_without_their_envelope() {
        let batch = "FHS|^~\\&|HIS\rBHS|^~\\&|HIS\rMSH|^~\\&|A|1\rPID|1\rMSH|^~\\&|A|2\r\nPID|2\nBTS|2\rFTS|1\r";
        assert_eq!(
            texts(batch, Split::Hl7),
            ["MSH|^~\\&|A|1\rPID|1", "MSH|^~\\&|A|2\r\nPID|2"]
        );
        assert_eq!(texts("MSH|1\rMSH|2\r", Split::Hl7), ["MSH|1", "MSH|2"]);
        let short = split(b"BHS|^~\\&\rMSH|1\rBTS|3\r", Split::Hl7).unwrap_err();
        assert!(short.contains("BTS-1 says 3 messages, and there are 1"), "{short}");
        assert!(split(b"PID|1\rMSH|1\r", Split::Hl7)
            .unwrap_err()
            .contains("before any MSH"));
        assert!(split(b"\r\n", Split::Hl7).unwrap_err().contains("no HL7 message"));
    }

    #[test]
    fn ids_are_stable_per_file_and_index_and_ordered_by_time() {
        let hash = content_hash(b"MSH|...");
        let a = message_id(1_700_000_000_000, "r", "f.hl7", &hash, 0);
        assert_eq!(a, message_id(1_700_000_000_000, "r", "f.hl7", &hash, 0));
        assert_ne!(a, message_id(1_700_000_000_000, "r", "f.hl7", &hash, 1));
        assert_ne!(a, message_id(1_700_000_000_000, "r", "g.hl7", &hash, 0));
        let later = message_id(1_700_000_000_001, "r", "f.hl7", &hash, 0);
        assert!(later > a);
        let in_order: Vec<String> = [0, 1, 255, 256, 16_383, 16_384, 4_000_000]
            .iter()
            .map(|&i| message_id(1_700_000_000_000, "r", "f.hl7", &hash, i))
            .collect();
        assert!(in_order.windows(2).all(|w| w[0] < w[1]), "{in_order:?}");
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
    }

    #[test]
    fn patterns_are_file_name_globs() {
        let config: FileSourceConfig = serde_json::from_str(r#"{"dir":"in","pattern":"*.hl7"}"#).unwrap();
        let pattern = config.check().unwrap();
        assert!(pattern.matches("adt.hl7") && !pattern.matches("adt.txt"));
        let bad: FileSourceConfig = serde_json::from_str(r#"{"dir":"in","pattern":"a/*.hl7"}"#).unwrap();
        assert!(bad.check().unwrap_err().contains("may not contain"));
        assert_eq!(config.content_type(), None);
    }
}
