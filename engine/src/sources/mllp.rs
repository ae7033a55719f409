//! The `mllp` source: HL7 v2 messages over MLLP. Routes naming the same
//! listener share it, each taking the message types (MSH-9) it lists. The
//! listener lives in `runtime::mllp_listeners`; this module holds the
//! listener's route table, how a frame becomes an exchange, and the ACKs.
//! docs/mllp.md has the rules.

use crate::config::{ByteSize, DurationText};
use crate::exchange::{Body, BodyFormat, Exchange, Reply};
use crate::runtime::snapshot::{Route, Source};
use crate::steps::StepError;
use crate::value::{Map, Value};
use medbus_adapters::hl7::{self, AckCode, AckError, Charset, ErrorCode, Message, Severity};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// The content type MLLP messages are journaled with.
pub const CONTENT_TYPE: &str = "application/hl7-v2";

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MllpSourceConfig {
    /// `address:port` of the listener, or the name of one of the settings'
    /// `listeners`, e.g. `his-adt`. MLLP routes naming the same address
    /// share one listener; an address serves either MLLP or HTTP.
    pub listen: super::Listen,
    /// The message types this route takes, by MSH-9 message code and
    /// trigger event: `ADT^A01`, `ADT^*` (any ADT event) or `*` (anything
    /// no other route on the listener takes). Each type goes to one route.
    pub messages: Vec<String>,
    /// The HL7 versions (MSH-12) accepted, e.g. `["2.3", "2.4", "2.5"]`;
    /// others get AR with error 203. Default: any.
    #[serde(default)]
    pub versions: Vec<String>,
    /// The character set to read messages in, whatever their MSH-18 says
    /// (for senders whose MSH-18 is wrong), e.g. `GB 18030-2000`, `gbk`.
    #[serde(default)]
    pub charset: Option<String>,
    /// The character set of a message whose MSH-18 is empty. Default UTF-8;
    /// many Chinese HIS send GBK without saying so.
    #[serde(default)]
    pub default_charset: Option<String>,
    /// The largest message accepted; a larger frame is answered AR and
    /// journaled as rejected, without its content.
    #[serde(default = "default_max_message")]
    pub max_message: ByteSize,
    /// A connection that sends nothing for this long is closed.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: DurationText,
}

fn default_max_message() -> ByteSize {
    ByteSize(1024 * 1024)
}

fn default_idle_timeout() -> DurationText {
    DurationText::secs(600)
}

impl MllpSourceConfig {
    /// The route's reading options, checked; and its message patterns.
    pub fn check(&self) -> Result<(hl7::ParseOptions, Vec<MessagePattern>), String> {
        let charset = |key: &str, label: &str| {
            Charset::from_name(label).ok_or_else(|| {
                format!(
                    "`{key}: {label}` is not a character set HL7 messages can be read in; expected e.g. \
                     `UNICODE UTF-8`, `GB 18030-2000`, `gbk`, `8859/1`"
                )
            })
        };
        let mut options = hl7::ParseOptions {
            max_bytes: usize::try_from(self.max_message.0).unwrap_or(usize::MAX),
            ..hl7::ParseOptions::default()
        };
        if let Some(label) = &self.charset {
            options.charset = Some(charset("charset", label)?);
        }
        if let Some(label) = &self.default_charset {
            options.default_charset = charset("default_charset", label)?;
        }
        if self.messages.is_empty() {
            return Err(
                "`messages` is empty; expected the message types this route takes, e.g. `[ADT^A01, ADT^A04]`".into(),
            );
        }
        let patterns = self.messages.iter().map(|m| m.parse()).collect::<Result<_, _>>()?;
        Ok((options, patterns))
    }
}

/// A message type a route takes: `ADT^A01`, `ADT^*` or `*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessagePattern {
    Exact(String, String),
    AnyEvent(String),
    Any,
}

impl std::str::FromStr for MessagePattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        match text.split_once('^') {
            _ if text == "*" => Ok(MessagePattern::Any),
            Some((kind, "*")) if code(kind) => Ok(MessagePattern::AnyEvent(kind.into())),
            Some((kind, event)) if code(kind) && code(event) => Ok(MessagePattern::Exact(kind.into(), event.into())),
            _ => Err(format!(
                "message type `{text}` is not one; expected a message code and trigger event like `ADT^A01`, \
                 `ADT^*` for every event, or `*`"
            )),
        }
    }
}

impl MessagePattern {
    /// Whether a message of this code and trigger event is one of these.
    pub fn matches(&self, kind: &str, event: &str) -> bool {
        match self {
            MessagePattern::Exact(k, e) => k == kind && e == event,
            MessagePattern::AnyEvent(k) => k == kind,
            MessagePattern::Any => true,
        }
    }
}

impl std::fmt::Display for MessagePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessagePattern::Exact(kind, event) => write!(f, "{kind}^{event}"),
            MessagePattern::AnyEvent(kind) => write!(f, "{kind}^*"),
            MessagePattern::Any => f.write_str("*"),
        }
    }
}

/// One MLLP listener's routes, by the message types they take.
#[derive(Default)]
pub struct MllpService {
    routes: Vec<(MessagePattern, Arc<Route>)>,
    /// The largest `max_message` of the routes: frames are read before the route is known.
    pub max_message: usize,
    /// The longest `idle_timeout` of the routes.
    pub idle_timeout: std::time::Duration,
}

impl MllpService {
    /// Adds a route; refused when another route on the listener takes one of its types.
    pub fn add(&mut self, route: &Arc<Route>) -> Result<(), String> {
        let Source::Mllp { config, patterns, .. } = &route.source else {
            return Ok(());
        };
        for pattern in patterns {
            if let Some((_, other)) = self.routes.iter().find(|(p, _)| p == pattern) {
                return Err(format!(
                    "message type `{pattern}` is already taken by route `{}` ({}) on this listener; expected each type on one route",
                    other.id,
                    other.file.display()
                ));
            }
        }
        for pattern in patterns {
            self.routes.push((pattern.clone(), route.clone()));
        }
        self.max_message = self
            .max_message
            .max(usize::try_from(config.max_message.0).unwrap_or(usize::MAX));
        self.idle_timeout = self.idle_timeout.max(config.idle_timeout.0);
        Ok(())
    }

    /// The route for a message code and trigger event: an exact pattern,
    /// else the code's `^*`, else `*`.
    pub fn dispatch(&self, kind: &str, event: &str) -> Result<&Arc<Route>, Refusal> {
        let find = |wanted: &dyn Fn(&MessagePattern) -> bool| {
            self.routes.iter().find(|(p, _)| wanted(p) && p.matches(kind, event))
        };
        let exact = |p: &MessagePattern| matches!(p, MessagePattern::Exact(..));
        let any_event = |p: &MessagePattern| matches!(p, MessagePattern::AnyEvent(_));
        if let Some((_, route)) = find(&exact).or_else(|| find(&any_event)).or_else(|| find(&|_| true)) {
            return Ok(route);
        }
        let known_kind = self
            .routes
            .iter()
            .any(|(p, _)| matches!(p, MessagePattern::Exact(k, _) | MessagePattern::AnyEvent(k) if k == kind));
        let taken: Vec<String> = self.routes.iter().map(|(p, _)| p.to_string()).collect();
        let (code, hl7_code) = if known_kind {
            ("UNSUPPORTED_EVENT", "event")
        } else {
            ("UNSUPPORTED_MESSAGE_TYPE", "message type")
        };
        Err(Refusal {
            code,
            message: format!(
                "{hl7_code} `{kind}^{event}` (MSH-9) is not taken here; expected one of: {}",
                taken.join(", ")
            ),
        })
    }

    /// The route that journals what no route takes: the first in file order.
    pub fn fallback(&self) -> &Arc<Route> {
        &self.routes[0].1
    }
}

/// Why a message was refused before its route's steps ran.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn into_error(self) -> StepError {
        StepError::rejected(self.code, self.message)
    }
}

/// The reading options and accepted versions of an MLLP route.
pub fn route_options(route: &Route) -> (&hl7::ParseOptions, &[String]) {
    match &route.source {
        Source::Mllp { options, config, .. } => (options, &config.versions),
        _ => unreachable!("only MLLP routes are in an MLLP listener's table"),
    }
}

/// Reads a frame as the route would, checking its version.
pub fn read(route: &Route, frame: &[u8]) -> Result<Message, Refusal> {
    let (options, versions) = route_options(route);
    let message = Message::parse_with(frame, options).map_err(|e| Refusal {
        code: "INVALID_HL7",
        message: format!("not a valid HL7 v2 message: {e}"),
    })?;
    if !versions.is_empty() {
        let version = message.version().unwrap_or_default();
        if !versions.iter().any(|v| *v == version) {
            return Err(Refusal {
                code: "UNSUPPORTED_VERSION",
                message: format!(
                    "version `{version}` (MSH-12) is not accepted; expected one of: {}",
                    versions.join(", ")
                ),
            });
        }
    }
    Ok(message)
}

/// MSH-9's message code and trigger event.
pub fn message_type(message: &Message) -> (String, String) {
    let part = |n| {
        hl7::Path::parse(&format!("MSH-9.{n}"))
            .ok()
            .and_then(|path| message.get(&path).map(|v| v.into_owned()))
            .unwrap_or_default()
    };
    (part(1), part(2))
}

/// MSH-9's message code and trigger event read from the bytes, before the
/// message is decoded: they pick the route, whose options decode it.
pub fn scan_message_type(frame: &[u8]) -> Option<(String, String)> {
    let start = frame.windows(3).position(|w| w == b"MSH")?;
    let header = &frame[start..];
    let field_separator = *header.get(3)?;
    let component_separator = *header.get(4)?;
    let end = header
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(header.len());
    // Split on the separator, "MSH" is piece 0 and MSH-2 piece 1, so MSH-9 is piece 8.
    let msh9 = header[..end].split(|&b| b == field_separator).nth(8)?;
    let mut parts = msh9.split(|&b| b == component_separator);
    let text = |part: Option<&[u8]>| String::from_utf8_lossy(part.unwrap_or_default()).trim().to_string();
    Some((text(parts.next()), text(parts.next())))
}

/// The exchange of a message a route takes: the value tree of its message,
/// and headers naming the connection and the message's MSH.
pub fn exchange(route: &Route, frame: bytes::Bytes, message: &Arc<Message>, peer: &Peer) -> Exchange {
    let body = Body::hl7(message.clone());
    let mut ex = Exchange::with_body(&route.id, frame, Some(CONTENT_TYPE.into()), peer.headers(), body);
    let (kind, event) = message_type(message);
    let header = |ex: &mut Exchange, name: &str, value: Option<String>| {
        ex.headers.insert(name.into(), value.map_or(Value::Null, Value::String));
    };
    header(&mut ex, "message_type", Some(kind));
    header(&mut ex, "trigger_event", Some(event));
    header(&mut ex, "control_id", message.control_id().map(|c| c.into_owned()));
    header(&mut ex, "version", message.version().map(|v| v.to_string()));
    ex.body_format = BodyFormat::Hl7;
    ex.hl7 = Some(message.clone());
    ex
}

/// The exchange of a frame refused before any route's steps: its bytes as they came.
pub fn refused_exchange(route: &Route, frame: bytes::Bytes, peer: &Peer) -> Exchange {
    Exchange::new(&route.id, frame, Some(CONTENT_TYPE.into()), peer.headers())
}

/// The exchange `medbus test` runs a route's test input through: what the
/// listener would make of the message, with the refusal that would answer
/// it before the steps.
pub fn test_exchange(route: &Route, raw: &[u8]) -> (Exchange, Option<StepError>) {
    let peer = Peer {
        remote: ([127, 0, 0, 1], 0).into(),
        listener: ([127, 0, 0, 1], 0).into(),
    };
    let frame = bytes::Bytes::copy_from_slice(raw);
    let takes_it = |(kind, event): (String, String)| {
        let Source::Mllp { patterns, .. } = &route.source else {
            return false;
        };
        patterns.iter().any(|p| match p {
            MessagePattern::Exact(k, e) => *k == kind && *e == event,
            MessagePattern::AnyEvent(k) => *k == kind,
            MessagePattern::Any => true,
        })
    };
    let refusal = match scan_message_type(raw) {
        Some(found) if !takes_it(found.clone()) => Some(Refusal {
            code: "UNSUPPORTED_MESSAGE_TYPE",
            message: format!(
                "message type `{}^{}` (MSH-9) is not taken by this route",
                found.0, found.1
            ),
        }),
        _ => None,
    };
    match refusal.map_or_else(|| read(route, raw), Err) {
        Ok(message) => (exchange(route, frame, &Arc::new(message), &peer), None),
        Err(refusal) => (refused_exchange(route, frame, &peer), Some(refusal.into_error())),
    }
}

/// Who sent a frame, and where.
pub struct Peer {
    pub remote: std::net::SocketAddr,
    pub listener: std::net::SocketAddr,
}

impl Peer {
    fn headers(&self) -> Map<String, Value> {
        let mut headers = Map::new();
        headers.insert("remote".into(), Value::String(self.remote.to_string()));
        headers.insert("listener".into(), Value::String(self.listener.to_string()));
        headers
    }
}

/// What an MLLP route answers: ACKs built from the message received.
#[derive(Clone)]
pub struct Acknowledger {
    original: Option<Arc<Message>>,
    timezone: chrono_tz::Tz,
}

impl Acknowledger {
    /// For the exchange's message as the listener read it, else its raw
    /// message read again with the route's options (a frame that cannot be
    /// read is answered from a bare MSH).
    pub fn for_exchange(ex: &Exchange, options: &hl7::ParseOptions, timezone: chrono_tz::Tz) -> Acknowledger {
        let original = match &ex.hl7 {
            Some(message) => Some(message.clone()),
            None => Message::parse_with(&ex.raw, options).ok().map(Arc::new),
        };
        Acknowledger { original, timezone }
    }

    /// For a message already read.
    pub fn for_message(original: Option<Arc<Message>>, timezone: chrono_tz::Tz) -> Acknowledger {
        Acknowledger { original, timezone }
    }

    /// The ACK: MSA-1 `code`, with one ERR for an error (code, message, and
    /// where, when that is an HL7 path).
    pub fn ack(&self, code: AckCode, message_id: &str, error: Option<(&str, &str, Option<&str>)>) -> Reply {
        let bare;
        let original = match &self.original {
            Some(original) => original.as_ref(),
            None => {
                bare = Message::parse(b"MSH|^~\\&|||||||||P|2.5").expect("a bare MSH is a message");
                &bare
            }
        };
        let errors = error
            .map(|(code, message, location)| AckError {
                code: hl7_error_code(code),
                severity: Severity::Error,
                location: location
                    .and_then(|at| hl7::Path::parse(at).ok())
                    .map(|path| hl7::ErrorLocation::from_path(&path)),
                message: format!("{code}: {message}"),
            })
            .into_iter()
            .collect();
        let ack = hl7::Ack {
            code,
            control_id: ack_control_id(message_id),
            timestamp: chrono::Utc::now()
                .with_timezone(&self.timezone)
                .format("%Y%m%d%H%M%S%z")
                .to_string(),
            text: None,
            errors,
        };
        let body = match hl7::build_ack(original, &ack) {
            Ok(ack) => ack.to_er7(),
            // Only a text our delimiters cannot escape gets here: answer without it.
            Err(_) => hl7::build_ack(
                original,
                &hl7::Ack {
                    errors: Vec::new(),
                    ..ack
                },
            )
            .map(|ack| ack.to_er7())
            .unwrap_or_default(),
        };
        Reply {
            status: if code.is_accept() { 200 } else { 400 },
            content_type: CONTENT_TYPE.into(),
            headers: Vec::new(),
            body,
        }
    }

    /// The application ACK for an error answer of `status`: AR when the
    /// sender is at fault (4xx), AE otherwise.
    pub fn nak(&self, status: u16, code: &str, message: &str, location: Option<&str>, id: &str) -> Reply {
        let ack_code = if (400..500).contains(&status) {
            AckCode::AR
        } else {
            AckCode::AE
        };
        let mut reply = self.ack(ack_code, id, Some((code, message, location)));
        reply.status = status;
        reply
    }

    /// The ACK modes the sender asked for (MSH-15, MSH-16).
    pub fn mode(&self) -> Option<hl7::AckMode> {
        self.original.as_deref().map(hl7::AckMode::of)
    }

    /// The character set the answers are written in: the message's own.
    pub fn charset(&self) -> Charset {
        self.original.as_deref().map_or(Charset::UTF_8, Message::charset)
    }
}

/// MSH-10 of an ACK: unique per message and within the 20 characters
/// HL7 v2.5 allows, from the message id's time and random bits.
fn ack_control_id(message_id: &str) -> String {
    let hex: String = message_id.chars().filter(char::is_ascii_hexdigit).collect();
    match hex.len() {
        32 => format!("{}{}", &hex[..12], &hex[24..]),
        _ => hex.chars().take(20).collect(),
    }
}

/// The HL7 table 0357 code for one of ours: a route's own code when it is
/// one from the table (`"101"`), the nearest one for the engine's codes.
fn hl7_error_code(code: &str) -> ErrorCode {
    match code {
        "100" => ErrorCode::SegmentSequence,
        "101" | "MISSING_FIELD" => ErrorCode::RequiredFieldMissing,
        "102" | "BAD_FORMAT" | "INVALID_HL7" => ErrorCode::DataType,
        "103" | "NOT_ALLOWED" | "UNKNOWN_CODE" => ErrorCode::TableValueNotFound,
        "104" => ErrorCode::ValueTooLong,
        "200" | "UNSUPPORTED_MESSAGE_TYPE" => ErrorCode::UnsupportedMessageType,
        "201" | "UNSUPPORTED_EVENT" => ErrorCode::UnsupportedEventCode,
        "202" => ErrorCode::UnsupportedProcessingId,
        "203" | "UNSUPPORTED_VERSION" => ErrorCode::UnsupportedVersionId,
        "204" => ErrorCode::UnknownKeyIdentifier,
        "205" => ErrorCode::DuplicateKeyIdentifier,
        "206" => ErrorCode::ApplicationRecordLocked,
        _ => ErrorCode::ApplicationInternalError,
    }
}

/// Whether an error is one the enhanced mode answers with a commit reject
/// (CR): the message was refused before the application saw it.
pub fn is_commit_refusal(code: &str) -> bool {
    matches!(
        code,
        "INVALID_HL7" | "UNSUPPORTED_MESSAGE_TYPE" | "UNSUPPORTED_EVENT" | "UNSUPPORTED_VERSION" | "PAYLOAD_TOO_LARGE"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!("ADT^A01".parse(), Ok(MessagePattern::Exact("ADT".into(), "A01".into())));
        assert_eq!("ORU^*".parse(), Ok(MessagePattern::AnyEvent("ORU".into())));
        assert_eq!("*".parse(), Ok(MessagePattern::Any));
        for bad in ["ADT", "adt^a01", "ADT^", "ADT^A01^ADT_A01"] {
            assert!(bad.parse::<MessagePattern>().unwrap_err().contains("expected"), "{bad}");
        }
    }

    #[test]
    fn the_message_type_is_read_from_the_bytes_whatever_the_charset() {
        let frame = b"MSH|^~\\&|HIS|H|P|P|20260101||ADT^A04^ADT_A01|1|P|2.4||||||GBK\rPID|1||\xd5\xc5\r";
        assert_eq!(scan_message_type(frame), Some(("ADT".into(), "A04".into())));
        assert_eq!(scan_message_type(b"MSH|^~\\&|A\r"), None);
        assert_eq!(scan_message_type(b"garbage"), None);
    }

    #[test]
    fn ack_control_ids_fit_in_twenty_characters() {
        let id = uuid::Uuid::now_v7().to_string();
        let control = ack_control_id(&id);
        assert_eq!(control.len(), 20);
        assert!(id.replace('-', "").starts_with(&control[..12]));
    }

    #[test]
    fn our_codes_map_to_table_0357() {
        assert_eq!(hl7_error_code("MISSING_FIELD"), ErrorCode::RequiredFieldMissing);
        assert_eq!(hl7_error_code("203"), ErrorCode::UnsupportedVersionId);
        assert_eq!(hl7_error_code("10001"), ErrorCode::ApplicationInternalError);
    }
}
