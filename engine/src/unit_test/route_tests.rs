//! Tests written in a route file's `tests:` list.

use super::expect::{text_diff, value_diff, values_match};
use super::CaseResult;
use crate::config::Located;
use crate::destinations::{Endpoint, Outgoing};
use crate::exchange::Exchange;
use crate::journal::MessageStatus;
use crate::outbound::{Outbound, OutboundResponse, Recorder};
use crate::runtime::pipeline;
use crate::runtime::snapshot::{Route, Snapshot};
use crate::steps::RunEnv;
use crate::value::Path;
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
    /// Recorded answers for `call` steps and `http` destinations, by their
    /// name. A list answers successive requests in order (the last repeats).
    #[serde(default)]
    pub responses: BTreeMap<String, OneOrMany<OutboundResponse>>,
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
    /// For `http` destinations: the URL the request goes to.
    #[serde(default)]
    pub url: Option<String>,
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
    let raw = input_bytes(route, &test.input)?;
    let mut headers = test.input.headers.clone();
    if let Some(content_type) = &test.input.content_type {
        headers.insert("content-type".into(), content_type.clone().into());
    }
    let mut ex = Exchange::new(&route.id, raw.into(), test.input.content_type.clone(), headers);
    ex.config = snapshot.settings.values.clone();
    let responses: HashMap<String, Vec<OutboundResponse>> = test
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
    let processed = pipeline::process(route, &mut ex, &env).await;
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
        if let Some(url) = &expected.url {
            let destination = route.destinations.iter().find(|d| &d.name == name);
            if let Some(Endpoint::Http(endpoint)) = destination.map(|d| &d.endpoint) {
                let context = crate::runtime::delivery::with_config(&delivery.context, &snapshot.settings.values);
                let outgoing = Outgoing {
                    message_id: &ex.id,
                    destination: name,
                    payload: &delivery.payload,
                    content_type: &delivery.content_type,
                    context: &context,
                };
                match endpoint.request(&outgoing) {
                    Ok(request) if &request.url == url => {}
                    Ok(request) => failures.push(text_diff(&format!("destination `{name}` URL"), url, &request.url)),
                    Err(e) => failures.push(format!("destination `{name}`: the request could not be built: {e}")),
                }
            } else {
                failures.push(format!("destination `{name}`: `url` applies to http destinations only"));
            }
        }
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
            Ok(value) if values_match(json, &value) => {}
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
