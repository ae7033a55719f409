//! The `mllp` destination: send the payload, an HL7 v2 message in ER7, over MLLP and wait for
//! its acknowledgement (`medbus_adapters::mllp`, `medbus_adapters::hl7`).
//!
//! ```yaml
//! to:
//!   mllp:
//!     address: "{{ vars.hospital.his_address }}"   # or his.local:2575
//!     timeout: 30s
//! ```
//!
//! The first frame that comes back decides: AA or CA delivers; AE or CE fails the attempt as
//! `ack_error` (retried by default), AR or CR as `ack_reject` (not retried: the receiver refuses
//! the content). An ACK for another message (MSA-2 is not the MSH-10 sent) or an answer that is
//! not an ACK fails as `bad_ack` (retried) and closes the connection, as does a timeout: a late
//! ACK on a reused connection would be read as the next message's. Connections stay open between
//! deliveries (see [`pool`]); docs/mllp-destination.md has the whole story.

mod connection;
mod pool;
#[cfg(test)]
mod tests;

use super::{truncate, Attempt, Failure, Outgoing};
use crate::config::{ByteSize, DurationText};
use crate::secrets::Secrets;
use crate::steps::{support, BuildContext};
use crate::templates::Template;
use connection::ExchangeError;
use medbus_adapters::hl7::{AckCode, AckReply, Charset, Message, ParseOptions};
use pool::{PoolSettings, Pools};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// Send the message to an HL7 v2 receiver over MLLP and wait for its ACK.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MllpDestinationConfig {
    /// The receiver, `host:port`, a template when receivers differ, e.g.
    /// `his.local:2575` or `"{{ vars.hospital.his_address }}"`.
    pub address: String,
    /// How long to wait for the ACK once the message is sent. Default: `30s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// How long to wait for a connection to open. Default: `5s`.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: DurationText,
    /// Connections open at once to one address. Default: as many as the destination's
    /// `concurrency` (one per delivery in flight).
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// The character set to write the message in whatever its MSH-18 says, e.g. `GBK` for a
    /// receiver that expects GBK while MSH-18 is empty. Default: the one MSH-18 names, else
    /// UTF-8. ACKs are read in it too.
    #[serde(default)]
    pub charset: Option<String>,
    /// The largest ACK read; a larger answer fails the attempt as `bad_ack`. Default: `1MiB`.
    #[serde(default = "default_max_ack_size")]
    pub max_ack_size: ByteSize,
    /// Close a connection unused for this long. Default: `60s`.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: DurationText,
}

fn default_timeout() -> DurationText {
    DurationText::secs(30)
}

fn default_connect_timeout() -> DurationText {
    DurationText::secs(5)
}

fn default_max_ack_size() -> ByteSize {
    ByteSize(1024 * 1024)
}

fn default_idle_timeout() -> DurationText {
    DurationText::secs(60)
}

/// How much of an ACK or of an unreadable answer the journal keeps.
const JOURNALED_ANSWER: usize = 4096;

/// The `mllp` destination, ready to deliver.
pub struct MllpEndpoint {
    address: Template,
    timeout: Duration,
    charset: Option<Charset>,
    max_ack_size: usize,
    pools: Pools,
}

impl MllpEndpoint {
    pub fn build(config: &MllpDestinationConfig, cx: &mut BuildContext) -> Option<Self> {
        let mut ok = true;
        let address = support::outbound_template(cx, "mllp `address`", &config.address);
        if !config.address.contains("{{") && !config.address.contains("{%") {
            if let Err(error) = check_address(&config.address) {
                cx.error(format!("mllp `address` {error}"));
                ok = false;
            }
        }
        for (key, value) in [("timeout", config.timeout), ("connect_timeout", config.connect_timeout)] {
            if value.0.is_zero() {
                cx.error(format!("mllp `{key}` is 0; expected e.g. `5s`"));
                ok = false;
            }
        }
        if config.idle_timeout.0.is_zero() {
            cx.error("mllp `idle_timeout` is 0; expected e.g. `60s`");
            ok = false;
        }
        if config.max_connections == Some(0) {
            cx.error("mllp `max_connections` is 0; expected at least 1");
            ok = false;
        }
        let max_ack_size = usize::try_from(config.max_ack_size.0).unwrap_or(usize::MAX);
        if max_ack_size == 0 {
            cx.error("mllp `max_ack_size` is 0; expected e.g. `1MiB`");
            ok = false;
        }
        let charset = match config.charset.as_deref().map(|name| (name, Charset::from_name(name))) {
            None => None,
            Some((_, Some(charset))) => Some(charset),
            Some((name, None)) => {
                cx.error(format!(
                    "mllp `charset` `{name}` is not a character set; expected an HL7 or WHATWG name such as \
                     `GB 18030-2000`, `GBK`, `UNICODE UTF-8` or `8859/1`"
                ));
                ok = false;
                None
            }
        };
        if !ok {
            return None;
        }
        Some(MllpEndpoint {
            address: address?,
            timeout: config.timeout.0,
            charset,
            max_ack_size,
            pools: Pools::new(PoolSettings {
                connect_timeout: config.connect_timeout.0,
                idle_timeout: config.idle_timeout.0,
                max_connections: config.max_connections.map(|n| n as usize),
                max_answer: max_ack_size,
            }),
        })
    }

    /// Whether the address template reads `name` from the context.
    pub fn uses(&self, name: &str) -> bool {
        self.address.uses(name)
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>, secrets: &Secrets) -> Attempt {
        let address = match secrets.render_outbound(&self.address, outgoing.context) {
            Ok(address) => address.trim().to_string(),
            Err(e) => return invalid(format!("cannot render the address: {e}")),
        };
        if let Err(error) = check_address(&address) {
            return invalid(format!("the address renders {error}"));
        }
        let sent = match self.encode(outgoing.payload) {
            Ok(sent) => sent,
            Err(error) => return invalid(error),
        };
        let mut lease = match self.pools.checkout(&address).await {
            Ok(lease) => lease,
            Err(error) => {
                return Attempt::Failed {
                    error,
                    failure: Failure::Connect,
                    response: None,
                }
            }
        };
        let answer = match tokio::time::timeout(self.timeout, lease.connection().exchange(&sent.bytes)).await {
            Err(_) => {
                return Attempt::Failed {
                    error: format!(
                        "no ACK from {address} within {}; the connection is closed",
                        humantime::format_duration(self.timeout)
                    ),
                    failure: Failure::Timeout,
                    response: None,
                }
            }
            Ok(Err(ExchangeError::Broken(error))) => {
                return Attempt::Failed {
                    error: format!("{address}: {error}"),
                    failure: Failure::Network,
                    response: None,
                }
            }
            Ok(Err(ExchangeError::TooLarge(limit))) => {
                return Attempt::Failed {
                    error: format!("the answer from {address} is larger than `max_ack_size` ({limit} bytes)"),
                    failure: Failure::BadAck,
                    response: None,
                }
            }
            Ok(Ok(frame)) => frame,
        };
        let attempt = self.judge(&answer, &sent, outgoing);
        let stream_in_step = !matches!(
            attempt,
            Attempt::Failed {
                failure: Failure::BadAck,
                ..
            }
        );
        if stream_in_step {
            lease.give_back();
        }
        attempt
    }

    /// The payload as the bytes to frame, in the character set the receiver is to read.
    fn encode(&self, payload: &str) -> Result<Sent, String> {
        let options = ParseOptions {
            charset: self.charset,
            ..ParseOptions::default()
        };
        let message = Message::from_text(payload, &options)
            .map_err(|e| format!("the payload is not an HL7 v2 message: {e}; expected ER7 text starting with MSH"))?;
        let control_id = message.control_id().map(|id| id.trim().to_string()).unwrap_or_default();
        if control_id.is_empty() {
            return Err("the message has no control id (MSH-10); expected one, which the ACK's MSA-2 echoes".into());
        }
        let bytes = message
            .to_bytes()
            .map_err(|e| format!("the message cannot be written in {}: {e}", message.charset().name()))?;
        Ok(Sent {
            control_id,
            charset: message.charset(),
            bytes,
        })
    }

    /// What the answer to `sent` says about the delivery.
    fn judge(&self, answer: &[u8], sent: &Sent, outgoing: &Outgoing<'_>) -> Attempt {
        let options = ParseOptions {
            charset: self.charset,
            default_charset: sent.charset,
            max_bytes: self.max_ack_size,
            ..ParseOptions::default()
        };
        let ack = match Message::parse_with(answer, &options).and_then(|ack| AckReply::read(&ack).map(|r| (ack, r))) {
            Ok(ack) => ack,
            Err(e) => {
                let text = String::from_utf8_lossy(answer);
                return Attempt::Failed {
                    error: format!("the answer is not an HL7 ACK: {e}; the connection is closed"),
                    failure: Failure::BadAck,
                    response: Some(json!({ "answer": truncate(&text, JOURNALED_ANSWER) })),
                };
            }
        };
        let (message, reply) = ack;
        let response = Some(json!({
            "ack": truncate(&message.to_er7(), JOURNALED_ANSWER),
            "code": reply.code.as_str(),
            "control_id": reply.control_id,
            "text": ack_text(&reply),
        }));
        if reply.control_id.trim() != sent.control_id {
            tracing::warn!(
                message = %outgoing.message_id,
                destination = %outgoing.destination,
                sent = %sent.control_id,
                acknowledged = %reply.control_id,
                "the ACK acknowledges another message; the connection is closed"
            );
            return Attempt::Failed {
                error: format!(
                    "the ACK acknowledges `{}` (MSA-2), not the message sent, `{}` (MSH-10); the connection is closed",
                    reply.control_id, sent.control_id
                ),
                failure: Failure::BadAck,
                response,
            };
        }
        if reply.code.is_accept() {
            return Attempt::Delivered { response };
        }
        let (failure, meaning) = match reply.code {
            AckCode::AE => (Failure::AckError, "application error"),
            AckCode::CE => (Failure::AckError, "commit error"),
            AckCode::AR => (Failure::AckReject, "application reject"),
            _ => (Failure::AckReject, "commit reject"),
        };
        let text = ack_text(&reply);
        let error = match text.is_empty() {
            true => format!("the receiver answered {} ({meaning})", reply.code.as_str()),
            false => format!("the receiver answered {} ({meaning}): {text}", reply.code.as_str()),
        };
        Attempt::Failed {
            error,
            failure,
            response,
        }
    }
}

/// MSA-3 and the ERR texts, joined with "; ", each once: receivers often put the same text
/// in both.
fn ack_text(reply: &AckReply) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in reply.text.iter().chain(&reply.errors) {
        if !parts.contains(&part.as_str()) {
            parts.push(part);
        }
    }
    parts.join("; ")
}

/// The message as it goes out.
struct Sent {
    /// MSH-10, which the ACK's MSA-2 must echo.
    control_id: String,
    /// The character set it is written in, which an ACK with an empty MSH-18 is read in too.
    charset: Charset,
    bytes: Vec<u8>,
}

fn invalid(error: String) -> Attempt {
    Attempt::Failed {
        error,
        failure: Failure::Invalid,
        response: None,
    }
}

/// Checks `host:port` (an IPv6 host in brackets).
fn check_address(address: &str) -> Result<(), String> {
    let expected = "; expected host:port, e.g. `his.local:2575`";
    if address.contains("://") {
        return Err(format!("`{address}` has a scheme{expected}"));
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("`{address}` has no port{expected}"));
    };
    let host_ok = match host.strip_prefix('[') {
        Some(bracketed) => bracketed
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => !host.is_empty() && !host.contains(['/', ' ', ':']),
    };
    if !host_ok {
        return Err(format!("`{address}` has no valid host{expected}"));
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(format!("`{address}` has no valid port{expected}")),
    }
}
