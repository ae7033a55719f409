//! The `call` step: an HTTP request to another service while the message is
//! processed (look a patient up in the HIS, ask a token service), its
//! answer kept in a variable for the steps after it.
//!
//! ```yaml
//! - call:
//!     name: his-patient
//!     url: "http://his.local/api/patients/{{ body.root.patientId | urlencode }}"
//!     headers: { Authorization: "Bearer {{ vars.token }}" }
//!     timeout: 5s
//!     to: vars.patient
//! ```
//!
//! Its url, query, headers and body may read the caller's secrets
//! (`{{ secrets["vendor-120"] }}`), rendered as the request is sent and kept
//! nowhere: the message's trace holds the answer, not the request.
//!
//! A transport error, a timeout or a status outside `success` fails the
//! message (`CALL_FAILED`, `CALL_TIMEOUT`), and the route's error policy
//! answers it. Under `medbus test`, calls are answered from the test's
//! recorded responses by `name`.
//!
//! With `each`, the step calls once per item of a list (templates see
//! `item` and `index`), several at once, and `to` receives a list of
//! answers in item order (see [`super::fan_out`]).

use super::fan_out::{self, failed_without_answer, FailOn, FanOut, ItemOutcome, Sent};
use super::parse::{parse_text, Format};
use super::support;
use super::{BuildContext, Flow, RunEnv, StepError};
use crate::config::DurationText;
use crate::exchange::Exchange;
use crate::outbound::{OutboundRequest, OutboundResponse};
use crate::templates::Template;
use crate::value::{Map, Path, Value};
use indexmap::IndexMap;
use reqwest::Url;
use schemars::JsonSchema;
use serde::Deserialize;

/// Call an HTTP service and keep its answer.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {
    /// Names the call in errors and traces, and keys its recorded responses
    /// in `medbus test`. Letters, digits, `_` and `-`, e.g. `his-patient`.
    pub name: String,
    /// The HTTP method, e.g. `GET`, `POST`, `PUT`. Default: `POST` when a
    /// body is sent, else `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// The URL, a template, e.g.
    /// `"http://his.local/api/patients/{{ body.patientId | urlencode }}"`.
    /// Values placed in the path need `| urlencode`; prefer `query` for parameters.
    pub url: String,
    /// Query parameters added to the URL, each value a template; values
    /// are percent-encoded, e.g. `{ name: "{{ body.name }}" }`.
    #[serde(default)]
    pub query: IndexMap<String, String>,
    /// Request headers, each value a template, e.g.
    /// `Authorization: "Bearer {{ vars.token }}"`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// The request body, a template, e.g. `'{"id": "{{ vars.id }}"}'`.
    #[serde(default)]
    pub body: Option<String>,
    /// Send a value instead of a template: `outgoing` sends the payload
    /// destinations would send (the `template` step's output, or the body
    /// as JSON); a path (`vars.request`) sends its value, a string as it is,
    /// anything else as JSON.
    #[serde(default)]
    pub body_from: Option<String>,
    /// The request's Content-Type. Default: the outgoing payload's with
    /// `body_from: outgoing`, else guessed from the body (`<` XML, `{`/`[`
    /// JSON, else text), with `; charset=utf-8`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// How long to wait for the whole answer, e.g. `3s`. Default: `10s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// The statuses that count as success: codes (`200`) or classes
    /// (`2xx`). Default: `[2xx]`.
    #[serde(default = "default_success")]
    #[schemars(with = "Vec<support::ScalarText>")]
    pub success: Vec<String>,
    /// How to parse the response body: `json`, `xml` or `text`. Default: by
    /// the response's Content-Type (or, without one, by its first
    /// character), keeping the text when it does not parse. When set, a body
    /// that does not parse fails the call (`CALL_BAD_RESPONSE`).
    #[serde(default)]
    pub response: Option<Format>,
    /// Where the answer is written as `{status, headers, body}` (header
    /// names lower-cased), e.g. `vars.patient`, so that templates read
    /// `vars.patient.body.name`. Default: `vars.<name>`. Written for
    /// failed statuses too, for error replies to use.
    #[serde(default)]
    pub to: Option<String>,
    /// Call once per item of the list at this path, e.g. `body.patients`:
    /// the url, query, headers and body templates also see `item` (the
    /// element) and `index` (from 0), and `to` receives a list, one
    /// `{status, headers, body, item_index, error}` per item in item order,
    /// `error` being the item's `{code, message}` or null. An empty list
    /// calls nothing and keeps `[]`; at most 1000 items.
    #[serde(default)]
    pub each: Option<String>,
    /// With `each`: how many requests may be in flight at once, 1 to 64.
    /// Default: 8.
    #[serde(default)]
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: Option<u32>,
    /// With `each`: when the step fails. `none` keeps every item's error in
    /// its entry, `any` fails with the first failed item's error (in item
    /// order), `all` only when every item failed. Default: `none`.
    #[serde(default)]
    pub fail_on: Option<FailOn>,
}

fn default_timeout() -> DurationText {
    DurationText::secs(10)
}

fn default_success() -> Vec<String> {
    vec!["2xx".to_string()]
}

enum Body {
    None,
    Template(Box<Template>),
    From(Path),
    Outgoing,
}

/// One entry of `success`: an exact status or a class (`2xx` is 200-299).
#[derive(Clone, Copy, Debug, PartialEq)]
enum StatusMatch {
    Code(u16),
    Class(u16),
}

impl StatusMatch {
    fn parse(text: &str) -> Option<StatusMatch> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(class) = text.strip_suffix("xx") {
            let class: u16 = class.parse().ok()?;
            return (1..=5).contains(&class).then_some(StatusMatch::Class(class));
        }
        let code: u16 = text.parse().ok()?;
        (100..=599).contains(&code).then_some(StatusMatch::Code(code))
    }

    fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(code) => status == code,
            StatusMatch::Class(class) => status / 100 == class,
        }
    }
}

pub struct CallStep {
    name: String,
    method: String,
    url: Box<Template>,
    query: Vec<(String, Template)>,
    headers: Vec<(String, Template)>,
    body: Body,
    content_type: Option<String>,
    timeout: DurationText,
    success: Vec<StatusMatch>,
    success_text: String,
    response: Option<Format>,
    to: Path,
    fan_out: Option<FanOut>,
}

impl CallStep {
    pub fn build(config: &CallConfig, cx: &mut BuildContext) -> Option<Self> {
        let name = &config.name;
        let mut ok = true;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            cx.error(format!(
                "call `name` `{name}` must be letters, digits, `_` and `-`, e.g. `his-patient`"
            ));
            ok = false;
        }
        let what = format!("call `{name}`");
        let body = build_body(cx, &what, config);
        let sends_body = config.body.is_some() || config.body_from.is_some();
        let method = config
            .method
            .as_deref()
            .unwrap_or(if sends_body { "POST" } else { "GET" })
            .to_ascii_uppercase();
        if reqwest::Method::from_bytes(method.as_bytes()).is_err() {
            cx.error(format!(
                "{what} `method` `{method}` is not an HTTP method; expected e.g. `GET` or `POST`"
            ));
            ok = false;
        }
        let url = support::outbound_template(cx, &format!("{what} `url`"), &config.url);
        if !config.url.contains("{{") && !config.url.contains("{%") {
            ok &= support::check_url(cx, &what, &config.url, "http://his.local/api");
        }
        let mut query = Vec::with_capacity(config.query.len());
        for (key, source) in &config.query {
            match support::outbound_template(cx, &format!("{what} query `{key}`"), source) {
                Some(template) => query.push((key.clone(), template)),
                None => ok = false,
            }
        }
        let headers = support::outbound_header_templates(cx, &what, &config.headers);
        if config.content_type.is_some() && config.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
            cx.error(format!(
                "{what} sets both `content_type` and a `Content-Type` header; keep `content_type`"
            ));
            ok = false;
        }
        let success = build_success(cx, &what, &config.success);
        if config.timeout.0.is_zero() {
            cx.error(format!("{what} `timeout` is 0; expected e.g. `10s`"));
            ok = false;
        }
        let to = config.to.clone().unwrap_or_else(|| format!("vars.{name}"));
        let to = support::target_path(cx, &format!("{what} `to`"), &to);
        let fan_out = FanOut::build(cx, &what, config.each.as_deref(), config.concurrency, config.fail_on);
        if !ok {
            return None;
        }
        Some(CallStep {
            name: name.clone(),
            method,
            url: Box::new(url?),
            query,
            headers: headers?,
            body: body?,
            content_type: config.content_type.as_deref().map(support::with_utf8_charset),
            timeout: config.timeout,
            success: success?,
            success_text: config.success.join(", "),
            response: config.response,
            to: to?,
            fan_out: fan_out.ok()?,
        })
    }

    pub async fn run(&self, ex: &mut Exchange, env: &RunEnv) -> Result<Flow, StepError> {
        let context = ex.context_value();
        fan_out::run(self, self.fan_out.as_ref(), ex, env, context).await
    }

    /// The answer as a value, and what is wrong with its body when a
    /// successful answer does not parse as the configured format.
    fn answer(&self, response: OutboundResponse, succeeded: bool) -> (Value, Option<String>) {
        let mut headers = Map::new();
        for (name, value) in response.headers {
            let name = name.to_ascii_lowercase();
            let joined = match headers.get(&name) {
                Some(Value::String(earlier)) => format!("{earlier}, {value}"),
                _ => value,
            };
            headers.insert(name, Value::String(joined));
        }
        let content_type = headers.get("content-type").and_then(Value::as_str).unwrap_or("");
        let (format, strict) = match self.response {
            Some(format) => (format, succeeded),
            None => (format_of(content_type, &response.body), false),
        };
        let (body, bad) = match parse_text(format, &response.body) {
            Ok(value) => (value, None),
            Err(_) if response.body.trim().is_empty() => (Value::String(String::new()), None),
            Err(detail) => {
                let bad = strict.then(|| format!("{}: {detail}", format.name()));
                (Value::String(response.body), bad)
            }
        };
        let answer = serde_json::json!({
            "status": response.status,
            "headers": headers,
            "body": body,
        });
        (answer, bad)
    }
}

/// The format of a response the config did not type.
fn format_of(content_type: &str, body: &str) -> Format {
    let content_type = content_type.to_ascii_lowercase();
    if content_type.contains("json") {
        Format::Json
    } else if content_type.contains("xml") {
        Format::Xml
    } else if !content_type.is_empty() {
        Format::Text
    } else {
        match body.trim_start().chars().next() {
            Some('{' | '[') => Format::Json,
            Some('<') => Format::Xml,
            _ => Format::Text,
        }
    }
}

fn build_body(cx: &mut BuildContext, what: &str, config: &CallConfig) -> Option<Body> {
    match (&config.body, config.body_from.as_deref()) {
        (Some(_), Some(_)) => {
            cx.error(format!("{what} has both `body` and `body_from`; expected one of them"));
            None
        }
        (Some(source), None) => {
            support::outbound_template(cx, &format!("{what} `body`"), source).map(|t| Body::Template(Box::new(t)))
        }
        (None, Some("outgoing")) => Some(Body::Outgoing),
        (None, Some(path)) => cx.path(path).map(Body::From),
        (None, None) => Some(Body::None),
    }
}

fn build_success(cx: &mut BuildContext, what: &str, entries: &[String]) -> Option<Vec<StatusMatch>> {
    if entries.is_empty() {
        cx.error(format!("{what} `success` lists no status; expected e.g. `[2xx]`"));
        return None;
    }
    let mut success = Vec::with_capacity(entries.len());
    let mut ok = true;
    for text in entries {
        match StatusMatch::parse(text) {
            Some(m) => success.push(m),
            None => {
                cx.error(format!(
                    "{what} `success` has `{text}`; expected a status such as `200` or a class such as `2xx`"
                ));
                ok = false;
            }
        }
    }
    ok.then_some(success)
}

impl fan_out::OutboundStep for CallStep {
    fn label(&self) -> String {
        format!("call `{}`", self.name)
    }

    /// Renders the request against `context`, the exchange's scopes (and
    /// with `each`, `item` and `index`).
    fn request(&self, context: &Value, ex: &Exchange) -> Result<OutboundRequest, StepError> {
        let render = |part: &str, template: &Template| {
            ex.secrets.render_outbound(template, context).map_err(|e| {
                StepError::failed(
                    "CALL_FAILED",
                    format!("call `{}`: cannot render {part}: {e}", self.name),
                )
            })
        };
        let url = render("the URL", &self.url)?;
        let mut url = Url::parse(url.trim()).map_err(|e| {
            StepError::failed(
                "CALL_FAILED",
                format!(
                    "call `{}`: the URL `{}` is not valid: {e}",
                    self.name,
                    support::shown_url(&url)
                ),
            )
        })?;
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, template) in &self.query {
                pairs.append_pair(key, &render(&format!("query `{key}`"), template)?);
            }
        }
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, template) in &self.headers {
            headers.push((name.clone(), render(&format!("header `{name}`"), template)?));
        }
        let (body, guessed_type) = match &self.body {
            Body::None => (String::new(), None),
            Body::Template(template) => {
                let body = render("the body", template)?;
                let guessed = support::guess_content_type(&body).to_string();
                (body, Some(guessed))
            }
            Body::From(path) => {
                let body = match ex.lookup(path) {
                    None | Some(Value::Null) => {
                        return Err(StepError::failed(
                            "CALL_FAILED",
                            format!("call `{}`: `{path}` is missing; expected the value to send", self.name),
                        ))
                    }
                    Some(Value::String(text)) => text,
                    Some(other) => other.to_string(),
                };
                let guessed = support::guess_content_type(&body).to_string();
                (body, Some(guessed))
            }
            Body::Outgoing => {
                let payload = ex
                    .outgoing()
                    .map_err(|e| StepError::failed("CALL_FAILED", format!("call `{}`: {e}", self.name)))?;
                (payload.body, Some(payload.content_type))
            }
        };
        let has_content_type = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if let (false, Some(content_type)) = (has_content_type, self.content_type.clone().or(guessed_type)) {
            headers.push(("Content-Type".to_string(), content_type));
        }
        Ok(OutboundRequest {
            name: self.name.clone(),
            method: self.method.clone(),
            url: url.to_string(),
            headers,
            body,
            timeout: self.timeout.0,
        })
    }

    /// What an answer comes to: the value `to` keeps (none when no answer
    /// came) and the step's error.
    fn outcome(&self, sent: Sent) -> ItemOutcome {
        let failed = |kept: Option<Value>, code: &str, message: String| ItemOutcome {
            kept,
            error: Some(StepError::failed(code, message)),
        };
        let (name, shown) = (&self.name, sent.shown_url.clone());
        let response = match sent.response(&format!("call `{name}`"), "CALL") {
            Ok(response) => response,
            Err(error) => return failed_without_answer(error),
        };
        let succeeded = self.success.iter().any(|m| m.matches(response.status));
        let status = response.status;
        let (answer, bad_body) = self.answer(response, succeeded);
        if !succeeded {
            let message = format!(
                "call `{name}` to {shown} answered {status}; expected {}",
                self.success_text
            );
            return failed(Some(answer), "CALL_FAILED", message);
        }
        if let Some(detail) = bad_body {
            let message = format!("call `{name}` to {shown} answered a body that is not valid {detail}");
            return failed(Some(answer), "CALL_BAD_RESPONSE", message);
        }
        ItemOutcome {
            kept: Some(answer),
            error: None,
        }
    }

    fn keep(&self, ex: &mut Exchange, answer: Value) -> Result<(), StepError> {
        ex.assign(&self.to, answer)
            .map_err(|e| StepError::failed("CALL_FAILED", format!("call `{}`: {e}", self.name)))
    }

    fn unanswered(&self) -> Value {
        serde_json::json!({ "status": null, "headers": {}, "body": null })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{Outbound, Recorder};
    use crate::steps::support::build_for_test;
    use crate::steps::ErrorKind;
    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::routing::{any, get};
    use axum::{Json, Router};
    use serde_json::json;
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    fn step(yaml: &str) -> CallStep {
        build_for_test(yaml, CallStep::build).unwrap()
    }

    fn build_error(yaml: &str) -> String {
        build_for_test(yaml, CallStep::build)
            .err()
            .expect("the build should fail")
    }

    fn exchange(body: Value) -> Exchange {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.body = body.into();
        ex
    }

    fn live() -> RunEnv {
        RunEnv {
            outbound: Outbound::live(),
        }
    }

    /// Echoes what it received, so tests can see the request that was sent.
    async fn echo(request: Request) -> Json<Value> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let header = |name: &str| parts.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        Json(json!({
            "method": parts.method.as_str(),
            "uri": parts.uri.to_string(),
            "token": header("x-token"),
            "content_type": header("content-type"),
            "body": String::from_utf8(body.to_vec()).unwrap(),
        }))
    }

    async fn serve() -> SocketAddr {
        let app = Router::new()
            .route(
                "/patients/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                    Json(json!({"id": id, "name": "张三"}))
                }),
            )
            .route("/echo", any(echo))
            .route(
                "/down",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "maintenance"}))) }),
            )
            .route(
                "/html",
                get(|| async { ([("content-type", "application/json")], "<html>oops</html>") }),
            )
            .route(
                "/xml",
                get(|| async { ([("content-type", "text/xml")], "<root><a>1</a></root>") }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn keeps_a_successful_answer_in_a_variable() {
        let addr = serve().await;
        let step = step(&format!(
            r#"{{ name: his-patient, url: "http://{addr}/patients/{{{{ body.patientId | urlencode }}}}", to: vars.patient }}"#
        ));
        let mut ex = exchange(json!({"patientId": "P 1"}));
        assert_eq!(step.run(&mut ex, &live()).await, Ok(Flow::Continue));
        let patient = &ex.vars["patient"];
        assert_eq!(patient["status"], json!(200));
        assert_eq!(patient["headers"]["content-type"], json!("application/json"));
        assert_eq!(patient["body"], json!({"id": "P 1", "name": "张三"}));
    }

    #[tokio::test]
    async fn sends_method_query_headers_and_a_body_template() {
        let addr = serve().await;
        let yaml = format!(
            r#"
name: echo
url: "http://{addr}/echo"
query: {{ name: "{{{{ body.name }}}}", page: "1" }}
headers: {{ X-Token: "t-{{{{ vars.token }}}}" }}
body: '{{"id": "{{{{ body.id }}}}"}}'
"#
        );
        let mut ex = exchange(json!({"name": "张 三&", "id": "A1"}));
        ex.vars.insert("token".into(), json!("42"));
        step(&yaml).run(&mut ex, &live()).await.unwrap();
        let seen = &ex.vars["echo"]["body"];
        assert_eq!(seen["method"], json!("POST"), "a body makes POST the default");
        assert_eq!(seen["uri"], json!("/echo?name=%E5%BC%A0+%E4%B8%89%26&page=1"));
        assert_eq!(seen["token"], json!("t-42"));
        assert_eq!(seen["content_type"], json!("application/json; charset=utf-8"));
        assert_eq!(seen["body"], json!(r#"{"id": "A1"}"#));
    }

    #[tokio::test]
    async fn sends_the_outgoing_payload_or_a_value() {
        let addr = serve().await;
        let mut ex = exchange(json!({"a": 1}));
        ex.out = Some(crate::exchange::Payload {
            content_type: "application/soap+xml; charset=utf-8".into(),
            body: "<Envelope/>".into(),
        });
        let outgoing = step(&format!(
            "{{ name: echo, method: put, url: 'http://{addr}/echo', body_from: outgoing }}"
        ));
        outgoing.run(&mut ex, &live()).await.unwrap();
        let seen = &ex.vars["echo"]["body"];
        assert_eq!(seen["method"], json!("PUT"));
        assert_eq!(seen["body"], json!("<Envelope/>"));
        assert_eq!(seen["content_type"], json!("application/soap+xml; charset=utf-8"));

        let value = step(&format!("{{ name: echo, url: 'http://{addr}/echo', body_from: body }}"));
        value.run(&mut ex, &live()).await.unwrap();
        assert_eq!(ex.vars["echo"]["body"]["body"], json!(r#"{"a":1}"#));
    }

    #[tokio::test]
    async fn a_status_outside_success_fails_and_keeps_the_answer() {
        let addr = serve().await;
        let mut ex = exchange(json!({}));
        let err = step(&format!("{{ name: his, url: 'http://{addr}/down?token=secret' }}"))
            .run(&mut ex, &live())
            .await
            .unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Failed, "CALL_FAILED"));
        assert_eq!(
            err.message,
            format!("call `his` to http://{addr}/down answered 503; expected 2xx")
        );
        assert_eq!(ex.vars["his"]["status"], json!(503));
        assert_eq!(ex.vars["his"]["body"], json!({"error": "maintenance"}));

        let tolerant = step(&format!(
            "{{ name: his, url: 'http://{addr}/down', success: [2xx, 503] }}"
        ));
        assert_eq!(tolerant.run(&mut ex, &live()).await, Ok(Flow::Continue));
    }

    #[tokio::test]
    async fn a_slow_service_times_out() {
        let addr = serve().await;
        let started = std::time::Instant::now();
        let err = step(&format!("{{ name: slow, url: 'http://{addr}/slow', timeout: 200ms }}"))
            .run(&mut exchange(json!({})), &live())
            .await
            .unwrap_err();
        assert_eq!(err.code, "CALL_TIMEOUT");
        assert_eq!(
            err.message,
            format!("call `slow` to http://{addr}/slow timed out after 200ms")
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_refused_connection_fails() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = step(&format!("{{ name: gone, url: 'http://{addr}/x' }}"))
            .run(&mut exchange(json!({})), &live())
            .await
            .unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Failed, "CALL_FAILED"));
        assert!(
            err.message
                .starts_with(&format!("call `gone` to http://{addr}/x failed: connection failed")),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_typed_response_must_parse() {
        let addr = serve().await;
        let mut ex = exchange(json!({}));
        let err = step(&format!("{{ name: his, url: 'http://{addr}/html', response: json }}"))
            .run(&mut ex, &live())
            .await
            .unwrap_err();
        assert_eq!(err.code, "CALL_BAD_RESPONSE");
        assert!(
            err.message
                .contains("is not valid JSON: expected value at line 1 column 1"),
            "{}",
            err.message
        );
        assert_eq!(ex.vars["his"]["body"], json!("<html>oops</html>"));

        let text = step(&format!("{{ name: his, url: 'http://{addr}/html', response: text }}"));
        assert_eq!(text.run(&mut ex, &live()).await, Ok(Flow::Continue));
        assert_eq!(ex.vars["his"]["body"], json!("<html>oops</html>"));
    }

    #[tokio::test]
    async fn an_untyped_response_that_does_not_parse_stays_text() {
        let addr = serve().await;
        let mut ex = exchange(json!({}));
        step(&format!("{{ name: his, url: 'http://{addr}/html' }}"))
            .run(&mut ex, &live())
            .await
            .unwrap();
        assert_eq!(ex.vars["his"]["body"], json!("<html>oops</html>"));
    }

    #[tokio::test]
    async fn parses_an_xml_answer() {
        let addr = serve().await;
        let mut ex = exchange(json!({}));
        step(&format!("{{ name: his, url: 'http://{addr}/xml' }}"))
            .run(&mut ex, &live())
            .await
            .unwrap();
        assert_eq!(ex.vars["his"]["body"], json!({"root": {"a": "1"}}));
    }

    #[tokio::test]
    async fn answers_from_recorded_responses_under_test() {
        let answer = OutboundResponse {
            status: 200,
            headers: vec![],
            body: r#"{"token": "abc"}"#.into(),
        };
        let recorder = Arc::new(Recorder::new(HashMap::from([("auth".to_string(), vec![answer])])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step(
            r#"{ name: auth, url: "http://auth.local/token", body: '{"user": "{{ vars.user }}"}', timeout: 3s, to: vars.auth }"#,
        );
        let mut ex = exchange(json!({}));
        ex.vars.insert("user".into(), json!("his"));
        step.run(&mut ex, &env).await.unwrap();
        assert_eq!(
            ex.vars["auth"]["body"]["token"],
            json!("abc"),
            "a body without a type is read by its look"
        );
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].url.as_str(), seen[0].body.as_str()),
            ("POST", "http://auth.local/token", r#"{"user": "his"}"#)
        );
        assert_eq!(seen[0].timeout, Duration::from_secs(3));
    }

    #[tokio::test]
    async fn each_calls_once_per_item_and_keeps_every_answer_in_item_order() {
        let addr = serve().await;
        let step = step(&format!(
            r#"{{ name: patients, url: "http://{addr}/{{{{ item.path }}}}", query: {{ at: "{{{{ index }}}}" }},
                 each: vars.wanted, concurrency: 2, to: vars.found }}"#
        ));
        let mut ex = exchange(json!({}));
        ex.vars.insert(
            "wanted".into(),
            json!([{"path": "patients/P1"}, {"path": "down"}, {"path": "patients/P3"}, {"path": "xml"}]),
        );
        assert_eq!(step.run(&mut ex, &live()).await, Ok(Flow::Continue));
        let found = ex.vars["found"].as_array().unwrap();
        assert_eq!(found[0]["body"], json!({"id": "P1", "name": "张三"}));
        assert_eq!((&found[0]["item_index"], &found[0]["error"]), (&json!(0), &json!(null)));
        assert_eq!(found[1]["status"], json!(503), "a failed status keeps its answer");
        assert_eq!(
            found[1]["error"],
            json!({"code": "CALL_FAILED", "message": format!("call `patients` to http://{addr}/down answered 503; expected 2xx")})
        );
        assert_eq!(found[2]["body"]["id"], json!("P3"));
        assert_eq!(found[3]["body"], json!({"root": {"a": "1"}}));
        assert_eq!(found.len(), 4);
    }

    #[tokio::test]
    async fn each_fails_the_step_as_fail_on_says() {
        let addr = serve().await;
        let yaml = |fail_on: &str| {
            format!("{{ name: p, url: 'http://{addr}/{{{{ item }}}}', each: body.paths, fail_on: {fail_on}, timeout: 300ms }}")
        };
        let mut ex = exchange(json!({"paths": ["patients/P1", "down", "slow"]}));
        assert_eq!(step(&yaml("none")).run(&mut ex, &live()).await, Ok(Flow::Continue));
        assert_eq!(ex.vars["p"][2]["error"]["code"], json!("CALL_TIMEOUT"));
        let err = step(&yaml("any")).run(&mut ex, &live()).await.unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message),
            (
                "CALL_FAILED",
                format!("item 1 of 3: call `p` to http://{addr}/down answered 503; expected 2xx")
            )
        );
        assert_eq!(step(&yaml("all")).run(&mut ex, &live()).await, Ok(Flow::Continue));
        let mut ex = exchange(json!({"paths": ["down", "slow"]}));
        let err = step(&yaml("all")).run(&mut ex, &live()).await.unwrap_err();
        assert!(
            err.message.starts_with("all 2 items failed; item 0: call `p`"),
            "{}",
            err.message
        );
        let err = step(&yaml("none"))
            .run(&mut exchange(json!({"paths": {"a": 1}})), &live())
            .await
            .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            (
                "EACH_NOT_A_LIST",
                "call `p` `each` `body.paths` is an object; expected a list"
            )
        );
    }

    #[tokio::test]
    async fn a_call_without_a_recorded_response_fails_under_test() {
        let env = RunEnv {
            outbound: Outbound::Recorded(Arc::new(Recorder::default())),
        };
        let err = step("{ name: his, url: 'http://his.local/x' }")
            .run(&mut exchange(json!({})), &env)
            .await
            .unwrap_err();
        assert_eq!(err.code, "CALL_FAILED");
        assert!(
            err.message.contains("the test recorded no response for `his`"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_url_that_renders_badly_fails_without_sending() {
        let env = RunEnv {
            outbound: Outbound::Recorded(Arc::new(Recorder::default())),
        };
        let mut ex = exchange(json!({"base": ""}));
        let err = step("{ name: his, url: '{{ body.base }}/x?key=secret' }")
            .run(&mut ex, &env)
            .await
            .unwrap_err();
        assert_eq!(err.code, "CALL_FAILED");
        assert!(
            err.message
                .starts_with("call `his`: the URL `/x` is not valid: relative URL"),
            "{}",
            err.message
        );
        let err = step("{ name: his, url: 'http://his/{{ body.nothing.here }}' }")
            .run(&mut ex, &env)
            .await
            .unwrap_err();
        assert!(
            err.message.starts_with("call `his`: cannot render the URL: "),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn renders_secrets_as_it_sends_and_keeps_them_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.yaml");
        std::fs::write(&file, "hospital-a: secret-of-a\n").unwrap();
        let secrets = Arc::new(crate::secrets::Secrets::load(&file, Vec::new()).unwrap());
        let recorder = Arc::new(Recorder::new(HashMap::from([(
            "his".to_string(),
            vec![OutboundResponse {
                status: 200,
                headers: vec![],
                body: "{}".into(),
            }],
        )])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step(
            r#"{ name: his, url: "http://his.local/q", query: { key: '{{ secrets["hospital-a"] }}' }, headers: { X-Secret: '{{ secrets["hospital-a"] }}' }, body: '<s>{{ secrets["hospital-a"] }}</s>' }"#,
        );
        let mut ex = exchange(json!({"id": 1}));
        ex.secrets = secrets;
        step.run(&mut ex, &env).await.unwrap();
        let seen = recorder.seen.lock().unwrap().clone();
        assert_eq!(seen[0].url, "http://his.local/q?key=secret-of-a");
        assert!(seen[0]
            .headers
            .contains(&("X-Secret".to_string(), "secret-of-a".to_string())));
        assert_eq!(seen[0].body, "<s>secret-of-a</s>");
        assert!(!format!("{:?}{:?}", ex.body, ex.vars).contains("secret-of-a"));

        let in_path = self::step(r#"{ name: gone, url: 'http://his.local/{{ secrets["hospital-a"] }}/x' }"#);
        let error = in_path.run(&mut ex, &env).await.unwrap_err();
        assert_eq!(error.message, "call `gone` to http://his.local/******/x failed: connection failed: the test recorded no response for `gone`");
    }

    #[test]
    fn hides_credentials_and_queries_in_shown_urls() {
        assert_eq!(
            support::shown_url("http://user:pw@his.local:8080/api?token=s#f"),
            "http://his.local:8080/api"
        );
        assert_eq!(support::shown_url("not a url?token=s"), "not a url");
    }

    #[test]
    fn matches_statuses_and_classes() {
        assert_eq!(StatusMatch::parse("2XX"), Some(StatusMatch::Class(2)));
        assert_eq!(StatusMatch::parse("404"), Some(StatusMatch::Code(404)));
        assert_eq!(StatusMatch::parse("6xx"), None);
        assert_eq!(StatusMatch::parse("99"), None);
        assert!(StatusMatch::Class(2).matches(204));
        assert!(!StatusMatch::Class(2).matches(301));
    }

    #[test]
    fn checks_its_config_when_built() {
        assert!(build_error("{ name: 'his patient', url: 'http://h/' }").contains("must be letters, digits"));
        assert!(build_error("{ name: his, url: 'ftp://h/' }").contains("the scheme `ftp`"));
        assert!(build_error("{ name: his, url: 'his.local/api' }").contains("is not a valid URL"));
        assert!(build_error("{ name: his, url: 'http://h/{{ x ' }")
            .contains("call `his` `url` is not a valid template: at line 1"));
        assert!(build_error("{ name: his, url: 'http://h/', method: 'GE T' }").contains("is not an HTTP method"));
        assert!(
            build_error("{ name: his, url: 'http://h/', body: a, body_from: outgoing }")
                .contains("both `body` and `body_from`")
        );
        assert!(build_error("{ name: his, url: 'http://h/', success: [2xx, ok] }").contains("`success` has `ok`"));
        assert!(build_error("{ name: his, url: 'http://h/', success: [] }").contains("lists no status"));
        assert!(build_error("{ name: his, url: 'http://h/', timeout: soon }").contains("expected e.g. `500ms`"));
        assert!(build_error("{ name: his, url: 'http://h/', response: yaml }").contains("yaml"));
        assert!(build_error("{ name: his, url: 'http://h/', timeout: 0s }").contains("`timeout` is 0"));
        assert!(build_error("{ name: his, url: 'http://h/', to: msg.x }").contains("read-only"));
        assert!(build_error("{ name: his, url: 'http://h/', query: { q: '{% if %}' } }")
            .contains("query `q` is not a valid template"));
        assert!(build_error("{ name: his, url: 'http://h/', headers: { 'a b': x } }")
            .contains("not a valid HTTP header name"));
        assert!(build_error("{ name: his, uri: 'http://h/' }").contains("unknown field `uri`"));
        assert!(build_error("{ name: his, url: 'http://h/', concurrency: 2 }")
            .contains("sets `concurrency` without `each`"));
        assert!(build_error("{ name: his, url: 'http://h/', each: vars.x, fail_on: most }").contains("most"));
    }
}
