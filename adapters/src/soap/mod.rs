//! SOAP 1.1 / 1.2 codec and WSDL 1.1 generator, document/literal wrapped with string parameters.
//!
//! Pure functions: the server side reads a request ([`parse_request`]) and writes a response
//! ([`response_envelope`], [`fault_envelope`]); the client side writes a request
//! ([`request_envelope`]) and reads a response ([`parse_response`]); [`wsdl`] describes a
//! service. docs/soap.md gives the conventions.
//!
//! Parameters are unqualified elements (the WSDL says `elementFormDefault="unqualified"`), but
//! qualified ones are accepted too, since some clients qualify them regardless.

mod envelope;
mod media;
mod read;
mod request;
mod response;
mod text;
mod wsdl;

pub use envelope::{parse_request, SoapRequest};
pub use request::{parse_response, request_envelope, Fault, SoapResponse};
pub use response::{fault_envelope, response_envelope};
pub use wsdl::{wsdl, OperationDescription, ServiceDescription};

use crate::xml::XmlError;

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace.
pub const SOAP12_ENVELOPE_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// A SOAP version; each has its envelope namespace and HTTP media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoapVersion {
    /// SOAP 1.1: `text/xml`, action in the `SOAPAction` header.
    V11,
    /// SOAP 1.2: `application/soap+xml`, action as the `action` media type parameter.
    V12,
}

impl SoapVersion {
    /// The envelope namespace of this version.
    pub fn envelope_ns(self) -> &'static str {
        match self {
            SoapVersion::V11 => SOAP11_ENVELOPE_NS,
            SoapVersion::V12 => SOAP12_ENVELOPE_NS,
        }
    }

    /// The version whose envelope namespace is `ns`.
    pub fn from_envelope_ns(ns: &str) -> Option<SoapVersion> {
        match ns {
            SOAP11_ENVELOPE_NS => Some(SoapVersion::V11),
            SOAP12_ENVELOPE_NS => Some(SoapVersion::V12),
            _ => None,
        }
    }

    /// The media type without parameters: `text/xml` or `application/soap+xml`.
    pub fn media_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml",
            SoapVersion::V12 => "application/soap+xml",
        }
    }

    fn name(self) -> &'static str {
        match self {
            SoapVersion::V11 => "SOAP 1.1",
            SoapVersion::V12 => "SOAP 1.2",
        }
    }
}

/// The `Content-Type` of a message we write: `text/xml; charset=utf-8` (1.1) or
/// `application/soap+xml; charset=utf-8` (1.2).
pub fn content_type(version: SoapVersion) -> &'static str {
    match version {
        SoapVersion::V11 => "text/xml; charset=utf-8",
        SoapVersion::V12 => "application/soap+xml; charset=utf-8",
    }
}

/// A fault code we answer with, written per version (1.1 `Client`/`Server`, 1.2 `Sender`/`Receiver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCode {
    /// The envelope's namespace is not the one of the version being answered.
    VersionMismatch,
    /// The request is at fault: 1.1 `Client`, 1.2 `Sender`.
    Client,
    /// The service failed: 1.1 `Server`, 1.2 `Receiver`.
    Server,
}

impl FaultCode {
    /// The local name of the code in `version`.
    pub fn local_name(self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (FaultCode::VersionMismatch, _) => "VersionMismatch",
            (FaultCode::Client, SoapVersion::V11) => "Client",
            (FaultCode::Client, SoapVersion::V12) => "Sender",
            (FaultCode::Server, SoapVersion::V11) => "Server",
            (FaultCode::Server, SoapVersion::V12) => "Receiver",
        }
    }
}

/// Why a SOAP message could not be read. The message is fit for a `faultstring`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// The media type is neither `text/xml` nor `application/soap+xml` (nor `application/xml`).
    #[error("unsupported content type `{0}`; expected text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)")]
    UnsupportedContentType(String),
    /// The content type names a charset that is not known.
    #[error("unknown charset `{0}` in the content type; expected a label such as UTF-8, GBK or GB18030")]
    UnknownCharset(String),
    /// The body is not well-formed XML (or is refused: DOCTYPE, too deep, bad bytes).
    #[error("{}", malformed(.0))]
    MalformedXml(XmlError),
    /// The root element is not `Envelope`.
    #[error("the root element `{0}` is not a SOAP Envelope")]
    NotEnvelope(String),
    /// The root element is an `Envelope` in a namespace that is not a SOAP version's.
    #[error("VersionMismatch: the Envelope namespace `{0}` is neither SOAP 1.1 nor SOAP 1.2")]
    VersionMismatch(String),
    /// The content type says one version and the envelope is of the other.
    #[error("VersionMismatch: the content type is {} but the envelope is {}", .content_type.name(), .envelope.name())]
    ContentTypeMismatch {
        /// The version the content type says.
        content_type: SoapVersion,
        /// The version of the envelope's namespace.
        envelope: SoapVersion,
    },
    /// The envelope has no `Body`.
    #[error("the Envelope has no Body")]
    NoBody,
    /// The `Body` holds no element.
    #[error("the Body is empty; expected the operation element")]
    EmptyBody,
    /// A parameter holds elements, not text.
    #[error("parameter `{0}` holds elements; XML in a string parameter must be escaped or in CDATA")]
    ParamNotText(String),
    /// A response's Body holds a Fault that cannot be read.
    #[error("malformed Fault: {0}")]
    MalformedFault(String),
}

/// `malformed XML: …`, without saying it twice when the reader already did.
fn malformed(error: &XmlError) -> String {
    match error.message.starts_with("malformed XML") {
        true => error.to_string(),
        false => format!("malformed XML: {error}"),
    }
}

impl SoapError {
    /// The code of the fault that answers this error.
    pub fn fault_code(&self) -> FaultCode {
        match self {
            SoapError::VersionMismatch(_) | SoapError::ContentTypeMismatch { .. } => FaultCode::VersionMismatch,
            _ => FaultCode::Client,
        }
    }
}
