//! Where processed messages go. Each kind compiles its config once per
//! load and delivers one queued payload at a time; queues, retries and
//! workers live in `runtime::delivery`.

pub mod file;
pub mod http;
pub mod mllp;
pub mod route;
pub mod soap;
pub mod sql;

use crate::config::{EndpointSpec, Position};
use crate::outbound::Outbound;
use crate::settings::Settings;
use crate::steps::BuildContext;
use serde_json::Value;

/// A destination ready to deliver.
pub enum Endpoint {
    Http(http::HttpEndpoint),
    File(file::FileEndpoint),
    Soap(soap::SoapEndpoint),
    Mllp(mllp::MllpEndpoint),
    /// Handled by the runtime, which runs the target route.
    Route(String),
    Sql(sql::SqlEndpoint),
}

/// One queued payload as the endpoint sees it.
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub destination: &'a str,
    pub payload: &'a str,
    pub content_type: &'a str,
    /// The exchange's context (`body`, `vars`, `headers`, `msg`) for templates.
    pub context: &'a Value,
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt {
    Delivered {
        response: Option<Value>,
    },
    /// Whether it is tried again is the destination's retry policy's call.
    Failed {
        error: String,
        failure: Failure,
        response: Option<Value>,
    },
}

/// Why an attempt failed, in the terms of `retry_on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The receiver could not be reached.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection broke, or the answer could not be read.
    Network,
    /// An answer whose status is not a success.
    Status(u16),
    /// A local write (a file destination) failed.
    Io,
    /// A SOAP Fault from the service's side (`Server`, `Receiver`).
    Fault,
    /// A SOAP Fault blaming the request (`Client`, `Sender`).
    ClientFault,
    /// An answer the destination's `error_when` (SOAP, HTTP) or `success_when` (HTTP) calls a refusal.
    Refused,
    /// An HL7 ACK with AE or CE: the receiver could not process the message now.
    AckError,
    /// An HL7 ACK with AR or CR: the receiver refuses the message.
    AckReject,
    /// An answer that is not an ACK of the message sent (another MSA-2, not HL7, too large).
    BadAck,
    /// The request could not be made (a template that does not render, a
    /// bad file name): sending it again cannot help.
    Invalid,
}

impl Attempt {
    /// The attempt with every secret masked in its error and response,
    /// which are logged and journaled (a receiver may echo what it got).
    pub fn redacted(self, redactor: &crate::secrets::Redactor) -> Attempt {
        let response = |response: Option<Value>| {
            response.map(|mut value| {
                redactor.value(&mut value);
                value
            })
        };
        match self {
            Attempt::Delivered { response: r } => Attempt::Delivered { response: response(r) },
            Attempt::Failed {
                error,
                failure,
                response: r,
            } => Attempt::Failed {
                error: redactor.text(&error).into_owned(),
                failure,
                response: response(r),
            },
        }
    }
}

impl Endpoint {
    pub fn build(spec: &EndpointSpec, at: Position, cx: &mut BuildContext) -> Option<Endpoint> {
        let saved = cx.at;
        cx.at = at;
        let built = match spec {
            EndpointSpec::Http(config) => http::HttpEndpoint::build(config, cx).map(Endpoint::Http),
            EndpointSpec::File(config) => file::FileEndpoint::build(config, cx).map(Endpoint::File),
            EndpointSpec::Soap(config) => soap::SoapEndpoint::build(config, cx).map(Endpoint::Soap),
            EndpointSpec::Mllp(config) => mllp::MllpEndpoint::build(config, cx).map(Endpoint::Mllp),
            EndpointSpec::Route(config) => Some(Endpoint::Route(config.id.clone())),
            EndpointSpec::Sql(config) => sql::SqlEndpoint::build(config, cx).map(Endpoint::Sql),
        };
        cx.at = saved;
        built
    }

    /// The exchange context a queued delivery keeps for this endpoint's
    /// templates: only the scopes they read. `config` is left out: it is
    /// the current settings' at delivery time.
    pub fn delivery_context(&self, context: &serde_json::Map<String, Value>) -> Value {
        let kept = context
            .iter()
            .filter(|(name, _)| name.as_str() != "config" && self.uses(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Value::Object(kept)
    }

    /// Whether any of the endpoint's templates reads `name` from the context.
    pub fn uses(&self, name: &str) -> bool {
        match self {
            Endpoint::Http(endpoint) => endpoint.uses(name),
            Endpoint::File(endpoint) => endpoint.uses(name),
            Endpoint::Soap(endpoint) => endpoint.uses(name),
            Endpoint::Mllp(endpoint) => endpoint.uses(name),
            Endpoint::Route(_) => false,
            Endpoint::Sql(endpoint) => endpoint.uses(name),
        }
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>, outbound: &Outbound, settings: &Settings) -> Attempt {
        match self {
            Endpoint::Http(endpoint) => endpoint.deliver(outgoing, outbound, &settings.secrets).await,
            Endpoint::File(endpoint) => endpoint.deliver(outgoing, settings).await,
            Endpoint::Soap(endpoint) => endpoint.deliver(outgoing, outbound, &settings.secrets).await,
            Endpoint::Mllp(endpoint) => endpoint.deliver(outgoing, &settings.secrets).await,
            Endpoint::Sql(endpoint) => endpoint.deliver(outgoing).await,
            Endpoint::Route(_) => unreachable!("the runtime hands messages to routes itself"),
        }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary: what is kept
/// of a receiver's answer in the journal.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
