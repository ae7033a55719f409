//! Running one message through a route: the steps with their trace, then
//! the answer and the deliveries. No I/O besides what steps do, so that
//! `medbus test` runs exactly this.

use super::snapshot::Route;
use crate::exchange::{Exchange, Reply, TraceEntry};
use crate::journal::{MessageStatus, NewDelivery};
use crate::steps::{ErrorKind, Flow, RunEnv, StepError, Writes};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::time::Instant;

/// What processing made of a message.
pub struct Processed {
    pub status: MessageStatus,
    pub error: Option<StepError>,
    pub reply: Reply,
    pub deliveries: Vec<NewDelivery>,
}

pub async fn process(route: &Route, ex: &mut Exchange, env: &RunEnv) -> Processed {
    let (status, error) = run_steps(route, ex, env).await;
    finish(route, ex, status, error)
}

/// Runs the steps in order, recording each in `ex.trace`.
pub async fn run_steps(route: &Route, ex: &mut Exchange, env: &RunEnv) -> (MessageStatus, Option<StepError>) {
    let mut seen = Outputs::default();
    for (index, (kind, step)) in route.steps.iter().enumerate() {
        let started = Instant::now();
        let result = step.run(ex, env).await;
        let micros = started.elapsed().as_micros() as u64;
        let (outcome, output) = match &result {
            Ok(Flow::Continue) => ("ok".to_string(), seen.changed_by(step.writes(), ex)),
            Ok(Flow::Drop) => ("dropped".to_string(), None),
            Err(e) => (format!("{}: {}", e.code, e.message), None),
        };
        ex.trace.push(TraceEntry {
            step: (*kind).to_string(),
            index,
            micros,
            outcome,
            output,
        });
        match result {
            Ok(Flow::Continue) => {}
            Ok(Flow::Drop) => return (MessageStatus::Filtered, None),
            Err(e) => {
                let status = match e.kind {
                    ErrorKind::Rejected => MessageStatus::Rejected,
                    ErrorKind::Failed => MessageStatus::Failed,
                };
                return (status, Some(e));
            }
        }
    }
    (MessageStatus::Processed, None)
}

/// What the trace last recorded of each scope, so that a step's entry holds
/// only the scopes it changed: the journal keeps every step's output
/// without repeating the whole message at every step.
#[derive(Default)]
struct Outputs {
    body: String,
    vars: String,
    out: String,
    reply: String,
}

impl Outputs {
    /// The scopes a step changed among those it may write, as a JSON object's text.
    fn changed_by(&mut self, writes: Writes, ex: &Exchange) -> Option<Box<RawValue>> {
        let Writes { body, vars, out, reply } = writes;
        let mut changed = String::new();
        if body {
            note(&mut changed, "body", &mut self.body, &ex.body);
        }
        if vars {
            note(&mut changed, "vars", &mut self.vars, &ex.vars);
        }
        if out {
            note(&mut changed, "out", &mut self.out, &ex.out);
        }
        if reply {
            note(&mut changed, "reply", &mut self.reply, &ex.reply);
        }
        if changed.is_empty() {
            return None;
        }
        changed.push('}');
        RawValue::from_string(changed).ok()
    }
}

/// Adds `"name":value` to the object text in `changed` when the value's
/// JSON differs from `last`.
fn note<T: serde::Serialize>(changed: &mut String, name: &str, last: &mut String, value: &T) {
    let now = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    if now != *last {
        changed.push(if changed.is_empty() { '{' } else { ',' });
        changed.push('"');
        changed.push_str(name);
        changed.push_str("\":");
        changed.push_str(&now);
        *last = now;
    }
}

/// Builds the answer and, for a processed message, one delivery per destination.
pub fn finish(route: &Route, ex: &mut Exchange, status: MessageStatus, error: Option<StepError>) -> Processed {
    let (reply, error) = match error {
        Some(error) => (error_reply(route, ex, &error), Some(error)),
        None => match ok_reply(route, ex) {
            Ok(reply) => (route.source.wrap_reply(reply, ex), None),
            Err(error) => (error_reply(route, ex, &error), Some(error)),
        },
    };
    let status = match &error {
        Some(e) if status == MessageStatus::Processed || status == MessageStatus::Filtered => match e.kind {
            ErrorKind::Rejected => MessageStatus::Rejected,
            ErrorKind::Failed => MessageStatus::Failed,
        },
        _ => status,
    };
    let (status, error, reply, deliveries) = match status {
        MessageStatus::Processed => match deliveries(route, ex) {
            Ok(deliveries) => (status, error, reply, deliveries),
            Err(message) => {
                let error = StepError::failed("OUTPUT_FAILED", message);
                let reply = error_reply(route, ex, &error);
                (MessageStatus::Failed, Some(error), reply, Vec::new())
            }
        },
        _ => (status, error, reply, Vec::new()),
    };
    ex.reply = Some(reply.clone());
    Processed {
        status,
        error,
        reply,
        deliveries,
    }
}

fn ok_reply(route: &Route, ex: &Exchange) -> Result<Reply, StepError> {
    if let Some(reply) = &ex.reply {
        return Ok(reply.clone());
    }
    match &route.reply {
        Some(template) => template
            .render(&ex.context_for(|name| template.uses(name)))
            .map_err(|e| StepError::failed("REPLY_FAILED", format!("the route's reply could not be built: {e}"))),
        None => Ok(route.source.accepted_reply(ex)),
    }
}

fn error_reply(route: &Route, ex: &Exchange, error: &StepError) -> Reply {
    let default_status = error.status.unwrap_or(match error.kind {
        ErrorKind::Rejected => 400,
        ErrorKind::Failed => 500,
    });
    if let Some(template) = &route.error_reply {
        let mut context = ex.context_for(|name| template.uses(name));
        context["error"] =
            json!({ "code": error.code, "message": error.message, "kind": error.kind, "status": default_status });
        if let Ok(mut reply) = template.render(&context) {
            // An error answer that names no status keeps the error's own.
            if route.spec.on_error.reply.as_ref().is_some_and(|r| r.status.is_none()) {
                reply.status = default_status;
            }
            return route.source.wrap_reply(reply, ex);
        }
        tracing::error!(route = %route.id, "the route's on_error reply could not be built; answering the default error");
    }
    route.source.error_answer(ex).reply(
        default_status,
        &error.code,
        &error.message,
        error.location.as_deref(),
        &ex.id,
    )
}

/// The longest key value the journal keeps, in bytes: longer values are cut
/// (at a character boundary), so the key index stays compact.
pub const MAX_KEY_VALUE: usize = 256;

/// The route's business keys that have a value in the message as the steps
/// left it: the first value at each path, as text.
pub fn business_keys(route: &Route, ex: &Exchange) -> Vec<(String, String)> {
    route
        .spec
        .keys
        .iter()
        .filter_map(|(name, path)| {
            let first = match ex.lookup_ref(&path.0) {
                Some(value) => key_text(&value),
                None if path.0.has_wildcard() => ex.lookup_all(&path.0).iter().find_map(key_text),
                None => None,
            }?;
            Some((name.0.clone(), first))
        })
        .collect()
}

/// A value as a key's text: strings as they are, numbers and booleans in
/// their JSON form, a list by its first item; nothing for null, an empty
/// string or an object.
fn key_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) if !s.is_empty() => s.replace('\0', ""),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => return items.iter().find_map(key_text),
        _ => return None,
    };
    let mut end = text.len().min(MAX_KEY_VALUE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_string())
}

/// The default error answer of HTTP routes.
pub fn error_json(status: u16, code: &str, message: &str, id: &str) -> Reply {
    json_reply(
        status,
        &json!({ "error": { "code": code, "message": message }, "id": id }),
    )
}

pub fn json_reply(status: u16, body: &Value) -> Reply {
    Reply {
        status,
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: body.to_string(),
    }
}

fn deliveries(route: &Route, ex: &Exchange) -> Result<Vec<NewDelivery>, String> {
    if route.destinations.is_empty() {
        return Ok(Vec::new());
    }
    let payload = ex.outgoing()?;
    let uses = |name: &str| {
        route
            .destinations
            .iter()
            .any(|d| d.endpoint.uses(name) || d.policy.uses(name))
    };
    let context = ex.context_for(|name| name != "config" && uses(name));
    let Value::Object(scopes) = &context else {
        unreachable!("the context is an object")
    };
    route
        .destinations
        .iter()
        .map(|destination| {
            let order_key = destination
                .policy
                .order_key(&context)
                .map_err(|e| format!("destination `{}`: {e}", destination.name))?;
            Ok(NewDelivery {
                id: uuid::Uuid::now_v7().to_string(),
                destination: destination.name.clone(),
                payload: payload.body.clone(),
                content_type: payload.content_type.clone(),
                context: destination.endpoint.delivery_context(scopes),
                order_key,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_values_are_the_first_scalar_as_text() {
        assert_eq!(key_text(&json!("A0001")), Some("A0001".into()));
        assert_eq!(key_text(&json!(42)), Some("42".into()));
        assert_eq!(key_text(&json!([null, "P1", "P2"])), Some("P1".into()));
        assert_eq!(key_text(&json!("")), None);
        assert_eq!(key_text(&json!({"a": 1})), None);
        assert_eq!(key_text(&Value::Null), None);
        let long = "患".repeat(100);
        let cut = key_text(&json!(long)).unwrap();
        assert!(cut.len() <= MAX_KEY_VALUE && cut.chars().all(|c| c == '患'));
    }

    #[test]
    fn a_trace_entry_holds_only_the_scopes_its_step_changed() {
        let mut ex = Exchange::new("r", bytes::Bytes::new(), None, serde_json::Map::new());
        let mut seen = Outputs::default();
        ex.body = json!({"a": 1}).into();
        let body_and_vars = Writes {
            body: true,
            vars: true,
            ..Writes::default()
        };
        let vars_only = Writes {
            vars: true,
            ..Writes::default()
        };
        let mut changed_by = |writes: Writes, ex: &Exchange| {
            seen.changed_by(writes, ex)
                .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap())
        };
        assert_eq!(
            changed_by(body_and_vars, &ex),
            Some(json!({"body": {"a": 1}, "vars": {}}))
        );
        ex.vars.insert("x".into(), json!("y"));
        assert_eq!(changed_by(body_and_vars, &ex), Some(json!({"vars": {"x": "y"}})));
        assert_eq!(changed_by(body_and_vars, &ex), None, "nothing changed");
        ex.body = json!({"a": 2}).into();
        ex.vars.insert("x".into(), json!("z"));
        assert_eq!(
            changed_by(vars_only, &ex),
            Some(json!({"vars": {"x": "z"}})),
            "a step writing vars alone is not asked about the body"
        );
        assert_eq!(changed_by(Writes::default(), &ex), None, "validate writes nothing");
    }
}
