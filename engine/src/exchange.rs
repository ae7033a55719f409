//! One message on its way through a route: what came in, what the steps
//! made of it, what goes out and what is answered.

mod body;

pub use body::Body;

use crate::value::{Map, Path, Scope, Value};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Exchange {
    pub id: String,
    pub route: String,
    pub received_at: DateTime<Utc>,
    /// Source metadata: for HTTP the lower-cased request headers plus
    /// `method`, `path`, `query` and `remote`; for a timer, `fired_at`.
    pub headers: Map<String, Value>,
    pub raw: Bytes,
    pub content_type: Option<String>,
    /// The message as the steps see it. Starts as the raw body's text; the
    /// `parse` step turns it into a tree (an MLLP listener's message is
    /// one already).
    pub body: Body,
    /// How `body` was parsed: a body destinations send without a template
    /// is written back in the same format.
    pub body_format: BodyFormat,
    pub vars: Map<String, Value>,
    /// What destinations send, once a `template` step rendered it; when no
    /// step did, destinations send `body` serialised as JSON.
    pub out: Option<Payload>,
    /// The synchronous answer, once a `reply` step or the route's `reply` built it.
    pub reply: Option<Reply>,
    pub trace: Vec<TraceEntry>,
    /// The settings' `values`, shared by every exchange of a configuration.
    pub config: Arc<Map<String, Value>>,
    /// Who sent the message, by the name of the secret an `authenticate`
    /// step matched (`vendor-120`); journaled with it, read as `msg.caller`.
    pub caller: Option<String>,
    /// A handle on the current secrets, for `authenticate` and for outbound
    /// requests rendered as they are sent. No scope, trace or journal row
    /// reads it: the values stay out of what the exchange keeps.
    pub secrets: Arc<crate::secrets::Secrets>,
    /// The HL7 v2 message an MLLP listener read, kept to build its ACK
    /// without reading the frame again. Steps read and change `body`.
    pub hl7: Option<Arc<medbus_adapters::hl7::Message>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyFormat {
    /// Never parsed: the raw text, or whatever steps assigned.
    #[default]
    Text,
    Json,
    Xml,
    /// HL7 v2, written back as ER7 with the message's own delimiters.
    Hl7,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub content_type: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One step's record in the journal: what ran, how long, and what it left.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TraceEntry {
    pub step: String,
    pub index: usize,
    pub micros: u64,
    pub outcome: String,
    /// The scopes the step changed, as JSON text: made once, when the step
    /// ends, and written to the journal as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Box<serde_json::value::RawValue>>,
}

impl Exchange {
    /// An exchange whose body is the raw bytes' text.
    pub fn new(route: &str, raw: Bytes, content_type: Option<String>, headers: Map<String, Value>) -> Self {
        let body = Body::new(Value::String(String::from_utf8_lossy(&raw).into_owned()));
        Exchange::with_body(route, raw, content_type, headers, body)
    }

    /// An exchange whose body a source read already.
    pub fn with_body(
        route: &str,
        raw: Bytes,
        content_type: Option<String>,
        headers: Map<String, Value>,
        body: Body,
    ) -> Self {
        Exchange {
            id: uuid::Uuid::now_v7().to_string(),
            route: route.to_string(),
            received_at: Utc::now(),
            headers,
            raw,
            content_type,
            body,
            body_format: BodyFormat::Text,
            vars: Map::new(),
            out: None,
            reply: None,
            trace: Vec::new(),
            config: Arc::default(),
            caller: None,
            secrets: Arc::default(),
            hl7: None,
        }
    }

    /// The `msg` scope: read-only facts about the message.
    pub fn msg_value(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "route": self.route,
            "received_at": self.received_at.to_rfc3339(),
            "content_type": self.content_type,
            "caller": self.caller,
        })
    }

    pub fn lookup(&self, path: &Path) -> Option<Value> {
        self.lookup_ref(path).map(Cow::into_owned)
    }

    /// The value at `path`, borrowed where it can be.
    pub fn lookup_ref(&self, path: &Path) -> Option<Cow<'_, Value>> {
        let map = match path.scope {
            Scope::Body => {
                return match path.hl7() {
                    Some(hl7) => self.body.places(hl7).into_iter().find_map(|(_, value)| value),
                    None => path.lookup(&self.body).map(Cow::Borrowed),
                }
            }
            Scope::Msg => return path.lookup(&self.msg_value()).cloned().map(Cow::Owned),
            Scope::Vars => &self.vars,
            Scope::Headers => &self.headers,
            Scope::Config => &self.config,
        };
        if path.segments.is_empty() {
            return Some(Cow::Owned(Value::Object(map.clone())));
        }
        path.lookup_in_map(map).map(Cow::Borrowed)
    }

    /// A whole scope as one value (the body borrowed, the others built).
    pub fn scope_root(&self, scope: Scope) -> Cow<'_, Value> {
        match scope {
            Scope::Body => Cow::Borrowed(&self.body),
            Scope::Vars => Cow::Owned(Value::Object(self.vars.clone())),
            Scope::Headers => Cow::Owned(Value::Object(self.headers.clone())),
            Scope::Msg => Cow::Owned(self.msg_value()),
            Scope::Config => Cow::Owned(Value::Object((*self.config).clone())),
        }
    }

    pub fn lookup_all(&self, path: &Path) -> Vec<Value> {
        if let Some(hl7) = path.hl7() {
            return self
                .body
                .places(hl7)
                .into_iter()
                .filter_map(|(_, value)| value.map(Cow::into_owned))
                .collect();
        }
        path.lookup_all(&self.scope_root(path.scope))
            .into_iter()
            .cloned()
            .collect()
    }

    pub fn assign(&mut self, path: &Path, new: Value) -> Result<(), String> {
        match path.scope {
            Scope::Body => path.assign(&mut self.body, new),
            Scope::Vars => assign_in_map(&mut self.vars, path, new),
            Scope::Headers => assign_in_map(&mut self.headers, path, new),
            Scope::Msg | Scope::Config => Err(format!("cannot set `{path}`: `{}` is read-only", path.scope.name())),
        }
    }

    /// Body, vars, headers, msg and config as one object: the context of
    /// templates, conditions and scripts.
    pub fn context_value(&self) -> Value {
        self.context_for(|_| true)
    }

    /// The context with only the scopes `wanted` names, copied: templates
    /// that read two scopes do not pay for all five.
    pub fn context_for(&self, wanted: impl Fn(&str) -> bool) -> Value {
        let mut context = Map::new();
        if wanted("body") {
            context.insert("body".into(), self.body.value().clone());
        }
        if wanted("vars") {
            context.insert("vars".into(), Value::Object(self.vars.clone()));
        }
        if wanted("headers") {
            context.insert("headers".into(), Value::Object(self.headers.clone()));
        }
        if wanted("msg") {
            context.insert("msg".into(), self.msg_value());
        }
        if wanted("config") {
            context.insert("config".into(), Value::Object((*self.config).clone()));
        }
        Value::Object(context)
    }

    /// What destinations send: the payload a `template` step rendered, or
    /// else the body written in the format it was parsed from (XML back to
    /// XML, JSON to JSON, HL7 to ER7), a never-parsed text body as it is, and any other
    /// tree as JSON.
    pub fn outgoing(&self) -> Result<Payload, String> {
        if let Some(payload) = &self.out {
            return Ok(payload.clone());
        }
        let json = |body: &Value| Payload {
            content_type: "application/json".into(),
            body: body.to_string(),
        };
        Ok(match (self.body.value(), self.body_format) {
            (Value::String(text), BodyFormat::Text) => Payload {
                content_type: "text/plain; charset=utf-8".into(),
                body: text.clone(),
            },
            (body, BodyFormat::Xml) => Payload {
                content_type: "application/xml; charset=utf-8".into(),
                body: medbus_adapters::xml::write_document(body)
                    .map_err(|e| format!("the body cannot be written as XML: {e}"))?,
            },
            (body, BodyFormat::Hl7) => Payload {
                content_type: "application/hl7-v2; charset=utf-8".into(),
                body: medbus_adapters::hl7::Message::from_value(body, &Default::default())
                    .map_err(|e| format!("the body cannot be written as HL7 v2: {e}"))?
                    .to_er7(),
            },
            (body, _) => json(body),
        })
    }
}

fn assign_in_map(map: &mut Map<String, Value>, path: &Path, new: Value) -> Result<(), String> {
    let mut root = Value::Object(std::mem::take(map));
    let result = path.assign(&mut root, new);
    if let Value::Object(m) = root {
        *map = m;
    }
    result
}
