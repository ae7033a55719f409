//! Tera templates: one compiled template per use, rendered against an
//! exchange's context (`body`, `vars`, `headers`, `msg`, and for error
//! answers `error`). Filters added here: `xml_escape`, `json`. Only the
//! templates of outbound requests may read `secrets` ([`Template::compile_outbound`]).

use crate::value::Value;
use std::collections::HashMap;

pub struct Template {
    tera: tera::Tera,
    /// A template without `{{`/`{%` is kept as its text and never rendered.
    literal: Option<String>,
    /// The context names (`body`, `vars` ...) the source mentions.
    mentions: Vec<&'static str>,
}

/// The names a template's context holds.
pub const CONTEXT_NAMES: [&str; 7] = ["body", "vars", "headers", "msg", "config", "error", "secrets"];

const NAME: &str = "t";

impl Template {
    /// Compiles `source`; the error says what Tera could not parse. A
    /// template that reads `secrets` is refused: what it renders is kept
    /// (a trace, the journal, a queued delivery).
    pub fn compile(source: &str) -> Result<Template, String> {
        if reads_secrets(source) {
            return Err(
                "`secrets` can only be read by the templates of outbound requests (a `call` step's url, query, \
                 headers and body; an `http` destination's url and headers; a `soap` step's or destination's \
                 url, params and headers), rendered as they are sent; \
                 what this template renders is kept in the journal"
                    .into(),
            );
        }
        Template::compile_outbound(source)
    }

    /// Compiles the template of an outbound request, which may read
    /// `secrets`: render it with [`crate::secrets::Secrets::render_outbound`]
    /// as the request is sent, and keep what it renders nowhere.
    pub fn compile_outbound(source: &str) -> Result<Template, String> {
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            return Ok(Template {
                tera: tera::Tera::default(),
                literal: Some(source.to_string()),
                mentions: Vec::new(),
            });
        }
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        tera.register_filter("xml_escape", xml_escape);
        tera.register_filter("json", json_filter);
        tera.add_raw_template(NAME, source).map_err(|e| tera_error(&e))?;
        let mentions = CONTEXT_NAMES
            .into_iter()
            .filter(|name| mentions_word(source, name))
            .collect();
        Ok(Template {
            tera,
            literal: None,
            mentions,
        })
    }

    /// Whether the template may read `name` (`body`, `vars` ...) from its
    /// context: the name stands in its source as a word.
    pub fn uses(&self, name: &str) -> bool {
        self.mentions.contains(&name)
    }

    /// Renders against `context`, an object. Only the scopes the template
    /// mentions are copied into Tera's context (keys that are not scope
    /// names, such as `error`, always are): this runs per message.
    pub fn render(&self, context: &Value) -> Result<String, String> {
        if let Some(text) = &self.literal {
            return Ok(text.clone());
        }
        let Value::Object(map) = context else {
            return Err("the template context is not an object".into());
        };
        let kept = map
            .iter()
            .filter(|(name, _)| self.needs(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        self.render_owned(Value::Object(kept)).0
    }

    /// Renders against `context`, an object it takes and gives back
    /// unchanged, so that a caller can move its scopes in instead of
    /// copying them.
    pub fn render_owned(&self, context: Value) -> (Result<String, String>, Value) {
        if let Some(text) = &self.literal {
            return (Ok(text.clone()), context);
        }
        if !context.is_object() {
            return (Err("the template context is not an object".into()), context);
        }
        let context = tera::Context::from_value(context).expect("an object makes a context");
        let rendered = self.tera.render(NAME, &context).map_err(|e| tera_error(&e));
        (rendered, context.into_json())
    }

    /// Whether the template may read the context key `name`.
    pub fn needs(&self, name: &str) -> bool {
        !CONTEXT_NAMES.contains(&name) || self.uses(name)
    }
}

/// Whether `name` stands in `source` as a whole word (not inside a longer
/// identifier). Mentions in strings or comments count too: callers use it
/// to skip work that is surely not needed, never to refuse anything.
pub fn mentions_word(source: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    source
        .match_indices(name)
        .any(|(at, _)| !source[..at].ends_with(word) && !source[at + name.len()..].starts_with(word))
}

/// Whether a tag (`{{ .. }}`, `{% .. %}`) of `source` names `secrets` as a
/// variable: not inside a string literal, not as a field (`body.secrets`).
fn reads_secrets(source: &str) -> bool {
    let first = |text: &str, a: &str, b: &str| match (text.find(a), text.find(b)) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let mut rest = source;
    while let Some(open) = first(rest, "{{", "{%") {
        let tag = &rest[open + 2..];
        let end = first(tag, "}}", "%}").unwrap_or(tag.len());
        if names_secrets(&tag[..end]) {
            return true;
        }
        rest = &tag[end..];
    }
    false
}

/// Whether `code` (a tag's inside) names `secrets` outside string literals
/// and not after a `.`.
fn names_secrets(code: &str) -> bool {
    let mut outside = String::with_capacity(code.len());
    let mut quote = None;
    for c in code.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '\'' | '`') => {
                quote = Some(c);
                outside.push(' ');
            }
            None => outside.push(c),
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    outside.match_indices(crate::secrets::SCOPE).any(|(at, name)| {
        let before = outside[..at].trim_end();
        !outside[..at].ends_with(word) && !before.ends_with('.') && !outside[at + name.len()..].starts_with(word)
    })
}

/// Tera nests the useful part of an error in its sources.
fn tera_error(error: &tera::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        parts.push(inner.to_string());
        source = inner.source();
    }
    parts.retain(|p| !p.starts_with("Failed to parse '") && !p.starts_with("Failed to render '"));
    let text = parts.join(": ").replace(&format!("'{NAME}'"), "the template");
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

fn xml_escape(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let text = match value {
        tera::Value::String(s) => escape_xml(s),
        tera::Value::Null => String::new(),
        other => escape_xml(&other.to_string()),
    };
    Ok(tera::Value::String(text))
}

/// What the `xml_escape` filter writes: the five XML entities escaped.
/// Redaction looks for secrets in this form too.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn json_filter(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    Ok(tera::Value::String(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paths_filters_and_literals() {
        let t = Template::compile("<name>{{ body.name | xml_escape }}</name>{{ vars.x | json }}").unwrap();
        let out = t
            .render(&json!({"body": {"name": "张三 & <李>"}, "vars": {"x": [1]}}))
            .unwrap();
        assert_eq!(out, "<name>张三 &amp; &lt;李&gt;</name>[1]");
        assert_eq!(Template::compile("ok").unwrap().render(&json!({})).unwrap(), "ok");
    }

    #[test]
    fn knows_which_context_names_it_reads() {
        let t = Template::compile("{{ config.url }}/{{ body.id }}?x={{ somebody }}").unwrap();
        assert!(t.uses("config") && t.uses("body"));
        assert!(!t.uses("vars") && !t.uses("headers"));
    }

    #[test]
    fn only_outbound_templates_read_secrets() {
        for source in [
            "{{ secrets.vendor }}",
            r#"x {{ secrets["vendor-120"] | json }}"#,
            "{% if secrets %}1{% endif %}",
            "{% for k, v in secrets %}{{ v }}{% endfor %}",
        ] {
            let error = Template::compile(source).err().unwrap_or_default();
            assert!(
                error.contains("only be read by the templates of outbound requests"),
                "{source}: {error}"
            );
            assert!(Template::compile_outbound(source).is_ok(), "{source}");
        }
        for source in [
            "secrets {{ body.secrets }} {{ body['secrets'] }} {{ \"secrets\" }} {{ my_secrets }}",
            "{# secrets #}",
        ] {
            assert!(Template::compile(source).is_ok(), "{source}");
        }
    }

    #[test]
    fn reports_parse_and_render_errors() {
        let err = Template::compile("{{ body.name ").err().unwrap();
        assert!(!err.is_empty());
        let t = Template::compile("{{ body.missing.deeper }}").unwrap();
        assert!(t.render(&json!({"body": {}})).is_err());
    }
}
