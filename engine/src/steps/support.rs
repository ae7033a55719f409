//! What several step kinds need while building from their configs: templates
//! and target paths checked with one-line errors, header templates, config
//! values written short or in full, and the content type of a text body.

use super::BuildContext;
use crate::templates::Template;
use crate::value::{Path, Scope};
use indexmap::IndexMap;
use regex::Regex;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Compiles a template written at `what` (e.g. "reply `body`"), recording
/// what Tera could not parse. What it renders may be kept, so it cannot read
/// `secrets`.
pub(crate) fn template(cx: &mut BuildContext, what: &str, source: &str) -> Option<Template> {
    compiled(cx, what, Template::compile(source))
}

/// Compiles a template of an outbound request (a URL, a header, a body, a
/// SOAP parameter), which may read `secrets`: render it with
/// [`crate::secrets::Secrets::render_outbound`] as the request is sent.
pub(crate) fn outbound_template(cx: &mut BuildContext, what: &str, source: &str) -> Option<Template> {
    compiled(cx, what, Template::compile_outbound(source))
}

fn compiled(cx: &mut BuildContext, what: &str, result: Result<Template, String>) -> Option<Template> {
    result
        .map_err(|error| cx.error(format!("{what} is not a valid template: {}", one_line(&error))))
        .ok()
}

/// Compiles an optional regular expression written at `what` (e.g. "soap
/// `q` `error_when`"): `Some(None)` when none is given, `None` when it does
/// not compile (the error recorded).
pub(crate) fn optional_regex(cx: &mut BuildContext, what: &str, pattern: Option<&str>) -> Option<Option<Regex>> {
    match pattern.map(Regex::new) {
        None => Some(None),
        Some(Ok(regex)) => Some(Some(regex)),
        Some(Err(e)) => {
            cx.error(format!(
                "{what} is not a valid regular expression: {}",
                one_line(&e.to_string())
            ));
            None
        }
    }
}

/// Compiles header templates, checking each name is a valid HTTP header name.
pub(crate) fn header_templates(
    cx: &mut BuildContext,
    what: &str,
    headers: &IndexMap<String, String>,
) -> Option<Vec<(String, Template)>> {
    headers_with(cx, what, headers, template)
}

/// As [`header_templates`], for an outbound request: they may read `secrets`.
pub(crate) fn outbound_header_templates(
    cx: &mut BuildContext,
    what: &str,
    headers: &IndexMap<String, String>,
) -> Option<Vec<(String, Template)>> {
    headers_with(cx, what, headers, outbound_template)
}

fn headers_with(
    cx: &mut BuildContext,
    what: &str,
    headers: &IndexMap<String, String>,
    compile: fn(&mut BuildContext, &str, &str) -> Option<Template>,
) -> Option<Vec<(String, Template)>> {
    let mut compiled = Vec::with_capacity(headers.len());
    let mut ok = true;
    for (name, source) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            cx.error(format!(
                "{what} header `{name}` is not a valid HTTP header name; expected letters, digits and `-`"
            ));
            ok = false;
            continue;
        }
        match compile(cx, &format!("{what} header `{name}`"), source) {
            Some(template) => compiled.push((name.clone(), template)),
            None => ok = false,
        }
    }
    ok.then_some(compiled)
}

/// Checks a URL written without templates: http or https. `example` shows
/// what was expected.
pub(crate) fn check_url(cx: &mut BuildContext, what: &str, url: &str, example: &str) -> bool {
    match reqwest::Url::parse(url.trim()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => true,
        Ok(parsed) => {
            cx.error(format!(
                "{what} `url` has the scheme `{}`; expected `http` or `https`",
                parsed.scheme()
            ));
            false
        }
        Err(e) => {
            cx.error(format!(
                "{what} `url` `{url}` is not a valid URL ({e}); expected e.g. `{example}`"
            ));
            false
        }
    }
}

/// A URL as errors show it: without credentials and query, which may hold
/// secrets, since error messages can be answered to the sender.
pub(crate) fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

/// Parses a path that a step writes to: any scope but the read-only `msg`.
pub(crate) fn target_path(cx: &mut BuildContext, what: &str, text: &str) -> Option<Path> {
    let path = cx.path(text)?;
    if path.scope == Scope::Msg {
        cx.error(format!(
            "{what} `{text}` is in `msg`, which is read-only; expected a path in `body`, `vars` or `headers`"
        ));
        return None;
    }
    Some(path)
}

/// A value's kind with its article, for messages: "an object", "a string".
pub(crate) fn a_kind(value: &crate::value::Value) -> &'static str {
    use crate::value::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Tera and JSONPath report parse errors in pest's multi-line layout
/// (` --> 1:11`, a snippet, `= expected ...`); a diagnostic wants one line.
pub(crate) fn one_line(error: &str) -> String {
    let at = error
        .lines()
        .find_map(|l| l.split_once("--> ").map(|(_, at)| at))
        .and_then(|pos| pos.trim().split_once(':'));
    let what = error.lines().find_map(|l| l.trim().strip_prefix("= "));
    match (at, what) {
        (Some((line, column)), Some(what)) => format!("at line {line}, column {column}: {what}"),
        _ => error.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The content type of a body the config did not type: `<` means XML,
/// `{` or `[` JSON, anything else text; always UTF-8, as bodies are Rust strings.
pub(crate) fn guess_content_type(body: &str) -> &'static str {
    match body.trim_start().chars().next() {
        Some('<') => "application/xml; charset=utf-8",
        Some('{' | '[') => "application/json; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

/// Adds `; charset=utf-8` to a content type that names no charset.
pub(crate) fn with_utf8_charset(content_type: &str) -> String {
    if content_type.to_ascii_lowercase().contains("charset=") {
        content_type.to_string()
    } else {
        format!("{}; charset=utf-8", content_type.trim_end_matches([';', ' ']))
    }
}

/// The schema of a YAML scalar that medbus reads as text: `1`, `true` and
/// `"01"` are all accepted, and compared as they are written.
pub(crate) struct ScalarText;

impl schemars::JsonSchema for ScalarText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScalarText".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// A config value written in its short form `S` (a string or a list) or in
/// full as a map `F`. Deserializing through this, rather than an untagged
/// enum, keeps serde's precise errors (an unknown key in the map is named).
pub(crate) enum ShortOrFull<S, F> {
    Short(S),
    Full(F),
}

impl<S, F> ShortOrFull<S, F> {
    /// `expecting` completes "expected ..." in the error for anything else.
    pub(crate) fn deserialize<'de, D>(deserializer: D, expecting: &'static str) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
        S: Deserialize<'de>,
        F: Deserialize<'de>,
    {
        deserializer.deserialize_any(ShortOrFullVisitor {
            expecting,
            marker: PhantomData,
        })
    }
}

struct ShortOrFullVisitor<S, F> {
    expecting: &'static str,
    marker: PhantomData<(S, F)>,
}

impl<'de, S: Deserialize<'de>, F: Deserialize<'de>> Visitor<'de> for ShortOrFullVisitor<S, F> {
    type Value = ShortOrFull<S, F>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        S::deserialize(text.to_string().into_deserializer()).map(ShortOrFull::Short)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        S::deserialize(SeqAccessDeserializer::new(seq)).map(ShortOrFull::Short)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        F::deserialize(MapAccessDeserializer::new(map)).map(ShortOrFull::Full)
    }
}

/// What building a step needs, for tests: `settings`, `databases`, no
/// mapping tables, scripts in Asia/Shanghai.
#[cfg(test)]
pub(crate) fn test_resources(
    settings: std::sync::Arc<crate::settings::Settings>,
    databases: std::sync::Arc<crate::databases::Databases>,
) -> crate::resources::Resources {
    let mappings = std::sync::Arc::new(crate::mappings::Mappings::empty());
    crate::resources::Resources {
        settings,
        scripting: std::sync::Arc::new(crate::scripting::Scripting::new(
            chrono_tz::Asia::Shanghai,
            mappings.clone(),
        )),
        mappings,
        databases,
    }
}

/// Builds a step from its YAML config as a route file would, for tests;
/// on failure, every diagnostic's message, one a line.
#[cfg(test)]
pub(crate) fn build_for_test<C, S>(
    yaml: &str,
    build: impl FnOnce(&C, &mut BuildContext) -> Option<S>,
) -> Result<S, String>
where
    C: serde::de::DeserializeOwned,
{
    use crate::config::{Diagnostics, Position};

    let config: C = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    let settings = crate::settings::Settings::for_dir(&std::env::temp_dir());
    let resources = test_resources(std::sync::Arc::new(settings), Default::default());
    let mut diagnostics = Diagnostics::default();
    let mut cx = BuildContext {
        file: std::path::Path::new("routes/test.yaml"),
        at: Position { line: 3, column: 5 },
        resources: &resources,
        diagnostics: &mut diagnostics,
    };
    let step = build(&config, &mut cx);
    let messages: Vec<String> = diagnostics.items.iter().map(|d| d.message.clone()).collect();
    match step {
        Some(step) if messages.is_empty() => Ok(step),
        Some(_) => Err(format!("built despite errors: {}", messages.join("\n"))),
        None if messages.is_empty() => Err("not built, and no error recorded".into()),
        None => Err(messages.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_pest_errors_and_keeps_others() {
        let err = Template::compile("{{ body.x ").err().unwrap();
        let line = one_line(&err);
        assert!(line.starts_with("at line 1, column 11: expected"), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(one_line("plain\n  words"), "plain words");
    }

    #[test]
    fn guesses_content_types() {
        assert_eq!(guess_content_type("  <a/>"), "application/xml; charset=utf-8");
        assert_eq!(guess_content_type("[1]"), "application/json; charset=utf-8");
        assert_eq!(guess_content_type("ok"), "text/plain; charset=utf-8");
        assert_eq!(guess_content_type(""), "text/plain; charset=utf-8");
        assert_eq!(with_utf8_charset("text/xml"), "text/xml; charset=utf-8");
        assert_eq!(with_utf8_charset("text/xml; Charset=GBK"), "text/xml; Charset=GBK");
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Full {
        regex: String,
    }

    #[derive(Debug, PartialEq)]
    struct Rule(String);

    impl<'de> Deserialize<'de> for Rule {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(
                match ShortOrFull::<String, Full>::deserialize(d, "a regex or { regex }")? {
                    ShortOrFull::Short(text) => Rule(text),
                    ShortOrFull::Full(full) => Rule(full.regex),
                },
            )
        }
    }

    /// Snapshots are shared between tasks, and a call runs inside one.
    #[test]
    fn steps_can_be_shared_between_tasks() {
        fn shared<T: Send + Sync>() {}
        fn sendable<F: std::future::Future + Send>(_: F) {}
        shared::<crate::steps::parse::ParseStep>();
        shared::<crate::steps::validate::ValidateStep>();
        shared::<crate::steps::extract::ExtractStep>();
        shared::<crate::steps::call::CallStep>();
        shared::<crate::steps::reply::ReplyStep>();
        let step: crate::steps::call::CallStep =
            build_for_test("{ name: a, url: 'http://h/' }", crate::steps::call::CallStep::build).unwrap();
        let mut ex = crate::exchange::Exchange::new("r", Default::default(), None, Default::default());
        let env = crate::steps::RunEnv {
            outbound: crate::outbound::Outbound::Recorded(Default::default()),
        };
        sendable(step.run(&mut ex, &env));
    }

    #[test]
    fn the_documented_examples_build() {
        let docs = include_str!("../../../docs/steps-parse-validate-extract-call-reply.md");
        let blocks: Vec<&str> = docs
            .split("```yaml\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 5, "one example per step at least");
        for block in blocks {
            let built = build_for_test(block, |specs: &Vec<crate::steps::StepSpec>, cx| {
                specs
                    .iter()
                    .map(|spec| crate::steps::Step::build(spec, cx))
                    .collect::<Option<Vec<_>>>()
            });
            assert!(built.is_ok(), "{block}\n{}", built.err().unwrap());
        }
    }

    #[test]
    fn reads_short_and_full_forms_with_precise_errors() {
        let rules: Vec<Rule> = serde_saphyr::from_str("[a, { regex: b }]").unwrap();
        assert_eq!(rules, vec![Rule("a".into()), Rule("b".into())]);
        let err = serde_saphyr::from_str::<Vec<Rule>>("[{ regx: b }]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `regx`"), "{err}");
    }
}
