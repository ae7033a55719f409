//! The `soap` source: one operation of a WebService (SOAP 1.1 and 1.2,
//! document/literal wrapped, string parameters) served on an HTTP listener.
//! Routes naming the same listener and path form one service: each serves
//! one operation, and `GET <path>?wsdl` describes them all. The listener
//! lives in `runtime::listeners`; this module holds the service table entry,
//! how a request becomes an exchange, and how answers become envelopes.
//! docs/soap.md has the conventions.

use crate::config::ByteSize;
use crate::exchange::{BodyFormat, Exchange, Reply};
use crate::runtime::snapshot::{Route, Source};
use crate::steps::parse::{parse_text, Format};
use crate::steps::reply::ReplyConfig;
use crate::steps::StepError;
use crate::value::{Map, Value};
use medbus_adapters::soap::{
    content_type, fault_envelope, response_envelope, wsdl, FaultCode, OperationDescription, ServiceDescription,
    SoapError, SoapRequest, SoapVersion,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoapSourceConfig {
    /// The service name, an XML name without a colon, e.g. `YlkCallInterface`;
    /// the WSDL names its port type, bindings and ports after it. Every route
    /// on the same listener and path must give the same one.
    pub service: String,
    /// The endpoint's path, e.g. `/er/webservice/ylkCallInterface`.
    pub path: String,
    /// The service's target namespace, e.g. `http://service.example.cn/`:
    /// the namespace of the operation and response elements.
    pub namespace: String,
    /// The operation this route serves, e.g. `stateUpdata`; unique in its service.
    pub operation: String,
    /// The operation's string parameters, in order, e.g. `[state]`. They
    /// become the keys of the body; one whose text is XML is decoded into the
    /// value tree.
    #[serde(default)]
    pub params: Vec<String>,
    /// `address:port` of the listener, or the name of one of the settings'
    /// `listeners`; the settings' `http_addr` when not given. SOAP and HTTP
    /// routes naming the same address share one listener.
    #[serde(default)]
    pub listen: Option<super::Listen>,
    /// Largest accepted request body; larger ones get a Client fault.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// The public URL written as the WSDL's `soap:address`, e.g.
    /// `https://hub.example.cn/er/webservice/ylkCallInterface`. Default:
    /// `http://{Host header}{path}` of the request asking for the WSDL.
    #[serde(default)]
    pub address: Option<String>,
}

fn default_max_body() -> ByteSize {
    ByteSize(1024 * 1024)
}

impl SoapSourceConfig {
    /// What `medbus check` requires of one route's config.
    pub fn check(&self) -> Result<(), String> {
        if !self.path.starts_with('/') || self.path.contains(char::is_whitespace) || self.path.contains('?') {
            return Err(format!(
                "path `{}` must start with `/` and hold no spaces or query",
                self.path
            ));
        }
        if let Some(address) = &self.address {
            if !(address.starts_with("http://") || address.starts_with("https://")) {
                return Err(format!(
                    "address `{address}` is not an http(s) URL; expected e.g. `http://hub.example.cn{}`",
                    self.path
                ));
            }
        }
        self.description(vec![self.operation_description()])
            .validate()
            .map_err(|e| format!("{e}; expected XML names (letters, digits, `_`, `-`, `.`; no colon)"))
    }

    fn operation_description(&self) -> OperationDescription {
        OperationDescription {
            name: self.operation.clone(),
            params: self.params.clone(),
        }
    }

    fn description(&self, operations: Vec<OperationDescription>) -> ServiceDescription {
        ServiceDescription {
            name: self.service.clone(),
            namespace: self.namespace.clone(),
            address: self.address.clone().unwrap_or_default(),
            operations,
        }
    }
}

/// The answer of a SOAP route without a `reply`: `ok`, as the seed's services answer.
pub fn default_reply() -> ReplyConfig {
    ReplyConfig {
        content_type: Some("text/plain".into()),
        body: Some("ok".into()),
        ..ReplyConfig::default()
    }
}

/// The routes serving one path on one listener, by operation, with the
/// service's name and namespace. Built anew with every snapshot.
pub struct SoapService {
    pub name: String,
    pub namespace: String,
    pub path: String,
    address: Option<String>,
    operations: BTreeMap<String, Arc<Route>>,
    /// The largest `max_body` of the operations: what is read before the
    /// operation is known.
    max_body: u64,
    /// The WSDL, when its address does not depend on the request.
    wsdl: OnceLock<String>,
}

impl SoapService {
    pub fn new(config: &SoapSourceConfig) -> SoapService {
        SoapService {
            name: config.service.clone(),
            namespace: config.namespace.clone(),
            path: config.path.clone(),
            address: None,
            operations: BTreeMap::new(),
            max_body: 0,
            wsdl: OnceLock::new(),
        }
    }

    /// Adds the route of one operation; refused when it disagrees with the
    /// routes already there.
    pub fn add(&mut self, route: &Arc<Route>) -> Result<(), String> {
        let config = source_config(route);
        let first = self.operations.values().next();
        let first_is = |first: Option<&Arc<Route>>| {
            first.map_or(String::new(), |r| {
                format!(" by route `{}` ({})", r.id, r.file.display())
            })
        };
        if config.service != self.name {
            return Err(format!(
                "{} is served as service `{}`{}; expected every route on this path to name the same service",
                self.path,
                self.name,
                first_is(first)
            ));
        }
        if config.namespace != self.namespace {
            return Err(format!(
                "service `{}` has namespace `{}`{}; expected every route on {} to give the same namespace",
                self.name,
                self.namespace,
                first_is(first),
                self.path
            ));
        }
        if let Some(taken) = self.operations.get(&config.operation) {
            return Err(format!(
                "operation `{}` of service `{}` is already served by route `{}` ({}); expected one route per operation",
                config.operation,
                self.name,
                taken.id,
                taken.file.display()
            ));
        }
        if let (Some(mine), Some(theirs)) = (&config.address, &self.address) {
            if mine != theirs {
                return Err(format!(
                    "service `{}` has address `{theirs}` in another route; expected the same address or none",
                    self.name
                ));
            }
        }
        if self.address.is_none() {
            self.address = config.address.clone();
        }
        self.max_body = self.max_body.max(config.max_body.0);
        self.operations.insert(config.operation.clone(), route.clone());
        Ok(())
    }

    /// Checks the service as a whole (an operation named like another's
    /// `…Response` element); the error names the first route.
    pub fn validate(&self) -> Result<(), (Arc<Route>, String)> {
        let description = self.description(String::new());
        description.validate().map_err(|e| {
            let first = self.operations.values().next().expect("a service has a route").clone();
            (first, format!("service `{}`: {e}", self.name))
        })
    }

    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// The operations, in name order.
    pub fn operation_names(&self) -> Vec<&str> {
        self.operations.keys().map(String::as_str).collect()
    }

    fn description(&self, address: String) -> ServiceDescription {
        ServiceDescription {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            address,
            operations: self
                .operations
                .values()
                .map(|route| source_config(route).operation_description())
                .collect(),
        }
    }

    /// The WSDL, operations in name order; its address is the configured one,
    /// else `http://{host}{path}`.
    pub fn wsdl(&self, host: &str) -> String {
        match &self.address {
            Some(address) => self
                .wsdl
                .get_or_init(|| wsdl(&self.description(address.clone())))
                .clone(),
            None => wsdl(&self.description(format!("http://{host}{}", self.path))),
        }
    }

    /// The route of the operation a request calls: the one its action names
    /// (whole, or its last segment after `/` or `#`) when it names a served
    /// one, else the one of the Body's element.
    pub fn dispatch(&self, request: &SoapRequest) -> Result<&Arc<Route>, String> {
        if let Some(route) = request.action.as_deref().and_then(|action| self.by_action(action)) {
            return Ok(route);
        }
        self.operations.get(&request.operation).ok_or_else(|| {
            format!(
                "unknown operation `{}`; service `{}` serves: {}",
                request.operation,
                self.name,
                self.operation_names().join(", ")
            )
        })
    }

    fn by_action(&self, action: &str) -> Option<&Arc<Route>> {
        let last = action.rsplit(['/', '#']).next().unwrap_or(action);
        self.operations.get(action).or_else(|| self.operations.get(last))
    }
}

/// The `soap` config of a route in a service table.
pub fn source_config(route: &Route) -> &SoapSourceConfig {
    match &route.source {
        Source::Soap { config, .. } => config,
        _ => unreachable!("only SOAP routes are in a service"),
    }
}

/// The version a fault is written in before the envelope is read: the one
/// the content type says, 1.1 when it says none.
pub fn version_of(content_type: &str) -> SoapVersion {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case(SoapVersion::V12.media_type()) {
        SoapVersion::V12
    } else {
        SoapVersion::V11
    }
}

/// Whether the query asks for the WSDL: `?wsdl`, `?WSDL`.
pub fn asks_for_wsdl(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("wsdl")))
    })
}

/// A new exchange for a request dispatched to `route`: the body is an object
/// of the declared params in order (a repeated one an array, XML text decoded,
/// missing ones absent). The error, when a param holds malformed XML, rejects it.
pub fn exchange(
    route: &Route,
    request: SoapRequest,
    raw: bytes::Bytes,
    mut headers: Map<String, Value>,
) -> (Exchange, Option<StepError>) {
    let config = source_config(route);
    let version = match request.version {
        SoapVersion::V11 => "1.1",
        SoapVersion::V12 => "1.2",
    };
    let unknown: Vec<Value> = request
        .params
        .iter()
        .filter(|(name, _)| !config.params.contains(name))
        .map(|(name, _)| Value::String(name.clone()))
        .collect();
    headers.insert("soap_version".into(), version.into());
    headers.insert("soap_action".into(), request.action.clone().unwrap_or_default().into());
    headers.insert("operation".into(), config.operation.clone().into());
    headers.insert("service".into(), config.service.clone().into());
    headers.insert("soap_unknown_params".into(), Value::Array(unknown));

    let mut body = Map::new();
    let mut error = None;
    for name in &config.params {
        let mut values = Vec::new();
        for (_, text) in request.params.iter().filter(|(n, _)| n == name) {
            values.push(match param_value(text) {
                Ok(value) => value,
                Err(message) => {
                    error.get_or_insert_with(|| {
                        StepError::rejected(
                            "BAD_XML",
                            format!("parameter `{name}` starts with `<` but is not well-formed XML: {message}"),
                        )
                    });
                    Value::String(text.clone())
                }
            });
        }
        match values.len() {
            0 => {}
            1 => {
                body.insert(name.clone(), values.pop().unwrap());
            }
            _ => {
                body.insert(name.clone(), Value::Array(values));
            }
        }
    }
    let content_type = headers.get("content-type").and_then(Value::as_str).map(str::to_string);
    let mut ex = Exchange::with_body(&route.id, raw, content_type, headers, Value::Object(body).into());
    ex.body_format = BodyFormat::Xml;
    (ex, error)
}

/// A param's value: XML text (trimmed, starting with `<`) as its tree, any other text as it is.
fn param_value(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('<') {
        parse_text(Format::Xml, text.trim())
    } else {
        Ok(Value::String(text.to_string()))
    }
}

/// A reply the route built, as a SOAP response: its body is the `return`
/// string, HTTP 200 whatever status the reply named (business errors are
/// answers too); its extra headers are kept.
pub fn wrap(version: SoapVersion, namespace: &str, operation: &str, reply: Reply) -> Reply {
    Reply {
        status: 200,
        content_type: content_type(version).into(),
        headers: reply.headers,
        body: response_envelope(version, namespace, operation, &reply.body),
    }
}

/// The SOAP version the exchange was called with (`headers.soap_version`).
pub fn exchange_version(ex: &Exchange) -> SoapVersion {
    match ex.headers.get("soap_version").and_then(Value::as_str) {
        Some("1.2") => SoapVersion::V12,
        _ => SoapVersion::V11,
    }
}

/// An error no route reply answers, as a fault: Client/Sender for the
/// caller's errors (a status below 500), Server/Receiver for ours.
pub fn error_fault(version: SoapVersion, status: u16, code: &str, message: &str) -> Reply {
    let fault_code = if status < 500 {
        FaultCode::Client
    } else {
        FaultCode::Server
    };
    fault(version, fault_code, &format!("{code}: {message}"))
}

/// A fault answer: HTTP 500, the version's content type.
pub fn fault(version: SoapVersion, code: FaultCode, faultstring: &str) -> Reply {
    Reply {
        status: 500,
        content_type: content_type(version).into(),
        headers: Vec::new(),
        body: fault_envelope(version, code, faultstring),
    }
}

/// The `reason` label of a request the codec could not read.
pub fn refusal_reason(error: &SoapError) -> &'static str {
    match error {
        SoapError::UnsupportedContentType(_) | SoapError::UnknownCharset(_) => "content_type",
        SoapError::VersionMismatch(_) | SoapError::ContentTypeMismatch { .. } => "version_mismatch",
        _ => "malformed",
    }
}

/// A request answered with a fault before any route took it: logged and
/// counted as `medbus_soap_unrouted_total{service, reason}`.
pub fn unrouted(service: &SoapService, reason: &'static str, message: &str) {
    metrics::counter!("medbus_soap_unrouted_total", "service" => service.name.clone(), "reason" => reason).increment(1);
    tracing::warn!(service = %service.name, path = %service.path, reason, "SOAP request refused: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use medbus_adapters::soap::{parse_request, parse_response, request_envelope};
    use serde_json::json;

    const NS: &str = "http://service.example.cn/";

    fn config(operation: &str, params: &[&str]) -> SoapSourceConfig {
        serde_json::from_value(json!({
            "service": "Svc", "path": "/ws", "namespace": NS, "operation": operation, "params": params,
        }))
        .unwrap()
    }

    fn route(config: SoapSourceConfig) -> Arc<Route> {
        let spec: crate::config::RouteSpec = serde_saphyr::from_str(&format!(
            "id: t.{}\nsource: {{ soap: {} }}\n",
            config.operation,
            serde_json::to_string(&json!({
                "service": config.service, "path": config.path, "namespace": config.namespace,
                "operation": config.operation, "params": config.params,
            }))
            .unwrap()
        ))
        .unwrap();
        Arc::new(Route {
            id: format!("t.{}", config.operation),
            file: "routes/t.yaml".into(),
            spec,
            source: Source::Soap {
                addr: "127.0.0.1:8080".parse().unwrap(),
                config,
            },
            steps: Vec::new(),
            destinations: Vec::new(),
            reply: None,
            error_reply: None,
        })
    }

    fn service(routes: &[Arc<Route>]) -> SoapService {
        let mut service = SoapService::new(source_config(&routes[0]));
        for route in routes {
            service.add(route).unwrap();
        }
        service
    }

    fn request(operation: &str, params: &[(&str, &str)], action: Option<&str>) -> SoapRequest {
        let (content_type, soap_action, body) = request_envelope(SoapVersion::V11, NS, operation, params, None);
        let mut request = parse_request(body.as_bytes(), &content_type, soap_action.as_deref()).unwrap();
        request.action = action.map(str::to_string);
        request
    }

    #[test]
    fn config_checks_names_and_path() {
        assert!(config("stateUpdata", &["state"]).check().is_ok());
        let error = config("state Updata", &[]).check().unwrap_err();
        assert!(error.contains("operation `state Updata`"), "{error}");
        let error = config("q", &["a", "a"]).check().unwrap_err();
        assert!(error.contains("parameter `a` twice"), "{error}");
        let error = config("q", &["x:y"]).check().unwrap_err();
        assert!(error.contains("parameter `x:y`"), "{error}");
        let mut bad = config("q", &[]);
        bad.path = "ws".into();
        assert!(bad.check().unwrap_err().contains("must start with `/`"));
        let mut bad = config("q", &[]);
        bad.address = Some("hub:80/ws".into());
        assert!(bad.check().unwrap_err().contains("not an http(s) URL"));
        let unknown = serde_json::from_value::<SoapSourceConfig>(json!({
            "service": "S", "path": "/ws", "namespace": NS, "operation": "q", "colour": "red",
        }));
        assert!(unknown.unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn a_service_refuses_disagreeing_routes() {
        let mut service = service(&[route(config("a", &[]))]);
        let error = service.add(&route(config("a", &["x"]))).unwrap_err();
        assert!(
            error.contains("operation `a` of service `Svc` is already served by route `t.a`"),
            "{error}"
        );
        let mut other = config("b", &[]);
        other.service = "Other".into();
        let error = service.add(&route(other)).unwrap_err();
        assert!(error.contains("served as service `Svc`"), "{error}");
        let mut other = config("b", &[]);
        other.namespace = "urn:other".into();
        let error = service.add(&route(other)).unwrap_err();
        assert!(error.contains("has namespace `http://service.example.cn/`"), "{error}");
        service.add(&route(config("aResponse", &[]))).unwrap();
        let (_, error) = service.validate().err().unwrap();
        assert!(error.contains("clashes with element `aResponse`"), "{error}");
    }

    #[test]
    fn dispatch_by_action_then_body_element() {
        let service = service(&[route(config("a", &[])), route(config("b", &[]))]);
        let id = |r: Result<&Arc<Route>, String>| r.map(|r| r.id.clone());
        assert_eq!(id(service.dispatch(&request("a", &[], None))), Ok("t.a".into()));
        assert_eq!(id(service.dispatch(&request("a", &[], Some("b")))), Ok("t.b".into()));
        assert_eq!(
            id(service.dispatch(&request("a", &[], Some("http://service.example.cn/Svc/b")))),
            Ok("t.b".into())
        );
        assert_eq!(
            id(service.dispatch(&request("a", &[], Some("urn:svc#b")))),
            Ok("t.b".into())
        );
        // An action naming nothing served leaves the choice to the body.
        assert_eq!(
            id(service.dispatch(&request("a", &[], Some("urn:other")))),
            Ok("t.a".into())
        );
        let error = id(service.dispatch(&request("c", &[], None))).unwrap_err();
        assert_eq!(error, "unknown operation `c`; service `Svc` serves: a, b");
    }

    #[test]
    fn params_become_the_body_in_declared_order_with_xml_decoded() {
        let route = route(config("q", &["data", "token", "absent"]));
        let request = request(
            "q",
            &[
                ("token", "t"),
                ("extra", "x"),
                ("data", " <root><姓名>张三</姓名></root>\n"),
            ],
            Some("urn:q"),
        );
        let (ex, error) = exchange(&route, request, bytes::Bytes::from_static(b"raw"), Map::new());
        assert_eq!(error, None);
        assert_eq!(ex.body, json!({"data": {"root": {"姓名": "张三"}}, "token": "t"}));
        let keys: Vec<_> = ex.body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["data", "token"]);
        assert_eq!(ex.body_format, BodyFormat::Xml);
        assert_eq!(&ex.raw[..], b"raw");
        assert_eq!(ex.headers["soap_version"], "1.1");
        assert_eq!(ex.headers["soap_action"], "urn:q");
        assert_eq!(ex.headers["operation"], "q");
        assert_eq!(ex.headers["service"], "Svc");
        assert_eq!(ex.headers["soap_unknown_params"], json!(["extra"]));
    }

    #[test]
    fn a_repeated_param_is_an_array_and_malformed_xml_rejects() {
        let route = route(config("q", &["a"]));
        let (ex, error) = exchange(
            &route,
            request("q", &[("a", "1"), ("a", "2")], None),
            bytes::Bytes::new(),
            Map::new(),
        );
        assert_eq!((ex.body.into_value(), error), (json!({"a": ["1", "2"]}), None));
        let (ex, error) = exchange(
            &route,
            request("q", &[("a", "<r>\n<x></r>")], None),
            bytes::Bytes::new(),
            Map::new(),
        );
        let error = error.unwrap();
        assert_eq!(error.code, "BAD_XML");
        assert!(
            error.message.contains("parameter `a`") && error.message.contains("line 2"),
            "{}",
            error.message
        );
        assert_eq!(ex.body, json!({"a": "<r>\n<x></r>"}));
    }

    #[test]
    fn replies_become_returns_and_unanswered_errors_faults() {
        let reply = Reply {
            status: 400,
            content_type: "text/plain".into(),
            headers: Vec::new(),
            body: "error:10001:缺少 applyNo".into(),
        };
        let answered = wrap(SoapVersion::V12, NS, "q", reply);
        assert_eq!(
            (answered.status, answered.content_type.as_str()),
            (200, "application/soap+xml; charset=utf-8")
        );
        let read = parse_response(answered.body.as_bytes(), &answered.content_type).unwrap();
        assert_eq!(read.return_text.as_deref(), Some("error:10001:缺少 applyNo"));

        let answered = error_fault(SoapVersion::V11, 400, "BAD_XML", "broken");
        assert_eq!(answered.status, 500);
        let fault = parse_response(answered.body.as_bytes(), &answered.content_type)
            .unwrap()
            .fault
            .unwrap();
        assert_eq!(
            (fault.code.as_str(), fault.string.as_str()),
            ("Client", "BAD_XML: broken")
        );

        let answered = error_fault(SoapVersion::V12, 503, "JOURNAL_UNAVAILABLE", "later");
        let fault = parse_response(answered.body.as_bytes(), &answered.content_type)
            .unwrap()
            .fault
            .unwrap();
        assert_eq!(fault.code, "Receiver");
    }

    #[test]
    fn wsdl_lists_operations_in_name_order_at_the_callers_host() {
        let service = service(&[route(config("b", &["y"])), route(config("a", &["x"]))]);
        let text = service.wsdl("hub:8088");
        let tree = medbus_adapters::xml::parse(&text).unwrap();
        let ops = &tree["wsdl:definitions"]["wsdl:portType"]["wsdl:operation"];
        assert_eq!(
            (ops[0]["@name"].as_str(), ops[1]["@name"].as_str()),
            (Some("a"), Some("b"))
        );
        assert!(text.contains(r#"location="http://hub:8088/ws""#), "{text}");
        assert!(asks_for_wsdl(Some("wsdl")) && asks_for_wsdl(Some("WSDL")) && asks_for_wsdl(Some("x=1&wsdl=")));
        assert!(!asks_for_wsdl(Some("xsd=1")) && !asks_for_wsdl(None));
        assert_eq!(version_of("Application/SOAP+XML; action=x"), SoapVersion::V12);
        assert_eq!(version_of(""), SoapVersion::V11);
    }
}
