//! Tests written in a route file's `tests:` list.

use super::expect::{json_matches, text_diff, value_diff, values_match};
use super::CaseResult;
use crate::config::Located;
use crate::destinations::{Endpoint, Outgoing};
use crate::exchange::Exchange;
use crate::journal::MessageStatus;
use crate::outbound::{Outbound, OutboundRequest, RecordedResponse, Recorder};
use crate::runtime::pipeline;
use crate::runtime::snapshot::{Route, Snapshot, Source};
use crate::sources::soap as soap_source;
use crate::steps::{RunEnv, StepError};
use crate::value::Path;
use medbus_adapters::soap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One unit test of a route: an input, recorded answers for outbound
/// calls, and what must come out.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteTest {
    /// What the test shows, e.g. `a complete registration is accepted`.
    pub name: String,
    pub input: TestInput,
    /// What the databases hold before the input: `{ databases: { hub: [SQL, ...] } }`.
    #[serde(default)]
    pub given: super::databases::Given,
    /// Recorded answers for `call` and `soap` steps and `http` and `soap`
    /// destinations, by their name. A list answers successive requests in
    /// order (the last repeats); a step's `each` sends its items' requests
    /// in item order.
    #[serde(default)]
    pub responses: BTreeMap<String, OneOrMany<RecordedResponse>>,
    pub expect: TestExpectation,
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    /// The raw body as text; a YAML map or list is sent as its JSON.
    #[serde(default)]
    pub body: Option<Value>,
    /// A file holding the raw body, relative to the route file's folder.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Request headers (lower-case names), and for HTTP sources `query`.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// SOAP routes: the operation's parameters, each the string a client
    /// sends (XML as text). The test wraps them in a SOAP 1.1 envelope and
    /// reads it as the listener does; `body` or `file` may instead hold a
    /// whole envelope.
    #[serde(default)]
    pub params: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestExpectation {
    /// `processed`, `filtered`, `rejected` or `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// The error code of a rejected or failed message.
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub reply: Option<ReplyExpectation>,
    /// Values at paths after the steps ran, e.g. `vars.sexName: 男`.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// What each destination would be sent, by destination name.
    #[serde(default)]
    pub sent: BTreeMap<String, PayloadExpectation>,
    /// Destinations that must send nothing.
    #[serde(default)]
    pub not_sent: Vec<String>,
    /// What `call` and `soap` steps sent, by their name: the last request
    /// under that name, or with `name[n]` the n-th from 0 (a fan-out's item
    /// n: `beds[2]`). `body`, `json` and `contains` check its body.
    #[serde(default)]
    pub calls: BTreeMap<String, PayloadExpectation>,
    /// Rows the databases must hold afterwards, by database:
    /// `hub: [ { query: "SELECT ...", rows: [ {...} ] } ]`.
    #[serde(default)]
    pub databases: BTreeMap<String, Vec<super::databases::RowsExpectation>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyExpectation {
    #[serde(default)]
    pub status: Option<u16>,
    /// The whole body, exactly.
    #[serde(default)]
    pub body: Option<String>,
    /// The body parsed as JSON equals this value.
    #[serde(default)]
    pub json: Option<Value>,
    /// Texts the body must contain.
    #[serde(default)]
    pub contains: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadExpectation {
    /// The whole payload, exactly.
    #[serde(default)]
    pub body: Option<String>,
    /// The payload parsed as JSON equals this value.
    #[serde(default)]
    pub json: Option<Value>,
    /// Texts the payload must contain.
    #[serde(default)]
    pub contains: Vec<String>,
    /// For `http` and `soap` destinations and for calls: the URL the
    /// request goes to.
    #[serde(default)]
    pub url: Option<String>,
    /// For `soap` destinations and steps: parameters of the SOAP request,
    /// each compared exactly, e.g. `{ eventNo: E1 }`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

pub async fn run(snapshot: &Snapshot, route: &Arc<Route>) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for test in &route.spec.tests {
        let failures = match run_case(snapshot, route, test).await {
            Ok(failures) => failures,
            Err(problem) => vec![problem],
        };
        results.push(CaseResult {
            file: route.file.clone(),
            name: format!("{} :: {}", route.id, test.name),
            failures,
        });
    }
    results
}

async fn run_case(snapshot: &Snapshot, route: &Route, test: &Located<RouteTest>) -> Result<Vec<String>, String> {
    let (mut ex, input_error) = input_exchange(route, &test.input)?;
    ex.config = snapshot.settings.values.clone();
    ex.secrets = snapshot.settings.secrets.clone();
    let responses: HashMap<String, Vec<RecordedResponse>> = test
        .responses
        .iter()
        .map(|(name, r)| {
            let list = match r {
                OneOrMany::One(one) => vec![one.clone()],
                OneOrMany::Many(many) => many.clone(),
            };
            (name.clone(), list)
        })
        .collect();
    let recorder = Arc::new(Recorder::new(responses));
    let env = RunEnv {
        outbound: Outbound::Recorded(recorder.clone()),
    };
    super::databases::prepare(snapshot, &test.given).await?;
    let processed = match input_error {
        Some(error) => pipeline::finish(route, &mut ex, MessageStatus::Rejected, Some(error)),
        None => pipeline::process(route, &mut ex, &env).await,
    };
    let expect = &test.expect;
    let mut failures = Vec::new();
    super::databases::deliver(snapshot, route, &ex.id, &processed.deliveries, &mut failures).await;

    let status = status_name(processed.status);
    let wanted_status = expect.status.as_deref().or(if expect.error_code.is_some() {
        None
    } else {
        Some("processed")
    });
    if let Some(wanted) = wanted_status {
        if wanted != status {
            let why = processed
                .error
                .as_ref()
                .map(|e| format!(" ({}: {})", e.code, e.message))
                .unwrap_or_default();
            failures.push(format!("status: expected {wanted}, got {status}{why}"));
        }
    }
    if let Some(code) = &expect.error_code {
        let actual = processed
            .error
            .as_ref()
            .map(|e| e.code.as_str())
            .unwrap_or("(no error)");
        if actual != code {
            failures.push(text_diff("error code", code, actual));
        }
    }
    if let Some(reply) = &expect.reply {
        check_reply(reply, &processed.reply, &mut failures);
    }
    for (path_text, expected) in &expect.values {
        let path: Path = path_text.parse().map_err(|e| format!("values: {e}"))?;
        let actual = ex.lookup(&path).unwrap_or(Value::Null);
        if !values_match(expected, &actual) {
            failures.push(value_diff(&format!("value at `{path_text}`"), expected, &actual));
        }
    }
    for (name, expected) in &expect.sent {
        let Some(delivery) = processed.deliveries.iter().find(|d| &d.destination == name) else {
            failures.push(format!(
                "destination `{name}`: expected a payload, nothing would be sent"
            ));
            continue;
        };
        check_payload(name, expected, &delivery.payload, &mut failures);
        if expected.url.is_some() || !expected.params.is_empty() {
            let what = format!("destination `{name}`");
            let context = crate::runtime::delivery::with_config(&delivery.context, &snapshot.settings.values);
            let outgoing = Outgoing {
                message_id: &ex.id,
                destination: name,
                payload: &delivery.payload,
                content_type: &delivery.content_type,
                context: &context,
            };
            match route.destinations.iter().find(|d| &d.name == name).map(|d| &d.endpoint) {
                Some(Endpoint::Http(endpoint)) => check_request(
                    &what,
                    expected,
                    endpoint.request(&outgoing, &snapshot.settings.secrets),
                    &mut failures,
                ),
                Some(Endpoint::Soap(endpoint)) => check_request(
                    &what,
                    expected,
                    endpoint.request(&outgoing, &snapshot.settings.secrets),
                    &mut failures,
                ),
                _ => failures.push(format!(
                    "{what}: `url` and `params` apply to http and soap destinations only"
                )),
            }
        }
    }
    let seen = recorder.seen.lock().unwrap().clone();
    for (name, expected) in &expect.calls {
        let what = format!("call `{name}`");
        let nth = name
            .strip_suffix(']')
            .and_then(|rest| rest.rsplit_once('['))
            .and_then(|(base, n)| Some((base, n.parse::<usize>().ok()?)));
        let request = match nth {
            Some((base, n)) => seen.iter().filter(|r| r.name == base).nth(n),
            None => seen.iter().rev().find(|r| &r.name == name),
        };
        let Some(request) = request else {
            failures.push(format!("{what}: expected a request, none was sent"));
            continue;
        };
        check_text(
            &format!("{what} request body"),
            expected.body.as_deref(),
            expected.json.as_ref(),
            &expected.contains,
            &request.body,
            &mut failures,
        );
        check_request(&what, expected, Ok(request.clone()), &mut failures);
    }
    for name in &expect.not_sent {
        if processed.deliveries.iter().any(|d| &d.destination == name) {
            failures.push(format!(
                "destination `{name}`: expected nothing sent, but a payload would be"
            ));
        }
    }
    super::databases::check(snapshot, &expect.databases, &mut failures).await?;
    Ok(failures)
}

/// The exchange the route's source would make of the input, and the error
/// that rejects it before the steps run (a SOAP param holding bad XML).
fn input_exchange(route: &Route, input: &TestInput) -> Result<(Exchange, Option<StepError>), String> {
    let mut headers = input.headers.clone();
    if let Source::Mllp { .. } = &route.source {
        if input.params.is_some() {
            return Err("input: `params` applies to SOAP routes only".into());
        }
        // Test files are written with line ends; HL7 ends segments with CR.
        let raw = String::from_utf8_lossy(&input_bytes(route, input)?)
            .replace("\r\n", "\r")
            .replace('\n', "\r");
        return Ok(crate::sources::mllp::test_exchange(route, raw.trim_end().as_bytes()));
    }
    let Source::Soap { config, .. } = &route.source else {
        if input.params.is_some() {
            return Err("input: `params` applies to SOAP routes only".into());
        }
        let raw = input_bytes(route, input)?;
        if let Some(content_type) = &input.content_type {
            headers.insert("content-type".into(), content_type.clone().into());
        }
        return Ok((
            Exchange::new(&route.id, raw.into(), input.content_type.clone(), headers),
            None,
        ));
    };
    let (content_type, action, raw) = match &input.params {
        Some(_) if input.body.is_some() || input.file.is_some() => {
            return Err("input: give `params` or a whole envelope in `body`/`file`, not both".into())
        }
        Some(params) => {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (content_type, action, body) = soap::request_envelope(
                soap::SoapVersion::V11,
                &config.namespace,
                &config.operation,
                &params,
                None,
            );
            (content_type, action, body.into_bytes())
        }
        None => {
            let content_type = input
                .content_type
                .clone()
                .unwrap_or_else(|| "text/xml; charset=utf-8".into());
            let action = headers.get("soapaction").and_then(Value::as_str).map(str::to_string);
            (content_type, action, input_bytes(route, input)?)
        }
    };
    let request = soap::parse_request(&raw, &content_type, action.as_deref())
        .map_err(|e| format!("input: not a SOAP call the listener would take: {e}"))?;
    if request.operation != config.operation {
        return Err(format!(
            "input: the envelope calls `{}`, but this route serves `{}`",
            request.operation, config.operation
        ));
    }
    headers.insert("content-type".into(), content_type.into());
    Ok(soap_source::exchange(route, request, raw.into(), headers))
}

fn input_bytes(route: &Route, input: &TestInput) -> Result<Vec<u8>, String> {
    match (&input.body, &input.file) {
        (Some(_), Some(_)) => Err("input: give `body` or `file`, not both".into()),
        (Some(Value::String(text)), None) => Ok(text.clone().into_bytes()),
        (Some(value), None) => Ok(value.to_string().into_bytes()),
        (None, Some(file)) => {
            let folder = route.file.parent().unwrap_or(std::path::Path::new("."));
            let path = folder.join(file);
            std::fs::read(&path).map_err(|e| format!("input file {}: {e}", path.display()))
        }
        (None, None) => Ok(Vec::new()),
    }
}

fn status_name(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::Processed => "processed",
        MessageStatus::Filtered => "filtered",
        MessageStatus::Rejected => "rejected",
        MessageStatus::Failed => "failed",
    }
}

fn check_reply(expected: &ReplyExpectation, reply: &crate::exchange::Reply, failures: &mut Vec<String>) {
    if let Some(status) = expected.status {
        if status != reply.status {
            failures.push(format!(
                "reply status: expected {status}, got {}\n  body: {}",
                reply.status, reply.body
            ));
        }
    }
    check_text(
        "reply body",
        expected.body.as_deref(),
        expected.json.as_ref(),
        &expected.contains,
        &reply.body,
        failures,
    );
}

fn check_payload(name: &str, expected: &PayloadExpectation, payload: &str, failures: &mut Vec<String>) {
    let what = format!("destination `{name}` payload");
    check_text(
        &what,
        expected.body.as_deref(),
        expected.json.as_ref(),
        &expected.contains,
        payload,
        failures,
    );
}

/// Checks a request's URL and, for a SOAP request, its parameters.
fn check_request(
    what: &str,
    expected: &PayloadExpectation,
    request: Result<OutboundRequest, String>,
    failures: &mut Vec<String>,
) {
    let request = match request {
        Ok(request) => request,
        Err(e) => return failures.push(format!("{what}: the request could not be built: {e}")),
    };
    if let Some(url) = &expected.url {
        if url != &request.url {
            failures.push(text_diff(&format!("{what} URL"), url, &request.url));
        }
    }
    if expected.params.is_empty() {
        return;
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let sent = match soap::parse_request(
        request.body.as_bytes(),
        header("content-type").unwrap_or(""),
        header("soapaction"),
    ) {
        Ok(sent) => sent.params,
        Err(e) => {
            return failures.push(format!(
                "{what}: `params` applies to SOAP requests; this one is not: {e}"
            ))
        }
    };
    for (param, text) in &expected.params {
        match sent.iter().find(|(name, _)| name == param) {
            Some((_, actual)) if actual == text => {}
            Some((_, actual)) => failures.push(text_diff(&format!("{what} parameter `{param}`"), text, actual)),
            None => failures.push(format!("{what}: expected a parameter `{param}`, the request has none")),
        }
    }
}

fn check_text(
    what: &str,
    body: Option<&str>,
    json: Option<&Value>,
    contains: &[String],
    actual: &str,
    failures: &mut Vec<String>,
) {
    if let Some(body) = body {
        if body != actual {
            failures.push(text_diff(what, body, actual));
        }
    }
    if let Some(json) = json {
        match serde_json::from_str::<Value>(actual) {
            Ok(value) if json_matches(json, &value) => {}
            Ok(value) => failures.push(value_diff(what, json, &value)),
            Err(e) => failures.push(format!(
                "{what}: expected JSON, got text that does not parse ({e}):\n{actual}"
            )),
        }
    }
    for needle in contains {
        if !actual.contains(needle.as_str()) {
            failures.push(format!("{what}: expected to contain `{needle}`, got:\n{actual}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::snapshot::Snapshot;
    use crate::settings::Settings;
    use std::sync::Arc;

    /// A route whose soap step and soap destination are answered from
    /// recorded SOAP returns and faults, with expectations on the params.
    const ROUTE: &str = r#"
id: t.soap
source: { http: { path: /t } }
steps:
  - parse: { format: json }
  - soap:
      name: record
      url: http://platform.local/ws
      namespace: urn:p
      operation: getApplyRecord
      version: 1.2
      params: { eventNo: "{{ body.no }}" }
      into: vars.record
      error_when: '^error'
destinations:
  - name: hospital
    to:
      soap:
        url: "http://hospital.local/ws/{{ body.no }}"
        namespace: urn:h
        operation: pushApplyRecord
        params: { applyData: "{{ payload }}", name: "{{ vars.record.value.r.name }}" }
tests:
  - name: the record is fetched and forwarded
    input: { body: { no: E1 } }
    responses:
      record: { return: "<r><name>张三</name></r>" }
    expect:
      values: { vars.record.value.r.name: 张三, vars.record.text: "<r><name>张三</name></r>" }
      calls: { record: { params: { eventNo: E1 }, url: http://platform.local/ws, contains: [soap-envelope] } }
      sent: { hospital: { params: { applyData: '{"no":"E1"}', name: 张三 }, url: http://hospital.local/ws/E1 } }
  - name: a fault fails the message
    input: { body: { no: E2 } }
    responses:
      record: { status: 500, fault: { code: Server, string: database down } }
    expect: { status: failed, error_code: SOAP_FAULT, values: { vars.record.fault.string: database down } }
  - name: an error answer fails the message
    input: { body: { no: E3 } }
    responses:
      record: { return: "error:10002:not found" }
    expect: { status: failed, error_code: SOAP_ERROR_ANSWER, not_sent: [hospital] }
  - name: wrong expectations are reported
    input: { body: { no: E4 } }
    responses:
      record: { return: "<r><name>李四</name></r>" }
    expect:
      calls: { record: { params: { eventNo: E5, other: x } }, nothing: {} }
      sent: { hospital: { params: { name: 张三 } } }
  - name: a recorded answer with a body and a return is refused
    input: { body: { no: E6 } }
    responses:
      record: { body: "<x/>", return: ok }
    expect: { status: processed }
"#;

    /// Runs the tests of one route file, in a configuration of its own.
    async fn run_route_file(route: &str) -> Vec<super::CaseResult> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("routes")).unwrap();
        std::fs::write(dir.path().join("routes/t.yaml"), route).unwrap();
        let snapshot = Snapshot::load(Arc::new(Settings::for_dir(dir.path()))).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
            )
        });
        super::super::run(&snapshot, None).await
    }

    #[tokio::test]
    async fn soap_steps_and_destinations_are_answered_and_checked() {
        let results = run_route_file(ROUTE).await;
        let failures: Vec<&Vec<String>> = results.iter().map(|r| &r.failures).collect();
        assert!(failures[0].is_empty(), "{:?}", failures[0]);
        assert!(failures[1].is_empty(), "{:?}", failures[1]);
        assert!(failures[2].is_empty(), "{:?}", failures[2]);
        assert_eq!(
            failures[3],
            &vec![
                "destination `hospital` parameter `name`:\n  expected: 张三\n  actual:   李四".to_string(),
                "call `nothing`: expected a request, none was sent".to_string(),
                "call `record` parameter `eventNo`:\n  expected: E5\n  actual:   E4".to_string(),
                "call `record`: expected a parameter `other`, the request has none".to_string(),
            ]
        );
        assert_eq!(failures[4].len(), 1);
        assert!(
            failures[4][0].contains(
                "SOAP_FAILED: soap `record` to http://platform.local/ws failed: the recorded response for `record`: \
                 it has a `body` besides `return` or `fault`; expected one of them"
            ),
            "{:?}",
            failures[4]
        );
    }

    /// A JSON payload with a number sent as a string.
    const TYPES: &str = r#"
id: t.types
source: { http: { path: /types } }
steps:
  - parse: { format: json }
  - template: { inline: '{"value":"{{ body.value }}","unit":"g/L"}', content_type: application/json }
destinations:
  - name: platform
    to: { http: { url: http://platform.local/results } }
tests:
  - name: the value leaves as text
    input: { body: { value: 6.5 } }
    expect:
      values: { body.value: "6.5" }
      sent: { platform: { json: { value: "6.5", unit: g/L } } }
  - name: a number is expected
    input: { body: { value: 6.5 } }
    expect:
      sent: { platform: { json: { value: 6.5, unit: g/L } } }
"#;

    #[tokio::test]
    async fn json_expectations_tell_a_number_from_its_text() {
        let results = run_route_file(TYPES).await;
        assert!(results[0].failures.is_empty(), "{:?}", results[0].failures);
        assert_eq!(results[1].failures.len(), 1, "{:?}", results[1].failures);
        let failure = &results[1].failures[0];
        assert!(
            failure.contains("-  \"value\": 6.5") && failure.contains("+  \"value\": \"6.5\""),
            "{failure}"
        );
    }

    /// A fan-out (`each`) under test: recorded answers go to the items in
    /// item order, the last repeating, whatever `concurrency` says.
    const FAN_OUT: &str = r#"
id: t.beds
source: { http: { path: /beds } }
steps:
  - parse: { format: json }
  - soap:
      name: beds
      each: body.hospitals
      concurrency: 4
      url: "http://{{ item }}.local/ws"
      namespace: urn:h
      operation: getBedMes
      params: { hospital: "{{ item }}", at: "{{ index }}" }
      into: vars.beds
      error_when: '^error'
tests:
  - name: every hospital answers in order
    input: { body: { hospitals: [H1, H2, H3, H4] } }
    responses:
      beds:
        - { return: "<beds>1</beds>" }
        - { status: 500, fault: { code: Server, string: down } }
        - { return: "error:10003:unknown hospital" }
        - { return: "<beds>4</beds>" }
    expect:
      values:
        vars.beds[0].value.beds: "1"
        vars.beds[0].error: null
        vars.beds[1].error.code: SOAP_FAULT
        vars.beds[2].error: { code: SOAP_ERROR_ANSWER, message: "error:10003:unknown hospital" }
        vars.beds[3].value.beds: "4"
        vars.beds[3].item_index: 4
      calls:
        beds: { params: { hospital: H4, at: "3" }, url: http://H4.local/ws }
        beds[0]: { params: { hospital: H1, at: "0" } }
        beds[2]: { params: { hospital: H3 } }
        beds[4]: {}
  - name: no hospital, no call
    input: { body: { hospitals: [] } }
    expect: { values: { vars.beds: [] } }
"#;

    #[tokio::test]
    async fn fan_outs_take_recorded_answers_in_item_order() {
        let results = run_route_file(FAN_OUT).await;
        let failures: Vec<&Vec<String>> = results.iter().map(|r| &r.failures).collect();
        assert_eq!(
            failures[0],
            &vec![
                "value at `vars.beds[3].item_index`:\n  expected: 4\n  actual:   3".to_string(),
                "call `beds[4]`: expected a request, none was sent".to_string(),
            ],
            "only the deliberately wrong expectations fail"
        );
        assert!(failures[1].is_empty(), "{:?}", failures[1]);
    }
}
