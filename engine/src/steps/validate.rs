//! The `validate` step: required paths, patterns and allowed values, each
//! failure answered with a configurable code and message.
//!
//! ```yaml
//! - validate:
//!     required: [body.root.applyNo, body.root.eventNo]
//!     patterns:
//!       body.root.applyTime: '^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$'
//!     allowed:
//!       body.root.sex: ["1", "2", "9"]
//!     on_missing: { code: "10001", message: "{{ field }} is required" }
//! ```
//!
//! Rules run in the order written: every `required` path, then `patterns`,
//! then `allowed`; the first failure is answered. A sender gets one code
//! back, so a single answer that names the first problem is what protocols
//! with an error code (SOAP faults, `error:10001:...` strings, HL7 ERR) carry.

use super::support::{self, ScalarText, ShortOrFull};
use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use crate::templates::Template;
use crate::value::path::Segment;
use crate::value::{Path, Scope, Value};
use indexmap::IndexMap;
use medbus_adapters::hl7::{self, value_path};
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use std::cell::OnceCell;

/// Check that values are present, well formed and allowed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// Paths that must hold a value. Absent, `null`, an empty or blank
    /// string, an empty list and an empty object all count as missing. A
    /// path with `[*]` must reach at least one element, and every element
    /// must hold the value: `body.items[*].code`. Each entry is a path, or
    /// `{ path, code, message }` to answer it in its own way.
    #[serde(default)]
    pub required: Vec<Required>,
    /// A regular expression per path that its value must match, e.g.
    /// `body.root.applyTime: '^\d{4}-\d{2}-\d{2}$'`. The expression matches
    /// anywhere in the value unless anchored with `^` and `$`. Missing values
    /// are not checked (list the path under `required` as well); numbers
    /// and booleans are matched as written. With `[*]`, every element is
    /// checked. Each entry is a regex, or `{ regex, code, message }`.
    #[serde(default)]
    pub patterns: IndexMap<String, Pattern>,
    /// The values allowed at a path, compared as text, e.g.
    /// `body.root.sex: ["1", "2", "9"]`. Missing values are not checked.
    /// With `[*]`, every element is checked. Each entry is a list, or
    /// `{ values, code, message }`.
    #[serde(default)]
    pub allowed: IndexMap<String, Allowed>,
    /// The answer when a required value is missing. Default code
    /// `MISSING_FIELD`, message "`<path>` is required".
    #[serde(default)]
    pub on_missing: Option<Answer>,
    /// The answer when a value does not match its pattern. Default code
    /// `BAD_FORMAT`, message "`<path>` is `<value>`; expected a value matching `<regex>`".
    #[serde(default)]
    pub on_bad_format: Option<Answer>,
    /// The answer when a value is not among the allowed ones. Default code
    /// `NOT_ALLOWED`, message "`<path>` is `<value>`; expected one of `<values>`".
    #[serde(default)]
    pub on_not_allowed: Option<Answer>,
}

/// The code and message a failed rule answers; either may be left out to
/// keep the default. The message is a template that sees `path` (where the
/// rule failed, e.g. `body.items[1].code`), `field` (its last key, e.g.
/// `code`), `value` (what was found, as text), `expected`, and `body`,
/// `vars`, `headers`, `msg`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The error code answered, e.g. `"10001"`.
    #[serde(default)]
    pub code: Option<String>,
    /// The error message answered, e.g. `"{{ field }} is required"`.
    #[serde(default)]
    pub message: Option<String>,
}

/// A required path.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Required {
    /// The path, e.g. `body.root.applyNo`.
    Path(String),
    /// The path with its own answer.
    WithAnswer(RequiredWithAnswer),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredWithAnswer {
    /// The path, e.g. `body.root.applyNo`.
    pub path: String,
    /// The error code answered when the value is missing.
    #[serde(default)]
    pub code: Option<String>,
    /// The error message answered when the value is missing (a template).
    #[serde(default)]
    pub message: Option<String>,
}

/// A pattern for one path.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Pattern {
    /// The regular expression, e.g. `'^\d{17}[\dX]$'`.
    Regex(String),
    /// The regular expression with its own answer.
    WithAnswer(PatternWithAnswer),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternWithAnswer {
    /// The regular expression, e.g. `'^\d{17}[\dX]$'`.
    pub regex: String,
    /// The error code answered when the value does not match.
    #[serde(default)]
    pub code: Option<String>,
    /// The error message answered when the value does not match (a template).
    #[serde(default)]
    pub message: Option<String>,
}

/// The allowed values of one path.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Allowed {
    /// The values, e.g. `["1", "2", "9"]`.
    Values(#[schemars(with = "Vec<ScalarText>")] Vec<String>),
    /// The values with their own answer.
    WithAnswer(AllowedWithAnswer),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedWithAnswer {
    /// The values, e.g. `["1", "2", "9"]`.
    #[schemars(with = "Vec<ScalarText>")]
    pub values: Vec<String>,
    /// The error code answered when the value is not allowed.
    #[serde(default)]
    pub code: Option<String>,
    /// The error message answered when the value is not allowed (a template).
    #[serde(default)]
    pub message: Option<String>,
}

impl<'de> Deserialize<'de> for Required {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(
            match ShortOrFull::deserialize(d, "a path, or { path, code, message }")? {
                ShortOrFull::Short(path) => Required::Path(path),
                ShortOrFull::Full(full) => Required::WithAnswer(full),
            },
        )
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(
            match ShortOrFull::deserialize(d, "a regular expression, or { regex, code, message }")? {
                ShortOrFull::Short(regex) => Pattern::Regex(regex),
                ShortOrFull::Full(full) => Pattern::WithAnswer(full),
            },
        )
    }
}

impl<'de> Deserialize<'de> for Allowed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(
            match ShortOrFull::deserialize(d, "a list of values, or { values, code, message }")? {
                ShortOrFull::Short(values) => Allowed::Values(values),
                ShortOrFull::Full(full) => Allowed::WithAnswer(full),
            },
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Missing,
    BadFormat,
    NotAllowed,
}

impl Kind {
    fn default_code(self) -> &'static str {
        match self {
            Kind::Missing => "MISSING_FIELD",
            Kind::BadFormat => "BAD_FORMAT",
            Kind::NotAllowed => "NOT_ALLOWED",
        }
    }
}

enum Check {
    Required,
    Pattern(Regex),
    Allowed(Vec<String>),
}

impl Check {
    fn kind(&self) -> Kind {
        match self {
            Check::Required => Kind::Missing,
            Check::Pattern(_) => Kind::BadFormat,
            Check::Allowed(_) => Kind::NotAllowed,
        }
    }

    fn expected(&self) -> String {
        match self {
            Check::Required => "a value".to_string(),
            Check::Pattern(regex) => format!("a value matching `{regex}`"),
            Check::Allowed(values) => {
                let listed: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                format!("one of {}", listed.join(", "))
            }
        }
    }
}

/// An answer compiled: the code and the message template, when configured.
#[derive(Default)]
struct CompiledAnswer {
    code: Option<String>,
    message: Option<Box<Template>>,
}

struct Rule {
    path: Path,
    check: Check,
    answer: CompiledAnswer,
}

pub struct ValidateStep {
    rules: Vec<Rule>,
    on_missing: CompiledAnswer,
    on_bad_format: CompiledAnswer,
    on_not_allowed: CompiledAnswer,
}

impl ValidateStep {
    pub fn build(config: &ValidateConfig, cx: &mut BuildContext) -> Option<Self> {
        let mut ok = true;
        if config.required.is_empty() && config.patterns.is_empty() && config.allowed.is_empty() {
            cx.error("validate has no rules; expected `required`, `patterns` or `allowed`");
            ok = false;
        }
        let mut rules = Vec::new();
        let mut push = |rule: Option<Rule>| match rule {
            Some(rule) => rules.push(rule),
            None => ok = false,
        };
        for rule in &config.required {
            let (path, code, message) = match rule {
                Required::Path(path) => (path, &None, &None),
                Required::WithAnswer(r) => (&r.path, &r.code, &r.message),
            };
            push(compile_rule(cx, path, Some(Check::Required), code, message));
        }
        for (path, rule) in &config.patterns {
            let (regex, code, message) = match rule {
                Pattern::Regex(regex) => (regex, &None, &None),
                Pattern::WithAnswer(r) => (&r.regex, &r.code, &r.message),
            };
            let check = compile_regex(cx, path, regex).map(Check::Pattern);
            push(compile_rule(cx, path, check, code, message));
        }
        for (path, rule) in &config.allowed {
            let (values, code, message) = match rule {
                Allowed::Values(values) => (values, &None, &None),
                Allowed::WithAnswer(r) => (&r.values, &r.code, &r.message),
            };
            let check = if values.is_empty() {
                cx.error(format!(
                    "validate `allowed` for `{path}` lists no values; expected at least one"
                ));
                None
            } else {
                Some(Check::Allowed(values.clone()))
            };
            push(compile_rule(cx, path, check, code, message));
        }
        let group = |cx: &mut BuildContext, key: &str, config: &Option<Answer>| match config {
            None => Some(CompiledAnswer::default()),
            Some(a) => compile_answer(cx, &format!("validate `{key}` message"), &a.code, &a.message),
        };
        let on_missing = group(cx, "on_missing", &config.on_missing);
        let on_bad_format = group(cx, "on_bad_format", &config.on_bad_format);
        let on_not_allowed = group(cx, "on_not_allowed", &config.on_not_allowed);
        if !ok {
            return None;
        }
        Some(ValidateStep {
            rules,
            on_missing: on_missing?,
            on_bad_format: on_bad_format?,
            on_not_allowed: on_not_allowed?,
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let roots = Roots::new(ex);
        for rule in &self.rules {
            // The body reads an HL7 path without building its tree.
            let places = rule.path.hl7().map(|path| ex.body.places(path));
            let reached = match &places {
                Some(places) => places
                    .iter()
                    .map(|(at, value)| reached_at(at, value.as_deref()))
                    .collect(),
                None => reach(roots.get(rule.path.scope), &rule.path),
            };
            if let Some(failure) = rule.check(reached) {
                return Err(self.answer(rule, &failure, ex));
            }
        }
        Ok(Flow::Continue)
    }

    fn answer(&self, rule: &Rule, failure: &Failure, ex: &Exchange) -> StepError {
        let kind = rule.check.kind();
        let group = match kind {
            Kind::Missing => &self.on_missing,
            Kind::BadFormat => &self.on_bad_format,
            Kind::NotAllowed => &self.on_not_allowed,
        };
        let code = rule.answer.code.as_ref().or(group.code.as_ref());
        let code = code.map_or(kind.default_code(), String::as_str);
        let expected = rule.check.expected();
        let default_message = match (kind, &failure.value) {
            (Kind::Missing, _) | (_, None) => format!("`{}` is required", failure.path),
            (_, Some(found)) => format!("`{}` is {}; expected {expected}", failure.path, found.described()),
        };
        let message = match rule.answer.message.as_ref().or(group.message.as_ref()) {
            None => default_message,
            Some(template) => {
                let mut context = ex.context_value();
                if let Value::Object(map) = &mut context {
                    map.insert("path".into(), Value::String(failure.path.clone()));
                    map.insert("field".into(), Value::String(last_key(&rule.path)));
                    map.insert(
                        "value".into(),
                        failure.value.as_ref().map_or(Value::Null, |f| Value::String(f.text())),
                    );
                    map.insert("expected".into(), Value::String(expected));
                }
                template.render(&context).unwrap_or_else(|error| {
                    tracing::warn!(route = %ex.route, message_id = %ex.id, %error, "validate message template failed; answering the default message");
                    default_message
                })
            }
        };
        StepError::rejected(code, message).at(failure.path.clone())
    }
}

/// A rule from its parts; `check` is `None` when its own part failed to build.
fn compile_rule(
    cx: &mut BuildContext,
    path: &str,
    check: Option<Check>,
    code: &Option<String>,
    message: &Option<String>,
) -> Option<Rule> {
    let parsed = cx.path(path);
    let answer = compile_answer(cx, &format!("validate message for `{path}`"), code, message);
    Some(Rule {
        path: parsed?,
        check: check?,
        answer: answer?,
    })
}

fn compile_answer(
    cx: &mut BuildContext,
    what: &str,
    code: &Option<String>,
    message: &Option<String>,
) -> Option<CompiledAnswer> {
    let message = match message {
        None => None,
        Some(source) => Some(Box::new(support::template(cx, what, source)?)),
    };
    Some(CompiledAnswer {
        code: code.clone(),
        message,
    })
}

fn compile_regex(cx: &mut BuildContext, path: &str, source: &str) -> Option<Regex> {
    match Regex::new(source) {
        Ok(regex) => Some(regex),
        Err(error) => {
            // The regex crate's message is a snippet with a caret; its last
            // line says what is wrong.
            let text = error.to_string();
            let what = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&text);
            let what = what.trim().trim_start_matches("error: ");
            cx.error(format!(
                "validate pattern for `{path}` is not a valid regular expression: {what}; the pattern was `{source}`"
            ));
            None
        }
    }
}

/// The values the scopes hold, built once per run and only when a rule
/// reads them (`body` is borrowed; the others are maps or computed).
struct Roots<'a> {
    ex: &'a Exchange,
    vars: OnceCell<Value>,
    headers: OnceCell<Value>,
    msg: OnceCell<Value>,
    config: OnceCell<Value>,
}

impl<'a> Roots<'a> {
    fn new(ex: &'a Exchange) -> Self {
        Roots {
            ex,
            vars: OnceCell::new(),
            headers: OnceCell::new(),
            msg: OnceCell::new(),
            config: OnceCell::new(),
        }
    }

    fn get(&self, scope: Scope) -> &Value {
        let cell = match scope {
            Scope::Body => return self.ex.body.value(),
            Scope::Vars => &self.vars,
            Scope::Headers => &self.headers,
            Scope::Msg => &self.msg,
            Scope::Config => &self.config,
        };
        cell.get_or_init(|| self.ex.scope_root(scope).into_owned())
    }
}

/// Where a rule failed and, unless missing, what was found there.
struct Failure {
    path: String,
    value: Option<Found>,
}

struct Found(Value);

impl Found {
    /// The value as text for messages; long values are cut.
    fn text(&self) -> String {
        let text = scalar_text(&self.0).unwrap_or_else(|| self.0.to_string());
        match text.char_indices().nth(64) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }

    fn described(&self) -> String {
        match &self.0 {
            Value::Array(_) | Value::Object(_) => support::a_kind(&self.0).to_string(),
            _ => format!("`{}`", self.text()),
        }
    }
}

impl Rule {
    fn check(&self, reached: Vec<Reached>) -> Option<Failure> {
        match &self.check {
            Check::Required => {
                if reached.is_empty() {
                    return Some(Failure {
                        path: self.path.to_string(),
                        value: None,
                    });
                }
                reached
                    .into_iter()
                    .find(|r| r.value.is_none_or(is_missing))
                    .map(|r| Failure {
                        path: r.path,
                        value: None,
                    })
            }
            Check::Pattern(regex) => first_bad(reached, |text| regex.is_match(text)),
            Check::Allowed(values) => first_bad(reached, |text| values.iter().any(|v| v == text)),
        }
    }
}

/// The first present value that is not text accepted by `accepts`.
fn first_bad(reached: Vec<Reached>, accepts: impl Fn(&str) -> bool) -> Option<Failure> {
    reached.into_iter().find_map(|r| {
        let value = r.value.filter(|v| !is_missing(v))?;
        let good = scalar_text(value).is_some_and(|text| accepts(&text));
        (!good).then(|| Failure {
            path: r.path,
            value: Some(Found(value.clone())),
        })
    })
}

fn is_missing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A place a path reached, with its concrete path (`body.items[1].code`);
/// `value` is `None` where the path leads nowhere.
struct Reached<'a> {
    path: String,
    value: Option<&'a Value>,
}

/// Every place `path` reaches under `root`, following the conventions of
/// `Path::lookup_all` (a single value stands for a one-element list) but
/// keeping the places where nothing is, so that a missing value can be named.
fn reach<'a>(root: &'a Value, path: &Path) -> Vec<Reached<'a>> {
    let mut current = vec![Reached {
        path: path.scope.name().to_string(),
        value: Some(root),
    }];
    for segment in &path.segments {
        let mut next = Vec::with_capacity(current.len());
        for here in current {
            let at = |suffix: String, value| Reached {
                path: format!("{}{suffix}", here.path),
                value,
            };
            match (segment, here.value) {
                (Segment::Key(key), value) => {
                    let child = value.and_then(Value::as_object).and_then(|m| m.get(key));
                    next.push(at(key_text(key), child));
                }
                (Segment::Index(i), value) => {
                    let child = match value {
                        Some(Value::Array(items)) => items.get(*i),
                        Some(Value::Null) | None => None,
                        Some(single) => (*i == 0).then_some(single),
                    };
                    next.push(at(format!("[{i}]"), child));
                }
                (Segment::Wildcard, Some(Value::Array(items))) => {
                    next.extend(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| at(format!("[{i}]"), Some(item))),
                    );
                }
                (Segment::Wildcard, None | Some(Value::Null)) => next.push(at("[*]".into(), None)),
                (Segment::Wildcard, Some(single)) => next.push(at("[0]".into(), Some(single))),
                (Segment::Hl7(hl7), value) => match value {
                    Some(value) => {
                        let places = value_path::places(value, hl7);
                        next.extend(places.iter().map(|(at, value)| reached_at(at, *value)));
                    }
                    None => next.push(Reached {
                        path: hl7.to_string(),
                        value: None,
                    }),
                },
            }
        }
        current = next;
    }
    current
}

/// A place an HL7 path reached, named by its concrete path.
fn reached_at<'a>(at: &hl7::Path, value: Option<&'a Value>) -> Reached<'a> {
    Reached {
        path: at.to_string(),
        value,
    }
}

fn key_text(key: &str) -> String {
    if key.is_empty() || key.contains(|c: char| c == '.' || c == '[' || c == ']' || c.is_whitespace()) {
        format!("[\"{key}\"]")
    } else {
        format!(".{key}")
    }
}

/// The last key of a rule's path, e.g. `code` for `body.items[*].code`.
fn last_key(path: &Path) -> String {
    path.segments
        .iter()
        .rev()
        .find_map(|s| match s {
            Segment::Key(key) => Some(key.clone()),
            _ => None,
        })
        .unwrap_or_else(|| path.scope.name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Body;
    use crate::steps::support::build_for_test;
    use crate::steps::ErrorKind;
    use serde_json::json;
    use std::sync::Arc;

    fn step(yaml: &str) -> ValidateStep {
        build_for_test(yaml, ValidateStep::build).unwrap()
    }

    fn build_error(yaml: &str) -> String {
        build_for_test(yaml, ValidateStep::build)
            .err()
            .expect("the build should fail")
    }

    fn exchange(body: Value) -> Exchange {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.body = body.into();
        ex
    }

    fn check(yaml: &str, body: Value) -> Result<Flow, StepError> {
        step(yaml).run(&mut exchange(body))
    }

    fn rejected(yaml: &str, body: Value) -> (String, String) {
        let err = check(yaml, body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected);
        (err.code, err.message)
    }

    #[test]
    fn hl7_paths_name_the_occurrence_that_fails() {
        let message = "MSH|^~\\&|LIS|H|P|P|20260101||ORU^R01|1|P|2.5\rOBX|1|NM|GLU||5.2||||||F\rOBX|2|NM|WBC||6.1\r";
        let message = Arc::new(medbus_adapters::hl7::Message::parse(message.as_bytes()).unwrap());
        // The same answers from the message as read by a listener (its tree
        // not built) and from its value tree.
        for body in [Body::hl7(message.clone()), Body::new(message.to_value())] {
            let check = |yaml: &str| {
                let mut ex = exchange(Value::Null);
                ex.body = body.clone();
                step(yaml).run(&mut ex)
            };
            let rejected = |yaml: &str| {
                let err = check(yaml).unwrap_err();
                assert_eq!(err.kind, ErrorKind::Rejected);
                (err.code, err.message)
            };
            assert_eq!(check("required: ['OBX[*]-5', MSH-9.2]"), Ok(Flow::Continue));
            let (code, text) = rejected("required: ['OBX[*]-11']");
            assert_eq!(
                (code.as_str(), text.as_str()),
                ("MISSING_FIELD", "`OBX[2]-11` is required")
            );
            let (_, text) = rejected("required: [PV1-2]");
            assert_eq!(text, "`PV1-2` is required");
            let (code, text) = rejected("patterns: { 'OBX[*]-5': '^\\d+$' }");
            assert_eq!(code, "BAD_FORMAT");
            assert!(text.contains("`OBX[1]-5`"), "{text}");
            assert!(text.contains("5.2"), "{text}");
            let (code, _) = rejected("allowed: { MSH-9.1: [ADT] }");
            assert_eq!(code, "NOT_ALLOWED");
        }
    }

    #[test]
    fn required_paths_pass_when_present() {
        let body = json!({"root": {"applyNo": "A1", "count": 0, "urgent": false}});
        let yaml = "required: [body.root.applyNo, body.root.count, body.root.urgent]";
        assert_eq!(check(yaml, body), Ok(Flow::Continue));
    }

    #[test]
    fn absent_null_and_blank_values_are_missing() {
        let yaml = "required: [body.root.applyNo]";
        for body in [
            json!({}),
            json!({"root": {}}),
            json!({"root": {"applyNo": null}}),
            json!({"root": {"applyNo": ""}}),
            json!({"root": {"applyNo": "  "}}),
            json!({"root": {"applyNo": []}}),
            json!({"root": "text"}),
        ] {
            let (code, message) = rejected(yaml, body.clone());
            assert_eq!(code, "MISSING_FIELD", "{body}");
            assert_eq!(message, "`body.root.applyNo` is required", "{body}");
        }
    }

    #[test]
    fn wildcards_require_every_element_and_name_the_one_missing() {
        let yaml = "required: ['body.items[*].code']";
        assert!(check(yaml, json!({"items": [{"code": "a"}, {"code": "b"}]})).is_ok());
        assert!(
            check(yaml, json!({"items": {"code": "single"}})).is_ok(),
            "one XML element is a list of one"
        );
        let (_, message) = rejected(yaml, json!({"items": [{"code": "a"}, {"code": ""}]}));
        assert_eq!(message, "`body.items[1].code` is required");
        let (_, message) = rejected(yaml, json!({"items": []}));
        assert_eq!(message, "`body.items[*].code` is required");
        let (_, message) = rejected(yaml, json!({}));
        assert_eq!(message, "`body.items[*].code` is required");
    }

    #[test]
    fn patterns_check_present_values_and_every_element() {
        let yaml = r#"patterns: { body.applyTime: '^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$', 'body.ids[*]': '^\d+$' }"#;
        assert!(check(yaml, json!({"applyTime": "2024-05-01 08:30:00", "ids": ["1", 22]})).is_ok());
        assert!(
            check(yaml, json!({"applyTime": ""})).is_ok(),
            "missing values are for `required`"
        );
        let (code, message) = rejected(yaml, json!({"applyTime": "2024/05/01"}));
        assert_eq!(code, "BAD_FORMAT");
        assert_eq!(
            message,
            r"`body.applyTime` is `2024/05/01`; expected a value matching `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`"
        );
        let (_, message) = rejected(yaml, json!({"ids": ["1", "x2"]}));
        assert!(message.starts_with("`body.ids[1]` is `x2`;"), "{message}");
        let (_, message) = rejected(yaml, json!({"applyTime": {"#text": "x"}}));
        assert!(message.starts_with("`body.applyTime` is an object;"), "{message}");
    }

    #[test]
    fn allowed_values_compare_as_text() {
        let yaml = r#"allowed: { body.sex: [1, 2, 9], 'body.exams[*].kind': [CT, MR] }"#;
        assert!(check(yaml, json!({"sex": "1", "exams": [{"kind": "CT"}, {"kind": "MR"}]})).is_ok());
        assert!(check(yaml, json!({"sex": 2})).is_ok());
        let (code, message) = rejected(yaml, json!({"sex": "3"}));
        assert_eq!(code, "NOT_ALLOWED");
        assert_eq!(message, "`body.sex` is `3`; expected one of `1`, `2`, `9`");
        let (_, message) = rejected(yaml, json!({"exams": [{"kind": "CT"}, {"kind": "ct"}]}));
        assert!(message.starts_with("`body.exams[1].kind` is `ct`;"), "{message}");
    }

    #[test]
    fn the_first_failure_in_rule_order_is_answered() {
        let yaml = "
required: [body.a, body.b]
patterns: { body.c: '^x$' }
allowed: { body.d: [y] }
";
        assert_eq!(
            rejected(yaml, json!({"b": 1, "c": "z", "d": "z"})).1,
            "`body.a` is required"
        );
        assert_eq!(
            rejected(yaml, json!({"a": 1, "c": "z", "d": "z"})).1,
            "`body.b` is required"
        );
        assert_eq!(
            rejected(yaml, json!({"a": 1, "b": 1, "c": "z", "d": "z"})).0,
            "BAD_FORMAT"
        );
        assert_eq!(
            rejected(yaml, json!({"a": 1, "b": 1, "c": "x", "d": "z"})).0,
            "NOT_ALLOWED"
        );
    }

    #[test]
    fn answers_are_configured_per_group_and_per_path() {
        let yaml = r#"
required:
  - body.root.applyNo
  - { path: body.root.eventNo, code: "10005", message: "eventNo is required" }
patterns:
  body.root.idCard: { regex: '^\d{17}[\dX]$', message: "{{ field }} {{ value }} is no ID card number" }
  body.root.phone: '^\d{11}$'
on_missing: { code: "10001", message: "{{ field }} is required ({{ path }})" }
on_bad_format: { code: "10002" }
"#;
        let body = json!({"root": {"eventNo": "E1"}});
        assert_eq!(
            rejected(yaml, body),
            ("10001".into(), "applyNo is required (body.root.applyNo)".into())
        );
        let body = json!({"root": {"applyNo": "A1"}});
        assert_eq!(rejected(yaml, body), ("10005".into(), "eventNo is required".into()));
        let body = json!({"root": {"applyNo": "A1", "eventNo": "E1", "idCard": "123"}});
        assert_eq!(
            rejected(yaml, body),
            ("10002".into(), "idCard 123 is no ID card number".into())
        );
        let body = json!({"root": {"applyNo": "A1", "eventNo": "E1", "phone": "1"}});
        let (code, message) = rejected(yaml, body);
        assert_eq!(code, "10002");
        assert!(
            message.starts_with("`body.root.phone` is `1`; expected a value matching"),
            "{message}"
        );
    }

    #[test]
    fn messages_see_the_exchange() {
        let yaml = r#"{ required: [vars.hospital], on_missing: { message: "no hospital for {{ body.code }}" } }"#;
        let (_, message) = rejected(yaml, json!({"code": "H9"}));
        assert_eq!(message, "no hospital for H9");
    }

    #[test]
    fn a_message_that_fails_to_render_falls_back_to_the_default() {
        let yaml = r#"{ required: [body.a], on_missing: { message: "{{ body.nothing.here }}" } }"#;
        assert_eq!(
            rejected(yaml, json!({})),
            ("MISSING_FIELD".into(), "`body.a` is required".into())
        );
    }

    #[test]
    fn reads_headers_and_vars() {
        let step = step("{ required: [headers.x-licence, vars.token] }");
        let mut ex = exchange(json!({}));
        ex.headers.insert("x-licence".into(), json!("L1"));
        assert_eq!(step.run(&mut ex).unwrap_err().message, "`vars.token` is required");
        ex.vars.insert("token".into(), json!("t"));
        assert_eq!(step.run(&mut ex), Ok(Flow::Continue));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(100);
        let (_, message) = rejected("patterns: { body.a: '^y' }", json!({ "a": long }));
        assert!(message.contains(&format!("`{}…`", "x".repeat(64))), "{message}");
    }

    #[test]
    fn checks_its_config_when_built() {
        let err = build_error(r"patterns: { body.a: '^\d{4' }");
        assert!(
            err.contains(
                "validate pattern for `body.a` is not a valid regular expression: unclosed counted repetition"
            ),
            "{err}"
        );
        assert!(build_error("required: [root.a]").contains("not a scope"));
        assert!(build_error("allowed: { body.a: [] }").contains("lists no values"));
        let err = build_error("{ required: [body.a], on_missing: { message: '{{ field ' } }");
        assert!(
            err.contains("validate `on_missing` message is not a valid template: at line 1, column 10"),
            "{err}"
        );
        assert!(build_error("{}").contains("validate has no rules"));
        let err = build_error("required: [{ path: body.a, cod: X }]");
        assert!(err.contains("unknown field `cod`"), "{err}");
        assert!(build_error("{ required: [body.a], on_misisng: {} }").contains("unknown field `on_misisng`"));
        let both = build_error("{ required: [nope], patterns: { body.b: '(' } }");
        assert_eq!(both.lines().count(), 2, "every error is reported: {both}");
    }
}
