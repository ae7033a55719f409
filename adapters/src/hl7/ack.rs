//! Acknowledgements: building the ACK for a message, reading which ACKs a sender wants, and
//! reading an ACK that came back.
//!
//! The ACK's MSH swaps the sending and receiving application and facility, takes MSH-7 and
//! MSH-10 from the caller, copies MSH-11, MSH-12 and MSH-18, and keeps the message's delimiters
//! and character set. MSH-9 follows the version: `ACK` before v2.3, `ACK^<trigger>` in v2.3,
//! `ACK^<trigger>^ACK` from v2.3.1 (when MSH-9 gained the message structure). Errors go to
//! ERR-2 (location), ERR-3 (HL7 table 0357), ERR-4 (severity) and ERR-8 (text) from v2.5, and to
//! ERR-1 (`segment^sequence^field^code&text&HL70357`) before it. MSA-3 carries the text up to
//! v2.6 (v2.7 withdrew it).

use super::escape;
use super::message::Message;
use super::path::{Index, Path};
use super::{Hl7Error, ParseOptions};
use std::fmt::Write;

/// An acknowledgement code, MSA-1 (HL7 table 0008).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// Original mode: application accept.
    AA,
    /// Original mode: application error.
    AE,
    /// Original mode: application reject.
    AR,
    /// Enhanced mode: commit accept.
    CA,
    /// Enhanced mode: commit error.
    CE,
    /// Enhanced mode: commit reject.
    CR,
}

impl AckCode {
    /// The code as written in MSA-1.
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }

    /// The code MSA-1 holds, if it is one of the six.
    pub fn from_code(code: &str) -> Option<AckCode> {
        Some(match code {
            "AA" => AckCode::AA,
            "AE" => AckCode::AE,
            "AR" => AckCode::AR,
            "CA" => AckCode::CA,
            "CE" => AckCode::CE,
            "CR" => AckCode::CR,
            _ => return None,
        })
    }

    /// Whether the code says the message was accepted (AA or CA).
    pub fn is_accept(self) -> bool {
        matches!(self, AckCode::AA | AckCode::CA)
    }

    /// Whether the code is one of the enhanced mode's commit codes (CA, CE, CR).
    pub fn is_commit(self) -> bool {
        matches!(self, AckCode::CA | AckCode::CE | AckCode::CR)
    }
}

/// How severe an error is, ERR-4 (HL7 table 0516).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `E`: the message, or part of it, was not processed.
    Error,
    /// `W`: processed, with a warning.
    Warning,
    /// `I`: processed; for information.
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
        }
    }
}

/// An HL7 error code (HL7 table 0357), for ERR-3 (or ERR-1.4 before v2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: Message accepted.
    MessageAccepted,
    /// 100: Segment sequence error.
    SegmentSequence,
    /// 101: Required field missing.
    RequiredFieldMissing,
    /// 102: Data type error.
    DataType,
    /// 103: Table value not found.
    TableValueNotFound,
    /// 104: Value too long.
    ValueTooLong,
    /// 200: Unsupported message type.
    UnsupportedMessageType,
    /// 201: Unsupported event code.
    UnsupportedEventCode,
    /// 202: Unsupported processing id.
    UnsupportedProcessingId,
    /// 203: Unsupported version id.
    UnsupportedVersionId,
    /// 204: Unknown key identifier.
    UnknownKeyIdentifier,
    /// 205: Duplicate key identifier.
    DuplicateKeyIdentifier,
    /// 206: Application record locked.
    ApplicationRecordLocked,
    /// 207: Application internal error.
    ApplicationInternalError,
}

impl ErrorCode {
    /// The code, like `101`.
    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// The code's text in table 0357, like `Required field missing`.
    pub fn text(self) -> &'static str {
        self.entry().1
    }

    fn entry(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::MessageAccepted => ("0", "Message accepted"),
            ErrorCode::SegmentSequence => ("100", "Segment sequence error"),
            ErrorCode::RequiredFieldMissing => ("101", "Required field missing"),
            ErrorCode::DataType => ("102", "Data type error"),
            ErrorCode::TableValueNotFound => ("103", "Table value not found"),
            ErrorCode::ValueTooLong => ("104", "Value too long"),
            ErrorCode::UnsupportedMessageType => ("200", "Unsupported message type"),
            ErrorCode::UnsupportedEventCode => ("201", "Unsupported event code"),
            ErrorCode::UnsupportedProcessingId => ("202", "Unsupported processing id"),
            ErrorCode::UnsupportedVersionId => ("203", "Unsupported version id"),
            ErrorCode::UnknownKeyIdentifier => ("204", "Unknown key identifier"),
            ErrorCode::DuplicateKeyIdentifier => ("205", "Duplicate key identifier"),
            ErrorCode::ApplicationRecordLocked => ("206", "Application record locked"),
            ErrorCode::ApplicationInternalError => ("207", "Application internal error"),
        }
    }
}

/// Where in the original message an error is: ERR-2 (v2.5 on) or the first components of ERR-1.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ErrorLocation {
    /// The segment name, like `PID`.
    pub segment: String,
    /// Which segment of that name, from 1.
    pub sequence: usize,
    /// The field number, from 1.
    pub field: Option<usize>,
    /// The field repetition, from 1 (v2.5 on).
    pub repetition: Option<usize>,
    /// The component number, from 1 (v2.5 on).
    pub component: Option<usize>,
    /// The subcomponent number, from 1 (v2.5 on).
    pub subcomponent: Option<usize>,
}

impl ErrorLocation {
    /// The location a path names (`PID-3[2].1` is PID, sequence 1, field 3, repetition 2,
    /// component 1); `[*]` counts as the first.
    pub fn from_path(path: &Path) -> ErrorLocation {
        let nth = |index: Option<Index>| match index {
            Some(Index::Nth(n)) => Some(n),
            Some(Index::All) => Some(1),
            None => None,
        };
        ErrorLocation {
            segment: path.segment.clone(),
            sequence: nth(path.occurrence).unwrap_or(1),
            field: Some(path.field),
            repetition: nth(path.repetition),
            component: path.component,
            subcomponent: path.subcomponent,
        }
    }
}

/// One error reported in the ACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckError {
    /// The HL7 error code.
    pub code: ErrorCode,
    /// How severe it is (v2.5 on).
    pub severity: Severity,
    /// Where it is, when it is in a particular part of the message.
    pub location: Option<ErrorLocation>,
    /// What a person should read: ERR-8 from v2.5.
    pub message: String,
}

/// What the ACK says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// MSA-1.
    pub code: AckCode,
    /// MSH-10 of the ACK: its own control id.
    pub control_id: String,
    /// MSH-7 of the ACK, a timestamp like `20240131123000+0800`.
    pub timestamp: String,
    /// MSA-3 (up to v2.6); when `None`, the first error's message is used.
    pub text: Option<String>,
    /// One ERR segment each.
    pub errors: Vec<AckError>,
}

/// Builds the ACK that answers `original` (see the [module docs](self) for the fields).
pub fn build_ack(original: &Message, ack: &Ack) -> Result<Message, Hl7Error> {
    let d = *original.delimiters();
    let fs = d.field as char;
    let version = Version::of(original);
    let mut text = String::with_capacity(256);
    text.push_str("MSH");
    text.push(fs);
    text.push_str(&d.encoding_characters());
    for field in [5, 6, 3, 4] {
        text.push(fs);
        text.push_str(original.header_field_er7(field));
    }
    text.push(fs);
    escape_into(&ack.timestamp, original, &mut text, "MSH-7")?;
    text.push(fs);
    text.push(fs);
    text.push_str("ACK");
    if version.at_least(2, 3, 0) {
        let trigger = original
            .segment(0)
            .and_then(|msh| super::read::field(msh, &d, 9))
            .and_then(|(raw, _)| super::read::piece(raw, d.repetition, 1))
            .and_then(|raw| super::read::piece(raw, d.component, 2))
            .unwrap_or("");
        match version.at_least(2, 3, 1) {
            true => {
                let _ = write!(text, "{c}{trigger}{c}ACK", c = d.component as char);
            }
            false if !trigger.is_empty() => {
                let _ = write!(text, "{}{trigger}", d.component as char);
            }
            false => {}
        }
    }
    text.push(fs);
    escape_into(&ack.control_id, original, &mut text, "MSH-10")?;
    for field in [11, 12] {
        text.push(fs);
        text.push_str(original.header_field_er7(field));
    }
    let charset = original.header_field_er7(18);
    if !charset.is_empty() {
        for _ in 13..=18 {
            text.push(fs);
        }
        text.push_str(charset);
    }
    text.push('\r');

    text.push_str("MSA");
    text.push(fs);
    text.push_str(ack.code.as_str());
    text.push(fs);
    text.push_str(original.header_field_er7(10));
    let msa_text = ack
        .text
        .as_deref()
        .or_else(|| ack.errors.first().map(|e| e.message.as_str()));
    if let Some(msa_text) = msa_text.filter(|t| !t.is_empty() && !version.at_least(2, 7, 0)) {
        text.push(fs);
        escape_into(msa_text, original, &mut text, "MSA-3")?;
    }
    text.push('\r');

    for error in &ack.errors {
        text.push_str("ERR");
        text.push(fs);
        match version.at_least(2, 5, 0) {
            true => err_v25(error, original, &mut text)?,
            false => err_v2x(error, original, &mut text)?,
        }
        text.push('\r');
    }
    let options = ParseOptions {
        charset: Some(original.charset()),
        ..ParseOptions::default()
    };
    Message::from_text(&text, &options)
}

/// ERR-2 to ERR-8 (v2.5 and later); ERR-1 left empty.
fn err_v25(error: &AckError, original: &Message, text: &mut String) -> Result<(), Hl7Error> {
    let d = original.delimiters();
    let (fs, cs) = (d.field as char, d.component as char);
    text.push(fs);
    if let Some(location) = &error.location {
        let parts = [
            Some(location.sequence),
            location.field,
            location.repetition.or(location.component.map(|_| 1)),
            location.component,
            location.subcomponent,
        ];
        escape_into(&location.segment, original, text, "ERR-2")?;
        let used = parts.iter().rposition(Option::is_some).map_or(0, |last| last + 1);
        for part in &parts[..used] {
            text.push(cs);
            if let Some(n) = part {
                let _ = write!(text, "{n}");
            }
        }
    }
    let _ = write!(text, "{fs}{}{cs}{}{cs}HL70357", error.code.code(), error.code.text());
    let _ = write!(text, "{fs}{}", error.severity.code());
    text.push_str(&fs.to_string().repeat(4));
    escape_into(&error.message, original, text, "ERR-8")
}

/// ERR-1 (before v2.5): `segment^sequence^field^code&text&HL70357`.
fn err_v2x(error: &AckError, original: &Message, text: &mut String) -> Result<(), Hl7Error> {
    let d = original.delimiters();
    let (cs, ss) = (d.component as char, d.subcomponent as char);
    if let Some(location) = &error.location {
        escape_into(&location.segment, original, text, "ERR-1")?;
        text.push(cs);
        let _ = write!(text, "{}", location.sequence);
        text.push(cs);
        if let Some(field) = location.field {
            let _ = write!(text, "{field}");
        }
    } else {
        text.push(cs);
        text.push(cs);
    }
    let _ = write!(text, "{cs}{}{ss}{}{ss}HL70357", error.code.code(), error.code.text());
    Ok(())
}

fn escape_into(value: &str, original: &Message, text: &mut String, field: &str) -> Result<(), Hl7Error> {
    escape::encode(value, original.delimiters(), text).map_err(|e| {
        Hl7Error::new(format!(
            "cannot write {field} of the ACK: the value holds `{}` and the message declares no escape character",
            e.0
        ))
    })
}

/// An HL7 version from MSH-12, compared by its numbers; unknown versions count as the newest.
struct Version(Option<(u32, u32, u32)>);

impl Version {
    fn of(message: &Message) -> Version {
        let version = message.version();
        let mut numbers = version
            .as_deref()
            .unwrap_or("")
            .trim()
            .split('.')
            .map(|n| n.parse::<u32>().ok());
        let major = numbers.next().flatten();
        let minor = numbers.next().flatten();
        let patch = numbers.next().flatten().unwrap_or(0);
        Version(major.zip(minor).map(|(major, minor)| (major, minor, patch)))
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.0.is_none_or(|v| v >= (major, minor, patch))
    }
}

/// When a sender wants an acknowledgement (HL7 table 0155), from MSH-15 or MSH-16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckCondition {
    /// `AL`: always. Also what a value not in the table is taken for.
    Always,
    /// `NE`: never.
    Never,
    /// `ER`: only after an error or a rejection.
    ErrorOnly,
    /// `SU`: only after success.
    SuccessOnly,
}

impl AckCondition {
    fn from_code(code: &str) -> Option<AckCondition> {
        match code.trim() {
            "" => None,
            "NE" => Some(AckCondition::Never),
            "ER" => Some(AckCondition::ErrorOnly),
            "SU" => Some(AckCondition::SuccessOnly),
            _ => Some(AckCondition::Always),
        }
    }

    /// Whether an acknowledgement is due, given whether the outcome was a success.
    pub fn wants(self, success: bool) -> bool {
        match self {
            AckCondition::Always => true,
            AckCondition::Never => false,
            AckCondition::ErrorOnly => !success,
            AckCondition::SuccessOnly => success,
        }
    }
}

/// Which acknowledgements a message asks for: MSH-15 (accept, or commit, acknowledgement) and
/// MSH-16 (application acknowledgement). Either one valued means enhanced mode; both empty
/// means original mode, where the receiver sends one application ACK (AA/AE/AR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AckMode {
    /// MSH-15, `None` when empty.
    pub accept: Option<AckCondition>,
    /// MSH-16, `None` when empty.
    pub application: Option<AckCondition>,
}

impl AckMode {
    /// Reads MSH-15 and MSH-16 of a message.
    pub fn of(message: &Message) -> AckMode {
        let condition = |field| {
            message
                .header_field(field)
                .and_then(|code| AckCondition::from_code(&code))
        };
        AckMode {
            accept: condition(15),
            application: condition(16),
        }
    }

    /// Whether the enhanced acknowledgement rules apply (MSH-15 or MSH-16 is valued).
    pub fn is_enhanced(&self) -> bool {
        self.accept.is_some() || self.application.is_some()
    }

    /// Whether a commit ACK (CA/CE/CR) is due: only in enhanced mode, as MSH-15 says (empty
    /// counts as `AL`).
    pub fn wants_commit_ack(&self, accepted: bool) -> bool {
        self.is_enhanced() && self.accept.unwrap_or(AckCondition::Always).wants(accepted)
    }

    /// Whether an application ACK (AA/AE/AR) is due: always in original mode; in enhanced mode
    /// as MSH-16 says (empty counts as `AL`).
    pub fn wants_application_ack(&self, success: bool) -> bool {
        !self.is_enhanced() || self.application.unwrap_or(AckCondition::Always).wants(success)
    }
}

/// An acknowledgement received, as read by the sending side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckReply {
    /// MSA-1.
    pub code: AckCode,
    /// MSA-2: the control id of the message acknowledged.
    pub control_id: String,
    /// MSA-3, when valued.
    pub text: Option<String>,
    /// The text of each ERR segment: ERR-8, else ERR-3.2, else ERR-1.4.2, else ERR-1 as written.
    pub errors: Vec<String>,
}

impl AckReply {
    /// Reads the MSA and ERR segments of an acknowledgement.
    pub fn read(message: &Message) -> Result<AckReply, Hl7Error> {
        let get = |path: &str| {
            let path = Path::parse(path).expect("a valid path");
            message.get(&path).map(|v| v.into_owned()).filter(|v| !v.is_empty())
        };
        if message.count("MSA") == 0 {
            return Err(Hl7Error::new("the acknowledgement has no MSA segment"));
        }
        let code = get("MSA-1").unwrap_or_default();
        let code = AckCode::from_code(code.trim()).ok_or_else(|| {
            Hl7Error::new(format!(
                "MSA-1 of the acknowledgement is {code:?}; expected AA, AE, AR, CA, CE or CR"
            ))
        })?;
        let errors = (1..=message.count("ERR"))
            .filter_map(|n| {
                ["-8", "-3.2", "-1.4.2", "-1"]
                    .iter()
                    .find_map(|field| get(&format!("ERR[{n}]{field}")))
            })
            .collect();
        Ok(AckReply {
            code,
            control_id: get("MSA-2").unwrap_or_default(),
            text: get("MSA-3"),
            errors,
        })
    }

    /// MSA-3 and the errors' texts, joined with "; " (empty when there is none).
    pub fn message(&self) -> String {
        self.text
            .iter()
            .chain(&self.errors)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    }
}
