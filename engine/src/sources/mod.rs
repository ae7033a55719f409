//! Where messages come from.

pub mod file;
pub mod http;
pub mod mllp;
pub mod soap;
pub mod timer;

use crate::exchange::{Exchange, Reply};
use crate::runtime::pipeline::error_json;
use crate::runtime::snapshot::Source;
use crate::settings::Settings;
use medbus_adapters::soap::SoapVersion;
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::SocketAddr;

impl Source {
    /// A reply the route built (its `reply`, a `reply` step, its `on_error`
    /// reply) as the source's protocol answers it.
    pub fn wrap_reply(&self, reply: Reply, ex: &Exchange) -> Reply {
        match self {
            Source::Soap { config, .. } => {
                soap::wrap(soap::exchange_version(ex), &config.namespace, &config.operation, reply)
            }
            Source::Http { .. } | Source::Timer { .. } | Source::Mllp { .. } | Source::File { .. } => reply,
        }
    }

    /// Whether a sender waits for the route's answer: HTTP, SOAP, MLLP.
    pub fn answers_sender(&self) -> bool {
        matches!(self, Source::Http { .. } | Source::Soap { .. } | Source::Mllp { .. })
    }

    /// The answer to a message processed without a route `reply`: an ACK
    /// for MLLP, `{"status":"accepted","id":...}` otherwise.
    pub fn accepted_reply(&self, ex: &Exchange) -> Reply {
        match self {
            Source::Mllp { options, timezone, .. } => mllp::Acknowledger::for_exchange(ex, options, *timezone).ack(
                medbus_adapters::hl7::AckCode::AA,
                &ex.id,
                None,
            ),
            _ => crate::runtime::pipeline::json_reply(200, &serde_json::json!({ "status": "accepted", "id": ex.id })),
        }
    }

    /// The address of the listener the route is served on, if any.
    pub fn listener_addr(&self) -> Option<SocketAddr> {
        match self {
            Source::Http { addr, .. } | Source::Soap { addr, .. } | Source::Mllp { addr, .. } => Some(*addr),
            Source::Timer { .. } | Source::File { .. } => None,
        }
    }

    /// How this source answers an error that no route reply covers, in its
    /// protocol's own error form: JSON for HTTP, a fault for SOAP.
    pub fn error_answer(&self, ex: &Exchange) -> ErrorAnswer {
        match self {
            Source::Soap { .. } => ErrorAnswer::Soap(soap::exchange_version(ex)),
            Source::Mllp { options, timezone, .. } => {
                ErrorAnswer::Mllp(mllp::Acknowledger::for_exchange(ex, options, *timezone))
            }
            Source::Http { .. } | Source::Timer { .. } | Source::File { .. } => ErrorAnswer::Json,
        }
    }
}

/// A source's protocol-correct error answer, decided before the exchange is
/// journaled so that a journal failure can still be answered in kind.
#[derive(Clone)]
pub enum ErrorAnswer {
    Json,
    Soap(SoapVersion),
    /// AR for the sender's faults, AE for ours.
    Mllp(mllp::Acknowledger),
}

impl ErrorAnswer {
    /// `location`: where in the message the problem is, when known.
    pub fn reply(&self, status: u16, code: &str, message: &str, location: Option<&str>, id: &str) -> Reply {
        match self {
            ErrorAnswer::Json => error_json(status, code, message, id),
            ErrorAnswer::Soap(version) => soap::error_fault(*version, status, code, message),
            ErrorAnswer::Mllp(acknowledger) => acknowledger.nak(status, code, message, location, id),
        }
    }
}

/// Where a route's listener is: an `address:port`, or the name of one of
/// the settings' `listeners`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Listen {
    /// e.g. `0.0.0.0:8088`.
    Addr(SocketAddr),
    /// e.g. `er`, resolved through the settings' `listeners`.
    Named(String),
}

impl Listen {
    /// The address to bind: the settings' `http_addr` when none is given.
    pub fn resolve(listen: Option<&Listen>, settings: &Settings) -> Result<SocketAddr, String> {
        let addr = match listen {
            None => settings.http_addr,
            Some(Listen::Addr(addr)) => *addr,
            Some(Listen::Named(name)) => *settings.listeners.get(name).ok_or_else(|| {
                let known: Vec<&str> = settings.listeners.keys().map(String::as_str).collect();
                format!(
                    "`listen: {name}` names no listener in the settings; expected an `address:port` or one of \
                     the settings' `listeners`: {}",
                    if known.is_empty() {
                        "(none defined)".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })?,
        };
        if addr == settings.admin_addr {
            return Err(format!(
                "{addr} is the admin listener; expected another address for routes"
            ));
        }
        Ok(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_listens_at_an_address_or_a_named_listener() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "listeners: { er: 0.0.0.0:8088 }\n").unwrap();
        let settings = Settings::load(&file, &|_| None).unwrap();
        let listen = |yaml: &str| serde_json::from_str::<Listen>(yaml).unwrap();
        assert_eq!(Listen::resolve(None, &settings), Ok(settings.http_addr));
        assert_eq!(
            Listen::resolve(Some(&listen(r#""er""#)), &settings),
            Ok("0.0.0.0:8088".parse().unwrap())
        );
        assert_eq!(
            Listen::resolve(Some(&listen(r#""10.0.0.1:80""#)), &settings),
            Ok("10.0.0.1:80".parse().unwrap())
        );
        let unknown = Listen::resolve(Some(&listen(r#""hub""#)), &settings).unwrap_err();
        assert!(
            unknown.contains("`listen: hub` names no listener") && unknown.contains(": er"),
            "{unknown}"
        );
        let admin = Listen::resolve(Some(&listen(r#""127.0.0.1:8081""#)), &settings).unwrap_err();
        assert!(admin.contains("admin listener"), "{admin}");
    }
}
