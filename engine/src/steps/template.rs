//! The `template` step: renders a Tera template to the outgoing payload
//! (what destinations send) or into a path.
//!
//! ```yaml
//! - template: { file: xiamen-120/apply.xml }          # application/xml; charset=utf-8
//! - template: { inline: '{"name": {{ body.name | json }}}', content_type: application/json }
//! - template: { inline: "{{ body.familyName }}{{ body.givenName }}", to: vars.fullName }
//! ```

use super::script::position;
use super::{BuildContext, Flow, StepError};
use crate::config::{Located, Position};
use crate::exchange::{Exchange, Payload};
use crate::templates::Template;
use crate::value::{Path, Scope, Value};
use schemars::JsonSchema;
use serde::Deserialize;

/// Render a Tera template over `body`, `vars`, `headers`, `msg` and
/// `config` (with the filters `xml_escape` and `json`). The text becomes the
/// outgoing payload, or goes to the path in `to`. Give `file` or `inline`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// A template file, relative to the templates folder (`templates_dir`),
    /// e.g. `xiamen-120/apply.xml`. Its extension gives the content type;
    /// a trailing `.tera` is skipped (`apply.xml.tera` is XML).
    #[serde(default)]
    pub file: Option<Located<String>>,
    /// The template itself.
    #[serde(default)]
    pub inline: Option<Located<String>>,
    /// The payload's content type. Default: from the file's extension
    /// (`.xml` -> `application/xml; charset=utf-8`, `.json`, `.html`,
    /// `.csv`, `.hl7`), otherwise `text/plain; charset=utf-8`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Write the text to this path (e.g. `vars.request`) instead of making
    /// it the outgoing payload.
    #[serde(default)]
    pub to: Option<Located<String>>,
}

pub struct TemplateStep {
    template: Template,
    output: Output,
}

enum Output {
    Payload { content_type: String },
    Path(Path),
}

impl TemplateStep {
    pub fn build(config: &TemplateConfig, cx: &mut BuildContext) -> Option<Self> {
        let output = match (&config.to, &config.content_type) {
            (Some(_), Some(_)) => {
                cx.error("`content_type` is for the outgoing payload; a template written `to` a path has none");
                return None;
            }
            (Some(to), None) => Output::Path(writable_path_at(to, cx)?),
            (None, Some(content_type)) => Output::Payload {
                content_type: content_type.clone(),
            },
            (None, None) => Output::Payload {
                content_type: guess_content_type(config.file.as_ref().map(|f| f.value.as_str())),
            },
        };
        let template = match (&config.file, &config.inline) {
            (Some(file), None) => compile_file(file, cx)?,
            (None, Some(inline)) => compile_inline(inline, "the inline template", cx)?,
            _ => {
                cx.error("a template step takes `file` or `inline`; expected exactly one of them");
                return None;
            }
        };
        Some(TemplateStep { template, output })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let text = render(&self.template, ex, Vec::new()).map_err(|e| StepError::failed("TEMPLATE_ERROR", e))?;
        match &self.output {
            Output::Payload { content_type } => {
                ex.out = Some(Payload {
                    content_type: content_type.clone(),
                    body: text,
                });
            }
            Output::Path(path) => ex
                .assign(path, Value::String(text))
                .map_err(|e| StepError::failed("SET_ERROR", e))?,
        }
        Ok(Flow::Continue)
    }
}

/// Renders `template` against the exchange, plus `extra` top-level keys
/// (e.g. `value` for a rejection message). The scopes it reads are moved
/// into the context and back rather than cloned: this runs per message.
pub(crate) fn render(template: &Template, ex: &mut Exchange, extra: Vec<(&str, Value)>) -> Result<String, String> {
    let mut context = crate::value::Map::new();
    if template.uses("body") {
        context.insert("body".into(), std::mem::take(&mut ex.body));
    }
    if template.uses("vars") {
        context.insert("vars".into(), Value::Object(std::mem::take(&mut ex.vars)));
    }
    if template.uses("headers") {
        context.insert("headers".into(), Value::Object(std::mem::take(&mut ex.headers)));
    }
    if template.uses("msg") {
        context.insert("msg".into(), ex.msg_value());
    }
    if template.uses("config") {
        context.insert("config".into(), Value::Object((*ex.config).clone()));
    }
    for (key, value) in extra {
        context.insert(key.into(), value);
    }
    let (result, context) = template.render_owned(Value::Object(context));
    let Value::Object(mut context) = context else {
        unreachable!("rendering gives the context back as it took it")
    };
    if let Some(body) = context.get_mut("body") {
        ex.body = body.take().into();
    }
    if let Some(Value::Object(vars)) = context.get_mut("vars") {
        ex.vars = std::mem::take(vars);
    }
    if let Some(Value::Object(headers)) = context.get_mut("headers") {
        ex.headers = std::mem::take(headers);
    }
    result
}

/// Compiles a template written in the route file; an error is recorded at
/// its position.
pub(crate) fn compile_inline(source: &Located<String>, what: &str, cx: &mut BuildContext) -> Option<Template> {
    match Template::compile(&source.value) {
        Ok(template) => Some(template),
        Err(e) => {
            let at = position(cx, source.at);
            let (line, column, message) = split_tera_error(&e);
            let within = if line > 0 {
                format!("line {line}, column {column}: ")
            } else {
                String::new()
            };
            cx.diagnostics
                .error(cx.file, at, format!("{what} does not compile: {within}{message}"));
            None
        }
    }
}

/// Parses a route-file path; an error is recorded at its position.
pub(crate) fn path_at(text: &Located<String>, cx: &mut BuildContext) -> Option<Path> {
    match text.value.parse() {
        Ok(path) => Some(path),
        Err(e) => {
            let at = position(cx, text.at);
            cx.diagnostics.error(cx.file, at, e);
            None
        }
    }
}

/// As `path_at`, for a path a step writes to: in `body`, `vars` or
/// `headers` (not the read-only `msg` or `config`), and a field of `vars`
/// or `headers` rather than the whole map.
pub(crate) fn writable_path_at(text: &Located<String>, cx: &mut BuildContext) -> Option<Path> {
    let path = path_at(text, cx)?;
    let problem = match path.scope {
        Scope::Msg | Scope::Config => format!("`{}` is read-only", path.scope.name()),
        Scope::Vars | Scope::Headers if path.segments.is_empty() => {
            format!("`{}` is a map of fields, not one value", path.scope.name())
        }
        _ => return Some(path),
    };
    let at = position(cx, text.at);
    cx.diagnostics.error(
        cx.file,
        at,
        format!("cannot write `{path}`: {problem}; expected a path such as `body.x`, `vars.x` or `headers.x`"),
    );
    None
}

pub(crate) fn compile_file(file: &Located<String>, cx: &mut BuildContext) -> Option<Template> {
    let resources = cx.resources;
    let (path, source) = cx.read_referenced_file("template", &resources.settings.templates_dir, file)?;
    match Template::compile(&source) {
        Ok(template) => Some(template),
        Err(e) => {
            let (line, column, message) = split_tera_error(&e);
            let at = Position {
                line: line.max(1),
                column: column.max(1),
            };
            cx.diagnostics
                .error(&path, at, format!("the template does not compile: {message}"));
            None
        }
    }
}

/// Tera reports ` --> 3:19`, a snippet, then `= expected ...`; we report
/// the position our own way and keep the explanation.
fn split_tera_error(error: &str) -> (u64, u64, String) {
    let position = error.lines().find_map(|line| {
        let (line, column) = line.trim().strip_prefix("--> ")?.split_once(':')?;
        Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
    });
    let explanation = error
        .lines()
        .find_map(|line| line.trim().strip_prefix("= "))
        .map(str::to_string);
    match (position, explanation) {
        (Some((line, column)), Some(message)) => (line, column, message),
        _ => (0, 0, error.trim().to_string()),
    }
}

fn guess_content_type(file: Option<&str>) -> String {
    let name = file.unwrap_or("");
    let name = name.strip_suffix(".tera").unwrap_or(name);
    let extension = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mime = match extension.as_str() {
        "xml" => "application/xml",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "hl7" | "er7" => "x-application/hl7-v2+er7",
        _ => "text/plain",
    };
    format!("{mime}; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripting::fixture::{exchange, Fixture};
    use crate::steps::ErrorKind;
    use serde_json::json;

    const APPLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<apply>
  <applyNo>{{ body.applyNo }}</applyNo>
  <patientName>{{ body.patient.name | xml_escape }}</patientName>
  {%- for item in body.items %}
  <item code="{{ item.code }}">{{ item.name }}</item>
  {%- endfor %}
  <route>{{ msg.route }}</route>
</apply>
"#;

    fn fixture() -> Fixture {
        Fixture::with_files(&[
            ("templates/xiamen-120/apply.xml", APPLY),
            ("templates/report.json.tera", "{\"id\": {{ body.id | json }}}"),
            (
                "templates/broken.xml",
                "<a>\n  {% if body.x %}\n  {{ body.x | }}\n</a>\n",
            ),
        ])
    }

    fn build(f: &Fixture, yaml: &str) -> Result<TemplateStep, Vec<String>> {
        f.build(yaml, TemplateStep::build)
    }

    #[test]
    fn renders_a_file_to_the_outgoing_payload() {
        let f = fixture();
        let step = build(&f, "file: xiamen-120/apply.xml").unwrap();
        let mut ex = exchange(json!({
            "applyNo": "A0001",
            "patient": {"name": "张三 <急>"},
            "items": [{"code": "01", "name": "心电图"}, {"code": "02", "name": "血常规"}]
        }));
        step.run(&mut ex).unwrap();
        let out = ex.out.clone().unwrap();
        assert_eq!(out.content_type, "application/xml; charset=utf-8");
        assert!(
            out.body.contains("<patientName>张三 &lt;急&gt;</patientName>"),
            "{}",
            out.body
        );
        assert!(
            out.body
                .contains("<item code=\"01\">心电图</item>\n  <item code=\"02\">血常规</item>"),
            "{}",
            out.body
        );
        assert!(out.body.contains("<route>test.route</route>"));
        assert_eq!(
            ex.body["applyNo"],
            json!("A0001"),
            "the body is given back after rendering"
        );
        let step = build(&f, "file: report.json.tera").unwrap();
        let mut ex = exchange(json!({"id": "R1"}));
        step.run(&mut ex).unwrap();
        assert_eq!(
            ex.out,
            Some(Payload {
                content_type: "application/json; charset=utf-8".into(),
                body: "{\"id\": \"R1\"}".into()
            })
        );
    }

    #[test]
    fn renders_inline_with_a_content_type_or_into_a_path() {
        let f = fixture();
        let step = build(
            &f,
            "{ inline: 'MSH|{{ body.id }}', content_type: x-application/hl7-v2+er7 }",
        )
        .unwrap();
        let mut ex = exchange(json!({"id": 7}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.out.as_ref().unwrap().body, "MSH|7");
        assert_eq!(ex.out.as_ref().unwrap().content_type, "x-application/hl7-v2+er7");
        let step = build(
            &f,
            "{ inline: '{{ body.familyName }}{{ body.givenName }}', to: vars.fullName }",
        )
        .unwrap();
        let mut ex = exchange(json!({"familyName": "欧阳", "givenName": "娜娜"}));
        ex.vars.insert("kept".into(), json!(1));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.vars["fullName"], json!("欧阳娜娜"));
        assert_eq!(ex.vars["kept"], json!(1));
        assert!(ex.out.is_none());
        let step = build(&f, "inline: plain text").unwrap();
        step.run(&mut ex).unwrap();
        assert_eq!(ex.out.unwrap().content_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn a_render_error_fails_the_message() {
        let f = fixture();
        let step = build(&f, "inline: '{{ body.patient.name }}'").unwrap();
        let mut ex = exchange(json!({"id": 1}));
        let err = step.run(&mut ex).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Failed, "TEMPLATE_ERROR"));
        assert!(err.message.contains("body.patient.name"), "{err}");
        assert_eq!(ex.body, json!({"id": 1}), "the body is given back after a failure");
        let step = build(&f, "{ inline: 'x', to: body.a.b }").unwrap();
        let mut ex = exchange(json!({"a": "text"}));
        assert_eq!(step.run(&mut ex).unwrap_err().code, "SET_ERROR");
    }

    #[test]
    fn bad_templates_are_build_errors_with_positions() {
        let f = fixture();
        let errors = build(&f, "file: broken.xml").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("templates/broken.xml:3:"), "{errors:?}");
        assert!(
            errors[0].contains("the template does not compile: expected"),
            "{errors:?}"
        );
        let errors = build(&f, "file: missing.xml").err().unwrap();
        assert!(
            errors[0].starts_with("routes/test.yaml:1:7: template `missing.xml` does not exist"),
            "{errors:?}"
        );
        let errors = build(&f, "inline: '{{ body.x '").err().unwrap();
        assert!(
            errors[0]
                .starts_with("routes/test.yaml:1:9: the inline template does not compile: line 1, column 11: expected"),
            "{errors:?}"
        );
        let errors = build(&f, "{ inline: x, to: nowhere.x }").err().unwrap();
        assert!(
            errors[0].starts_with("routes/test.yaml:1:18: path `nowhere.x` starts with `nowhere`"),
            "{errors:?}"
        );
        let errors = build(&f, "{ inline: x, to: msg.id }").err().unwrap();
        assert!(errors[0].contains("`msg` is read-only"), "{errors:?}");
        let errors = build(&f, "{ inline: x, to: config.url }").err().unwrap();
        assert!(errors[0].contains("`config` is read-only"), "{errors:?}");
        let errors = build(&f, "{ inline: x, to: vars }").err().unwrap();
        assert!(
            errors[0].contains("cannot write `vars`: `vars` is a map of fields, not one value"),
            "{errors:?}"
        );
        assert!(build(&f, "{ inline: x, to: body }").is_ok());
        let errors = build(&f, "{ inline: x, to: vars.x, content_type: text/plain }")
            .err()
            .unwrap();
        assert_eq!(errors.len(), 1);
        let errors = build(&f, "{ }").err().unwrap();
        assert!(errors[0].contains("takes `file` or `inline`"), "{errors:?}");
    }
}
