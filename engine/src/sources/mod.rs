//! Where messages come from.

pub mod http;
pub mod soap;
pub mod timer;

use crate::exchange::{Exchange, Reply};
use crate::runtime::pipeline::error_json;
use crate::runtime::snapshot::Source;
use medbus_adapters::soap::SoapVersion;

impl Source {
    /// A reply the route built (its `reply`, a `reply` step, its `on_error`
    /// reply) as the source's protocol answers it.
    pub fn wrap_reply(&self, reply: Reply, ex: &Exchange) -> Reply {
        match self {
            Source::Soap { config, .. } => {
                soap::wrap(soap::exchange_version(ex), &config.namespace, &config.operation, reply)
            }
            Source::Http { .. } | Source::Timer { .. } => reply,
        }
    }

    /// How this source answers an error that no route reply covers, in its
    /// protocol's own error form: JSON for HTTP, a fault for SOAP.
    pub fn error_answer(&self, ex: &Exchange) -> ErrorAnswer {
        match self {
            Source::Soap { .. } => ErrorAnswer::Soap(soap::exchange_version(ex)),
            Source::Http { .. } | Source::Timer { .. } => ErrorAnswer::Json,
        }
    }
}

/// A source's protocol-correct error answer, decided before the exchange is
/// journaled so that a journal failure can still be answered in kind.
#[derive(Clone, Copy, Debug)]
pub enum ErrorAnswer {
    Json,
    Soap(SoapVersion),
}

impl ErrorAnswer {
    pub fn reply(self, status: u16, code: &str, message: &str, id: &str) -> Reply {
        match self {
            ErrorAnswer::Json => error_json(status, code, message, id),
            ErrorAnswer::Soap(version) => soap::error_fault(version, status, code, message),
        }
    }
}
