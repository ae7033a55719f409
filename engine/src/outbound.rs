//! Outbound HTTP for `call` and `soap` steps and `http` and `soap`
//! destinations. Live requests go through one shared client; under `medbus
//! test` every request is answered from the test's recorded responses and
//! kept for its assertions.

use medbus_adapters::soap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutboundRequest {
    /// The call's or destination's name; recorded responses are keyed by it.
    pub name: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    #[serde(skip)]
    pub timeout: Duration,
}

/// An answer to an outbound request.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// An answer a test records for a call, a soap step or a destination.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Response headers as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Response body text.
    #[serde(default)]
    pub body: String,
    /// For a SOAP request: the return text of a response envelope built
    /// for the request's operation and SOAP version, instead of a `body`.
    #[serde(default, rename = "return", skip_serializing_if = "Option::is_none")]
    pub return_text: Option<String>,
    /// For a SOAP request: a Fault envelope built for the request's SOAP
    /// version, instead of a `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<RecordedFault>,
}

impl From<OutboundResponse> for RecordedResponse {
    fn from(response: OutboundResponse) -> Self {
        RecordedResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
            return_text: None,
            fault: None,
        }
    }
}

fn ok_status() -> u16 {
    200
}

/// A SOAP Fault a test answers with.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedFault {
    /// `Client` (the request is at fault; written `Sender` in SOAP 1.2),
    /// `Server` (written `Receiver` in SOAP 1.2) or `VersionMismatch`.
    pub code: RecordedFaultCode,
    /// The fault's text (`faultstring`, or the SOAP 1.2 reason).
    pub string: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
pub enum RecordedFaultCode {
    Client,
    Server,
    VersionMismatch,
}

impl RecordedResponse {
    /// The response as sent over HTTP: a recorded `return` or `fault`
    /// becomes the envelope answering `request`.
    fn for_request(&self, request: &OutboundRequest) -> Result<OutboundResponse, String> {
        if self.return_text.is_none() && self.fault.is_none() {
            return Ok(OutboundResponse {
                status: self.status,
                headers: self.headers.clone(),
                body: self.body.clone(),
            });
        }
        if self.return_text.is_some() && self.fault.is_some() {
            return Err("it has both `return` and `fault`; expected one of them".into());
        }
        if !self.body.is_empty() {
            return Err("it has a `body` besides `return` or `fault`; expected one of them".into());
        }
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let asked = soap::parse_request(
            request.body.as_bytes(),
            header("content-type").unwrap_or(""),
            header("soapaction"),
        )
        .map_err(|e| format!("it answers with SOAP, but the request is not a SOAP request: {e}"))?;
        let body = match (&self.return_text, &self.fault) {
            (Some(text), _) => soap::response_envelope(
                asked.version,
                asked.operation_ns.as_deref().unwrap_or(""),
                &asked.operation,
                text,
            ),
            (None, Some(fault)) => {
                let code = match fault.code {
                    RecordedFaultCode::Client => soap::FaultCode::Client,
                    RecordedFaultCode::Server => soap::FaultCode::Server,
                    RecordedFaultCode::VersionMismatch => soap::FaultCode::VersionMismatch,
                };
                soap::fault_envelope(asked.version, code, &fault.string)
            }
            (None, None) => unreachable!("checked above"),
        };
        let mut headers = self.headers.clone();
        if !headers.iter().any(|(key, _)| key.eq_ignore_ascii_case("content-type")) {
            headers.push(("content-type".into(), soap::content_type(asked.version).into()));
        }
        Ok(OutboundResponse {
            status: self.status,
            headers,
            body,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("{0}")]
    Other(String),
}

#[derive(Clone)]
pub enum Outbound {
    Live(reqwest::Client),
    Recorded(Arc<Recorder>),
}

impl Outbound {
    pub fn live() -> Outbound {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("the HTTP client's TLS backend is compiled in");
        Outbound::Live(client)
    }

    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        match self {
            Outbound::Live(client) => send_live(client, request).await,
            Outbound::Recorded(recorder) => recorder.answer(request),
        }
    }
}

async fn send_live(client: &reqwest::Client, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| OutboundError::Other(format!("bad HTTP method `{}`", request.method)))?;
    let mut builder = client
        .request(method, &request.url)
        .timeout(request.timeout)
        .body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| classify(e, request.timeout))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.bytes().await.map_err(|e| classify(e, request.timeout))?;
    Ok(OutboundResponse {
        status,
        headers,
        body: decode_body(&bytes, &content_type),
    })
}

/// The body as text, in the charset its Content-Type names, else (for XML,
/// as SOAP services of Chinese HIS often send GBK without saying so in the
/// header) the one its XML declaration names, else UTF-8. Bytes invalid in
/// that charset are replaced.
fn decode_body(bytes: &[u8], content_type: &str) -> String {
    let label = content_type
        .split(';')
        .skip(1)
        .filter_map(|part| part.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
        .or_else(|| xml_declared_encoding(bytes));
    let encoding = label
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

/// `GBK` from `<?xml version="1.0" encoding="GBK"?>` at the start of `bytes`.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.iter().position(|&b| b == b'>')?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let (_, rest) = declaration.split_once("encoding")?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

fn classify(error: reqwest::Error, timeout: Duration) -> OutboundError {
    // The URL may carry a secret in its query; errors are logged and journaled.
    let error = error.without_url();
    if error.is_timeout() {
        OutboundError::Timeout(timeout)
    } else if error.is_connect() {
        OutboundError::Connect(error_chain(&error))
    } else {
        OutboundError::Other(error_chain(&error))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Answers requests from recorded responses, by request name, in order;
/// the last response for a name repeats. Keeps every request it saw.
#[derive(Default)]
pub struct Recorder {
    responses: Mutex<HashMap<String, Vec<RecordedResponse>>>,
    pub seen: Mutex<Vec<OutboundRequest>>,
}

impl Recorder {
    pub fn new<R: Into<RecordedResponse>>(responses: HashMap<String, Vec<R>>) -> Self {
        let responses = responses
            .into_iter()
            .map(|(name, list)| (name, list.into_iter().map(Into::into).collect()))
            .collect();
        Recorder {
            responses: Mutex::new(responses),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let name = request.name.clone();
        let recorded = {
            let mut responses = self.responses.lock().unwrap();
            match responses.get_mut(&name).map(|queue| (queue.len(), queue)) {
                None | Some((0, _)) => None,
                Some((1, queue)) => Some(queue[0].clone()),
                Some((_, queue)) => Some(queue.remove(0)),
            }
        };
        let answer = match recorded {
            None => Err(OutboundError::Connect(format!(
                "the test recorded no response for `{name}`"
            ))),
            Some(recorded) => recorded
                .for_request(&request)
                .map_err(|e| OutboundError::Other(format!("the recorded response for `{name}`: {e}"))),
        };
        self.seen.lock().unwrap().push(request);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_body_in_the_charset_of_its_header_or_its_xml_declaration() {
        let xml = "<?xml version=\"1.0\" encoding='GBK'?><a>张三</a>";
        let (gbk, _, _) = encoding_rs::GBK.encode(xml);
        assert_eq!(decode_body(&gbk, "text/xml"), xml, "the declaration names GBK");
        assert_eq!(decode_body(&gbk, "text/xml; charset=\"gbk\""), xml);
        assert_eq!(decode_body("<a>张三</a>".as_bytes(), ""), "<a>张三</a>");
        assert_eq!(xml_declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
    }

    #[test]
    fn a_recorded_return_answers_in_the_version_of_the_request() {
        let (content_type, action, body) =
            soap::request_envelope(soap::SoapVersion::V12, "urn:p", "getRecord", &[("no", "E1")], None);
        let request = OutboundRequest {
            name: "record".into(),
            method: "POST".into(),
            url: "http://p/ws".into(),
            headers: vec![("Content-Type".into(), content_type)],
            body,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(action, None);
        let recorded = RecordedResponse {
            status: 200,
            headers: vec![],
            body: String::new(),
            return_text: Some("<ok/>".into()),
            fault: None,
        };
        let answer = recorded.for_request(&request).unwrap();
        assert_eq!(
            answer.headers,
            vec![(
                "content-type".to_string(),
                "application/soap+xml; charset=utf-8".to_string()
            )]
        );
        assert!(
            answer
                .body
                .contains("<ns:getRecordResponse xmlns:ns=\"urn:p\"><return>&lt;ok/&gt;</return>"),
            "{}",
            answer.body
        );
        let not_soap = OutboundRequest {
            body: "{}".into(),
            ..request
        };
        let error = recorded.for_request(&not_soap).unwrap_err();
        assert!(
            error.starts_with("it answers with SOAP, but the request is not a SOAP request"),
            "{error}"
        );
    }
}
