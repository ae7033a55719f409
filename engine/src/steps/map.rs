//! The `map` step: replaces a code through a mapping table.
//!
//! ```yaml
//! - map: { path: body.patient.sex, table: sex, to: hl7 }               # "1" -> "M", in place
//! - map: { path: body.hospitalCode, table: xiamen-120/hospitals, to: endpoint, as: vars.endpoint }
//! - map:
//!     path: body.items[*].examClass
//!     table: exam-class
//!     by: his
//!     to: platform
//!     reject: { code: UNKNOWN_EXAM_CLASS, message: "检查类别 {{ value }} 未对照" }
//! ```
//!
//! Absent, null and empty values are left alone (a `validate` step is the
//! place to require them). Every code is looked up before anything is
//! written: a rejection leaves the message unchanged.

use super::filter::{RejectConfig, Rejecter};
use super::script::position;
use super::template::{path_at, writable_path_at};
use super::{BuildContext, Flow, StepError};
use crate::config::Located;
use crate::exchange::Exchange;
use crate::mappings::Mappings;
use crate::value::path::{kind, Segment};
use crate::value::{Map, Path, Scope, Value};
use medbus_adapters::hl7::{self, value_path};
use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// Replace a code with its counterpart from a mapping table: the value at
/// `path` is looked up in column `by` of `table`, and the same row's `to`
/// column replaces it (or goes to `as`).
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    /// Where the code is, e.g. `body.patient.sex`. A `[*]` maps every
    /// element: `body.items[*].code`.
    pub path: Located<String>,
    /// The table's name: its file under the mappings folder without the
    /// extension, e.g. `sex` or `xiamen-120/hospitals`.
    pub table: Located<String>,
    /// The column the code is looked up in. Default: the table's first
    /// (key) column.
    #[serde(default)]
    pub by: Option<Located<String>>,
    /// The column whose value replaces the code.
    pub to: Located<String>,
    /// Write the result here and leave the code in place, e.g.
    /// `vars.sexName`. With `[*]` in `path`, give `as` the same number of
    /// `[*]` to write beside each code (`body.items[*].name`), or none to
    /// collect the results in a list.
    #[serde(default, rename = "as")]
    pub as_path: Option<Located<String>>,
    /// The result when the code is not in the table. Without it, the
    /// message is rejected.
    #[serde(default)]
    pub default: Option<String>,
    /// The rejection when the code is not in the table and no `default` is
    /// given. Default: code `UNKNOWN_CODE`. The message template sees
    /// `value`, `path`, `table` and `column` besides `body`, `vars`,
    /// `headers`, `msg` and `config`.
    #[serde(default)]
    pub reject: Option<RejectConfig>,
}

pub struct MapStep {
    path: Path,
    target: Target,
    mappings: Arc<Mappings>,
    table: String,
    by: usize,
    by_name: String,
    to: usize,
    default: Option<String>,
    rejecter: Rejecter,
}

enum Target {
    InPlace,
    /// `as` with the same wildcards as `path`: one result beside each code.
    Beside(Path),
    /// `as` without wildcards: one result, or the list of them when `path`
    /// has wildcards.
    One(Path),
}

/// One value the path reached.
struct Found {
    /// The path to it, wildcards resolved.
    segments: Vec<Segment>,
    /// The index each wildcard took; `None` where it met a single value
    /// standing for a one-element list.
    indices: Vec<Option<usize>>,
    value: Value,
}

impl MapStep {
    pub fn build(config: &MapConfig, cx: &mut BuildContext) -> Option<Self> {
        let path = if config.as_path.is_some() {
            path_at(&config.path, cx).filter(|path| names_a_field(path, &config.path, cx))
        } else {
            writable_path_at(&config.path, cx)
        };
        let target = match &config.as_path {
            None => Some(Target::InPlace),
            Some(text) => writable_path_at(text, cx).and_then(|target| match &path {
                None => None,
                Some(path) => target_for(path, target, text, cx),
            }),
        };
        let mappings = cx.resources.mappings.clone();
        let columns = match mappings.table(&config.table) {
            None => {
                let at = position(cx, config.table.at);
                cx.diagnostics
                    .error(cx.file, at, mappings.unknown_table_message(&config.table));
                None
            }
            Some(table) => {
                let column = |name: &Located<String>, cx: &mut BuildContext| {
                    let index = table.column_index(name);
                    if index.is_none() {
                        let at = position(cx, name.at);
                        cx.diagnostics.error(cx.file, at, table.unknown_column_message(name));
                    }
                    index
                };
                let by = match &config.by {
                    Some(by) => column(by, cx),
                    None => Some(0),
                };
                let to = column(&config.to, cx);
                by.zip(to).map(|(by, to)| (by, to, table.columns()[by].clone()))
            }
        };
        let rejecter = Rejecter::build(config.reject.as_ref(), "UNKNOWN_CODE", cx);
        let (path, target, (by, to, by_name), rejecter) = (path?, target?, columns?, rejecter?);
        if config.default.is_some() && config.reject.is_some() {
            cx.error("give `default` or `reject`, not both: with a default, no code is rejected");
            return None;
        }
        Some(MapStep {
            path,
            target,
            mappings,
            table: config.table.value.clone(),
            by,
            by_name,
            to,
            default: config.default.clone(),
            rejecter,
        })
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let found = self.find(ex);
        let table = self
            .mappings
            .table(&self.table)
            .ok_or_else(|| StepError::failed("MAP_ERROR", self.mappings.unknown_table_message(&self.table)))?;
        let mut results = Vec::with_capacity(found.len());
        for item in found {
            let code: Cow<str> = match &item.value {
                Value::Null => continue,
                Value::String(text) if text.is_empty() => continue,
                Value::String(text) => Cow::Borrowed(text),
                Value::Number(n) => Cow::Owned(n.to_string()),
                Value::Bool(b) => Cow::Owned(b.to_string()),
                other => return Err(self.reject(ex, &item, Problem::NotACode(kind(other)))),
            };
            let mapped = table.find(self.by, &code).and_then(|row| table.cell(row, self.to));
            let result = match (mapped, &self.default) {
                (Some(mapped), _) => mapped.to_string(),
                (None, Some(default)) => default.clone(),
                (None, None) => return Err(self.reject(ex, &item, Problem::Unknown(&code))),
            };
            results.push((item, Value::String(result)));
        }
        self.write(ex, results)?;
        Ok(Flow::Continue)
    }

    /// The paths the step writes.
    pub fn targets(&self) -> Vec<&Path> {
        match &self.target {
            Target::InPlace => vec![&self.path],
            Target::Beside(path) | Target::One(path) => vec![path],
        }
    }

    fn find(&self, ex: &Exchange) -> Vec<Found> {
        let mut found = Vec::new();
        let mut segments = Vec::with_capacity(self.path.segments.len());
        let mut indices = Vec::new();
        let all = &self.path.segments[..];
        match self.path.scope {
            Scope::Body => match self.path.hl7() {
                // The body reads an HL7 path without building its tree.
                Some(path) => {
                    let places = ex.body.places(path);
                    let present = places
                        .iter()
                        .filter_map(|(at, value)| Some((at.clone(), value.as_deref()?)));
                    walk_hl7(path, present, &[], &mut segments, &mut indices, &mut found);
                }
                None => walk(ex.body.value(), all, &mut segments, &mut indices, &mut found),
            },
            Scope::Vars => walk_map(&ex.vars, all, &mut segments, &mut indices, &mut found),
            Scope::Headers => walk_map(&ex.headers, all, &mut segments, &mut indices, &mut found),
            Scope::Msg => walk(&ex.msg_value(), all, &mut segments, &mut indices, &mut found),
            Scope::Config => walk_map(&ex.config, all, &mut segments, &mut indices, &mut found),
        }
        found
    }

    fn write(&self, ex: &mut Exchange, results: Vec<(Found, Value)>) -> Result<(), StepError> {
        let assign = |ex: &mut Exchange, path: &Path, value: Value| {
            ex.assign(path, value).map_err(|e| StepError::failed("SET_ERROR", e))
        };
        match &self.target {
            Target::InPlace => {
                for (found, value) in results {
                    assign(ex, &with_segments(&self.path, found.segments), value)?;
                }
            }
            Target::Beside(target) => {
                for (found, value) in results {
                    assign(ex, &resolve(target, &found.indices), value)?;
                }
            }
            Target::One(target) if self.path.has_wildcard() => {
                let list = results.into_iter().map(|(_, value)| value).collect();
                assign(ex, target, Value::Array(list))?;
            }
            Target::One(target) => {
                if let Some((_, value)) = results.into_iter().next() {
                    assign(ex, target, value)?;
                }
            }
        }
        Ok(())
    }

    /// The rejection of a code not in the table, or of a value that is no
    /// code at all.
    fn reject(&self, ex: &mut Exchange, found: &Found, problem: Problem) -> StepError {
        let at = describe(self.path.scope, &found.segments);
        let extra = vec![
            ("value", found.value.clone()),
            ("path", Value::String(at.clone())),
            ("table", Value::String(self.table.clone())),
            ("column", Value::String(self.by_name.clone())),
        ];
        let error = self.rejecter.reject(ex, extra, || match problem {
            Problem::Unknown(code) => format!(
                "code `{code}` at `{at}` is not in table `{}` (column `{}`)",
                self.table, self.by_name
            ),
            Problem::NotACode(what) => format!("`{at}` holds {what}, not a code to look up in table `{}`", self.table),
        });
        error.at(at)
    }
}

enum Problem<'a> {
    Unknown(&'a str),
    NotACode(&'static str),
}

/// A code is one value: in `vars`, `headers`, `msg` and `config`, a field
/// of the map, not the map.
fn names_a_field(path: &Path, text: &Located<String>, cx: &mut BuildContext) -> bool {
    if path.scope == Scope::Body || !path.segments.is_empty() {
        return true;
    }
    let at = position(cx, text.at);
    cx.diagnostics.error(
        cx.file,
        at,
        format!("`{path}` is a map of fields; expected a path to a field, such as `{path}.code`"),
    );
    false
}

fn target_for(path: &Path, target: Path, text: &Located<String>, cx: &mut BuildContext) -> Option<Target> {
    let wildcards = |p: &Path| {
        p.segments
            .iter()
            .filter(|s| matches!(s, Segment::Wildcard) || matches!(s, Segment::Hl7(h) if h.is_multiple()))
            .count()
    };
    match (wildcards(path), wildcards(&target)) {
        (_, 0) => Some(Target::One(target)),
        (n, m) if n == m => Some(Target::Beside(target)),
        (n, m) => {
            let at = position(cx, text.at);
            cx.diagnostics.error(
                cx.file,
                at,
                format!("`as` has {m} `[*]` and `path` has {n}; expected as many as `path`, or none to collect a list"),
            );
            None
        }
    }
}

fn walk(
    value: &Value,
    rest: &[Segment],
    segments: &mut Vec<Segment>,
    indices: &mut Vec<Option<usize>>,
    out: &mut Vec<Found>,
) {
    let Some((first, rest)) = rest.split_first() else {
        out.push(Found {
            segments: segments.clone(),
            indices: indices.clone(),
            value: value.clone(),
        });
        return;
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get(key) {
                segments.push(first.clone());
                walk(child, rest, segments, indices, out);
                segments.pop();
            }
        }
        (Segment::Index(i), Value::Array(items)) => {
            if let Some(child) = items.get(*i) {
                segments.push(first.clone());
                walk(child, rest, segments, indices, out);
                segments.pop();
            }
        }
        // One element stands for a one-element list (XML cannot tell them
        // apart), as in `Path::lookup`.
        (Segment::Index(0), single) if !single.is_null() => walk(single, rest, segments, indices, out),
        (Segment::Wildcard, Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                segments.push(Segment::Index(i));
                indices.push(Some(i));
                walk(child, rest, segments, indices, out);
                indices.pop();
                segments.pop();
            }
        }
        (Segment::Wildcard, single) if !single.is_null() => {
            indices.push(None);
            walk(single, rest, segments, indices, out);
            indices.pop();
        }
        (Segment::Hl7(path), value) => walk_hl7(
            path,
            value_path::expand(value, path).into_iter(),
            rest,
            segments,
            indices,
            out,
        ),
        _ => {}
    }
}

/// `walk` on from each place an HL7 path names, with the value there.
fn walk_hl7<'a>(
    path: &hl7::Path,
    places: impl Iterator<Item = (hl7::Path, &'a Value)>,
    rest: &[Segment],
    segments: &mut Vec<Segment>,
    indices: &mut Vec<Option<usize>>,
    out: &mut Vec<Found>,
) {
    for (i, (concrete, child)) in places.enumerate() {
        segments.push(Segment::Hl7(Box::new(concrete)));
        if path.is_multiple() {
            indices.push(Some(i));
        }
        walk(child, rest, segments, indices, out);
        if path.is_multiple() {
            indices.pop();
        }
        segments.pop();
    }
}

/// As `walk`, for a scope held as a map (vars, headers).
fn walk_map(
    map: &Map<String, Value>,
    all: &[Segment],
    segments: &mut Vec<Segment>,
    indices: &mut Vec<Option<usize>>,
    out: &mut Vec<Found>,
) {
    if let Some((first @ Segment::Key(key), rest)) = all.split_first() {
        if let Some(child) = map.get(key) {
            segments.push(first.clone());
            walk(child, rest, segments, indices, out);
            segments.pop();
        }
    }
}

fn with_segments(path: &Path, segments: Vec<Segment>) -> Path {
    let mut concrete = path.clone();
    concrete.segments = segments;
    concrete
}

/// `target` with its wildcards replaced, in order, by the indices a code
/// was found at; a wildcard that met a single value is dropped.
fn resolve(target: &Path, indices: &[Option<usize>]) -> Path {
    let mut next = indices.iter();
    let segments = target
        .segments
        .iter()
        .filter_map(|segment| match segment {
            Segment::Wildcard => next.next().copied().flatten().map(Segment::Index),
            Segment::Hl7(path) if path.is_multiple() => {
                let index = next.next().copied().flatten();
                Some(Segment::Hl7(Box::new(
                    index.map_or_else(|| (**path).clone(), |i| path.nth_of_all(i + 1)),
                )))
            }
            other => Some(other.clone()),
        })
        .collect();
    with_segments(target, segments)
}

/// The concrete path a value was found at (`body.items[1].code`), for
/// messages; a `Path`'s own text keeps the wildcards as written.
fn describe(scope: Scope, segments: &[Segment]) -> String {
    if let [Segment::Hl7(path)] = segments {
        return path.to_string();
    }
    let mut text = scope.name().to_string();
    for segment in segments {
        match segment {
            Segment::Key(key) if key.contains(['.', '[', ']', ' ']) => text.push_str(&format!("[\"{key}\"]")),
            Segment::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
            Segment::Wildcard => text.push_str("[*]"),
            Segment::Hl7(path) => text.push_str(&path.to_string()),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Body;
    use crate::scripting::fixture::{code_blocks, exchange, repo_file, Fixture};
    use crate::steps::StepSpec;
    use serde_json::json;

    const SEX: &str = "code,name,hl7\n0,未知的性别,U\n1,男,M\n2,女,F\n9,未说明的性别,U\n";
    const EXAM: &str =
        "- { his: CT01, platform: CT, name: 计算机断层扫描 }\n- { his: MR01, platform: MR, name: 磁共振 }\n";

    fn fixture() -> Fixture {
        Fixture::with_files(&[("mappings/sex.csv", SEX), ("mappings/pacs/exam-class.yaml", EXAM)])
    }

    fn build(f: &Fixture, yaml: &str) -> Result<MapStep, Vec<String>> {
        f.build(yaml, MapStep::build)
    }

    #[test]
    fn hl7_paths_map_alike_from_the_message_and_from_its_tree() {
        let f = fixture();
        let text = "MSH|^~\\&|LIS|H|P|P|20260101||ORU^R01|1|P|2.5\rPID|1||P1||王^丽||19850712|2\r\
                    OBX|1|ST|SEX||1\rOBX|2|ST|SEX||9\r";
        let message = Arc::new(medbus_adapters::hl7::Message::parse(text.as_bytes()).unwrap());
        let run = |yaml: &str, body: Body| {
            let mut ex = exchange(Value::Null);
            ex.body = body;
            let result = build(&f, yaml).unwrap().run(&mut ex).map_err(|e| e.message);
            (result, ex.body.into_value(), ex.vars)
        };
        for yaml in [
            "{ path: PID-8, table: sex, to: name, as: vars.sexName }",
            "{ path: PID-8, table: sex, to: hl7 }",
            "{ path: 'OBX[*]-5', table: sex, to: hl7 }",
            "{ path: 'OBX[*]-5', table: sex, to: name, as: 'OBX[*]-6' }",
            "{ path: 'OBX[*]-5', table: sex, to: name, as: vars.names }",
            "{ path: PID-5, table: sex, to: hl7 }",
            "{ path: PV1-2, table: sex, to: hl7 }",
        ] {
            let from_message = run(yaml, Body::hl7(message.clone()));
            let from_tree = run(yaml, Body::new(message.to_value()));
            assert_eq!(from_message, from_tree, "{yaml}");
        }
        let (_, _, vars) = run(
            "{ path: 'OBX[*]-5', table: sex, to: name, as: vars.names }",
            Body::hl7(message.clone()),
        );
        assert_eq!(vars["names"], json!(["男", "未说明的性别"]));
        let (result, _, _) = run("{ path: PID-5, table: sex, to: hl7 }", Body::hl7(message));
        let error = result.unwrap_err();
        assert!(error.contains("`PID-5` holds"), "{error}");
    }

    #[test]
    fn replaces_a_code_in_place_by_the_key_column() {
        let f = fixture();
        let step = build(&f, "{ path: body.patient.sex, table: sex, to: hl7 }").unwrap();
        let mut ex = exchange(json!({"patient": {"sex": "2", "name": "李四"}}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body, json!({"patient": {"sex": "F", "name": "李四"}}));
        let mut ex = exchange(json!({"patient": {"sex": 1}}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body["patient"]["sex"], json!("M"), "numbers are looked up as text");
    }

    #[test]
    fn looks_up_by_another_column_and_writes_elsewhere() {
        let f = fixture();
        let step = build(
            &f,
            "{ path: body.sex, table: sex, by: hl7, to: name, as: vars.sexName }",
        )
        .unwrap();
        let mut ex = exchange(json!({"sex": "U"}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.vars["sexName"], json!("未知的性别"), "the first row with U wins");
        assert_eq!(ex.body["sex"], json!("U"));
    }

    #[test]
    fn maps_every_element_of_a_wildcard_path() {
        let f = fixture();
        let body = json!({"items": [{"cls": "CT01"}, {"cls": "MR01"}]});
        let step = build(
            &f,
            "{ path: 'body.items[*].cls', table: pacs/exam-class, to: platform }",
        )
        .unwrap();
        let mut ex = exchange(body.clone());
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body, json!({"items": [{"cls": "CT"}, {"cls": "MR"}]}));
        let step = build(
            &f,
            "{ path: 'body.items[*].cls', table: pacs/exam-class, to: name, as: 'body.items[*].name' }",
        )
        .unwrap();
        let mut ex = exchange(body.clone());
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body["items"][1], json!({"cls": "MR01", "name": "磁共振"}));
        let step = build(
            &f,
            "{ path: 'body.items[*].cls', table: pacs/exam-class, to: platform, as: vars.classes }",
        )
        .unwrap();
        let mut ex = exchange(body);
        step.run(&mut ex).unwrap();
        assert_eq!(ex.vars["classes"], json!(["CT", "MR"]));
        // A single element stands for a one-element list.
        let step = build(
            &f,
            "{ path: 'body.items[*].cls', table: pacs/exam-class, to: name, as: 'body.items[*].name' }",
        )
        .unwrap();
        let mut ex = exchange(json!({"items": {"cls": "CT01"}}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body, json!({"items": {"cls": "CT01", "name": "计算机断层扫描"}}));
    }

    #[test]
    fn absent_null_and_empty_values_are_left_alone() {
        let f = fixture();
        let step = build(&f, "{ path: 'body.items[*].sex', table: sex, to: hl7 }").unwrap();
        let mut ex = exchange(json!({"items": [{}, {"sex": null}, {"sex": ""}, {"sex": "1"}]}));
        step.run(&mut ex).unwrap();
        assert_eq!(
            ex.body,
            json!({"items": [{}, {"sex": null}, {"sex": ""}, {"sex": "M"}]})
        );
        let mut ex = exchange(json!({}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body, json!({}));
    }

    #[test]
    fn an_unknown_code_is_rejected_or_defaulted() {
        let f = fixture();
        let step = build(&f, "{ path: 'body.items[*].sex', table: sex, to: hl7 }").unwrap();
        let mut ex = exchange(json!({"items": [{"sex": "1"}, {"sex": "7"}]}));
        let err = step.run(&mut ex).unwrap_err();
        assert_eq!(
            err,
            StepError::rejected(
                "UNKNOWN_CODE",
                "code `7` at `body.items[1].sex` is not in table `sex` (column `code`)"
            )
            .at("body.items[1].sex")
        );
        assert_eq!(
            ex.body["items"][0]["sex"],
            json!("1"),
            "nothing is written when a code is rejected"
        );
        let step = build(
            &f,
            "{ path: body.sex, table: sex, to: hl7, reject: { code: BAD_SEX, message: '性别代码 {{ value }} 不在 {{ table }} 表中 ({{ body.name }})' } }",
        )
        .unwrap();
        let err = step
            .run(&mut exchange(json!({"sex": "7", "name": "张三"})))
            .unwrap_err();
        assert_eq!(
            err,
            StepError::rejected("BAD_SEX", "性别代码 7 不在 sex 表中 (张三)").at("body.sex")
        );
        let step = build(&f, "{ path: body.sex, table: sex, to: hl7, default: U }").unwrap();
        let mut ex = exchange(json!({"sex": "7"}));
        step.run(&mut ex).unwrap();
        assert_eq!(ex.body["sex"], json!("U"));
        let step = build(&f, "{ path: body.sex, table: sex, to: hl7, default: U }").unwrap();
        let err = step.run(&mut exchange(json!({"sex": {"code": "1"}}))).unwrap_err();
        assert_eq!(err.code, "UNKNOWN_CODE");
        assert_eq!(
            err.message,
            "`body.sex` holds object, not a code to look up in table `sex`"
        );
    }

    #[test]
    fn unknown_tables_columns_and_bad_paths_are_build_errors() {
        let f = fixture();
        let errors = build(&f, "{ path: body.sex, table: sexx, to: hl7 }").err().unwrap();
        assert_eq!(
            errors,
            ["routes/test.yaml:1:26: no mapping table `sexx`; the tables are: pacs/exam-class, sex"]
        );
        let errors = build(&f, "{ path: body.sex, table: sex, by: gb, to: hl8 }")
            .err()
            .unwrap();
        assert_eq!(
            errors,
            [
                "routes/test.yaml:1:35: table `sex` has no column `gb`; its columns are: code, name, hl7",
                "routes/test.yaml:1:43: table `sex` has no column `hl8`; its columns are: code, name, hl7",
            ]
        );
        let errors = build(&f, "{ path: sex, table: sex, to: hl7 }").err().unwrap();
        assert!(
            errors[0].starts_with("routes/test.yaml:1:9: path `sex` starts with `sex`"),
            "{errors:?}"
        );
        let errors = build(
            &f,
            "{ path: 'body.a[*].b[*].c', table: sex, to: hl7, as: 'body.a[*].d' }",
        )
        .err()
        .unwrap();
        assert!(errors[0].contains("`as` has 1 `[*]` and `path` has 2"), "{errors:?}");
        let errors = build(&f, "{ path: vars, table: sex, to: hl7, as: vars.x }")
            .err()
            .unwrap();
        assert!(errors[0].contains("expected a path to a field"), "{errors:?}");
        let errors = build(&f, "{ path: msg.id, table: sex, to: hl7 }").err().unwrap();
        assert!(errors[0].contains("`msg` is read-only"), "{errors:?}");
        assert!(build(&f, "{ path: msg.content_type, table: sex, to: hl7, as: vars.x }").is_ok());
        let errors = build(
            &f,
            "{ path: body.sex, table: sex, to: hl7, default: U, reject: { code: X } }",
        )
        .err()
        .unwrap();
        assert!(errors[0].contains("give `default` or `reject`, not both"), "{errors:?}");
        assert!(build(&f, "{ path: body.sex, table: sex }").is_err(), "`to` is required");
    }

    /// The tables, steps and script of docs/mappings.md load, build and run.
    #[test]
    fn the_documented_tables_and_steps_work() {
        let doc = std::fs::read_to_string(repo_file("docs/mappings.md")).unwrap();
        let mut files = Vec::new();
        for block in code_blocks(&doc, "csv").into_iter().chain(code_blocks(&doc, "yaml")) {
            let first = block.lines().next().unwrap_or("");
            if let Some(name) = first.strip_prefix("# mappings/") {
                let name = name.split(':').next().unwrap().trim().to_string();
                files.push((format!("mappings/{name}"), block));
            }
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let f = Fixture::with_files(&files);
        let names: Vec<&str> = f.resources.mappings.names().collect();
        assert_eq!(names, ["pacs/exam-class", "sex", "xiamen-120/hospitals"]);

        #[derive(serde::Deserialize)]
        struct Steps {
            steps: Vec<StepSpec>,
        }
        let block = code_blocks(&doc, "yaml")
            .into_iter()
            .find(|b| b.starts_with("steps:"))
            .unwrap();
        let steps: Steps = serde_saphyr::from_str(&block).unwrap();
        let built: Vec<MapStep> = steps
            .steps
            .iter()
            .map(|spec| match spec {
                StepSpec::Map(config) => f.build_config(config, MapStep::build).unwrap(),
                other => panic!("not a map step: {other:?}"),
            })
            .collect();
        assert_eq!(built.len(), 4);
        let mut ex = exchange(json!({"sex": "1", "items": [{"examClass": "MR01"}], "hospitalCode": "H9"}));
        for step in &built[1..] {
            step.run(&mut ex).unwrap();
        }
        built[0].run(&mut ex).unwrap();
        assert_eq!(ex.body["sex"], json!("M"));
        assert_eq!(ex.vars["sexName"], json!("男"));
        assert_eq!(ex.body["items"][0]["examClass"], json!("MR"));
        assert_eq!(ex.vars["endpoint"], json!("http://10.1.0.1/ws"));
        for block in code_blocks(&doc, "rhai") {
            let script = f.resources.scripting.compile(&block).unwrap();
            let mut ex = exchange(json!({"sex": "2", "hospitalCode": "H0002"}));
            f.resources.scripting.execute(&script, &mut ex).unwrap();
            assert_eq!(ex.vars["sexName"], json!("女"));
            assert_eq!(ex.vars["endpoint"], json!("http://10.1.2.10:8080/ws/emergency"));
        }
    }
}
