//! Running one message through a route: the steps with their trace, then
//! the answer and the deliveries. No I/O besides what steps do, so that
//! `medbus test` runs exactly this.

use super::snapshot::Route;
use crate::exchange::{Exchange, Reply, TraceEntry};
use crate::journal::{MessageStatus, NewDelivery};
use crate::steps::{ErrorKind, Flow, RunEnv, StepError};
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
    for (index, (kind, step)) in route.steps.iter().enumerate() {
        let started = Instant::now();
        let result = step.run(ex, env).await;
        let micros = started.elapsed().as_micros() as u64;
        let (outcome, output) = match &result {
            Ok(Flow::Continue) => ("ok".to_string(), step_output(kind, ex)),
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

/// What a step left behind, for the trace: the scopes its kind writes.
fn step_output(kind: &str, ex: &Exchange) -> Option<Value> {
    match kind {
        "parse" | "script" | "set" | "map" | "extract" => Some(json!({ "body": ex.body, "vars": ex.vars })),
        "template" => Some(json!({ "out": ex.out, "vars": ex.vars })),
        "call" => Some(json!({ "vars": ex.vars })),
        "reply" => Some(json!({ "reply": ex.reply })),
        _ => None,
    }
}

/// Builds the answer and, for a processed message, one delivery per destination.
pub fn finish(route: &Route, ex: &mut Exchange, status: MessageStatus, error: Option<StepError>) -> Processed {
    let (reply, error) = match error {
        Some(error) => (error_reply(route, ex, &error), Some(error)),
        None => match ok_reply(route, ex) {
            Ok(reply) => (reply, None),
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
            .render(&ex.context_value())
            .map_err(|e| StepError::failed("REPLY_FAILED", format!("the route's reply could not be built: {e}"))),
        None => Ok(json_reply(200, &json!({ "status": "accepted", "id": ex.id }))),
    }
}

fn error_reply(route: &Route, ex: &Exchange, error: &StepError) -> Reply {
    let default_status = match error.kind {
        ErrorKind::Rejected => 400,
        ErrorKind::Failed => 500,
    };
    if let Some(template) = &route.error_reply {
        let mut context = ex.context_value();
        context["error"] =
            json!({ "code": error.code, "message": error.message, "kind": error.kind, "status": default_status });
        if let Ok(mut reply) = template.render(&context) {
            // An error answer that names no status keeps the error's own.
            if route.spec.on_error.reply.as_ref().is_some_and(|r| r.status.is_none()) {
                reply.status = default_status;
            }
            return reply;
        }
        tracing::error!(route = %route.id, "the route's on_error reply could not be built; answering the default error");
    }
    error_json(default_status, &error.code, &error.message, &ex.id)
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
    let context = ex.context_value();
    Ok(route
        .destinations
        .iter()
        .map(|destination| NewDelivery {
            id: uuid::Uuid::now_v7().to_string(),
            destination: destination.name.clone(),
            payload: payload.body.clone(),
            content_type: payload.content_type.clone(),
            context: context.clone(),
        })
        .collect())
}
