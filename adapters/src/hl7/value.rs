//! A message <-> the value tree (docs/value-model-hl7.md has the convention, with examples).
//!
//! `{"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&", "3": "HIS", ...}, ...]}`: segments in
//! message order; fields keyed by their number; a field with repetitions is an array; a part
//! with components (or a component with subcomponents) is an object keyed by their numbers; text
//! is decoded. A segment whose text the writer would not reproduce exactly (an unusual escape
//! such as `\X41\`) also carries `"er7"`, its text as read, written back while its fields are
//! unchanged.

use super::delimiters::{Delimiters, ABSENT};
use super::escape;
use super::message::Message;
use super::path::{is_segment_name, MAX_NUMBER};
use super::read;
use super::{Charset, Hl7Error, ParseOptions};
use serde_json::{Map, Value};

/// The key of the segment list.
const SEGMENTS: &str = "segments";
/// The key of a segment's name.
const NAME: &str = "segment";
/// The key of a segment's text as read, when the writer would not reproduce it.
const ER7: &str = "er7";

impl Message {
    /// The message as a value tree.
    pub fn to_value(&self) -> Value {
        let d = self.delimiters();
        let segments = self
            .segments()
            .map(|segment| {
                let mut value = segment_value(segment, d, self.charset());
                if !writes_back_as_read(segment, d, self.charset()) {
                    value.insert(ER7.to_string(), Value::String(segment.to_string()));
                }
                Value::Object(value)
            })
            .collect();
        Value::Object(Map::from_iter([(SEGMENTS.to_string(), Value::Array(segments))]))
    }

    /// Builds a message from a value tree of the [`to_value`](Self::to_value) shape. The
    /// delimiters are the MSH segment's `"1"` and `"2"`; the character set is
    /// `options.charset`, else the one MSH-18 names, else `options.default_charset`.
    pub fn from_value(value: &Value, options: &ParseOptions) -> Result<Message, Hl7Error> {
        let segments = match value {
            Value::Object(top) if top.len() == 1 => top.get(SEGMENTS).and_then(Value::as_array),
            _ => None,
        }
        .ok_or_else(|| Hl7Error::new("expected an object with one key, `segments`, holding the list of segments"))?;
        let first = segments.first().and_then(Value::as_object);
        let d = delimiters_of(first)?;
        let charset = options
            .charset
            .or_else(|| first.and_then(declared_charset))
            .unwrap_or(options.default_charset);
        let mut text = String::new();
        for (index, segment) in segments.iter().enumerate() {
            let at = format!("segments[{index}]");
            let segment = segment
                .as_object()
                .ok_or_else(|| Hl7Error::new(format!("`{at}` is not an object; expected a segment")))?;
            let start = text.len();
            write_checked(segment, &d, &mut text, &at, charset)?;
            if text.len() == start {
                return Err(Hl7Error::new(format!("`{at}` is empty; expected a segment")));
            }
            text.push('\r');
        }
        Message::from_text(&text, options)
    }
}

/// The character set MSH-18 names in a value (its first repetition's first component), if known:
/// escapes like `\XE4\` are read in it when `er7` texts are compared.
fn declared_charset(msh: &Map<String, Value>) -> Option<Charset> {
    let mut field = msh.get("18")?;
    while let Some(first) = field.as_array().and_then(|a| a.first()).or_else(|| field.get("1")) {
        field = first;
    }
    Charset::from_name(field.as_str()?.trim())
}

/// The delimiters declared by the first segment's `"1"` and `"2"`.
fn delimiters_of(first: Option<&Map<String, Value>>) -> Result<Delimiters, Hl7Error> {
    let first = first.ok_or_else(|| Hl7Error::new("`segments` is empty; expected the MSH segment first"))?;
    let name = first.get(NAME).and_then(Value::as_str).unwrap_or_default();
    let separator = first.get("1").and_then(Value::as_str).unwrap_or_default();
    let encoding = first.get("2").and_then(Value::as_str).unwrap_or_default();
    if name != "MSH" || separator.chars().count() != 1 {
        return Err(Hl7Error::new(
            "`segments[0]` must be the MSH segment, with its field separator as `1` (like \"|\") and \
             its encoding characters as `2` (like \"^~\\\\&\")",
        ));
    }
    Delimiters::read(format!("MSH{separator}{encoding}{separator}").as_bytes())
}

/// Whether the writer gives back exactly the segment's text from its value: every position up to
/// the last is in the value, so that holds unless a repetition has subcomponents but no
/// components (`a&b` alone reads as components) or a piece of text is escaped otherwise than the
/// writer would (`\X41\` for `A`, a raw v2.7 truncation character).
fn writes_back_as_read(segment: &str, d: &Delimiters, charset: Charset) -> bool {
    let after_delimiters = match read::is_header(segment) {
        true => 4 + d.encoding_characters().len(),
        false => 0,
    };
    let Some(rest) = segment.get(after_delimiters..) else {
        return false;
    };
    // An undeclared separator is [`ABSENT`], which no segment holds.
    let has = |text: &str, separator: u8| memchr::memchr(separator, text.as_bytes()).is_some();
    if !has(rest, d.escape) && !has(rest, d.truncation) {
        return !has(rest, d.subcomponent) || every_subcomponent_has_components(rest, d);
    }
    let mut written = String::new();
    for field in split_at(rest, d.field) {
        for repetition in split_at(field, d.repetition) {
            if has(repetition, d.subcomponent) && !has(repetition, d.component) {
                return false;
            }
            for component in split_at(repetition, d.component) {
                for text in split_at(component, d.subcomponent) {
                    if !has(text, d.escape) && !has(text, d.truncation) {
                        continue;
                    }
                    written.clear();
                    let decoded = escape::decode(text, d, charset);
                    if escape::encode(&decoded, d, &mut written).is_err() || written != text {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Whether every repetition with subcomponents also has components, in one pass over the
/// bytes: the check of [`writes_back_as_read`] for a segment without escapes. (An undeclared
/// separator is [`ABSENT`], which no segment holds.)
fn every_subcomponent_has_components(text: &str, d: &Delimiters) -> bool {
    let (mut components, mut subcomponents) = (false, false);
    for &b in text.as_bytes() {
        if b == d.field || b == d.repetition {
            if subcomponents && !components {
                return false;
            }
            (components, subcomponents) = (false, false);
        } else if b == d.component {
            components = true;
        } else if b == d.subcomponent {
            subcomponents = true;
        }
    }
    !subcomponents || components
}

/// One segment's value: `segment`, then its fields by number, read in one pass.
fn segment_value(segment: &str, d: &Delimiters, charset: Charset) -> Map<String, Value> {
    // Sized up front: growing an index map rehashes every key again.
    let mut value = Map::with_capacity(2 + count(segment, d.field));
    value.insert(NAME.to_string(), Value::String(segment[..3].to_string()));
    let mut fields = split_at(segment, d.field).skip(1);
    let mut number = 1;
    if read::is_header(segment) {
        value.insert("1".to_string(), Value::String((d.field as char).to_string()));
        value.insert(
            "2".to_string(),
            Value::String(fields.next().unwrap_or_default().to_string()),
        );
        number = 3;
    }
    for raw in fields {
        value.insert(key(number), field_value(raw, d, charset));
        number += 1;
    }
    value
}

/// Field `number` of one segment's text, as [`segment_value`] would hold it, without reading
/// the other fields; `None` where the segment has no such field.
pub(super) fn field_of(segment: &str, number: usize, d: &Delimiters, charset: Charset) -> Option<Value> {
    let mut pieces = split_at(segment, d.field);
    if !read::is_header(segment) {
        // Piece 0 is the segment's name, piece n field n.
        return (number > 0)
            .then(|| pieces.nth(number))
            .flatten()
            .map(|raw| field_value(raw, d, charset));
    }
    // In a header the field separator is field 1 and the encoding characters, piece 1, field 2.
    match number {
        0 => None,
        1 => Some(Value::String((d.field as char).to_string())),
        2 => Some(Value::String(pieces.nth(1).unwrap_or_default().to_string())),
        n => pieces.nth(n - 1).map(|raw| field_value(raw, d, charset)),
    }
}

fn field_value(raw: &str, d: &Delimiters, charset: Charset) -> Value {
    match split(raw, d.repetition) {
        Some(repetitions) => Value::Array(
            repetitions
                .map(|r| parts_value(r, d, charset, Depth::Repetition))
                .collect(),
        ),
        None => parts_value(raw, d, charset, Depth::Repetition),
    }
}

/// What a part holds: a repetition holds components, a component subcomponents.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Repetition,
    Component,
}

impl Depth {
    fn separator(self, d: &Delimiters) -> u8 {
        match self {
            Depth::Repetition => d.component,
            Depth::Component => d.subcomponent,
        }
    }

    fn parts(self) -> &'static str {
        match self {
            Depth::Repetition => "component",
            Depth::Component => "subcomponent",
        }
    }
}

/// A repetition (split at components) or a component (split at subcomponents).
fn parts_value(raw: &str, d: &Delimiters, charset: Charset, depth: Depth) -> Value {
    let part_value = |part| match depth {
        Depth::Repetition => parts_value(part, d, charset, Depth::Component),
        Depth::Component => text_value(part, d, charset),
    };
    match split(raw, depth.separator(d)) {
        Some(parts) => {
            let mut value = Map::with_capacity(1 + count(raw, depth.separator(d)));
            for (i, part) in parts.enumerate() {
                value.insert(key(i + 1), part_value(part));
            }
            Value::Object(value)
        }
        None => part_value(raw),
    }
}

/// A field's or part's number as its key (without the formatting machinery
/// of `to_string`: a message has hundreds of them).
fn key(number: usize) -> String {
    itoa::Buffer::new().format(number).to_owned()
}

/// How many times `separator` stands in `text`.
fn count(text: &str, separator: u8) -> usize {
    memchr::memchr_iter(separator, text.as_bytes()).count()
}

fn text_value(raw: &str, d: &Delimiters, charset: Charset) -> Value {
    Value::String(escape::decode(raw, d, charset).into_owned())
}

/// The pieces of `raw` if it has the separator at all.
fn split(raw: &str, separator: u8) -> Option<impl Iterator<Item = &str>> {
    memchr::memchr(separator, raw.as_bytes()).map(|_| split_at(raw, separator))
}

/// `text` split at an ASCII `separator`, found with memchr: faster than
/// `str::split` on the short pieces of a message, of which there are hundreds.
/// A separator the message does not declare is [`ABSENT`], the segment
/// terminator, which never stands inside a segment: the text comes whole.
fn split_at(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(separator, current.as_bytes()) {
            // An ASCII byte is never inside a multi-byte character: both sides are text.
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Writes one segment value, preferring its `er7` when its fields are those of that text.
fn write_checked(
    segment: &Map<String, Value>,
    d: &Delimiters,
    out: &mut String,
    at: &str,
    charset: Charset,
) -> Result<(), Hl7Error> {
    if let Some(er7) = segment.get(ER7) {
        let er7 = er7
            .as_str()
            .ok_or_else(|| Hl7Error::new(format!("`{at}.{ER7}` is not a string; expected the segment's text")))?;
        let valid = er7.len() >= 3 && is_segment_name(&er7.as_bytes()[..3]) && !er7.contains(['\r', '\n']);
        if valid {
            let mut fields = segment.clone();
            fields.remove(ER7);
            if segment_value(er7, d, charset) == fields {
                out.push_str(er7);
                return Ok(());
            }
        }
    }
    write_segment(segment, d, out, at)
}

/// Writes one segment value from its fields.
fn write_segment(segment: &Map<String, Value>, d: &Delimiters, out: &mut String, at: &str) -> Result<(), Hl7Error> {
    let name = segment.get(NAME).and_then(Value::as_str).unwrap_or_default();
    if !is_segment_name(name.as_bytes()) {
        return Err(Hl7Error::new(format!(
            "`{at}.{NAME}` is {name:?}; expected a segment name (three uppercase letters or digits)"
        )));
    }
    let mut fields = Vec::new();
    for (key, value) in segment {
        if key == NAME || key == ER7 {
            continue;
        }
        fields.push((number(key, &format!("{at}.{key}"))?, key, value));
    }
    fields.sort_by_key(|(n, _, _)| *n);
    out.push_str(name);
    let header = read::is_header(name);
    let mut next = 1;
    if header {
        out.push(d.field as char);
        out.push_str(&d.encoding_characters());
        next = 3;
    }
    for (n, key, value) in fields {
        let at = format!("{at}.{key}");
        if header && n <= 2 {
            let expected = match n {
                1 => (d.field as char).to_string(),
                _ => d.encoding_characters(),
            };
            if value.as_str() != Some(expected.as_str()) {
                return Err(Hl7Error::new(format!(
                    "`{at}` is {value}; {name}-{n} must be {expected:?}, the delimiters the message declares"
                )));
            }
            continue;
        }
        for _ in next..=n {
            out.push(d.field as char);
        }
        write_field(value, d, out, &at)?;
        next = n + 1;
    }
    Ok(())
}

fn write_field(value: &Value, d: &Delimiters, out: &mut String, at: &str) -> Result<(), Hl7Error> {
    let Value::Array(repetitions) = value else {
        return write_parts(value, d, out, at, Depth::Repetition);
    };
    for (index, repetition) in repetitions.iter().enumerate() {
        if index > 0 {
            push_separator(out, d.repetition, "repetition", at)?;
        }
        let at = format!("{at}[{index}]");
        if repetition.is_array() {
            return Err(Hl7Error::new(format!(
                "`{at}` is an array inside a field's repetitions; it has no ER7 form"
            )));
        }
        write_parts(repetition, d, out, &at, Depth::Repetition)?;
    }
    Ok(())
}

/// Writes a repetition or a component.
fn write_parts(value: &Value, d: &Delimiters, out: &mut String, at: &str, depth: Depth) -> Result<(), Hl7Error> {
    let parts = match value {
        Value::Object(parts) => parts,
        Value::Array(_) => {
            return Err(Hl7Error::new(format!(
                "`{at}` is an array; only a field's repetitions are an array"
            )))
        }
        _ => return write_text(value, d, out, at),
    };
    let mut numbered = Vec::with_capacity(parts.len());
    for (key, part) in parts {
        numbered.push((number(key, &format!("{at}.{key}"))?, key, part));
    }
    numbered.sort_by_key(|(n, _, _)| *n);
    let mut next = 1;
    for (n, key, part) in numbered {
        for _ in next..n {
            push_separator(out, depth.separator(d), depth.parts(), at)?;
        }
        let at = format!("{at}.{key}");
        match depth {
            Depth::Repetition => write_parts(part, d, out, &at, Depth::Component)?,
            Depth::Component if part.is_object() || part.is_array() => {
                return Err(Hl7Error::new(format!(
                    "`{at}` is nested below a subcomponent; expected text"
                )))
            }
            Depth::Component => write_text(part, d, out, &at)?,
        }
        next = n;
    }
    Ok(())
}

fn write_text(value: &Value, d: &Delimiters, out: &mut String, at: &str) -> Result<(), Hl7Error> {
    let text = match value {
        Value::String(text) => text.as_str(),
        Value::Null => "",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Number(number) => return escape_into(&number.to_string(), d, out, at),
        Value::Array(_) | Value::Object(_) => {
            return Err(Hl7Error::new(format!("`{at}` is nested too deep; expected text")));
        }
    };
    escape_into(text, d, out, at)
}

fn escape_into(text: &str, d: &Delimiters, out: &mut String, at: &str) -> Result<(), Hl7Error> {
    escape::encode(text, d, out).map_err(|e| {
        Hl7Error::new(format!(
            "`{at}` holds `{}`, which the message's delimiters cannot escape (MSH-2 declares no escape character)",
            e.0
        ))
    })
}

fn push_separator(out: &mut String, separator: u8, what: &str, at: &str) -> Result<(), Hl7Error> {
    if separator == ABSENT {
        return Err(Hl7Error::new(format!(
            "`{at}` has several {what}s, but MSH-2 declares no {what} separator"
        )));
    }
    out.push(separator as char);
    Ok(())
}

/// A field, component or subcomponent key: a number from 1.
fn number(key: &str, at: &str) -> Result<usize, Hl7Error> {
    match key.parse::<usize>() {
        Ok(n) if (1..=MAX_NUMBER).contains(&n) && !key.starts_with(['0', '+']) => Ok(n),
        _ => Err(Hl7Error::new(format!(
            "`{at}`: the key {key:?} is not a number from 1 to {MAX_NUMBER}; expected a field, component \
             or subcomponent number (or `{NAME}`, `{ER7}` in a segment)"
        ))),
    }
}
