//! The `set` step: assigns paths, in the order written.
//!
//! ```yaml
//! - set:
//!     vars.source: { value: his }
//!     body.receivedAt: { expr: "now()" }
//!     vars.fullName: { template: "{{ body.familyName }}{{ body.givenName }}" }
//! ```

use super::script::{compile_inline, step_error};
use super::template::{self, render, writable_path_at};
use super::{BuildContext, Flow, StepError};
use crate::config::Located;
use crate::exchange::Exchange;
use crate::scripting::{Script, Scripting};
use crate::templates::Template;
use crate::value::{Path, Value};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Assign paths in `body`, `vars` or `headers`, in the order written: each
/// key is a path, each value says where the new value comes from. A later
/// assignment sees the earlier ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetConfig {
    pub assignments: Vec<(Located<String>, SetValue)>,
}

/// Where an assigned value comes from: exactly one of `value`, `expr`,
/// `template`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SetValue {
    /// A value used as written: text, a number, a boolean, null, a list or
    /// a map. E.g. `{ value: his }`.
    Value(Value),
    /// A Rhai expression over `body`, `vars`, `headers`, `msg` and
    /// `config`; its value is assigned. E.g. `{ expr: "now()" }`,
    /// `{ expr: "body.items.len()" }`.
    Expr(Located<String>),
    /// A Tera template over `body`, `vars`, `headers`, `msg` and `config`;
    /// the text is assigned. E.g.
    /// `{ template: "{{ body.familyName }}{{ body.givenName }}" }`.
    Template(Located<String>),
}

pub struct SetStep {
    assignments: Vec<(Path, Source)>,
    scripting: Arc<Scripting>,
}

enum Source {
    Value(Value),
    Expr(Script),
    Template(Box<Template>),
}

impl SetStep {
    /// The paths the step writes.
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        self.assignments.iter().map(|(path, _)| path)
    }

    pub fn build(config: &SetConfig, cx: &mut BuildContext) -> Option<Self> {
        if config.assignments.is_empty() {
            cx.error("a set step needs at least one `path: { value | expr | template: ... }`");
            return None;
        }
        let mut assignments = Vec::with_capacity(config.assignments.len());
        let mut ok = true;
        for (key, value) in &config.assignments {
            let path = writable_path_at(key, cx);
            let source = match value {
                SetValue::Value(value) => Some(Source::Value(value.clone())),
                SetValue::Expr(expr) => {
                    compile_inline(expr, &format!("the expression for `{}`", key.value), true, cx).map(Source::Expr)
                }
                SetValue::Template(text) => {
                    template::compile_inline(text, &format!("the template for `{}`", key.value), cx)
                        .map(|t| Source::Template(Box::new(t)))
                }
            };
            match (path, source) {
                (Some(path), Some(source)) => assignments.push((path, source)),
                _ => ok = false,
            }
        }
        ok.then(|| SetStep {
            assignments,
            scripting: cx.resources.scripting.clone(),
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        for (path, source) in &self.assignments {
            let value = match source {
                Source::Value(value) => value.clone(),
                Source::Expr(script) => self
                    .scripting
                    .evaluate(script, ex)
                    .map_err(|e| step_error(e, &format!("set `{path}`")))?,
                Source::Template(template) => Value::String(
                    render(template, ex, Vec::new())
                        .map_err(|e| StepError::failed("TEMPLATE_ERROR", format!("set `{path}`: {e}")))?,
                ),
            };
            ex.assign(path, value).map_err(|e| StepError::failed("SET_ERROR", e))?;
        }
        Ok(Flow::Continue)
    }
}

/// A map read in the order written, keeping where each key was.
impl<'de> Deserialize<'de> for SetConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor;
        impl<'de> Visitor<'de> for SetVisitor {
            type Value = SetConfig;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of path: { value | expr | template: ... }")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SetConfig, A::Error> {
                let mut assignments = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(entry) = map.next_entry()? {
                    assignments.push(entry);
                }
                Ok(SetConfig { assignments })
            }
        }
        deserializer.deserialize_map(SetVisitor)
    }
}

impl JsonSchema for SetConfig {
    fn schema_name() -> Cow<'static, str> {
        "SetConfig".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<SetValue>();
        json_schema!({
            "description": "Assign paths in `body`, `vars` or `headers`, in the order written: each key is a path (`vars.fullName`, `body.patient.sex`, `body.items[*].checked`), each value one of `{ value: ... }`, `{ expr: ... }`, `{ template: ... }`.",
            "type": "object",
            "minProperties": 1,
            "propertyNames": { "pattern": "^(body|vars|headers)([.\\[].*)?$" },
            "additionalProperties": value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripting::fixture::{exchange, Fixture};
    use serde_json::json;

    fn build(yaml: &str) -> Result<SetStep, Vec<String>> {
        Fixture::with_files(&[]).build(yaml, SetStep::build)
    }

    #[test]
    fn assigns_values_expressions_and_templates_in_order() {
        let step = build(
            "vars.source: { value: his }\n\
             vars.codes: { value: [1, '01'] }\n\
             body.receivedAt: { expr: 'now()' }\n\
             vars.fullName: { template: '{{ body.familyName }}{{ body.givenName }}' }\n\
             vars.greeting: { expr: '`您好，${vars.fullName}`' }\n\
             body.items[*].checked: { value: true }\n",
        )
        .unwrap();
        let mut ex = exchange(json!({"familyName": "欧阳", "givenName": "娜娜", "items": [{}, {}]}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.vars["source"], json!("his"));
        assert_eq!(ex.vars["codes"], json!([1, "01"]));
        assert_eq!(ex.vars["fullName"], json!("欧阳娜娜"));
        assert_eq!(ex.vars["greeting"], json!("您好，欧阳娜娜"));
        assert_eq!(ex.body["items"], json!([{"checked": true}, {"checked": true}]));
        let received = ex.body["receivedAt"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(received, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{received}"
        );
    }

    #[test]
    fn failures_name_the_path() {
        let step = build("vars.x: { expr: 'body.a.b.c' }").unwrap();
        let err = step.run(&mut exchange(json!({"a": 1}))).unwrap_err();
        assert_eq!(err.code, "SCRIPT_ERROR");
        assert!(err.message.starts_with("set `vars.x`:1:"), "{err}");
        let step = build("vars.x: { expr: 'reject(\"NO\", \"不行\")' }").unwrap();
        assert_eq!(
            step.run(&mut exchange(json!({}))),
            Err(StepError::rejected("NO", "不行"))
        );
        let step = build("vars.x: { template: '{{ body.missing }}' }").unwrap();
        let err = step.run(&mut exchange(json!({}))).unwrap_err();
        assert_eq!(err.code, "TEMPLATE_ERROR");
        assert!(err.message.starts_with("set `vars.x`: "), "{err}");
        let step = build("body.a.b: { value: 1 }").unwrap();
        let err = step.run(&mut exchange(json!({"a": "text"}))).unwrap_err();
        assert_eq!(err.code, "SET_ERROR");
        assert!(err.message.contains("body.a.b"), "{err}");
    }

    #[test]
    fn bad_paths_and_sources_are_build_errors_at_their_keys() {
        let errors = build("vars.ok: { value: 1 }\nbody..x: { value: 1 }\nmsg.id: { value: 1 }\n")
            .err()
            .unwrap();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("routes/test.yaml:2:1: path `body..x` has an empty key"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("routes/test.yaml:3:1: cannot write `msg.id`"),
            "{errors:?}"
        );
        let errors = build("vars.x: { expr: 'let a = 1' }").err().unwrap();
        assert!(
            errors[0].starts_with("routes/test.yaml:1:17: the expression for `vars.x` does not compile"),
            "{errors:?}"
        );
        let errors = build("vars.x: { template: '{% if %}' }").err().unwrap();
        assert!(
            errors[0].contains("the template for `vars.x` does not compile"),
            "{errors:?}"
        );
        assert!(build("vars.x: { value: 1, expr: '2' }").is_err());
        assert!(build("vars.x: { literal: 1 }").is_err());
        assert!(build("{}").err().unwrap()[0].contains("at least one"));
    }

    #[test]
    fn the_schema_describes_paths_and_sources() {
        let schema = schemars::schema_for!(SetConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(
            text.contains("propertyNames") && text.contains("expr") && text.contains("template"),
            "{text}"
        );
    }
}
