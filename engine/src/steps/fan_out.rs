//! Fan-out for the outbound steps (`call`, `soap`): with `each`, one step
//! sends one request per item of a list, several at once, and keeps every
//! answer, in item order, as a list.
//!
//! ```yaml
//! - soap:
//!     name: beds
//!     each: vars.hospitals          # a list; templates see `item` and `index`
//!     concurrency: 8                # requests in flight at once (default 8, at most 64)
//!     fail_on: none                 # none (default) | any | all
//!     url: "{{ item.endpoint }}"
//!     namespace: http://service.hospital.example.cn/
//!     operation: getBedMes
//!     into: vars.beds               # [{status, text, value, fault, item_index, error}, ...]
//! ```
//!
//! Every request is rendered first, in item order; then at most
//! `concurrency` are in flight. Under `medbus test` they are answered one
//! after the other in item order, so a list of recorded answers answers the
//! items in order whatever the timing. The step decides what one item's
//! answer means ([`ItemOutcome`]); this module reads the list, sends, and
//! turns the outcomes into the kept list and the step's end (`fail_on`).

use super::{support, BuildContext, RunEnv, StepError};
use crate::exchange::Exchange;
use crate::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use crate::value::{Path, Value};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// An outbound step (`call`, `soap`) as the shared run sees it: how it
/// renders a request, reads what came back, and keeps it.
pub(crate) trait OutboundStep {
    /// `soap `name``, for messages.
    fn label(&self) -> String;
    fn request(&self, context: &Value, ex: &Exchange) -> Result<OutboundRequest, StepError>;
    fn outcome(&self, sent: Sent) -> ItemOutcome;
    fn keep(&self, ex: &mut Exchange, kept: Value) -> Result<(), StepError>;
    /// A fan-out item's entry when no answer came: the shape of a kept answer, nulls.
    fn unanswered(&self) -> Value;
}

/// Runs an outbound step once, or once per item with `each`. Its error's
/// message is answered to the sender, so the secret values in it (a URL, a
/// fault echoing a parameter) are masked.
pub(crate) async fn run<S: OutboundStep>(
    step: &S,
    fan_out: Option<&FanOut>,
    ex: &mut Exchange,
    env: &RunEnv,
    context: Value,
) -> Result<super::Flow, StepError> {
    let result = match fan_out {
        None => run_once(step, ex, env, context).await,
        Some(fan_out) => run_each(step, fan_out, ex, env, context).await,
    };
    result.map_err(|mut error| {
        if let std::borrow::Cow::Owned(masked) = ex.secrets.redactor().text(&error.message) {
            error.message = masked;
        }
        error
    })
}

async fn run_once<S: OutboundStep>(
    step: &S,
    ex: &mut Exchange,
    env: &RunEnv,
    context: Value,
) -> Result<super::Flow, StepError> {
    let request = step.request(&context, ex)?;
    let shown_url = support::shown_url(&request.url);
    let answer = env.outbound.send(request).await;
    let outcome = step.outcome(Sent { shown_url, answer });
    if let Some(kept) = outcome.kept {
        step.keep(ex, kept)?;
    }
    outcome.error.map_or(Ok(super::Flow::Continue), Err)
}

async fn run_each<S: OutboundStep>(
    step: &S,
    fan_out: &FanOut,
    ex: &mut Exchange,
    env: &RunEnv,
    context: Value,
) -> Result<super::Flow, StepError> {
    let items = fan_out.items(ex, &step.label())?;
    let sent = fan_out
        .send(env, context, items, |context| step.request(context, ex))
        .await;
    let outcomes = sent
        .into_iter()
        .map(|sent| match sent {
            Ok(sent) => step.outcome(sent),
            Err(error) => failed_without_answer(error),
        })
        .collect();
    let (kept, error) = fan_out.gather(ex, outcomes, &step.unanswered());
    step.keep(ex, kept)?;
    error.map_or(Ok(super::Flow::Continue), Err)
}

/// The most items one step fans out to: a list longer than this is an
/// error (`EACH_TOO_LONG`), not thousands of requests.
pub const MAX_ITEMS: usize = 1000;
/// Requests in flight at once when `concurrency` is not given.
pub const DEFAULT_CONCURRENCY: u32 = 8;
/// The most `concurrency` may say.
pub const MAX_CONCURRENCY: u32 = 64;

/// When a fan-out (`each`) fails the step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailOn {
    /// Never: each item's error is kept in its entry, and the steps after
    /// decide (one hospital down does not fail the answer of sixteen).
    #[default]
    None,
    /// When any item failed: the step fails with the first failed item's
    /// error, in item order (the list is kept first).
    Any,
    /// When every item failed (and there was at least one).
    All,
}

/// A step's `each`, compiled.
#[derive(Debug)]
pub(crate) struct FanOut {
    each: Path,
    concurrency: usize,
    fail_on: FailOn,
}

/// What one item's request came to, as the step reads its answer: the
/// value a single request keeps (none when no answer could be read), and
/// the item's error.
pub(crate) struct ItemOutcome {
    pub kept: Option<Value>,
    pub error: Option<StepError>,
}

/// One item's request as sent: the URL errors show, and the answer.
pub(crate) struct Sent {
    pub shown_url: String,
    pub answer: Result<OutboundResponse, OutboundError>,
}

/// The outcome of an item that got no answer.
pub(crate) fn failed_without_answer(error: StepError) -> ItemOutcome {
    ItemOutcome {
        kept: None,
        error: Some(error),
    }
}

impl Sent {
    /// The answer, or, when none came, the error of the step `label`
    /// (e.g. "soap `beds`"): `{prefix}_TIMEOUT` or `{prefix}_FAILED`.
    pub(crate) fn response(self, label: &str, prefix: &str) -> Result<OutboundResponse, StepError> {
        let shown = &self.shown_url;
        let (code, message) = match self.answer {
            Ok(response) => return Ok(response),
            Err(OutboundError::Timeout(after)) => (
                format!("{prefix}_TIMEOUT"),
                format!(
                    "{label} to {shown} timed out after {}",
                    humantime::format_duration(after)
                ),
            ),
            Err(other) => (
                format!("{prefix}_FAILED"),
                format!("{label} to {shown} failed: {other}"),
            ),
        };
        Err(StepError::failed(code, message))
    }
}

impl FanOut {
    /// Checks the fan-out keys of the step `what` (e.g. "soap `beds`").
    /// `Ok(None)`: no `each`, a single request.
    pub(crate) fn build(
        cx: &mut BuildContext,
        what: &str,
        each: Option<&str>,
        concurrency: Option<u32>,
        fail_on: Option<FailOn>,
    ) -> Result<Option<FanOut>, ()> {
        let Some(each) = each else {
            let stray: Vec<&str> = [("concurrency", concurrency.is_some()), ("fail_on", fail_on.is_some())]
                .into_iter()
                .filter_map(|(key, given)| given.then_some(key))
                .collect();
            if stray.is_empty() {
                return Ok(None);
            }
            cx.error(format!(
                "{what} sets `{}` without `each`; expected `each: <a path to a list>`, e.g. `each: vars.hospitals`",
                stray.join("` and `")
            ));
            return Err(());
        };
        let path = cx.path(each);
        let concurrency = concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        let concurrency_ok = (1..=MAX_CONCURRENCY).contains(&concurrency);
        if !concurrency_ok {
            cx.error(format!(
                "{what} `concurrency` is {concurrency}; expected 1 to {MAX_CONCURRENCY} requests at once"
            ));
        }
        match path {
            Some(each) if concurrency_ok => Ok(Some(FanOut {
                each,
                concurrency: concurrency as usize,
                fail_on: fail_on.unwrap_or_default(),
            })),
            _ => Err(()),
        }
    }

    /// The items at `each`, or the step's error when it holds no list or
    /// one longer than [`MAX_ITEMS`].
    pub(crate) fn items(&self, ex: &Exchange, what: &str) -> Result<Vec<Value>, StepError> {
        match ex.lookup(&self.each) {
            Some(Value::Array(items)) if items.len() <= MAX_ITEMS => Ok(items),
            Some(Value::Array(items)) => Err(StepError::failed(
                "EACH_TOO_LONG",
                format!(
                    "{what} `each` `{}` holds {} items; expected at most {MAX_ITEMS}",
                    self.each,
                    items.len()
                ),
            )),
            found => Err(StepError::failed(
                "EACH_NOT_A_LIST",
                format!(
                    "{what} `each` `{}` is {}; expected a list",
                    self.each,
                    found.as_ref().map_or("missing", support::a_kind)
                ),
            )),
        }
    }

    /// Renders each item's request with `render`, which sees `context` plus
    /// `item` and `index`, then sends them at most `concurrency` at once.
    /// Gives each item's request as sent, or why it could not be rendered,
    /// in item order. Under `medbus test` requests are answered one after
    /// the other, so recorded answers go to the items in item order.
    pub(crate) async fn send(
        &self,
        env: &RunEnv,
        mut context: Value,
        items: Vec<Value>,
        render: impl Fn(&Value) -> Result<OutboundRequest, StepError>,
    ) -> Vec<Result<Sent, StepError>> {
        let mut requests = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            if let Some(scopes) = context.as_object_mut() {
                scopes.insert("item".into(), item);
                scopes.insert("index".into(), json!(index));
            }
            requests.push(render(&context));
        }
        let in_flight = match env.outbound {
            Outbound::Live(_) => self.concurrency,
            Outbound::Recorded(_) => 1,
        };
        let outbound = &env.outbound;
        futures::stream::iter(requests)
            .map(|request| async move {
                let request = request?;
                let shown_url = support::shown_url(&request.url);
                let answer = outbound.send(request).await;
                Ok(Sent { shown_url, answer })
            })
            .buffered(in_flight)
            .collect()
            .await
    }

    /// The list `into` keeps, one entry per item in item order: the value
    /// the item's answer keeps (or `empty`, the same shape with nothing
    /// read) with `item_index` and `error` (`{code, message}`, secrets
    /// masked, or null) added; and the step's error as `fail_on` says.
    pub(crate) fn gather(
        &self,
        ex: &Exchange,
        outcomes: Vec<ItemOutcome>,
        empty: &Value,
    ) -> (Value, Option<StepError>) {
        let total = outcomes.len();
        let mut entries = Vec::with_capacity(total);
        let mut failed = 0;
        let mut first: Option<(usize, StepError)> = None;
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let mut entry = outcome.kept.unwrap_or_else(|| empty.clone());
            let error = outcome.error.map(|mut error| {
                error.message = ex.secrets.redactor().text(&error.message).into_owned();
                error
            });
            if let Some(fields) = entry.as_object_mut() {
                fields.insert("item_index".into(), json!(index));
                fields.insert(
                    "error".into(),
                    error
                        .as_ref()
                        .map_or(Value::Null, |e| json!({ "code": e.code, "message": e.message })),
                );
            }
            entries.push(entry);
            if let Some(error) = error {
                failed += 1;
                first.get_or_insert((index, error));
            }
        }
        let error = match (self.fail_on, first) {
            (FailOn::Any, Some((index, mut error))) => {
                error.message = format!("item {index} of {total}: {}", error.message);
                Some(error)
            }
            (FailOn::All, Some((index, mut error))) if failed == total => {
                error.message = format!("all {total} items failed; item {index}: {}", error.message);
                Some(error)
            }
            _ => None,
        };
        (Value::Array(entries), error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Recorder;
    use crate::steps::support::build_for_test;
    use axum::extract::State;
    use axum::routing::get;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Keys {
        each: Option<String>,
        concurrency: Option<u32>,
        fail_on: Option<FailOn>,
    }

    fn fan_out(yaml: &str) -> Result<Option<FanOut>, String> {
        build_for_test(yaml, |keys: &Keys, cx| {
            FanOut::build(cx, "call `x`", keys.each.as_deref(), keys.concurrency, keys.fail_on).ok()
        })
    }

    /// In flight now and at most, on the test server.
    #[derive(Default)]
    struct Load {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    /// Answers `/n/{n}` with `n` after `n * 10` ms, counting requests in flight.
    async fn serve() -> (std::net::SocketAddr, Arc<Load>) {
        let load = Arc::new(Load::default());
        let app = axum::Router::new()
            .route(
                "/n/{n}",
                get(
                    |State(load): State<Arc<Load>>, axum::extract::Path(n): axum::extract::Path<u64>| async move {
                        let now = load.now.fetch_add(1, Ordering::SeqCst) + 1;
                        load.most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(n * 10)).await;
                        load.now.fetch_sub(1, Ordering::SeqCst);
                        n.to_string()
                    },
                ),
            )
            .with_state(load.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (addr, load)
    }

    fn request(url: String) -> OutboundRequest {
        OutboundRequest {
            name: "x".into(),
            method: "GET".into(),
            url,
            headers: vec![],
            body: String::new(),
            timeout: Duration::from_secs(10),
        }
    }

    fn exchange(vars: Value) -> Exchange {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.vars = vars.as_object().unwrap().clone();
        ex
    }

    #[tokio::test]
    async fn keeps_item_order_and_its_concurrency_bound() {
        let (addr, load) = serve().await;
        let step = fan_out("{ each: vars.delays, concurrency: 3 }").unwrap().unwrap();
        // The first items answer last: arrival order is not item order.
        let delays: Vec<u64> = vec![30, 25, 20, 15, 10, 5, 1, 1, 1, 1];
        let ex = exchange(json!({ "delays": delays }));
        let items = step.items(&ex, "call `x`").unwrap();
        let env = RunEnv {
            outbound: Outbound::live(),
        };
        let sent = step
            .send(&env, ex.context_value(), items, |context| {
                assert_eq!(
                    context["item"],
                    context["vars"]["delays"][context["index"].as_u64().unwrap() as usize]
                );
                Ok(request(format!("http://{addr}/n/{}?key=s", context["item"])))
            })
            .await;
        let bodies: Vec<String> = sent
            .into_iter()
            .map(|sent| {
                let sent = sent.ok().unwrap();
                assert_eq!(sent.shown_url.split('?').count(), 1, "the query is not shown");
                sent.answer.unwrap().body
            })
            .collect();
        let expected: Vec<String> = delays.iter().map(u64::to_string).collect();
        assert_eq!(bodies, expected);
        assert_eq!(load.most.load(Ordering::SeqCst), 3, "three at once, never more");
    }

    #[tokio::test]
    async fn renders_every_item_and_keeps_render_errors_per_item() {
        let step = fan_out("{ each: vars.list }").unwrap().unwrap();
        let recorder = Arc::new(Recorder::new(HashMap::from([(
            "x".to_string(),
            vec![
                OutboundResponse {
                    status: 200,
                    headers: vec![],
                    body: "first".into(),
                },
                OutboundResponse {
                    status: 200,
                    headers: vec![],
                    body: "second".into(),
                },
            ],
        )])));
        let env = RunEnv {
            outbound: Outbound::Recorded(recorder.clone()),
        };
        let sent = step
            .send(
                &env,
                json!({}),
                vec![json!("a"), json!(null), json!("c")],
                |context| match &context["item"] {
                    Value::String(item) => Ok(request(format!("http://h/{item}"))),
                    _ => Err(StepError::failed("CALL_FAILED", "no item")),
                },
            )
            .await;
        let seen: Vec<String> = sent
            .into_iter()
            .map(|sent| match sent {
                Ok(sent) => sent.answer.unwrap().body,
                Err(error) => error.code,
            })
            .collect();
        assert_eq!(
            seen,
            vec!["first", "CALL_FAILED", "second"],
            "recorded answers go in item order"
        );
        assert_eq!(
            recorder.seen.lock().unwrap().len(),
            2,
            "a request that did not render is not sent"
        );
    }

    #[test]
    fn reads_the_list_or_says_what_it_found() {
        let step = fan_out("{ each: vars.list }").unwrap().unwrap();
        let items = |vars: Value| step.items(&exchange(vars), "soap `beds`");
        assert_eq!(items(json!({"list": []})), Ok(vec![]));
        assert_eq!(
            items(json!({"list": [1, {"a": 2}]})),
            Ok(vec![json!(1), json!({"a": 2})])
        );
        let error = items(json!({"list": {"a": 1}})).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            (
                "EACH_NOT_A_LIST",
                "soap `beds` `each` `vars.list` is an object; expected a list"
            )
        );
        let error = items(json!({})).unwrap_err();
        assert_eq!(
            error.message,
            "soap `beds` `each` `vars.list` is missing; expected a list"
        );
        let error = items(json!({"list": vec![0; MAX_ITEMS + 1]})).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            (
                "EACH_TOO_LONG",
                "soap `beds` `each` `vars.list` holds 1001 items; expected at most 1000"
            )
        );
        assert!(items(json!({"list": vec![0; MAX_ITEMS]})).is_ok());
    }

    fn outcomes(failures: &[bool]) -> Vec<ItemOutcome> {
        failures
            .iter()
            .enumerate()
            .map(|(n, failed)| ItemOutcome {
                kept: (!failed || n == 0).then(|| json!({ "status": 200 + n })),
                error: failed.then(|| StepError::failed(format!("E{n}"), format!("item {n} broke"))),
            })
            .collect()
    }

    #[test]
    fn gathers_entries_and_fails_as_fail_on_says() {
        let empty = json!({ "status": null });
        let gather = |fail_on: &str, failures: &[bool]| {
            let step = fan_out(&format!("{{ each: vars.x, fail_on: {fail_on} }}"))
                .unwrap()
                .unwrap();
            step.gather(&exchange(json!({})), outcomes(failures), &empty)
        };
        let (kept, error) = gather("none", &[false, true, true]);
        assert_eq!(
            kept,
            json!([
                {"status": 200, "item_index": 0, "error": null},
                {"status": null, "item_index": 1, "error": {"code": "E1", "message": "item 1 broke"}},
                {"status": null, "item_index": 2, "error": {"code": "E2", "message": "item 2 broke"}},
            ])
        );
        assert_eq!(error, None, "none: errors stay in the entries");

        let (_, error) = gather("any", &[false, true, true]);
        let error = error.unwrap();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("E1", "item 1 of 3: item 1 broke")
        );
        assert_eq!(gather("any", &[false, false]).1, None);

        assert_eq!(gather("all", &[false, true, true]).1, None, "one item answered");
        let error = gather("all", &[true, true]).1.unwrap();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("E0", "all 2 items failed; item 0: item 0 broke")
        );
        assert_eq!(gather("all", &[]), (json!([]), None), "nothing to fail");
    }

    #[test]
    fn masks_secrets_in_the_kept_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.yaml");
        std::fs::write(&file, "hospital-a: secret-of-a\n").unwrap();
        let mut ex = exchange(json!({}));
        ex.secrets = Arc::new(crate::secrets::Secrets::load(&file, Vec::new()).unwrap());
        let step = fan_out("{ each: vars.x }").unwrap().unwrap();
        let outcome = ItemOutcome {
            kept: None,
            error: Some(StepError::failed("SOAP_FAULT", "Client: bad key secret-of-a")),
        };
        let (kept, _) = step.gather(&ex, vec![outcome], &json!({}));
        assert_eq!(kept[0]["error"]["message"], json!("Client: bad key ******"));
    }

    #[test]
    fn checks_its_keys_when_built() {
        assert!(fan_out("{}").unwrap().is_none());
        let built = fan_out("{ each: body.patients }").unwrap().unwrap();
        assert_eq!((built.concurrency, built.fail_on), (8, FailOn::None));
        assert!(fan_out("{ concurrency: 4, fail_on: any }")
            .unwrap_err()
            .contains("call `x` sets `concurrency` and `fail_on` without `each`; expected `each: <a path to a list>`"));
        assert!(fan_out("{ each: vars.x, concurrency: 65 }")
            .unwrap_err()
            .contains("call `x` `concurrency` is 65; expected 1 to 64 requests at once"));
        assert!(fan_out("{ each: vars.x, concurrency: 0 }")
            .unwrap_err()
            .contains("is 0"));
        assert!(fan_out("{ each: vars.x, fail_on: some }").unwrap_err().contains("some"));
        assert!(fan_out("{ each: 'nowhere.x' }").is_err());
    }
}
