//! The `soap` step: call an operation of a remote WebService while the
//! message is processed (ask a hospital for a diagnosis, a platform for a
//! record), its return kept in a variable for the steps after it.
//!
//! ```yaml
//! - soap:
//!     url: "{{ config.platform_url }}"
//!     namespace: http://service.emergency.example.cn/
//!     operation: getApplyRecord
//!     params: { eventNo: "{{ body.eventNo }}", secret: "{{ config.platform_secret }}" }
//!     into: vars.record
//!     error_when: '^error'
//! ```
//!
//! `into` receives `{status, text, value, fault}`: `text` is the return
//! string, `value` that string decoded (XML into the value tree, else the
//! text), `fault` a SOAP Fault's `{code, string, detail}`. The request is
//! built by [`SoapCall`], shared with the `soap` destination.
//!
//! With `each`, the step calls once per item of a list (templates see
//! `item` and `index`), several at once, and `into` receives a list of
//! those objects in item order (see [`super::fan_out`]).

use super::fan_out::{self, failed_without_answer, FailOn, FanOut, ItemOutcome, Sent};
use super::{BuildContext, Flow, RunEnv, StepError};
use crate::config::DurationText;
use crate::destinations::soap::{
    default_timeout, fault_line, read_answer, SoapAnswer, SoapCall, SoapDestinationConfig, SoapVersionText,
};
use crate::exchange::Exchange;
use crate::outbound::OutboundRequest;
use crate::value::{Path, Scope, Value};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// Call an operation of a SOAP WebService and keep its return.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoapStepConfig {
    /// Names the call in errors and traces, and keys its recorded responses
    /// in `medbus test`. Default: the operation.
    #[serde(default)]
    pub name: Option<String>,
    /// The service's address, a template, e.g. `"{{ config.platform_url }}"`.
    pub url: String,
    /// The service's target namespace, which qualifies the operation
    /// element, e.g. `http://service.emergency.example.cn/`.
    pub namespace: String,
    /// The operation to call, e.g. `getApplyRecord`.
    pub operation: String,
    /// The parameters in the order the service declares them: name ->
    /// template, e.g. `{ eventNo: "{{ body.eventNo }}" }`. A template that
    /// renders XML sends it as escaped text.
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
    /// How long to wait for the whole answer. Default: `30s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// Extra HTTP headers, each value a template. The content type and
    /// SOAPAction come from `version` and `action`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Where the answer is written, a path in `vars`, as `{status, text,
    /// value, fault}`. Default: `vars.<name>`.
    #[serde(default)]
    pub into: Option<String>,
    /// How the return text becomes `value`: `auto` decodes a text starting
    /// with `<` as XML (keeping the text if it does not parse), `xml`
    /// requires XML (`SOAP_BAD_ANSWER` otherwise), `text` keeps the text.
    /// Default: `auto`.
    #[serde(default)]
    pub parse: ReturnFormat,
    /// A regular expression on the return text that means the service
    /// refused, e.g. `^error`: a match fails the message with
    /// `SOAP_ERROR_ANSWER` and the text as the message. Without it, the
    /// steps after decide what the return means.
    #[serde(default)]
    pub error_when: Option<String>,
    /// Call once per item of the list at this path, e.g. `vars.hospitals`:
    /// the templates also see `item` (the element) and `index` (from 0),
    /// and `into` receives a list, one `{status, text, value, fault,
    /// item_index, error}` per item in item order, `error` being the item's
    /// `{code, message}` or null. An empty list calls nothing and keeps
    /// `[]`; at most 1000 items.
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

/// How a return string becomes a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnFormat {
    /// XML when the trimmed text starts with `<` and parses, else the text.
    #[default]
    Auto,
    /// XML, or the step fails.
    Xml,
    /// The text as it is.
    Text,
}

impl SoapStepConfig {
    /// The request part, as a destination would write it.
    fn request(&self) -> SoapDestinationConfig {
        SoapDestinationConfig {
            url: self.url.clone(),
            namespace: self.namespace.clone(),
            operation: self.operation.clone(),
            params: self.params.clone(),
            version: self.version.clone(),
            action: self.action.clone(),
            timeout: self.timeout,
            headers: self.headers.clone(),
            error_when: self.error_when.clone(),
        }
    }
}

pub struct SoapStep {
    name: String,
    call: SoapCall,
    into: Path,
    parse: ReturnFormat,
    fan_out: Option<FanOut>,
}

impl SoapStep {
    pub fn build(config: &SoapStepConfig, cx: &mut BuildContext) -> Option<Self> {
        let name = config.name.clone().unwrap_or_else(|| config.operation.clone());
        let mut ok = true;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            cx.error(format!(
                "soap `name` `{name}` must be letters, digits, `_`, `-` and `.`, e.g. `get-record`"
            ));
            ok = false;
        }
        let what = format!("soap `{name}`");
        let call = SoapCall::build(&config.request(), &what, cx);
        let into_text = config.into.clone().unwrap_or_else(|| format!("vars.{name}"));
        let into = match cx.path(&into_text) {
            Some(path) if path.scope == Scope::Vars && !path.segments.is_empty() && !path.has_wildcard() => Some(path),
            Some(_) => {
                cx.error(format!(
                    "{what} `into` `{into_text}` is not a path in `vars`; expected e.g. `vars.record`"
                ));
                None
            }
            None => None,
        };
        let fan_out = FanOut::build(cx, &what, config.each.as_deref(), config.concurrency, config.fail_on);
        if !ok {
            return None;
        }
        Some(SoapStep {
            name,
            call: call?,
            into: into?,
            parse: config.parse,
            fan_out: fan_out.ok()?,
        })
    }

    pub async fn run(&self, ex: &mut Exchange, env: &RunEnv) -> Result<Flow, StepError> {
        let context = ex.context_for(|name| self.call.uses(name));
        fan_out::run(self, self.fan_out.as_ref(), ex, env, context).await
    }

    /// The return as a value, or what is wrong with it when `parse: xml`.
    fn decode(&self, text: Option<&str>) -> Result<Value, String> {
        let Some(text) = text else {
            return match self.parse {
                ReturnFormat::Xml => Err("no return; expected XML".into()),
                _ => Ok(Value::Null),
            };
        };
        let looks_like_xml = text.trim_start().starts_with('<');
        match self.parse {
            ReturnFormat::Text => Ok(Value::String(text.to_string())),
            ReturnFormat::Auto if !looks_like_xml => Ok(Value::String(text.to_string())),
            ReturnFormat::Auto => Ok(super::parse::parse_text(super::parse::Format::Xml, text)
                .unwrap_or_else(|_| Value::String(text.to_string()))),
            ReturnFormat::Xml => super::parse::parse_text(super::parse::Format::Xml, text)
                .map_err(|detail| format!("a return that is not valid XML: {detail}")),
        }
    }
}

impl fan_out::OutboundStep for SoapStep {
    fn label(&self) -> String {
        format!("soap `{}`", self.name)
    }

    fn request(&self, context: &Value, ex: &Exchange) -> Result<OutboundRequest, StepError> {
        self.call
            .request(&self.name, context, &ex.secrets)
            .map_err(|e| StepError::failed("SOAP_FAILED", format!("soap `{}`: {e}", self.name)))
    }

    /// What an answer comes to: the value `into` keeps (none when the
    /// answer is not SOAP or never came) and the step's error.
    fn outcome(&self, sent: Sent) -> ItemOutcome {
        let failed = |kept: Option<Value>, code: &str, message: String| ItemOutcome {
            kept,
            error: Some(StepError::failed(code, message)),
        };
        let (name, shown) = (&self.name, sent.shown_url.clone());
        let response = match sent.response(&format!("soap `{name}`"), "SOAP") {
            Ok(response) => response,
            Err(error) => return failed_without_answer(error),
        };
        let status = response.status;
        let answer = match read_answer(&response) {
            SoapAnswer::Returned(text) => text,
            SoapAnswer::Fault(fault) => {
                let detail = json!({ "code": fault.code, "string": fault.string, "detail": fault.detail });
                let kept = json!({ "status": status, "text": null, "value": null, "fault": detail });
                return failed(Some(kept), "SOAP_FAULT", fault_line(&fault));
            }
            SoapAnswer::NotSoap { status, reason } => {
                return failed(
                    None,
                    "SOAP_BAD_ANSWER",
                    format!("soap `{name}` to {shown} answered HTTP {status}, not a SOAP answer: {reason}"),
                )
            }
        };
        let value = match self.decode(answer.as_deref()) {
            Ok(value) => value,
            Err(detail) => {
                return failed(
                    None,
                    "SOAP_BAD_ANSWER",
                    format!("soap `{name}` to {shown} returned {detail}"),
                )
            }
        };
        let text = answer.clone().map_or(Value::Null, Value::String);
        let kept = Some(json!({ "status": status, "text": text, "value": value, "fault": null }));
        match answer {
            Some(text) if self.call.refuses(&text) => failed(kept, "SOAP_ERROR_ANSWER", text),
            _ => ItemOutcome { kept, error: None },
        }
    }

    fn keep(&self, ex: &mut Exchange, answer: Value) -> Result<(), StepError> {
        ex.assign(&self.into, answer)
            .map_err(|e| StepError::failed("SOAP_FAILED", format!("soap `{}`: {e}", self.name)))
    }

    fn unanswered(&self) -> Value {
        json!({ "status": null, "text": null, "value": null, "fault": null })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destinations::soap::test_service;
    use crate::outbound::{Outbound, RecordedFault, RecordedFaultCode, RecordedResponse, Recorder};
    use crate::steps::support::build_for_test;
    use crate::steps::ErrorKind;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    fn step(yaml: &str) -> SoapStep {
        build_for_test(yaml, SoapStep::build).unwrap()
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

    fn call(addr: std::net::SocketAddr, operation: &str, more: &str) -> SoapStep {
        step(&format!(
            "{{ url: 'http://{addr}/ws', namespace: 'urn:h', operation: {operation}{more} }}"
        ))
    }

    #[tokio::test]
    async fn keeps_an_xml_return_decoded_and_as_text() {
        let (addr, seen) = test_service::start().await;
        let mut ex = exchange(json!({"id": "P1"}));
        let step = call(
            addr,
            "patient",
            ", params: { id: '{{ body.id }}' }, into: vars.p, version: '1.2'",
        );
        assert_eq!(step.run(&mut ex, &live()).await, Ok(Flow::Continue));
        let text = "<patient><id>P1</id><name>张三</name></patient>";
        assert_eq!(
            ex.vars["p"],
            json!({"status": 200, "text": text, "value": {"patient": {"id": "P1", "name": "张三"}}, "fault": null})
        );
        let (content_type, action, _) = seen.lock().unwrap()[0].clone();
        assert_eq!(
            (content_type.as_str(), action),
            ("application/soap+xml; charset=utf-8", None)
        );
    }

    #[tokio::test]
    async fn keeps_other_returns_as_text_and_parses_as_told() {
        let (addr, _) = test_service::start().await;
        let mut ex = exchange(json!({}));
        call(addr, "echo", ", params: { a: '<b>', c: x }")
            .run(&mut ex, &live())
            .await
            .unwrap();
        assert_eq!(ex.vars["echo"]["value"], json!("a=<b>|c=x"), "not XML as a whole: text");
        call(addr, "patient", ", parse: text, name: p")
            .run(&mut ex, &live())
            .await
            .unwrap();
        assert_eq!(ex.vars["p"]["value"], ex.vars["p"]["text"]);
        let err = call(addr, "echo", ", parse: xml, params: { a: '<b>' }")
            .run(&mut ex, &live())
            .await
            .unwrap_err();
        assert_eq!(err.code, "SOAP_BAD_ANSWER");
        assert!(
            err.message.starts_with(&format!(
                "soap `echo` to http://{addr}/ws returned a return that is not valid XML"
            )),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_fault_fails_the_message_and_is_kept() {
        let (addr, _) = test_service::start().await;
        let mut ex = exchange(json!({}));
        let err = call(addr, "crash", "").run(&mut ex, &live()).await.unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str(), err.message.as_str()),
            (ErrorKind::Failed, "SOAP_FAULT", "Server: database down")
        );
        assert_eq!(
            ex.vars["crash"]["fault"],
            json!({"code": "Server", "string": "database down", "detail": null})
        );
        assert_eq!(ex.vars["crash"]["status"], json!(500));
    }

    #[tokio::test]
    async fn error_when_turns_a_return_into_an_error() {
        let (addr, _) = test_service::start().await;
        let mut ex = exchange(json!({}));
        let err = call(addr, "refuse", ", error_when: '^error:'")
            .run(&mut ex, &live())
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.code.as_str(), err.message.as_str()),
            (
                ErrorKind::Failed,
                "SOAP_ERROR_ANSWER",
                "error:10001:applyNo is required"
            )
        );
        assert_eq!(ex.vars["refuse"]["text"], json!("error:10001:applyNo is required"));
        let without = call(addr, "refuse", "");
        assert_eq!(without.run(&mut ex, &live()).await, Ok(Flow::Continue));
    }

    #[tokio::test]
    async fn an_answer_that_is_not_soap_names_its_status() {
        let (addr, _) = test_service::start().await;
        let err = step(&format!(
            "{{ url: 'http://{addr}/html?key=s', namespace: 'urn:h', operation: q }}"
        ))
        .run(&mut exchange(json!({})), &live())
        .await
        .unwrap_err();
        assert_eq!(err.code, "SOAP_BAD_ANSWER");
        assert_eq!(
            err.message,
            format!(
                "soap `q` to http://{addr}/html answered HTTP 404, not a SOAP answer: unsupported content type \
                 `text/html; charset=utf-8`; expected text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2) \
                 (Content-Type `text/html`)"
            )
        );
    }

    #[tokio::test]
    async fn a_slow_or_absent_service_fails_as_the_call_step_does() {
        let (addr, _) = test_service::start().await;
        let started = std::time::Instant::now();
        let err = step(&format!(
            "{{ url: 'http://{addr}/slow', namespace: 'urn:h', operation: q, timeout: 200ms }}"
        ))
        .run(&mut exchange(json!({})), &live())
        .await
        .unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message),
            (
                "SOAP_TIMEOUT",
                format!("soap `q` to http://{addr}/slow timed out after 200ms")
            )
        );
        assert!(started.elapsed() < Duration::from_secs(4));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = listener.local_addr().unwrap();
        drop(listener);
        let err = call(gone, "q", "")
            .run(&mut exchange(json!({})), &live())
            .await
            .unwrap_err();
        assert_eq!(err.code, "SOAP_FAILED");
        assert!(
            err.message
                .starts_with(&format!("soap `q` to http://{gone}/ws failed: connection failed")),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn answers_from_recorded_returns_and_faults_under_test() {
        let recorded = |return_text: Option<&str>, fault: Option<RecordedFaultCode>| RecordedResponse {
            status: 200,
            headers: vec![],
            body: String::new(),
            return_text: return_text.map(str::to_string),
            fault: fault.map(|code| RecordedFault {
                code,
                string: "no such record".into(),
            }),
        };
        let recorder = Arc::new(Recorder::new(HashMap::from([(
            "record".to_string(),
            vec![
                recorded(Some("<r><a>1</a></r>"), None),
                recorded(None, Some(RecordedFaultCode::Client)),
            ],
        )])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step(
            "{ name: record, url: 'http://platform/ws', namespace: 'urn:p', operation: getApplyRecord, \
             version: 1.2, params: { eventNo: '{{ body.no }}' } }",
        );
        let mut ex = exchange(json!({"no": "E1"}));
        step.run(&mut ex, &env).await.unwrap();
        assert_eq!(ex.vars["record"]["value"], json!({"r": {"a": "1"}}));
        let err = step.run(&mut ex, &env).await.unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            ("SOAP_FAULT", "Sender: no such record")
        );
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].body.contains("<eventNo>E1</eventNo>"), "{}", seen[0].body);
    }

    #[tokio::test]
    async fn each_calls_once_per_item_and_keeps_every_answer_in_item_order() {
        let (addr, seen) = test_service::start().await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = listener.local_addr().unwrap();
        drop(listener);
        let mut ex = exchange(json!({"targets": [
            {"url": format!("http://{addr}/ws"), "code": "H1"},
            {"url": format!("http://{gone}/ws"), "code": "H2"},
            {"url": format!("http://{addr}/ws"), "code": "error"},
            {"url": format!("http://{addr}/html"), "code": "H4"},
            {"url": format!("http://{addr}/ws"), "code": "H5"},
        ]}));
        let yaml = "{ name: beds, url: '{{ item.url }}', namespace: 'urn:h', operation: echo, \
                    params: { code: '{{ item.code }}', at: '{{ index }}' }, each: body.targets, \
                    concurrency: 2, into: vars.beds, error_when: '=error' }";
        assert_eq!(step(yaml).run(&mut ex, &live()).await, Ok(Flow::Continue));
        let beds = ex.vars["beds"].as_array().unwrap();
        assert_eq!(beds.len(), 5);
        assert_eq!(
            beds[0],
            json!({"status": 200, "text": "code=H1|at=0", "value": "code=H1|at=0", "fault": null,
                   "item_index": 0, "error": null})
        );
        assert_eq!(
            (&beds[1]["status"], &beds[1]["error"]["code"]),
            (&json!(null), &json!("SOAP_FAILED"))
        );
        let message = beds[1]["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("soap `beds` to http://{gone}/ws failed: connection failed")),
            "{message}"
        );
        assert_eq!(
            (&beds[2]["text"], &beds[2]["error"]),
            (
                &json!("code=error|at=2"),
                &json!({"code": "SOAP_ERROR_ANSWER", "message": "code=error|at=2"})
            ),
            "error_when applies per item, the return kept"
        );
        assert_eq!(beds[3]["error"]["code"], json!("SOAP_BAD_ANSWER"));
        assert_eq!(
            (&beds[4]["text"], &beds[4]["item_index"]),
            (&json!("code=H5|at=4"), &json!(4))
        );
        assert_eq!(seen.lock().unwrap().len(), 3, "three items reached the service");

        let err = step(&yaml.replace("concurrency: 2", "fail_on: any"))
            .run(&mut ex, &live())
            .await
            .unwrap_err();
        assert_eq!(err.code, "SOAP_FAILED");
        assert!(
            err.message.starts_with("item 1 of 5: soap `beds` to http://"),
            "{}",
            err.message
        );
        assert_eq!(ex.vars["beds"].as_array().unwrap().len(), 5, "kept before failing");

        let crash = format!(
            "{{ url: 'http://{addr}/ws', namespace: 'urn:h', operation: crash, each: body.targets, fail_on: all }}"
        );
        let err = step(&crash).run(&mut ex, &live()).await.unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            ("SOAP_FAULT", "all 5 items failed; item 0: Server: database down")
        );
        assert_eq!(
            ex.vars["crash"][4]["fault"],
            json!({"code": "Server", "string": "database down", "detail": null})
        );
    }

    #[tokio::test]
    async fn each_over_an_empty_list_calls_nothing_and_a_non_list_fails() {
        let recorder = Arc::new(Recorder::default());
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step("{ url: 'http://h/ws', namespace: 'urn:h', operation: q, each: body.list, into: vars.q }");
        let mut ex = exchange(json!({"list": []}));
        assert_eq!(step.run(&mut ex, &env).await, Ok(Flow::Continue));
        assert_eq!(ex.vars["q"], json!([]));
        assert!(recorder.seen.lock().unwrap().is_empty());
        let err = step.run(&mut exchange(json!({"list": "H1"})), &env).await.unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            (
                "EACH_NOT_A_LIST",
                "soap `q` `each` `body.list` is a string; expected a list"
            )
        );
    }

    #[tokio::test]
    async fn each_item_takes_the_next_recorded_answer_in_item_order() {
        let answer = |text: &str| RecordedResponse {
            status: 200,
            headers: vec![],
            body: String::new(),
            return_text: Some(text.into()),
            fault: None,
        };
        let recorder = Arc::new(Recorder::new(HashMap::from([(
            "beds".to_string(),
            vec![answer("<b>1</b>"), answer("<b>2</b>"), answer("<b>3</b>")],
        )])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step(
            "{ name: beds, url: 'http://h/{{ item }}', namespace: 'urn:h', operation: getBedMes, \
             params: { hospital: '{{ item }}' }, each: body.codes, concurrency: 3 }",
        );
        let mut ex = exchange(json!({"codes": ["H1", "H2", "H3"]}));
        step.run(&mut ex, &env).await.unwrap();
        let values: Vec<&Value> = ex.vars["beds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["value"])
            .collect();
        assert_eq!(values, vec![&json!({"b": "1"}), &json!({"b": "2"}), &json!({"b": "3"})]);
        let urls: Vec<String> = recorder.seen.lock().unwrap().iter().map(|r| r.url.clone()).collect();
        assert_eq!(urls, vec!["http://h/H1", "http://h/H2", "http://h/H3"]);
    }

    #[tokio::test]
    async fn each_item_renders_its_own_secret_and_keeps_it_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.yaml");
        std::fs::write(&file, "hospital-h1: secret-of-h1\nhospital-h2: secret-of-h2\n").unwrap();
        let recorder = Arc::new(Recorder::new(HashMap::from([(
            "beds".to_string(),
            vec![RecordedResponse {
                status: 200,
                headers: vec![],
                body: String::new(),
                return_text: None,
                fault: Some(RecordedFault {
                    code: RecordedFaultCode::Client,
                    string: "bad secret secret-of-h1".into(),
                }),
            }],
        )])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let step = step(
            "{ name: beds, url: 'http://h/ws', namespace: 'urn:h', operation: getBedMes, each: body.hospitals, \
             params: { hospital: '{{ item.code }}', secret: '{{ secrets[item.secret] }}' } }",
        );
        let mut ex = exchange(json!({"hospitals": [
            {"code": "H1", "secret": "hospital-h1"},
            {"code": "H2", "secret": "hospital-h2"},
        ]}));
        ex.secrets = Arc::new(crate::secrets::Secrets::load(&file, Vec::new()).unwrap());
        step.run(&mut ex, &env).await.unwrap();
        let bodies: Vec<String> = recorder.seen.lock().unwrap().iter().map(|r| r.body.clone()).collect();
        assert!(bodies[0].contains("<secret>secret-of-h1</secret>"), "{}", bodies[0]);
        assert!(bodies[1].contains("<secret>secret-of-h2</secret>"), "{}", bodies[1]);
        assert_eq!(
            ex.vars["beds"][0]["error"]["message"],
            json!("Client: bad secret ******")
        );
        assert!(!ex.vars["beds"][0]["error"].to_string().contains("secret-of"));
    }

    #[test]
    fn the_documented_examples_build() {
        let docs = include_str!("../../../docs/soap.md");
        let section = docs.split("## Engine: the soap step and destination").nth(1).unwrap();
        let blocks: Vec<&str> = section
            .split("```yaml\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap())
            .collect();
        assert_eq!(blocks.len(), 4);
        for block in blocks {
            let built = if block.starts_with("- ") {
                build_for_test(block, |specs: &Vec<crate::steps::StepSpec>, cx| {
                    specs
                        .iter()
                        .map(|spec| crate::steps::Step::build(spec, cx))
                        .collect::<Option<Vec<_>>>()
                })
                .map(drop)
            } else if block.starts_with("tests:") {
                #[derive(Deserialize)]
                struct Tests {
                    #[allow(dead_code)]
                    tests: Vec<crate::unit_test::RouteTest>,
                }
                serde_saphyr::from_str::<Tests>(block)
                    .map(drop)
                    .map_err(|e| e.to_string())
            } else {
                build_for_test(block, |spec: &crate::config::EndpointSpec, cx| {
                    crate::destinations::Endpoint::build(spec, cx.at, cx)
                })
                .map(drop)
            };
            assert!(built.is_ok(), "{block}\n{}", built.err().unwrap());
        }
    }

    #[test]
    fn checks_its_config_when_built() {
        let error = |yaml: &str| {
            build_for_test(yaml, SoapStep::build)
                .err()
                .expect("the build should fail")
        };
        let base = "url: 'http://h/ws', namespace: 'urn:h', operation: q";
        assert!(error(&format!("{{ {base}, into: body.x }}")).contains("`into` `body.x` is not a path in `vars`"));
        assert!(error(&format!("{{ {base}, into: vars }}")).contains("is not a path in `vars`"));
        assert!(error(&format!("{{ {base}, name: 'a b' }}")).contains("soap `name` `a b` must be letters"));
        assert!(error(&format!("{{ {base}, parse: json }}")).contains("json"));
        assert!(error(&format!("{{ {base}, to: vars.x }}")).contains("unknown field `to`"));
        assert!(error(&format!("{{ {base}, fail_on: any }}")).contains("soap `q` sets `fail_on` without `each`"));
        assert!(error(&format!("{{ {base}, each: vars.x, concurrency: 100 }}")).contains("`concurrency` is 100"));
        assert!(error("{ url: 'http://h/{{ x', namespace: 'urn:h', operation: q }")
            .contains("soap `q` `url` is not a valid template"));
    }
}
