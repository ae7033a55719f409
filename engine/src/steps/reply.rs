//! The `reply` step, and the route's `reply:` and `on_error.reply:`: the
//! synchronous answer, rendered from templates.
//!
//! ```yaml
//! - reply:
//!     status: 200
//!     headers: { X-Message-Id: "{{ msg.id }}" }
//!     body: "<result><code>0</code><applyNo>{{ body.root.applyNo | xml_escape }}</applyNo></result>"
//! ```
//!
//! A `reply` step sets the answer and the pipeline goes on; the answer
//! leaves once every step ran. A later `reply` step replaces it.

use super::support;
use super::{BuildContext, Flow, StepError};
use crate::exchange::{Exchange, Reply};
use crate::templates::Template;
use crate::value::{Path, Value};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// The synchronous answer: status, content type, headers and body. Its
/// templates see `body`, `vars`, `headers` and `msg`, and in `on_error`
/// replies `error.code`, `error.message` and `error.kind`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyConfig {
    /// The HTTP status: a number, or a template that renders one, e.g.
    /// `"{% if error.kind == 'rejected' %}400{% else %}500{% endif %}"`.
    /// Default: 200.
    #[serde(default)]
    pub status: Option<Status>,
    /// The Content-Type. Default: guessed from the body (`<` gives
    /// `application/xml`, `{` or `[` `application/json`, anything else
    /// `text/plain`). `; charset=utf-8` is added when no charset is named:
    /// the body is sent as UTF-8.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Response headers, each value a template, e.g. `X-Message-Id: "{{ msg.id }}"`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// The body, a template, e.g. `'{"code": 0, "id": "{{ vars.id }}"}'` or
    /// `"error:{{ error.code }}:{{ error.message }}"`. Default: empty.
    #[serde(default)]
    pub body: Option<String>,
    /// A template file for the body, relative to the templates folder
    /// (`templates_dir`), e.g. `xiamen-120/error.txt.tera`: one answer
    /// shared by the routes of a pack.
    #[serde(default)]
    pub body_file: Option<crate::config::Located<String>>,
    /// A path whose value is the body instead of a template, e.g.
    /// `vars.his.body`: a string is sent as it is, anything else as JSON.
    #[serde(default)]
    pub body_from: Option<String>,
}

/// An HTTP status, fixed or rendered.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Status {
    /// A status code, 100 to 599.
    Code(#[schemars(range(min = 100, max = 599))] u16),
    /// A template rendering a status code.
    Template(String),
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl Visitor<'_> for StatusVisitor {
    type Value = Status;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an HTTP status from 100 to 599, or a template rendering one")
    }

    fn visit_u64<E: de::Error>(self, code: u64) -> Result<Status, E> {
        match u16::try_from(code) {
            Ok(code) if (100..=599).contains(&code) => Ok(Status::Code(code)),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(code), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, code: i64) -> Result<Status, E> {
        match u64::try_from(code) {
            Ok(code) => self.visit_u64(code),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(code), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Status, E> {
        match text.trim().parse::<u64>() {
            Ok(code) => self.visit_u64(code),
            Err(_) => Ok(Status::Template(text.to_string())),
        }
    }
}

enum CompiledStatus {
    Code(u16),
    Template(Box<Template>),
}

enum Body {
    Empty,
    Template(Box<Template>),
    From(Path),
}

pub struct ReplyStep {
    status: CompiledStatus,
    content_type: Option<String>,
    headers: Vec<(String, Template)>,
    body: Body,
}

impl ReplyStep {
    pub fn build(config: &ReplyConfig, cx: &mut BuildContext) -> Option<Self> {
        let status = match &config.status {
            None => Some(CompiledStatus::Code(200)),
            Some(Status::Code(code)) => Some(CompiledStatus::Code(*code)),
            Some(Status::Template(source)) => {
                support::template(cx, "reply `status`", source).map(|t| CompiledStatus::Template(Box::new(t)))
            }
        };
        let headers = support::header_templates(cx, "reply", &config.headers);
        let mut ok = true;
        if config.content_type.is_some() && config.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
            cx.error("reply sets both `content_type` and a `Content-Type` header; keep `content_type`");
            ok = false;
        }
        let body = match (&config.body, &config.body_file, &config.body_from) {
            (Some(source), None, None) => {
                support::template(cx, "reply `body`", source).map(|t| Body::Template(Box::new(t)))
            }
            (None, Some(file), None) => super::template::compile_file(file, cx).map(|t| Body::Template(Box::new(t))),
            (None, None, Some(path)) => cx.path(path).map(Body::From),
            (None, None, None) => Some(Body::Empty),
            _ => {
                cx.error("reply has more than one of `body`, `body_file` and `body_from`; expected one of them");
                None
            }
        };
        if !ok {
            return None;
        }
        Some(ReplyStep {
            status: status?,
            content_type: config.content_type.as_deref().map(support::with_utf8_charset),
            headers: headers?,
            body: body?,
        })
    }

    /// Whether any part of the answer reads `name` (`body`, `vars` ...).
    pub fn uses(&self, name: &str) -> bool {
        let status = matches!(&self.status, CompiledStatus::Template(t) if t.uses(name));
        let body = match &self.body {
            Body::Empty => false,
            Body::Template(template) => template.uses(name),
            Body::From(path) => path.scope.name() == name,
        };
        status || body || self.headers.iter().any(|(_, t)| t.uses(name))
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let reply = self
            .render(&ex.context_for(|name| self.uses(name)))
            .map_err(|e| StepError::failed("REPLY_FAILED", e))?;
        ex.reply = Some(reply);
        Ok(Flow::Continue)
    }

    /// Renders the answer against `context` (`body`, `vars`, `headers`,
    /// `msg`, and `error` for error replies). The error says which part
    /// failed and why.
    pub fn render(&self, context: &Value) -> Result<Reply, String> {
        let status = match &self.status {
            CompiledStatus::Code(code) => *code,
            CompiledStatus::Template(template) => {
                let text = template.render(context).map_err(|e| format!("reply `status`: {e}"))?;
                text.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|code| (100..=599).contains(code))
                    .ok_or_else(|| {
                        format!("reply `status` rendered `{text}`; expected an HTTP status from 100 to 599")
                    })?
            }
        };
        let body = match &self.body {
            Body::Empty => String::new(),
            Body::Template(template) => template.render(context).map_err(|e| format!("reply `body`: {e}"))?,
            Body::From(path) => match context.get(path.scope.name()).and_then(|root| path.lookup(root)) {
                None | Some(Value::Null) => {
                    return Err(format!(
                        "reply `body_from`: `{path}` is missing; expected the value to answer"
                    ))
                }
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            },
        };
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, template) in &self.headers {
            let value = template
                .render(context)
                .map_err(|e| format!("reply header `{name}`: {e}"))?;
            headers.push((name.clone(), value));
        }
        let content_type = match &self.content_type {
            Some(content_type) => content_type.clone(),
            None => support::guess_content_type(&body).to_string(),
        };
        Ok(Reply {
            status,
            content_type,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::support::build_for_test;
    use crate::steps::ErrorKind;
    use serde_json::json;

    fn step(yaml: &str) -> ReplyStep {
        build_for_test(yaml, ReplyStep::build).unwrap()
    }

    fn build_error(yaml: &str) -> String {
        build_for_test(yaml, ReplyStep::build)
            .err()
            .expect("the build should fail")
    }

    fn render(yaml: &str, context: Value) -> Reply {
        step(yaml).render(&context).unwrap()
    }

    #[test]
    fn renders_a_template_body_and_guesses_its_type() {
        let context = json!({"body": {"root": {"applyNo": "A<1>"}}, "vars": {}, "headers": {}, "msg": {"id": "m1"}});
        let reply = render(
            r#"{ body: "<result><applyNo>{{ body.root.applyNo | xml_escape }}</applyNo></result>", headers: { X-Message-Id: "{{ msg.id }}" } }"#,
            context,
        );
        assert_eq!(
            reply,
            Reply {
                status: 200,
                content_type: "application/xml; charset=utf-8".into(),
                headers: vec![("X-Message-Id".into(), "m1".into())],
                body: "<result><applyNo>A&lt;1&gt;</applyNo></result>".into(),
            }
        );
        assert_eq!(
            render(r#"{ body: '{"code": 0}' }"#, json!({})).content_type,
            "application/json; charset=utf-8"
        );
        assert_eq!(
            render("{ body: ok }", json!({})).content_type,
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn an_empty_config_answers_200_with_nothing() {
        let reply = render("{}", json!({}));
        assert_eq!((reply.status, reply.body.as_str()), (200, ""));
        assert_eq!(reply.content_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn an_explicit_content_type_gets_a_charset_unless_it_names_one() {
        let reply = render("{ content_type: application/soap+xml, body: '<a/>' }", json!({}));
        assert_eq!(reply.content_type, "application/soap+xml; charset=utf-8");
        let reply = render("{ content_type: 'text/xml; charset=GBK', body: '<a/>' }", json!({}));
        assert_eq!(reply.content_type, "text/xml; charset=GBK");
    }

    #[test]
    fn answers_a_value_with_body_from() {
        let context = json!({"vars": {"his": {"body": {"id": "P1"}, "text": "ok"}}});
        assert_eq!(
            render("{ body_from: vars.his.body }", context.clone()).body,
            r#"{"id":"P1"}"#
        );
        let reply = render("{ body_from: vars.his.text }", context.clone());
        assert_eq!(
            (reply.body.as_str(), reply.content_type.as_str()),
            ("ok", "text/plain; charset=utf-8")
        );
        let err = step("{ body_from: vars.nothing }").render(&context).unwrap_err();
        assert_eq!(
            err,
            "reply `body_from`: `vars.nothing` is missing; expected the value to answer"
        );
    }

    #[test]
    fn renders_the_status_of_an_error_reply() {
        let yaml = r#"
status: "{% if error.kind == 'rejected' %}400{% else %}500{% endif %}"
body: "error:{{ error.code }}:{{ error.message }}"
"#;
        let step = step(yaml);
        let rejected = json!({"error": {"kind": "rejected", "code": "10001", "message": "applyNo is required"}});
        let reply = step.render(&rejected).unwrap();
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, "error:10001:applyNo is required")
        );
        let failed = json!({"error": {"kind": "failed", "code": "CALL_FAILED", "message": "x"}});
        assert_eq!(step.render(&failed).unwrap().status, 500);
        let err = self::step(r#"{ status: "{{ vars.s }}" }"#)
            .render(&json!({"vars": {"s": "abc"}}))
            .unwrap_err();
        assert_eq!(
            err,
            "reply `status` rendered `abc`; expected an HTTP status from 100 to 599"
        );
        assert_eq!(render("{ status: '201' }", json!({})).status, 201);
    }

    #[test]
    fn the_step_sets_the_exchange_reply() {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.vars.insert("id".into(), json!("P1"));
        let step = step(r#"{ status: 201, body: '{"id": "{{ vars.id }}"}' }"#);
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
        let reply = ex.reply.unwrap();
        assert_eq!((reply.status, reply.body.as_str()), (201, r#"{"id": "P1"}"#));
    }

    #[test]
    fn a_body_that_fails_to_render_fails_the_message() {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        let err = step("{ body: '{{ vars.missing.deeper }}' }").run(&mut ex).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Failed, "REPLY_FAILED"));
        assert!(err.message.starts_with("reply `body`: "), "{}", err.message);
        assert!(ex.reply.is_none());
    }

    #[test]
    fn checks_its_config_when_built() {
        let err = build_error("{ body: '{{ body.x ' }");
        assert!(
            err.starts_with("reply `body` is not a valid template: at line 1, column 11: expected"),
            "{err}"
        );
        assert!(build_error("{ headers: { 'Bad Name': x } }").contains("not a valid HTTP header name"));
        assert!(build_error("{ headers: { X-A: '{% if %}' } }").contains("reply header `X-A` is not a valid template"));
        assert!(
            build_error("{ content_type: text/xml, headers: { content-type: text/xml } }")
                .contains("keep `content_type`")
        );
        assert!(build_error("{ body: a, body_from: vars.a }")
            .contains("more than one of `body`, `body_file` and `body_from`"));
        assert!(build_error("{ body_from: nowhere }").contains("not a scope"));
        assert!(build_error("{ status: 99 }").contains("expected an HTTP status from 100 to 599"));
        assert!(build_error("{ status: 1000 }").contains("expected an HTTP status from 100 to 599"));
        assert!(build_error("{ staus: 200 }").contains("unknown field `staus`"));
    }
}
