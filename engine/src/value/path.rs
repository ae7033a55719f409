//! Paths into an exchange: `body.patient.name`, `vars.hospital.endpoint`,
//! `body.root.item[0].@id`, `body.list[*].code`, `headers.content-type`.
//!
//! One syntax for every path in a route file, chosen to read like Tera's
//! variable access so paths and templates look alike. A path starts with a
//! scope (`body`, `vars`, `headers`, `msg`, `config`), followed by `.key`, `[n]`,
//! `[*]` or `["quoted key"]`. Bare keys may hold any character but `.`, `[`,
//! `]` and whitespace, so XML-derived keys such as `@id`, `#text` and
//! `ns:Element` need no quoting.
//!
//! An HL7 v2 path (`PID-5.1`, `OBX[*]-5`, `MSH-9.2`) is a path into the body
//! when it holds an HL7 message (docs/value-model-hl7.md): it needs no scope.

use medbus_adapters::hl7::{self, value_path};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Body,
    Vars,
    Headers,
    Msg,
    /// The settings' `values` (e.g. another system's address), read-only.
    Config,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Body => "body",
            Scope::Vars => "vars",
            Scope::Headers => "headers",
            Scope::Msg => "msg",
            Scope::Config => "config",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
    Wildcard,
    /// An HL7 v2 path, always the only segment of a `body` path.
    Hl7(Box<hl7::Path>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    pub scope: Scope,
    pub segments: Vec<Segment>,
    text: String,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Path {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = "expected a path like `body.patient.name`, `vars.x` or `body.items[0].code`";
        let text = text.trim();
        if looks_like_hl7(text) {
            let path = hl7::Path::parse(text).map_err(|e| format!("HL7 path `{text}`: {e}"))?;
            return Ok(Path {
                scope: Scope::Body,
                segments: vec![Segment::Hl7(Box::new(path))],
                text: text.to_string(),
            });
        }
        let scope_end = text.find(['.', '[']).unwrap_or(text.len());
        let scope = match &text[..scope_end] {
            "body" => Scope::Body,
            "vars" => Scope::Vars,
            "headers" => Scope::Headers,
            "msg" => Scope::Msg,
            "config" => Scope::Config,
            other => {
                return Err(format!(
                    "path `{text}` starts with `{other}`, not a scope; expected `body`, `vars`, `headers`, `msg` or `config`"
                ))
            }
        };
        let mut segments = Vec::new();
        let mut rest = &text[scope_end..];
        while !rest.is_empty() {
            if let Some(after_dot) = rest.strip_prefix('.') {
                let end = after_dot
                    .find(|c: char| c == '.' || c == '[' || c == ']' || c.is_whitespace())
                    .unwrap_or(after_dot.len());
                if end == 0 {
                    return Err(format!("path `{text}` has an empty key; {expected}"));
                }
                segments.push(Segment::Key(after_dot[..end].to_string()));
                rest = &after_dot[end..];
            } else if let Some(after_bracket) = rest.strip_prefix('[') {
                let close = after_bracket
                    .find(']')
                    .ok_or_else(|| format!("path `{text}` has an unclosed `[`; {expected}"))?;
                let inner = after_bracket[..close].trim();
                let segment = if inner == "*" {
                    Segment::Wildcard
                } else if let Ok(index) = inner.parse::<usize>() {
                    Segment::Index(index)
                } else if inner.len() >= 2
                    && ((inner.starts_with('"') && inner.ends_with('"'))
                        || (inner.starts_with('\'') && inner.ends_with('\'')))
                {
                    Segment::Key(inner[1..inner.len() - 1].to_string())
                } else {
                    return Err(format!(
                        "path `{text}` has `[{inner}]`; expected `[n]`, `[*]` or `[\"key\"]`"
                    ));
                };
                segments.push(segment);
                rest = &after_bracket[close + 1..];
            } else {
                return Err(format!("path `{text}` is malformed at `{rest}`; {expected}"));
            }
        }
        Ok(Path {
            scope,
            segments,
            text: text.to_string(),
        })
    }
}

impl Path {
    pub fn has_wildcard(&self) -> bool {
        self.segments.iter().any(|s| match s {
            Segment::Wildcard => true,
            Segment::Hl7(path) => path.is_multiple(),
            _ => false,
        })
    }

    /// An HL7 path's own form, when this is one.
    pub fn hl7(&self) -> Option<&hl7::Path> {
        match self.segments.as_slice() {
            [Segment::Hl7(path)] => Some(path),
            _ => None,
        }
    }

    /// A path of the same kind, for one of the places this one fans out to.
    pub fn from_hl7(path: hl7::Path) -> Path {
        Path {
            scope: Scope::Body,
            text: path.to_string(),
            segments: vec![Segment::Hl7(Box::new(path))],
        }
    }

    /// The first value the path points at, if any.
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        if let Some(path) = self.hl7() {
            return value_path::lookup(root, path);
        }
        lookup_from(root, &self.segments)
    }

    /// As `lookup`, for a scope held as a map (vars, headers).
    pub fn lookup_in_map<'a>(&self, map: &'a Map<String, Value>) -> Option<&'a Value> {
        match self.segments.split_first()? {
            (Segment::Key(key), rest) => lookup_from(map.get(key)?, rest),
            _ => None,
        }
    }

    /// Every value the path points at; wildcards fan out over arrays.
    pub fn lookup_all<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        if let Some(path) = self.hl7() {
            return value_path::lookup_all(root, path);
        }
        let mut current = vec![root];
        for segment in &self.segments {
            let mut next = Vec::with_capacity(current.len());
            for value in current {
                match segment {
                    Segment::Key(key) => {
                        if let Some(v) = value.as_object().and_then(|m| m.get(key)) {
                            next.push(v);
                        }
                    }
                    Segment::Index(i) => match value {
                        Value::Array(items) => next.extend(items.get(*i)),
                        other if *i == 0 => next.push(other),
                        _ => {}
                    },
                    Segment::Wildcard => match value {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Null => {}
                        other => next.push(other),
                    },
                    Segment::Hl7(path) => next.extend(value_path::lookup_all(value, path)),
                }
            }
            current = next;
        }
        current
    }

    /// Writes `new` where the path points, creating objects and growing
    /// arrays on the way. A wildcard writes every element it reaches.
    pub fn assign(&self, root: &mut Value, new: Value) -> Result<(), String> {
        if let Some(path) = self.hl7() {
            return value_path::assign(root, path, new);
        }
        assign_at(root, &self.segments, new, &self.text)
    }

    /// Removes the value the path points at; returns it when there was one.
    pub fn remove(&self, root: &mut Value) -> Option<Value> {
        if let Some(path) = self.hl7() {
            return value_path::remove(root, path);
        }
        let (last, parents) = self.segments.split_last()?;
        let mut current = root;
        for segment in parents {
            current = match segment {
                Segment::Key(key) => current.as_object_mut()?.get_mut(key)?,
                Segment::Index(i) => current.as_array_mut()?.get_mut(*i)?,
                Segment::Wildcard | Segment::Hl7(_) => return None,
            };
        }
        match last {
            Segment::Key(key) => current.as_object_mut()?.shift_remove(key),
            Segment::Index(i) => {
                let items = current.as_array_mut()?;
                (*i < items.len()).then(|| items.remove(*i))
            }
            Segment::Wildcard | Segment::Hl7(_) => None,
        }
    }
}

/// Whether a path's text is an HL7 path: a segment name (`PID`, `OBX`, `ZPD`)
/// followed by `-` or `[`, where a scope would be followed by `.` or `[`.
fn looks_like_hl7(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 4
        && bytes[0].is_ascii_uppercase()
        && bytes[1..3].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && matches!(bytes[3], b'-' | b'[')
}

fn lookup_from<'a>(root: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let mut current = root;
    for segment in segments {
        current = match segment {
            Segment::Key(key) => current.as_object()?.get(key)?,
            // A single element stands for a one-element list: XML gives no
            // way to tell "one repeated element" from "one element".
            Segment::Index(i) => match current {
                Value::Array(items) => items.get(*i)?,
                other if *i == 0 => other,
                _ => return None,
            },
            Segment::Wildcard => match current {
                Value::Array(items) => items.first()?,
                other => other,
            },
            Segment::Hl7(path) => value_path::lookup(current, path)?,
        };
    }
    Some(current)
}

fn assign_at(target: &mut Value, segments: &[Segment], new: Value, text: &str) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *target = new;
        return Ok(());
    };
    match first {
        Segment::Key(key) => {
            if target.is_null() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(map) = target else {
                return Err(format!(
                    "cannot set `{text}`: `{key}` is under a {}, not an object",
                    kind(target)
                ));
            };
            assign_at(map.entry(key.clone()).or_insert(Value::Null), rest, new, text)
        }
        Segment::Index(i) => {
            if target.is_null() {
                *target = Value::Array(Vec::new());
            }
            let Value::Array(items) = target else {
                return Err(format!(
                    "cannot set `{text}`: index [{i}] is on a {}, not an array",
                    kind(target)
                ));
            };
            if *i > items.len() + 1024 {
                return Err(format!(
                    "cannot set `{text}`: index [{i}] is far past the array's end ({})",
                    items.len()
                ));
            }
            if items.len() <= *i {
                items.resize(*i + 1, Value::Null);
            }
            assign_at(&mut items[*i], rest, new, text)
        }
        Segment::Wildcard => match target {
            Value::Array(items) => {
                for item in items {
                    assign_at(item, rest, new.clone(), text)?;
                }
                Ok(())
            }
            other => assign_at(other, rest, new, text),
        },
        Segment::Hl7(path) => value_path::assign(target, path, new),
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Path {
        text.parse().unwrap()
    }

    #[test]
    fn hl7_paths_need_no_scope_and_reach_into_an_hl7_body() {
        let mut body = medbus_adapters::hl7::Message::parse(
            b"MSH|^~\\&|A|B|C|D|1||ADT^A01|9|P|2.5\rPID|1||7^^^H~8^^^I||DOE^JOHN\r",
        )
        .unwrap()
        .to_value();
        let family = path("PID-5.1");
        assert_eq!(family.scope, Scope::Body);
        assert_eq!(family.lookup(&body), Some(&json!("DOE")));
        assert!(path("PID-3[*].1").has_wildcard());
        assert_eq!(path("PID-3[*].1").lookup_all(&body), [&json!("7"), &json!("8")]);
        path("PID-8").assign(&mut body, json!("M")).unwrap();
        assert_eq!(path("PID-8").lookup(&body), Some(&json!("M")));
        assert_eq!(path("PID-8").remove(&mut body), Some(json!("M")));
        let error = "PID-x".parse::<Path>().unwrap_err();
        assert!(error.starts_with("HL7 path `PID-x`"), "{error}");
        assert_eq!(path("body.PID").scope, Scope::Body);
    }

    #[test]
    fn parses_every_segment_form() {
        let p = path(r#"body.root.item[2]["a b"].@id[*]"#);
        assert_eq!(p.scope, Scope::Body);
        assert_eq!(
            p.segments,
            vec![
                Segment::Key("root".into()),
                Segment::Key("item".into()),
                Segment::Index(2),
                Segment::Key("a b".into()),
                Segment::Key("@id".into()),
                Segment::Wildcard,
            ]
        );
        assert_eq!(path("vars").segments, vec![]);
    }

    #[test]
    fn rejects_bad_paths_with_what_was_expected() {
        for bad in ["root.x", "body..x", "body.x[", "body.x[abc]", "body x", ""] {
            let err = bad.parse::<Path>().unwrap_err();
            assert!(err.contains("expected"), "{bad}: {err}");
        }
    }

    #[test]
    fn looks_up_and_fans_out() {
        let v = json!({"root": {"item": [{"code": "a"}, {"code": "b"}], "one": {"code": "c"}}});
        assert_eq!(path("body.root.item[1].code").lookup(&v), Some(&json!("b")));
        assert_eq!(path("body.root.one[0].code").lookup(&v), Some(&json!("c")));
        let all: Vec<_> = path("body.root.item[*].code").lookup_all(&v);
        assert_eq!(all, vec![&json!("a"), &json!("b")]);
        assert_eq!(path("body.root.one[*].code").lookup_all(&v), vec![&json!("c")]);
        assert_eq!(path("body.missing.x").lookup(&v), None);
    }

    #[test]
    fn assigns_creating_parents_and_removes() {
        let mut v = Value::Null;
        path("vars.a.b[1].c").assign(&mut v, json!(1)).unwrap();
        assert_eq!(v, json!({"a": {"b": [null, {"c": 1}]}}));
        path("vars.a.b[*].d").assign(&mut v, json!("x")).unwrap();
        assert_eq!(v, json!({"a": {"b": [{"d": "x"}, {"c": 1, "d": "x"}]}}));
        assert!(path("vars.a.b.c").assign(&mut v, json!(1)).is_err());
        assert_eq!(path("vars.a.b[0]").remove(&mut v), Some(json!({"d": "x"})));
    }
}
