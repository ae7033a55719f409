//! Paths (`PID-5.1`, `OBX[*]-5`) over a message held as a value tree (docs/value-model-hl7.md),
//! for code that keeps the tree rather than a [`Message`](super::Message): reading, writing and
//! removing the part a path names.
//!
//! The tree's shapes are read as [`Message::get`](super::Message::get) reads ER7: a field that is
//! a string is its own first repetition, a repetition that is a string its own first component,
//! a component that is a string its own first subcomponent. What a path reads is the value
//! there: a string for a leaf, the sub-tree (object or array) for a part with components or
//! repetitions.

use super::path::{Index, Path};
use super::value::field_of;
use super::Message;
use serde_json::{Map, Value};

const SEGMENTS: &str = "segments";
const NAME: &str = "segment";
/// A segment's text as read, which the writer reuses while its fields are unchanged; a change
/// through a path drops it.
const ER7: &str = "er7";

/// The first value the path names, if the tree has it.
pub fn lookup<'a>(root: &'a Value, path: &Path) -> Option<&'a Value> {
    lookup_all(root, path).into_iter().next()
}

/// Every value the path names, in message order; `[*]` fans out.
pub fn lookup_all<'a>(root: &'a Value, path: &Path) -> Vec<&'a Value> {
    expand(root, path).into_iter().map(|(_, value)| value).collect()
}

/// Every value the path names, each with the path that names just it: `OBX[*]-5` becomes
/// `OBX[1]-5`, `OBX[2]-5`, ... for the segments that have that field.
pub fn expand<'a>(root: &'a Value, path: &Path) -> Vec<(Path, &'a Value)> {
    places(root, path)
        .into_iter()
        .filter_map(|(path, value)| Some((path, value?)))
        .collect()
}

/// Every place the path names, each with the path that names just it, and the value there or
/// `None` where the message has nothing: what a check of required parts needs, since
/// `OBX[*]-11` must name the OBX that lacks field 11. A segment missing altogether is one place.
pub fn places<'a>(root: &'a Value, path: &Path) -> Vec<(Path, Option<&'a Value>)> {
    let segments = segments_named(root, &path.segment, path.occurrence);
    if segments.is_empty() {
        return vec![(path.clone(), None)];
    }
    let mut found = Vec::new();
    for (occurrence, segment) in segments {
        places_in_field(path, occurrence, segment.get(&path.field.to_string()), &mut found);
    }
    found
}

/// [`places`] read from a message rather than from its value tree: only the field the path
/// names is turned into a value, so that reading a few fields of a message costs those fields,
/// not the whole tree. The same places and values as `places(&message.to_value(), path)`.
pub fn places_in_message(message: &Message, path: &Path) -> Vec<(Path, Option<Value>)> {
    let named = message
        .segments()
        .filter(|segment| segment.get(..3) == Some(path.segment.as_str()))
        .enumerate()
        .map(|(i, segment)| (i + 1, segment));
    let selected: Vec<(usize, &str)> = match path.occurrence {
        None => named.take(1).collect(),
        Some(Index::Nth(n)) => named.skip(n.saturating_sub(1)).take(1).collect(),
        Some(Index::All) => named.collect(),
    };
    if selected.is_empty() {
        return vec![(path.clone(), None)];
    }
    let fields: Vec<(usize, Option<Value>)> = selected
        .into_iter()
        .map(|(occurrence, segment)| {
            let field = field_of(segment, path.field, message.delimiters(), message.charset());
            (occurrence, field)
        })
        .collect();
    let mut found = Vec::new();
    for (occurrence, field) in &fields {
        places_in_field(path, *occurrence, field.as_ref(), &mut found);
    }
    found.into_iter().map(|(at, value)| (at, value.cloned())).collect()
}

/// The places `path` names in one segment's field (`None` where the segment lacks it), the
/// segment being occurrence `occurrence` of its name.
fn places_in_field<'a>(
    path: &Path,
    occurrence: usize,
    field: Option<&'a Value>,
    found: &mut Vec<(Path, Option<&'a Value>)>,
) {
    let occurrence = match path.occurrence {
        Some(Index::All) => Some(Index::Nth(occurrence)),
        other => other,
    };
    let at = |repetition| Path {
        occurrence,
        repetition,
        ..path.clone()
    };
    let Some(field) = field else {
        found.push((at(path.repetition), None));
        return;
    };
    let repetitions: Vec<(Option<Index>, Option<&Value>)> = match (path.repetition, path.component) {
        (None, None) => vec![(None, Some(field))],
        (None, Some(_)) => vec![(None, first_repetition(field))],
        (Some(Index::Nth(n)), _) => vec![(Some(Index::Nth(n)), repetition(field, n))],
        (Some(Index::All), _) => all_repetitions(field)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (Some(Index::Nth(i + 1)), Some(r)))
            .collect(),
    };
    for (repetition, value) in repetitions {
        let value = match path.component {
            None => value,
            Some(component) => value
                .and_then(|v| part(v, component))
                .and_then(|c| match path.subcomponent {
                    None => Some(c),
                    Some(sub) => part(c, sub),
                }),
        };
        found.push((at(repetition), value));
    }
}

/// Writes `new` where the path names, creating the segment (at the end of the message), the
/// field, repetition, component and subcomponent as needed; `[*]` writes every one that is there.
pub fn assign(root: &mut Value, path: &Path, new: Value) -> Result<(), String> {
    let segments = segment_list(root, path)?;
    let positions = positions_named(segments, &path.segment);
    let chosen: Vec<usize> = match path.occurrence {
        None | Some(Index::Nth(1)) if positions.is_empty() => vec![append_segment(segments, &path.segment)],
        None => vec![positions[0]],
        Some(Index::Nth(n)) if n <= positions.len() => vec![positions[n - 1]],
        Some(Index::Nth(n)) if n == positions.len() + 1 => vec![append_segment(segments, &path.segment)],
        Some(Index::Nth(n)) => {
            return Err(format!(
                "cannot set `{path}`: the message has {} {} segment(s), so the next one is [{}], not [{n}]",
                positions.len(),
                path.segment,
                positions.len() + 1
            ))
        }
        Some(Index::All) => positions,
    };
    for at in chosen {
        let Value::Object(segment) = &mut segments[at] else {
            return Err(format!("cannot set `{path}`: segment {} is not an object", at + 1));
        };
        segment.shift_remove(ER7);
        assign_in_segment(segment, path, new.clone())?;
    }
    Ok(())
}

/// Removes the field or repetition the path names, or empties the component or subcomponent
/// (later ones keep their numbers); returns the first value taken.
pub fn remove(root: &mut Value, path: &Path) -> Option<Value> {
    let segments = root.get_mut(SEGMENTS)?.as_array_mut()?;
    let positions = positions_named(segments, &path.segment);
    let chosen: Vec<usize> = match path.occurrence {
        None => positions.into_iter().take(1).collect(),
        Some(Index::Nth(n)) => positions.get(n.checked_sub(1)?).copied().into_iter().collect(),
        Some(Index::All) => positions,
    };
    let mut removed = None;
    for at in chosen {
        let Some(segment) = segments[at].as_object_mut() else {
            continue;
        };
        segment.shift_remove(ER7);
        let taken = remove_in_segment(segment, path);
        if removed.is_none() {
            removed = taken;
        }
    }
    removed
}

/// The segments of that name the occurrence picks, each with its occurrence number (from 1).
fn segments_named<'a>(root: &'a Value, name: &str, occurrence: Option<Index>) -> Vec<(usize, &'a Map<String, Value>)> {
    let Some(Value::Array(segments)) = root.get(SEGMENTS) else {
        return Vec::new();
    };
    let mut named = segments
        .iter()
        .filter_map(Value::as_object)
        .filter(|s| s.get(NAME).and_then(Value::as_str) == Some(name))
        .enumerate()
        .map(|(i, s)| (i + 1, s));
    match occurrence {
        None => named.next().into_iter().collect(),
        Some(Index::Nth(n)) => named.nth(n.saturating_sub(1)).into_iter().collect(),
        Some(Index::All) => named.collect(),
    }
}

fn segment_list<'a>(root: &'a mut Value, path: &Path) -> Result<&'a mut Vec<Value>, String> {
    if root.is_null() {
        *root = Value::Object(Map::new());
    }
    let Value::Object(message) = root else {
        return Err(format!(
            "cannot set `{path}`: the body is not an HL7 message (expected {{\"segments\": [...]}})"
        ));
    };
    match message.entry(SEGMENTS).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(segments) => Ok(segments),
        _ => Err(format!("cannot set `{path}`: `segments` is not a list")),
    }
}

fn positions_named(segments: &[Value], name: &str) -> Vec<usize> {
    segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.get(NAME).and_then(Value::as_str) == Some(name))
        .map(|(i, _)| i)
        .collect()
}

fn append_segment(segments: &mut Vec<Value>, name: &str) -> usize {
    let mut segment = Map::new();
    segment.insert(NAME.into(), Value::String(name.into()));
    segments.push(Value::Object(segment));
    segments.len() - 1
}

fn first_repetition(field: &Value) -> Option<&Value> {
    match field {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

fn repetition(field: &Value, n: usize) -> Option<&Value> {
    match field {
        Value::Array(items) => items.get(n.checked_sub(1)?),
        other if n == 1 => Some(other),
        _ => None,
    }
}

fn all_repetitions(field: &Value) -> Vec<&Value> {
    match field {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Component or subcomponent `n` of a value: an object's key, or a plain value as its own first part.
fn part(value: &Value, n: usize) -> Option<&Value> {
    match value {
        Value::Object(parts) => parts.get(&n.to_string()),
        Value::Array(_) => None,
        other if n == 1 => Some(other),
        _ => None,
    }
}

fn assign_in_segment(segment: &mut Map<String, Value>, path: &Path, new: Value) -> Result<(), String> {
    if path.segment == "MSH" && path.field <= 2 {
        return Err(format!(
            "cannot set `{path}`: MSH-1 and MSH-2 are the message's delimiters, which are not changed by path"
        ));
    }
    let field = segment
        .entry(path.field.to_string())
        .or_insert(Value::String(String::new()));
    let Some(component) = path.component else {
        return match path.repetition {
            None => {
                *field = new;
                Ok(())
            }
            Some(index) => assign_repetitions(field, index, path, |repetition| {
                *repetition = new.clone();
                Ok(())
            }),
        };
    };
    let index = path.repetition.unwrap_or(Index::Nth(1));
    assign_repetitions(field, index, path, |repetition| {
        let slot = part_slot(repetition, component);
        match path.subcomponent {
            None => *slot = new.clone(),
            Some(sub) => *part_slot(slot, sub) = new.clone(),
        }
        Ok(())
    })
}

/// Runs `write` on repetition `index` of `field` (every one for `[*]`), creating it if needed.
fn assign_repetitions(
    field: &mut Value,
    index: Index,
    path: &Path,
    mut write: impl FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    match index {
        Index::All => match field {
            Value::Array(items) => items.iter_mut().try_for_each(write),
            other => write(other),
        },
        Index::Nth(1) if !field.is_array() => write(field),
        Index::Nth(n) => {
            if !field.is_array() {
                let first = std::mem::take(field);
                *field = Value::Array(vec![first]);
            }
            let Value::Array(items) = field else { unreachable!() };
            if n > items.len() + 1024 {
                return Err(format!(
                    "cannot set `{path}`: repetition [{n}] is far past the field's {} repetition(s)",
                    items.len()
                ));
            }
            if items.len() < n {
                items.resize(n, Value::String(String::new()));
            }
            write(&mut items[n - 1])
        }
    }
}

/// Part `n` of a repetition or component, turning a plain value into an object of parts (the
/// value becomes part 1) and adding empty parts up to `n`.
fn part_slot(value: &mut Value, n: usize) -> &mut Value {
    if !value.is_object() {
        let first = std::mem::take(value);
        let mut parts = Map::new();
        parts.insert(
            "1".into(),
            if first.is_null() {
                Value::String(String::new())
            } else {
                first
            },
        );
        *value = Value::Object(parts);
    }
    let Value::Object(parts) = value else { unreachable!() };
    let last = parts.keys().filter_map(|k| k.parse::<usize>().ok()).max().unwrap_or(0);
    for missing in last + 1..n {
        parts.insert(missing.to_string(), Value::String(String::new()));
    }
    parts.entry(n.to_string()).or_insert(Value::String(String::new()))
}

fn remove_in_segment(segment: &mut Map<String, Value>, path: &Path) -> Option<Value> {
    let key = path.field.to_string();
    if path.component.is_none() && path.repetition.is_none() {
        return segment.shift_remove(&key);
    }
    let field = segment.get_mut(&key)?;
    let repetition = match (path.repetition, field) {
        (None | Some(Index::Nth(1)), field) if !field.is_array() => field,
        (None, Value::Array(items)) => items.first_mut()?,
        (Some(Index::Nth(n)), Value::Array(items)) => {
            if path.component.is_none() {
                let i = n.checked_sub(1)?;
                return (i < items.len()).then(|| items.remove(i));
            }
            items.get_mut(n.checked_sub(1)?)?
        }
        _ => return None,
    };
    let Some(component) = path.component else {
        return Some(std::mem::replace(repetition, Value::String(String::new())));
    };
    let parts = repetition.as_object_mut()?;
    match path.subcomponent {
        None => parts.get_mut(&component.to_string()).map(std::mem::take),
        Some(sub) => parts
            .get_mut(&component.to_string())?
            .as_object_mut()?
            .get_mut(&sub.to_string())
            .map(std::mem::take),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::{Message, ParseOptions};

    const ADT: &str = "MSH|^~\\&|HIS|H|LIS|L|20240101||ADT^A01|7|P|2.5\rPID|1||123^^^H^MR~456^^^B||DOE^JOHN&J|||M\rOBX|1|NM|WBC||6.5\rOBX|2|NM|GLU||5.2\r";

    fn tree() -> Value {
        Message::parse(ADT.as_bytes()).unwrap().to_value()
    }

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap()
    }

    fn texts(root: &Value, p: &str) -> Vec<String> {
        lookup_all(root, &path(p))
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect()
    }

    #[test]
    fn reads_as_the_message_does() {
        let root = tree();
        let message = Message::parse(ADT.as_bytes()).unwrap();
        for p in [
            "PID-5.1",
            "PID-5.2.2",
            "PID-3.1",
            "PID-3[2].1",
            "MSH-9.2",
            "OBX[2]-5",
            "PID-8",
            "MSH-10",
        ] {
            assert_eq!(
                lookup(&root, &path(p)).and_then(Value::as_str),
                message.get(&path(p)).as_deref(),
                "{p}"
            );
        }
        assert_eq!(texts(&root, "OBX[*]-5"), ["6.5", "5.2"]);
        assert_eq!(texts(&root, "PID-3[*].1"), ["123", "456"]);
        assert_eq!(texts(&root, "PID-8.1"), ["M"]);
        let concrete: Vec<String> = expand(&root, &path("OBX[*]-5"))
            .iter()
            .map(|(p, _)| p.to_string())
            .collect();
        assert_eq!(concrete, ["OBX[1]-5", "OBX[2]-5"]);
        let concrete: Vec<String> = expand(&root, &path("PID-3[*].1"))
            .iter()
            .map(|(p, _)| p.to_string())
            .collect();
        assert_eq!(concrete, ["PID-3[1].1", "PID-3[2].1"]);
        assert!(lookup(&root, &path("PID-8.2")).is_none());
        assert!(lookup(&root, &path("ZPD-1")).is_none());
        assert!(lookup(&root, &path("OBX[3]-5")).is_none());
    }

    #[test]
    fn writes_create_what_is_missing_and_write_back_as_er7() {
        let mut root = tree();
        assign(&mut root, &path("PID-5.1"), "张".into()).unwrap();
        assign(&mut root, &path("PID-8.2"), "Male".into()).unwrap();
        assign(&mut root, &path("PID-3[3].1"), "789".into()).unwrap();
        assign(&mut root, &path("ZPD-2.3"), "x|y".into()).unwrap();
        assign(&mut root, &path("OBX[*]-2"), "ST".into()).unwrap();
        assign(&mut root, &path("OBX[3]-5"), "7".into()).unwrap();
        assert!(assign(&mut root, &path("OBX[9]-5"), "7".into())
            .unwrap_err()
            .contains("[4], not [9]"));
        assert!(assign(&mut root, &path("MSH-2"), "x".into()).is_err());
        let er7 = Message::from_value(&root, &ParseOptions::default()).unwrap().to_er7();
        assert!(
            er7.contains("PID|1||123^^^H^MR~456^^^B~789||张^JOHN&J|||M^Male\r"),
            "{er7}"
        );
        assert!(er7.contains("OBX|1|ST|WBC||6.5\rOBX|2|ST|GLU||5.2\r"), "{er7}");
        assert!(er7.ends_with("ZPD||^^x\\F\\y\rOBX|||||7\r"), "{er7}");
    }

    #[test]
    fn removes_a_part_and_leaves_the_rest() {
        let mut root = tree();
        assert_eq!(remove(&mut root, &path("PID-3[2]")).unwrap()["1"], "456");
        assert_eq!(remove(&mut root, &path("PID-5.2.2")), Some(Value::String("J".into())));
        assert_eq!(remove(&mut root, &path("PID-8")), Some(Value::String("M".into())));
        assert_eq!(remove(&mut root, &path("ZPD-1")), None);
        let er7 = Message::from_value(&root, &ParseOptions::default()).unwrap().to_er7();
        assert!(er7.contains("PID|1||123^^^H^MR||DOE^JOHN&||\r"), "{er7}");
    }
}
