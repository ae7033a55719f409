//! The `extract` step: copies values found by JSONPath or by a path into
//! other paths, usually variables.
//!
//! ```yaml
//! - extract:
//!     vars.apply_no: "$.root.applyNo"
//!     vars.exam_codes: { jsonpath: "$.root.exams[*].code", all: true }
//!     vars.his_patient: { path: vars.his.body.data.patientId, required: true }
//! ```
//!
//! Targets are written in the order listed, so a later entry may read what
//! an earlier one wrote.

use super::support::{self, ShortOrFull};
use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use crate::value::{Path, Value};
use indexmap::IndexMap;
use jsonpath_rust::parser::model::JpQuery;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// Copy values into paths: each key is the path written (e.g.
/// `vars.patient_id`), each value says where the value is found.
// A map of target paths: unknown keys are caught when the paths are built.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ExtractConfig {
    pub values: IndexMap<String, Extraction>,
}

/// Where one value is found.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum Extraction {
    /// A JSONPath on the body when it starts with `$` (`$.root.patient.id`),
    /// else a path (`vars.his.body.data.id`); the first match is kept.
    Expression(String),
    /// The expression with options.
    WithOptions(ExtractionOptions),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractionOptions {
    /// A JSONPath expression (RFC 9535) run on `from`, e.g.
    /// `$.root.exams[?@.status == '1'].code` or `$..patientId`.
    #[serde(default)]
    pub jsonpath: Option<String>,
    /// A path instead of a JSONPath, e.g. `body.root.item[*].@id`; `[*]`
    /// collects every element.
    #[serde(default)]
    pub path: Option<String>,
    /// What `$` of the `jsonpath` stands for, e.g. `vars.his.body`.
    /// Default: `body`.
    #[serde(default)]
    pub from: Option<String>,
    /// Keep every match, as a list (empty when nothing matched). Default:
    /// keep the first match that is not null.
    #[serde(default)]
    pub all: bool,
    /// Reject the message (code `MISSING_FIELD`) when nothing but null matched.
    #[serde(default)]
    pub required: bool,
    /// The value written when nothing but null matched. Without it, the
    /// target is set to null (to `[]` with `all`), so templates can test it.
    #[serde(default)]
    pub default: Option<Value>,
}

impl<'de> Deserialize<'de> for Extraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(
            match ShortOrFull::deserialize(
                d,
                "a JSONPath or a path, or { jsonpath | path, from, all, required, default }",
            )? {
                ShortOrFull::Short(expression) => Extraction::Expression(expression),
                ShortOrFull::Full(options) => Extraction::WithOptions(options),
            },
        )
    }
}

impl Extraction {
    /// The options a short form stands for.
    fn options(&self) -> Cow<'_, ExtractionOptions> {
        let text = match self {
            Extraction::WithOptions(options) => return Cow::Borrowed(options),
            Extraction::Expression(text) => text,
        };
        let is_jsonpath = text.trim_start().starts_with('$');
        Cow::Owned(ExtractionOptions {
            jsonpath: is_jsonpath.then(|| text.clone()),
            path: (!is_jsonpath).then(|| text.clone()),
            from: None,
            all: false,
            required: false,
            default: None,
        })
    }
}

enum Source {
    JsonPath { text: String, query: JpQuery, from: Path },
    Path(Path),
}

struct Rule {
    to: Path,
    source: Source,
    all: bool,
    required: bool,
    default: Option<Value>,
}

pub struct ExtractStep {
    rules: Vec<Rule>,
}

impl ExtractStep {
    /// The paths the step writes.
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        self.rules.iter().map(|rule| &rule.to)
    }

    pub fn build(config: &ExtractConfig, cx: &mut BuildContext) -> Option<Self> {
        if config.values.is_empty() {
            cx.error("extract lists nothing; expected `target path: JSONPath or path`, e.g. `vars.id: \"$.root.id\"`");
            return None;
        }
        let mut rules = Vec::new();
        let mut ok = true;
        for (target, extraction) in &config.values {
            match build_rule(cx, target, extraction) {
                Some(rule) => rules.push(rule),
                None => ok = false,
            }
        }
        ok.then_some(ExtractStep { rules })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        for rule in &self.rules {
            let matches = rule.matches(ex)?;
            let found = matches.iter().any(|v| !v.is_null());
            let value = match (found, rule.all) {
                (true, true) => Value::Array(matches),
                (true, false) => matches.into_iter().find(|v| !v.is_null()).unwrap_or_default(),
                (false, all) => {
                    if rule.required {
                        return Err(StepError::rejected(
                            "MISSING_FIELD",
                            format!("{} found nothing; expected a value for `{}`", rule.source, rule.to),
                        ));
                    }
                    match (&rule.default, all) {
                        (Some(default), _) => default.clone(),
                        (None, true) => Value::Array(matches),
                        (None, false) => Value::Null,
                    }
                }
            };
            ex.assign(&rule.to, value)
                .map_err(|e| StepError::failed("EXTRACT_FAILED", e))?;
        }
        Ok(Flow::Continue)
    }
}

fn build_rule(cx: &mut BuildContext, target: &str, extraction: &Extraction) -> Option<Rule> {
    let to = support::target_path(cx, "extract target", target);
    let options = extraction.options();
    let what = format!("extract `{target}`");
    let source = match (&options.jsonpath, &options.path, &options.from) {
        (Some(_), Some(_), _) => {
            cx.error(format!("{what} has both `jsonpath` and `path`; expected one of them"));
            None
        }
        (None, None, _) => {
            cx.error(format!(
                "{what} has neither `jsonpath` nor `path`; expected one of them"
            ));
            None
        }
        (None, Some(_), Some(_)) => {
            cx.error(format!(
                "{what}: `from` goes with `jsonpath`; a `path` names its scope itself"
            ));
            None
        }
        (None, Some(path), None) => cx.path(path).map(Source::Path),
        (Some(text), None, from) => jsonpath_source(cx, &what, text, from.as_deref().unwrap_or("body")),
    };
    if options.required && options.default.is_some() {
        cx.error(format!(
            "{what} has both `required` and `default`; a default makes it never missing"
        ));
        return None;
    }
    Some(Rule {
        to: to?,
        source: source?,
        all: options.all,
        required: options.required,
        default: options.default.clone(),
    })
}

fn jsonpath_source(cx: &mut BuildContext, what: &str, text: &str, from: &str) -> Option<Source> {
    let from = cx.path(from);
    if from.as_ref().is_some_and(Path::has_wildcard) {
        cx.error(format!("{what} `from` has `[*]`; expected a path to one value"));
        return None;
    }
    let query = match jsonpath_rust::parser::parse_json_path(text) {
        Ok(query) => Some(query),
        Err(error) => {
            cx.error(format!(
                "{what}: `{text}` is not a valid JSONPath: {}; expected e.g. `$.root.patient.id`",
                support::one_line(&error.to_string())
            ));
            None
        }
    };
    Some(Source::JsonPath {
        text: text.to_string(),
        query: query?,
        from: from?,
    })
}

impl Rule {
    fn matches(&self, ex: &Exchange) -> Result<Vec<Value>, StepError> {
        match &self.source {
            Source::Path(path) => Ok(ex.lookup_all(path)),
            Source::JsonPath { text, query, from } => {
                let Some(root) = ex.lookup_ref(from) else {
                    return Ok(Vec::new());
                };
                let found = jsonpath_rust::query::js_path_process(query, root.as_ref()).map_err(|e| {
                    StepError::failed("EXTRACT_FAILED", format!("JSONPath `{text}` on `{from}` failed: {e}"))
                })?;
                Ok(found.into_iter().map(|r| r.val.clone()).collect())
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Path(path) => write!(f, "`{path}`"),
            Source::JsonPath { text, from, .. } => write!(f, "`{text}` in `{from}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::support::build_for_test;
    use crate::steps::ErrorKind;
    use serde_json::json;

    fn step(yaml: &str) -> ExtractStep {
        build_for_test(yaml, ExtractStep::build).unwrap()
    }

    fn build_error(yaml: &str) -> String {
        build_for_test(yaml, ExtractStep::build)
            .err()
            .expect("the build should fail")
    }

    fn exchange(body: Value) -> Exchange {
        let mut ex = Exchange::new("r", Default::default(), None, Default::default());
        ex.body = body.into();
        ex
    }

    fn extract(yaml: &str, body: Value) -> Exchange {
        let mut ex = exchange(body);
        assert_eq!(step(yaml).run(&mut ex), Ok(Flow::Continue));
        ex
    }

    fn order() -> Value {
        json!({"root": {
            "applyNo": "A0001",
            "exams": [
                {"code": "CT01", "status": "1", "price": 300},
                {"code": "MR02", "status": "0", "price": 800},
                {"code": "US03", "status": "1", "price": 120}
            ]
        }})
    }

    #[test]
    fn copies_the_first_jsonpath_match() {
        let ex = extract(
            r#"{ vars.apply_no: "$.root.applyNo", vars.first: "$.root.exams[*].code" }"#,
            order(),
        );
        assert_eq!(ex.vars["apply_no"], json!("A0001"));
        assert_eq!(ex.vars["first"], json!("CT01"));
    }

    #[test]
    fn collects_every_match_with_all() {
        let yaml = r#"
vars.active: { jsonpath: "$.root.exams[?@.status == '1'].code", all: true }
vars.cheap: { jsonpath: "$..exams[?@.price < 500].price", all: true }
"#;
        let ex = extract(yaml, order());
        assert_eq!(ex.vars["active"], json!(["CT01", "US03"]));
        assert_eq!(ex.vars["cheap"], json!([300, 120]));
    }

    #[test]
    fn runs_jsonpath_on_another_value_with_from() {
        let mut ex = exchange(json!({}));
        ex.vars.insert(
            "his".into(),
            json!({"status": 200, "body": {"data": {"patientId": "P9"}}}),
        );
        step(r#"{ vars.patient: { jsonpath: "$.data.patientId", from: vars.his.body } }"#)
            .run(&mut ex)
            .unwrap();
        assert_eq!(ex.vars["patient"], json!("P9"));
        step(r#"{ vars.status: { jsonpath: "$.his.status", from: vars } }"#)
            .run(&mut ex)
            .unwrap();
        assert_eq!(ex.vars["status"], json!(200));
    }

    #[test]
    fn copies_by_path_over_xml_shaped_values() {
        // The tree the XML codec makes of
        // <root><item id="1">a</item><item id="2">b</item><one id="3"/></root>
        let body = json!({"root": {
            "item": [{"@id": "1", "#text": "a"}, {"@id": "2", "#text": "b"}],
            "one": {"@id": "3"}
        }});
        let yaml = r#"
vars.ids: { path: "body.root.item[*].@id", all: true }
vars.second: "body.root.item[1].#text"
vars.single: { path: "body.root.one[*].@id", all: true }
"#;
        let ex = extract(yaml, body);
        assert_eq!(ex.vars["ids"], json!(["1", "2"]));
        assert_eq!(ex.vars["second"], json!("b"));
        assert_eq!(ex.vars["single"], json!(["3"]), "one element is a list of one");
    }

    #[test]
    fn nothing_matched_writes_null_an_empty_list_or_the_default() {
        let yaml = r#"
vars.none: "$.root.missing"
vars.nulls: "$.root.gone"
vars.list: { jsonpath: "$.root.missing[*]", all: true }
vars.fallback: { path: body.root.missing, default: "unknown" }
"#;
        let ex = extract(yaml, json!({"root": {"gone": null}}));
        assert_eq!(ex.vars["none"], Value::Null);
        assert_eq!(ex.vars["nulls"], Value::Null);
        assert_eq!(ex.vars["list"], json!([]));
        assert_eq!(ex.vars["fallback"], json!("unknown"));
    }

    #[test]
    fn required_rejects_when_nothing_matched() {
        let step = step(r#"{ vars.id: { jsonpath: "$.root.patientId", required: true } }"#);
        let err = step
            .run(&mut exchange(json!({"root": {"patientId": null}})))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected);
        assert_eq!(err.code, "MISSING_FIELD");
        assert_eq!(
            err.message,
            "`$.root.patientId` in `body` found nothing; expected a value for `vars.id`"
        );
        let mut ex = exchange(json!({"root": {"patientId": "P1"}}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.vars["id"], json!("P1"));
    }

    #[test]
    fn later_entries_read_what_earlier_ones_wrote() {
        let ex = extract(
            r#"{ vars.exam: "$.root.exams[1]", vars.code: vars.exam.code }"#,
            order(),
        );
        assert_eq!(ex.vars["code"], json!("MR02"));
    }

    #[test]
    fn a_target_that_cannot_be_written_fails() {
        let mut ex = exchange(order());
        ex.vars.insert("x".into(), json!("text"));
        let err = step(r#"{ vars.x.y: "$.root.applyNo" }"#).run(&mut ex).unwrap_err();
        assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Failed, "EXTRACT_FAILED"));
    }

    #[test]
    fn checks_its_config_when_built() {
        let err = build_error(r#"{ vars.x: "$.a[" }"#);
        assert!(
            err.contains("extract `vars.x`: `$.a[` is not a valid JSONPath: at line 1, column 5: expected selector"),
            "{err}"
        );
        assert!(build_error(r#"{ vars.x: { jsonpath: "a.b" } }"#).contains("not a valid JSONPath"));
        assert!(build_error(r#"{ vars.x: { jsonpath: "$.a", path: body.a } }"#).contains("both `jsonpath` and `path`"));
        assert!(build_error("{ vars.x: { all: true } }").contains("neither `jsonpath` nor `path`"));
        assert!(build_error("{ vars.x: { path: body.a, from: vars.y } }").contains("`from` goes with `jsonpath`"));
        assert!(build_error("{ vars.x: { path: body.a, required: true, default: 1 } }")
            .contains("both `required` and `default`"));
        assert!(build_error(r#"{ msg.id: "$.a" }"#).contains("read-only"));
        assert!(build_error(r#"{ jsonpath: "$.a" }"#).contains("not a scope"));
        assert!(build_error("{ vars.x: { path: body.a, al: true } }").contains("unknown field `al`"));
        assert!(build_error("{}").contains("extract lists nothing"));
        let two = build_error(r#"{ vars.a: "$.[", vars.b: "nope.x" }"#);
        assert_eq!(two.lines().count(), 2, "every error is reported: {two}");
    }

    #[test]
    fn extracts_from_a_parsed_xml_document() {
        let xml = r#"<root><exam code="CT01"/><exam code="MR02"/><patient><id>P1</id></patient></root>"#;
        let body = medbus_adapters::xml::parse(xml).unwrap();
        let yaml =
            r#"{ vars.codes: { jsonpath: "$.root.exam[*]['@code']", all: true }, vars.id: body.root.patient.id }"#;
        let ex = extract(yaml, body);
        assert_eq!(ex.vars["codes"], json!(["CT01", "MR02"]));
        assert_eq!(ex.vars["id"], json!("P1"));
    }
}
