//! Moving the value tree into a script and back, once per run.
//!
//! Rhai's maps are sorted by key, while the tree keeps the order a message
//! was written in (XML element order matters to the systems we send to).
//! `restore_order` puts the keys a script left in place back where they
//! were; keys the script added follow, sorted.

use crate::value::{Map, Value};
use rhai::Dynamic;
use std::collections::HashMap;

/// The tree as Rhai values: objects become object maps, whole numbers
/// integers, other numbers floats, null `()`. Walked directly: going
/// through serde costs several times more on this per-message path.
pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => Dynamic::from(rhai::ImmutableString::from(text.as_str())),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(map) => Dynamic::from_map(map_to_rhai(map)),
    }
}

pub fn map_to_rhai(map: &Map<String, Value>) -> rhai::Map {
    map.iter()
        .map(|(key, value)| (key.as_str().into(), to_dynamic(value)))
        .collect()
}

/// A script's value back as a tree. Values with no place in it (functions,
/// custom types) are an error; characters become one-letter strings.
pub fn to_value(value: &Dynamic) -> Result<Value, String> {
    if value.is_shared() {
        // A closure captured it.
        return to_value(&value.flatten_clone());
    }
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{f} is not a number JSON can hold"));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return Ok(Value::String(text.as_str().to_string()));
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        return items
            .iter()
            .map(to_value)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        return map
            .iter()
            .map(|(key, value)| Ok((key.to_string(), to_value(value)?)))
            .collect::<Result<Map<_, _>, String>>()
            .map(Value::Object);
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return Ok(Value::Array(blob.iter().map(|b| Value::from(*b)).collect()));
    }
    Err(format!("a {} has no place in a message", value.type_name()))
}

/// Orders the keys of every object in `new` like those of the object at
/// the same place in `old`.
pub fn restore_order(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(new_map), Value::Object(old_map)) => restore_map_order(new_map, old_map),
        (Value::Array(new_items), Value::Array(old_items)) => {
            for (child, old_child) in new_items.iter_mut().zip(old_items) {
                restore_order(child, old_child);
            }
        }
        _ => {}
    }
}

/// As `restore_order`, for a scope held as a map (vars, headers).
pub fn restore_map_order(new_map: &mut Map<String, Value>, old_map: &Map<String, Value>) {
    if new_map.len() > 1 {
        order_like(new_map, old_map);
    }
    for (key, child) in new_map.iter_mut() {
        if let Some(old_child) = old_map.get(key) {
            restore_order(child, old_child);
        }
    }
}

fn order_like(new_map: &mut Map<String, Value>, old_map: &Map<String, Value>) {
    const LINEAR: usize = 16;
    let ranks: Option<HashMap<&str, usize>> =
        (old_map.len() > LINEAR).then(|| old_map.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect());
    let rank = |key: &str| match &ranks {
        Some(ranks) => ranks.get(key).copied(),
        None => old_map.keys().position(|k| k == key),
    };
    let mut entries: Vec<(usize, String, Value)> = std::mem::take(new_map)
        .into_iter()
        .map(|(key, value)| (rank(&key).unwrap_or(usize::MAX), key, value))
        .collect();
    entries.sort_by_key(|(rank, _, _)| *rank);
    new_map.extend(entries.into_iter().map(|(_, key, value)| (key, value)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_the_tree_and_restores_key_order() {
        let old = json!({"zeta": 1, "alpha": {"z": [{"y": 1, "b": 2}], "a": null}, "mid": 1.5, "name": "张三"});
        let dynamic = to_dynamic(&old);
        let mut back = to_value(&dynamic).unwrap();
        assert_eq!(
            back.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["alpha", "mid", "name", "zeta"]
        );
        restore_order(&mut back, &old);
        assert_eq!(back.to_string(), old.to_string());
    }

    #[test]
    fn added_keys_follow_the_old_ones() {
        let old: Value = serde_json::from_str(r#"{"z": 1, "y": 2}"#).unwrap();
        let mut new: Value = serde_json::from_str(r#"{"b": 0, "a": 0, "y": 2, "z": 1}"#).unwrap();
        restore_order(&mut new, &old);
        assert_eq!(new.to_string(), r#"{"z":1,"y":2,"b":0,"a":0}"#);
        let many: Map<String, Value> = (0..40).rev().map(|i| (format!("k{i}"), json!(i))).collect();
        let old = Value::Object(many);
        let mut new = to_value(&to_dynamic(&old)).unwrap();
        restore_order(&mut new, &old);
        assert_eq!(new.to_string(), old.to_string());
    }
}
