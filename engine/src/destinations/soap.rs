//! The `soap` destination, and the SOAP request both it and the `soap`
//! step send: one operation of a remote WebService, document/literal
//! wrapped, with named string parameters (`medbus_adapters::soap`).
//!
//! ```yaml
//! to:
//!   soap:
//!     url: "{{ vars.hospital.endpoint }}"
//!     namespace: http://service.hospital.example.cn/
//!     operation: pushApplyRecord
//!     params: { applyData: "{{ payload }}", secret: "{{ config.hospital_secret }}" }
//!     error_when: '^error'
//! ```
//!
//! A SOAP Fault from the server side (`Server`, `Receiver`) fails the
//! attempt as `fault`, retried by default; a fault blaming the request
//! (`Client`, `Sender`, `VersionMismatch`, `MustUnderstand`) as
//! `client_fault`, and a return matching `error_when` as `refused`, neither
//! retried unless `retry_on` names them. An answer that is not SOAP fails
//! with its HTTP status.

use super::http::MESSAGE_ID_HEADER;
use super::{truncate, Attempt, Failure, Outgoing};
use crate::config::DurationText;
use crate::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use crate::secrets::Secrets;
use crate::steps::{support, BuildContext};
use crate::templates::Template;
use indexmap::IndexMap;
use medbus_adapters::soap::{self, Fault, SoapVersion};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;
use std::time::Duration;

/// Call an operation of a SOAP WebService with the message.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoapDestinationConfig {
    /// The service's address, a template, e.g.
    /// `"{{ vars.hospital.endpoint }}"` or `http://his.local/ws/emergency`.
    pub url: String,
    /// The service's target namespace, which qualifies the operation
    /// element, e.g. `http://service.emergency.example.cn/`; a template when
    /// services differ, e.g. `"{{ vars.hospital.namespace }}"`.
    pub namespace: String,
    /// The operation to call, e.g. `pushApplyRecord`.
    pub operation: String,
    /// The parameters in the order the service declares them: name ->
    /// template. A template that renders XML sends it as escaped text, e.g.
    /// `{ applyData: "{{ payload }}" }`. Besides `body`, `vars`, `msg` and
    /// `config`, these templates see `payload`: the payload the destination
    /// is given (a `template` step's output, or the body).
    #[serde(default)]
    pub params: IndexMap<String, String>,
    /// `"1.1"` (text/xml with a SOAPAction header) or `"1.2"`
    /// (application/soap+xml). Default: `"1.1"`.
    #[serde(default)]
    pub version: SoapVersionText,
    /// The SOAPAction (1.1) or `action` parameter (1.2). Default: empty, as
    /// Apache CXF services expect.
    #[serde(default)]
    pub action: Option<String>,
    /// Give up on one attempt after this long. Default: `30s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// Extra HTTP headers, each value a template. The content type and
    /// SOAPAction come from `version` and `action`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// A regular expression on the return text that means the service
    /// refused the message although it answered normally, e.g. `^error`
    /// for services that answer `error:10001:...`. A match fails the
    /// attempt as `refused`.
    #[serde(default)]
    pub error_when: Option<String>,
}

pub(crate) fn default_timeout() -> DurationText {
    DurationText::secs(30)
}

/// The SOAP version as written in a route file: `1.1` or `1.2`, quoted or
/// not, or a template rendering one when services differ
/// (`"{{ vars.hospital.soap_version }}"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoapVersionText {
    Fixed(SoapVersion),
    Template(String),
}

impl Default for SoapVersionText {
    fn default() -> Self {
        SoapVersionText::Fixed(SoapVersion::V11)
    }
}

/// `1.1` or `1.2`, as written or rendered.
fn parse_version(text: &str) -> Result<SoapVersion, String> {
    match text.trim() {
        "1.1" => Ok(SoapVersion::V11),
        "1.2" => Ok(SoapVersion::V12),
        other => Err(format!("`{other}` is not a SOAP version; expected `1.1` or `1.2`")),
    }
}

impl<'de> Deserialize<'de> for SoapVersionText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.contains("{{") {
            return Ok(SoapVersionText::Template(text));
        }
        parse_version(&text)
            .map(SoapVersionText::Fixed)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SoapVersionText {
    fn schema_name() -> Cow<'static, str> {
        "SoapVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A SOAP version: `1.1` or `1.2`, or a template rendering one.",
            "anyOf": [{ "enum": ["1.1", "1.2", 1.1, 1.2] }, { "type": "string", "pattern": "\\{\\{" }]
        })
    }
}

/// A part of the request fixed when the route is built, or rendered per request.
enum Rendered<T> {
    Fixed(T),
    Template(Box<Template>),
}

/// A SOAP request compiled once per load, and the reading of its answer:
/// shared by the `soap` step and the `soap` destination.
pub struct SoapCall {
    url: Box<Template>,
    namespace: Rendered<String>,
    operation: String,
    params: Vec<(String, Template)>,
    version: Rendered<SoapVersion>,
    action: Option<String>,
    timeout: Duration,
    headers: Vec<(String, Template)>,
    error_when: Option<Regex>,
}

impl<T> Rendered<T> {
    fn template(&self) -> Option<&Template> {
        match self {
            Rendered::Fixed(_) => None,
            Rendered::Template(template) => Some(template),
        }
    }
}

/// What a SOAP service answered.
#[derive(Debug, PartialEq)]
pub enum SoapAnswer {
    /// A response: the return's text, `None` for a void operation.
    Returned(Option<String>),
    /// A SOAP Fault.
    Fault(Fault),
    /// Anything else: a page that is not SOAP, a body that does not parse,
    /// or a response envelope with a failure status.
    NotSoap { status: u16, reason: String },
}

impl SoapCall {
    /// Compiles the request; `what` names it in errors (e.g. "soap `his`").
    pub fn build(config: &SoapDestinationConfig, what: &str, cx: &mut BuildContext) -> Option<SoapCall> {
        let mut ok = true;
        let url = support::outbound_template(cx, &format!("{what} `url`"), &config.url);
        if !config.url.contains("{{") && !config.url.contains("{%") {
            ok &= support::check_url(cx, what, &config.url, "http://his.local/ws/service");
        }
        let namespace = if config.namespace.contains("{{") || config.namespace.contains("{%") {
            support::template(cx, &format!("{what} `namespace`"), &config.namespace)
                .map(|t| Rendered::Template(Box::new(t)))
        } else {
            Some(Rendered::Fixed(config.namespace.trim().to_string()))
        };
        let version = match &config.version {
            SoapVersionText::Fixed(version) => Some(Rendered::Fixed(*version)),
            SoapVersionText::Template(source) => {
                support::template(cx, &format!("{what} `version`"), source).map(|t| Rendered::Template(Box::new(t)))
            }
        };
        if config.namespace.trim().is_empty() {
            cx.error(format!(
                "{what} `namespace` is empty; expected the service's target namespace, e.g. `http://service.example.cn/`"
            ));
            ok = false;
        }
        if !is_xml_name(&config.operation) {
            cx.error(format!(
                "{what} `operation` `{}` is not an XML element name; expected e.g. `pushApplyRecord`",
                config.operation
            ));
            ok = false;
        }
        let mut params = Vec::with_capacity(config.params.len());
        for (name, source) in &config.params {
            if !is_xml_name(name) {
                cx.error(format!(
                    "{what} parameter `{name}` is not an XML element name; expected e.g. `applyData`"
                ));
                ok = false;
            }
            match support::outbound_template(cx, &format!("{what} parameter `{name}`"), source) {
                Some(template) => params.push((name.clone(), template)),
                None => ok = false,
            }
        }
        for name in config.headers.keys() {
            if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("soapaction") {
                cx.error(format!(
                    "{what} sets the header `{name}`; expected `version` and `action`, which set it"
                ));
                ok = false;
            }
        }
        let headers = support::outbound_header_templates(cx, what, &config.headers);
        if config.timeout.0.is_zero() {
            cx.error(format!("{what} `timeout` is 0; expected e.g. `30s`"));
            ok = false;
        }
        let error_when = support::optional_regex(cx, &format!("{what} `error_when`"), config.error_when.as_deref());
        if !ok {
            return None;
        }
        Some(SoapCall {
            url: Box::new(url?),
            namespace: namespace?,
            operation: config.operation.clone(),
            params,
            version: version?,
            action: config.action.clone(),
            timeout: config.timeout.0,
            headers: headers?,
            error_when: error_when?,
        })
    }

    /// Whether any of its templates reads `name` from the context.
    pub fn uses(&self, name: &str) -> bool {
        let rendered = |template: Option<&Template>| template.is_some_and(|t| t.uses(name));
        self.url.uses(name)
            || rendered(self.namespace.template())
            || rendered(self.version.template())
            || self.params.iter().any(|(_, t)| t.uses(name))
            || self.headers.iter().any(|(_, t)| t.uses(name))
    }

    /// Renders the request named `name` (for recorded answers) against
    /// `context`. Every template of a SOAP call renders here.
    pub fn request(&self, name: &str, context: &Value, secrets: &Secrets) -> Result<OutboundRequest, String> {
        let url = secrets
            .render_outbound(&self.url, context)
            .map_err(|e| format!("cannot render the URL: {e}"))?;
        let mut params = Vec::with_capacity(self.params.len());
        for (param, template) in &self.params {
            let text = secrets
                .render_outbound(template, context)
                .map_err(|e| format!("cannot render parameter `{param}`: {e}"))?;
            params.push((param.as_str(), text));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let action = self.action.as_deref().filter(|a| !a.is_empty());
        let namespace = match &self.namespace {
            Rendered::Fixed(namespace) => namespace.clone(),
            Rendered::Template(template) => {
                let namespace = template
                    .render(context)
                    .map_err(|e| format!("cannot render the namespace: {e}"))?;
                match namespace.trim() {
                    "" => return Err("the namespace renders empty; expected the service's target namespace".into()),
                    namespace => namespace.to_string(),
                }
            }
        };
        let version = match &self.version {
            Rendered::Fixed(version) => *version,
            Rendered::Template(template) => template
                .render(context)
                .map_err(|e| format!("cannot render the version: {e}"))
                .and_then(|text| parse_version(&text).map_err(|e| format!("the version renders {e}")))?,
        };
        let (content_type, soap_action, body) =
            soap::request_envelope(version, &namespace, &self.operation, &params, action);
        let mut headers = vec![("Content-Type".to_string(), content_type)];
        if let Some(soap_action) = soap_action {
            headers.push(("SOAPAction".to_string(), soap_action));
        }
        for (header, template) in &self.headers {
            let value = secrets
                .render_outbound(template, context)
                .map_err(|e| format!("cannot render header `{header}`: {e}"))?;
            headers.push((header.clone(), value));
        }
        Ok(OutboundRequest {
            name: name.to_string(),
            method: "POST".into(),
            url: url.trim().to_string(),
            headers,
            body,
            timeout: self.timeout,
        })
    }

    /// Whether the return text is one `error_when` calls a refusal.
    pub fn refuses(&self, return_text: &str) -> bool {
        self.error_when
            .as_ref()
            .is_some_and(|regex| regex.is_match(return_text))
    }
}

/// Reads a SOAP answer: a fault whatever its HTTP status (1.1 services
/// answer faults with 500, some 1.2 ones with 400), a response only with a
/// 2xx status.
pub fn read_answer(response: &OutboundResponse) -> SoapAnswer {
    let content_type = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str())
        .unwrap_or("");
    let status = response.status;
    if (200..300).contains(&status) && response.body.trim().is_empty() {
        // A one-way operation: accepted (often 202), nothing returned.
        return SoapAnswer::Returned(None);
    }
    match soap::parse_response(response.body.as_bytes(), &decoded_content_type(content_type)) {
        Ok(soap::SoapResponse { fault: Some(fault), .. }) => SoapAnswer::Fault(fault),
        Ok(answer) if (200..300).contains(&status) => SoapAnswer::Returned(answer.return_text),
        Ok(_) => SoapAnswer::NotSoap {
            status,
            reason: "a response envelope with a failure status".into(),
        },
        Err(error) => SoapAnswer::NotSoap {
            status,
            reason: match content_type {
                "" => error.to_string(),
                _ => format!("{error} (Content-Type `{content_type}`)"),
            },
        },
    }
}

/// The outbound client hands the body over decoded already: the
/// codec must read it as UTF-8 whatever charset the header named.
fn decoded_content_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.is_empty() {
        String::new()
    } else {
        format!("{essence}; charset=utf-8")
    }
}

/// Whether a fault blames the request, so that sending it again cannot help.
pub fn blames_the_request(fault: &Fault) -> bool {
    let class = fault.code.split('.').next().unwrap_or("");
    matches!(class, "Client" | "Sender" | "VersionMismatch" | "MustUnderstand")
}

/// A fault as one line: `Server: database unavailable`.
pub fn fault_line(fault: &Fault) -> String {
    format!("{}: {}", fault.code, fault.string)
}

/// An XML element name we can write unprefixed: an NCName.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The `soap` destination, ready to deliver.
pub struct SoapEndpoint {
    call: SoapCall,
}

impl SoapEndpoint {
    pub fn build(config: &SoapDestinationConfig, cx: &mut BuildContext) -> Option<Self> {
        let what = format!("soap `{}`", config.operation);
        SoapCall::build(config, &what, cx).map(|call| SoapEndpoint { call })
    }

    pub fn uses(&self, name: &str) -> bool {
        self.call.uses(name)
    }

    /// The request one attempt sends.
    pub fn request(&self, outgoing: &Outgoing<'_>, secrets: &Secrets) -> Result<OutboundRequest, String> {
        let mut context = outgoing.context.clone();
        if let Some(scopes) = context.as_object_mut() {
            scopes.insert("payload".into(), Value::String(outgoing.payload.to_string()));
        }
        let mut request = self.call.request(outgoing.destination, &context, secrets)?;
        request
            .headers
            .push((MESSAGE_ID_HEADER.to_string(), outgoing.message_id.to_string()));
        Ok(request)
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>, outbound: &Outbound, secrets: &Secrets) -> Attempt {
        let request = match self.request(outgoing, secrets) {
            Ok(request) => request,
            Err(error) => {
                return Attempt::Failed {
                    error,
                    failure: Failure::Invalid,
                    response: None,
                }
            }
        };
        let response = match outbound.send(request).await {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Failed {
                    failure: match error {
                        OutboundError::Timeout(_) => Failure::Timeout,
                        OutboundError::Connect(_) => Failure::Connect,
                        OutboundError::Other(_) => Failure::Network,
                    },
                    error: error.to_string(),
                    response: None,
                }
            }
        };
        let status = response.status;
        match read_answer(&response) {
            SoapAnswer::Returned(text) => {
                let text = text.unwrap_or_default();
                let summary = Some(serde_json::json!({ "status": status, "text": truncate(&text, 4096) }));
                if self.call.refuses(&text) {
                    Attempt::Failed {
                        error: format!("the service refused the message: {}", truncate(&text, 512)),
                        failure: Failure::Refused,
                        response: summary,
                    }
                } else {
                    Attempt::Delivered { response: summary }
                }
            }
            SoapAnswer::Fault(fault) => Attempt::Failed {
                error: format!("SOAP Fault {}", fault_line(&fault)),
                failure: if blames_the_request(&fault) {
                    Failure::ClientFault
                } else {
                    Failure::Fault
                },
                response: Some(serde_json::json!({
                    "status": status,
                    "fault": { "code": fault.code, "string": fault.string, "detail": fault.detail },
                })),
            },
            SoapAnswer::NotSoap { status, reason } => Attempt::Failed {
                error: format!("HTTP {status} is not a SOAP answer: {reason}"),
                failure: if (200..300).contains(&status) {
                    // A success status with a body that cannot be read.
                    Failure::Network
                } else {
                    Failure::Status(status)
                },
                response: Some(serde_json::json!({ "status": status, "body": truncate(&response.body, 4096) })),
            },
        }
    }
}

/// A SOAP service for tests, written with the codec: `echo` returns its
/// parameters as `name=value` pairs, `patient` an XML document, `refuse`
/// `error:10001:...`, `crash` and `reject` a Server and a Client fault.
/// `/html` answers a page that is not SOAP, `/gbk` a GBK envelope whose
/// Content-Type names no charset, `/slow` after 5 s.
#[cfg(test)]
pub(crate) mod test_service {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use medbus_adapters::soap::{self, FaultCode};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    /// Requests the service received: (Content-Type, SOAPAction, body).
    pub type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

    pub async fn start() -> (SocketAddr, Seen) {
        let seen = Seen::default();
        let kept = seen.clone();
        let app = axum::Router::new()
            .route(
                "/ws",
                post(move |headers: HeaderMap, body: Bytes| answer(kept.clone(), headers, body)),
            )
            .route(
                "/html",
                post(|| async {
                    (
                        StatusCode::NOT_FOUND,
                        [("content-type", "text/html")],
                        "<html>no</html>",
                    )
                }),
            )
            .route(
                "/gbk",
                post(|| async {
                    let xml = soap::response_envelope(soap::SoapVersion::V11, "urn:t", "q", "张三")
                        .replace("encoding=\"UTF-8\"", "encoding=\"GBK\"");
                    let (gbk, _, _) = encoding_rs::GBK.encode(&xml);
                    ([("content-type", "text/xml")], gbk.into_owned())
                }),
            )
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    "late"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, seen)
    }

    async fn answer(
        seen: Seen,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, [(&'static str, &'static str); 1], String) {
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        let content_type = header("content-type").unwrap_or_default();
        let action = header("soapaction");
        seen.lock().unwrap().push((
            content_type.clone(),
            action.clone(),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        let request = soap::parse_request(&body, &content_type, action.as_deref()).unwrap();
        let version = request.version;
        let ns = request.operation_ns.clone().unwrap_or_default();
        let param = |name: &str| {
            request
                .params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ok = |text: &str| {
            (
                StatusCode::OK,
                soap::response_envelope(version, &ns, &request.operation, text),
            )
        };
        let fault = |code, text: &str| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                soap::fault_envelope(version, code, text),
            )
        };
        let (status, body) = match request.operation.as_str() {
            "echo" => {
                let pairs: Vec<String> = request.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                ok(&pairs.join("|"))
            }
            "patient" => ok(&format!("<patient><id>{}</id><name>张三</name></patient>", param("id"))),
            "refuse" => ok("error:10001:applyNo is required"),
            "crash" => fault(FaultCode::Server, "database down"),
            "reject" => fault(FaultCode::Client, "bad id"),
            other => fault(FaultCode::Client, &format!("unknown operation {other}")),
        };
        (status, [("content-type", soap::content_type(version))], body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::support::build_for_test;
    use serde_json::json;

    fn endpoint(yaml: &str) -> Result<SoapEndpoint, String> {
        build_for_test(yaml, SoapEndpoint::build)
    }

    async fn deliver(yaml: &str, context: Value) -> Attempt {
        let endpoint = endpoint(yaml).unwrap();
        let outgoing = Outgoing {
            message_id: "m-1",
            destination: "hospital",
            payload: "<record><applyNo>A1</applyNo></record>",
            content_type: "application/xml",
            context: &context,
        };
        endpoint
            .deliver(&outgoing, &Outbound::live(), &Secrets::default())
            .await
    }

    #[tokio::test]
    async fn delivers_the_payload_as_an_escaped_parameter() {
        let (addr, seen) = test_service::start().await;
        let yaml = format!(
            "{{ url: 'http://{addr}/ws', namespace: 'urn:h', operation: echo, \
             params: {{ applyData: '{{{{ payload }}}}', hospital: '{{{{ vars.code }}}}' }} }}"
        );
        let attempt = deliver(&yaml, json!({"vars": {"code": "H01"}})).await;
        let Attempt::Delivered { response } = attempt else {
            panic!("{attempt:?}")
        };
        assert_eq!(
            response.unwrap(),
            json!({"status": 200, "text": "applyData=<record><applyNo>A1</applyNo></record>|hospital=H01"})
        );
        let (content_type, action, body) = seen.lock().unwrap()[0].clone();
        assert_eq!(content_type, "text/xml; charset=utf-8");
        assert_eq!(action.as_deref(), Some("\"\""), "an empty SOAPAction, as CXF expects");
        assert!(
            body.contains("<applyData>&lt;record&gt;&lt;applyNo&gt;A1&lt;/applyNo&gt;&lt;/record&gt;</applyData>"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn sorts_faults_refusals_and_foreign_answers_into_failures() {
        let (addr, _) = test_service::start().await;
        let yaml = |path: &str, operation: &str| {
            format!(
                "{{ url: 'http://{addr}/{path}', namespace: 'urn:h', operation: {operation}, version: 1.2, \
                 error_when: '^error:' }}"
            )
        };
        let failure = |attempt: Attempt| match attempt {
            Attempt::Failed { error, failure, .. } => (failure, error),
            other => panic!("{other:?}"),
        };
        let (kind, error) = failure(deliver(&yaml("ws", "crash"), json!({})).await);
        assert_eq!(
            (kind, error.as_str()),
            (Failure::Fault, "SOAP Fault Receiver: database down")
        );
        let (kind, error) = failure(deliver(&yaml("ws", "reject"), json!({})).await);
        assert_eq!(
            (kind, error.as_str()),
            (Failure::ClientFault, "SOAP Fault Sender: bad id")
        );
        let (kind, error) = failure(deliver(&yaml("ws", "refuse"), json!({})).await);
        assert_eq!(
            (kind, error.as_str()),
            (
                Failure::Refused,
                "the service refused the message: error:10001:applyNo is required"
            )
        );
        let (kind, error) = failure(deliver(&yaml("html", "echo"), json!({})).await);
        assert_eq!(kind, Failure::Status(404));
        assert!(
            error.starts_with("HTTP 404 is not a SOAP answer: unsupported content type"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_service_or_a_template_that_fails_is_a_failure_of_its_kind() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let yaml = format!("{{ url: 'http://{addr}/ws', namespace: 'urn:h', operation: echo }}");
        let Attempt::Failed { failure, .. } = deliver(&yaml, json!({})).await else {
            panic!()
        };
        assert_eq!(failure, Failure::Connect);
        let yaml = "{ url: 'http://h/ws', namespace: 'urn:h', operation: echo, params: { a: '{{ vars.none.x }}' } }";
        let Attempt::Failed { failure, error, .. } = deliver(yaml, json!({"vars": {}})).await else {
            panic!()
        };
        assert_eq!(failure, Failure::Invalid);
        assert!(error.starts_with("cannot render parameter `a`"), "{error}");
    }

    #[tokio::test]
    async fn reads_a_gbk_answer_whose_content_type_names_no_charset() {
        let (addr, _) = test_service::start().await;
        let yaml = format!("{{ url: 'http://{addr}/gbk', namespace: 'urn:t', operation: q }}");
        let Attempt::Delivered { response } = deliver(&yaml, json!({})).await else {
            panic!()
        };
        assert_eq!(response.unwrap()["text"], json!("张三"));
    }

    #[test]
    fn reads_version_texts() {
        for (text, version) in [
            ("1.1", SoapVersion::V11),
            ("'1.2'", SoapVersion::V12),
            ("1.2", SoapVersion::V12),
        ] {
            let parsed: SoapVersionText = serde_saphyr::from_str(text).unwrap();
            assert_eq!(parsed, SoapVersionText::Fixed(version));
        }
        let error = serde_saphyr::from_str::<SoapVersionText>("2.0")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`2.0` is not a SOAP version; expected `1.1` or `1.2`"),
            "{error}"
        );
    }

    #[test]
    fn namespace_and_version_may_differ_per_request() {
        let yaml = "{ url: 'http://h/ws', namespace: '{{ vars.h.ns }}', version: '{{ vars.h.v }}', operation: q }";
        let endpoint = build_for_test(yaml, SoapEndpoint::build).unwrap();
        let request = |h: serde_json::Value| {
            let context = json!({ "vars": { "h": h } });
            let outgoing = Outgoing {
                message_id: "m1",
                destination: "d",
                payload: "",
                content_type: "text/plain",
                context: &context,
            };
            endpoint.request(&outgoing, &Secrets::default())
        };
        let sent = request(json!({ "ns": "urn:a", "v": "1.2" })).unwrap();
        assert!(sent.body.contains(r#"<ns:q xmlns:ns="urn:a">"#), "{}", sent.body);
        assert!(sent
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v.starts_with("application/soap+xml")));
        let sent = request(json!({ "ns": "urn:b", "v": "1.1" })).unwrap();
        assert!(
            sent.body.contains(r#"xmlns:ns="urn:b""#) && sent.headers.iter().any(|(_, v)| v.starts_with("text/xml"))
        );
        let error = request(json!({ "ns": "urn:b", "v": "2" })).unwrap_err();
        assert!(
            error.contains("the version renders `2` is not a SOAP version"),
            "{error}"
        );
        let error = request(json!({ "ns": " ", "v": "1.1" })).unwrap_err();
        assert!(error.contains("the namespace renders empty"), "{error}");
    }

    #[test]
    fn an_empty_success_is_a_void_return() {
        let response = |status: u16, body: &str| OutboundResponse {
            status,
            headers: vec![],
            body: body.into(),
        };
        assert_eq!(read_answer(&response(202, "")), SoapAnswer::Returned(None));
        assert!(matches!(
            read_answer(&response(500, "")),
            SoapAnswer::NotSoap { status: 500, .. }
        ));
    }

    #[test]
    fn tells_client_faults_from_server_faults() {
        let fault = |code: &str| Fault {
            code: code.into(),
            string: String::new(),
            detail: None,
        };
        for code in ["Client", "Client.Auth", "Sender", "VersionMismatch", "MustUnderstand"] {
            assert!(blames_the_request(&fault(code)), "{code}");
        }
        for code in ["Server", "Receiver", "Server.Database", "Custom"] {
            assert!(!blames_the_request(&fault(code)), "{code}");
        }
    }

    #[test]
    fn checks_its_config_when_built() {
        let error = |yaml: &str| endpoint(yaml).err().expect("the build should fail");
        let base = "url: 'http://h/ws', namespace: 'urn:h', operation: q";
        assert!(error(&format!("{{ {base}, version: 1.3 }}")).contains("`1.3` is not a SOAP version"));
        assert!(error("{ url: 'ftp://h/', namespace: 'urn:h', operation: q }").contains("the scheme `ftp`"));
        assert!(error("{ url: 'http://h/', namespace: ' ', operation: q }").contains("`namespace` is empty"));
        assert!(error("{ url: 'http://h/', namespace: 'urn:h', operation: 'a b' }")
            .contains("`operation` `a b` is not an XML element name"));
        assert!(error(&format!("{{ {base}, params: {{ '1x': a }} }}")).contains("parameter `1x` is not an XML"));
        assert!(error(&format!("{{ {base}, params: {{ x: '{{{{ a' }} }}"))
            .contains("soap `q` parameter `x` is not a valid template"));
        assert!(
            error(&format!("{{ {base}, headers: {{ SOAPAction: x }} }}")).contains("expected `version` and `action`")
        );
        assert!(
            error(&format!("{{ {base}, error_when: '(' }}")).contains("`error_when` is not a valid regular expression")
        );
        assert!(error(&format!("{{ {base}, timeout: 0s }}")).contains("`timeout` is 0"));
        assert!(error(&format!("{{ {base}, param: x }}")).contains("unknown field `param`"));
        assert!(endpoint(&format!(
            "{{ {base}, version: '1.2', action: 'urn:q', headers: {{ X-Token: t }} }}"
        ))
        .is_ok());
    }
}
