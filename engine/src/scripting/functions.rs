//! The functions medbus gives scripts: dates in the configured zone,
//! hashes and encodings, identifiers, mapping lookups and `reject`; and
//! `trim` and `replace` made to return their result.
//! docs/scripting.md lists each with an example.

use super::dates;
use crate::mappings::{Mappings, Table};
use base64::Engine as _;
use chrono_tz::Tz;
use md5::Digest as _;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, NativeCallContext, Position};
use std::sync::Arc;

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;

/// What `reject(code, message)` and `fail(code, message)` raise: it ends
/// the script (a `try` block cannot catch it) and the step answers the
/// sender with the code and message, as a rejection (the sender is at
/// fault) or a failure (something on our side, e.g. a system we asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: String,
    pub message: String,
    pub failed: bool,
}

pub fn register(engine: &mut Engine, zone: Tz, mappings: Arc<Mappings>) {
    register_dates(engine, zone);
    register_codecs(engine);
    register_lookups(engine, mappings);
    register_strings(engine);
    register_hl7(engine);
    engine.register_fn("uuid", || uuid::Uuid::new_v4().to_string());
    for (name, failed) in [("reject", false), ("fail", true)] {
        engine.register_fn(
            name,
            move |cx: NativeCallContext, code: &str, message: &str| -> Result<()> {
                let rejection = Rejection {
                    code: code.to_string(),
                    message: message.to_string(),
                    failed,
                };
                Err(EvalAltResult::ErrorTerminated(Dynamic::from(rejection), cx.call_position()).into())
            },
        );
    }
}

fn fail(message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE).into()
}

fn register_dates(engine: &mut Engine, zone: Tz) {
    engine.register_fn("now", move || {
        dates::format(&dates::now(zone), dates::DEFAULT_FORMAT).expect("the default format is valid")
    });
    engine.register_fn("now", move |format: &str| {
        dates::format(&dates::now(zone), format).map_err(fail)
    });
    engine.register_fn("now_unix", || chrono::Utc::now().timestamp());
    engine.register_fn("format_date", move |text: &str, from: &str, to: &str| {
        dates::reformat(text, from, to, zone).map_err(|e| fail(format!("format_date: {e}")))
    });
    engine.register_fn("format_date", move |seconds: rhai::INT, to: &str| {
        dates::format(&dates::from_unix(seconds, zone).map_err(fail)?, to)
            .map_err(|e| fail(format!("format_date: {e}")))
    });
    engine.register_fn("parse_date", move |text: &str, format: &str| {
        dates::parse(text, format, zone)
            .map(|t| t.timestamp())
            .map_err(|e| fail(format!("parse_date: {e}")))
    });
}

fn register_codecs(engine: &mut Engine) {
    engine.register_fn("md5", |text: &str| hex::encode(md5::Md5::digest(text.as_bytes())));
    engine.register_fn("sha256", |text: &str| {
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    });
    engine.register_fn("base64_encode", |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    });
    engine.register_fn("base64_decode", |text: &str| -> Result<String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| fail(format!("base64_decode: not base64 text ({e})")))?;
        String::from_utf8(bytes).map_err(|_| fail("base64_decode: the decoded bytes are not UTF-8 text"))
    });
    engine.register_fn("from_json", |text: &str| -> Result<Dynamic> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| fail(format!("from_json: not JSON text ({e})")))?;
        rhai::serde::to_dynamic(value).map_err(|e| fail(format!("from_json: {e}")))
    });
    engine.register_fn("to_json", |value: Dynamic| -> Result<String> {
        let value: serde_json::Value = rhai::serde::from_dynamic(&value).map_err(|e| fail(format!("to_json: {e}")))?;
        Ok(value.to_string())
    });
}

/// HL7 paths over a message parsed with `parse: hl7` (docs/value-model-hl7.md):
/// `hl7(body, "PID-5.1")` reads the first value there (`()` when there is
/// none), `hl7_all(body, "OBX[*]-5")` every one, `hl7_set(body, "PID-8", "M")`
/// writes, creating what is missing.
fn register_hl7(engine: &mut Engine) {
    use medbus_adapters::hl7::{value_path, Path};
    fn parsed(path: &str) -> Result<Path> {
        Path::parse(path).map_err(|e| fail(format!("HL7 path `{path}`: {e}")))
    }
    fn tree(message: &rhai::Map) -> Result<serde_json::Value> {
        super::convert::to_value(&Dynamic::from_map(message.clone())).map_err(fail)
    }
    engine.register_fn("hl7", |message: &mut rhai::Map, path: &str| -> Result<Dynamic> {
        let path = parsed(path)?;
        Ok(value_path::lookup(&tree(message)?, &path).map_or(Dynamic::UNIT, super::convert::to_dynamic))
    });
    engine.register_fn(
        "hl7_all",
        |message: &mut rhai::Map, path: &str| -> Result<rhai::Array> {
            let path = parsed(path)?;
            let tree = tree(message)?;
            Ok(value_path::lookup_all(&tree, &path)
                .into_iter()
                .map(super::convert::to_dynamic)
                .collect())
        },
    );
    engine.register_fn(
        "hl7_set",
        |message: &mut rhai::Map, path: &str, value: Dynamic| -> Result<()> {
            let path = parsed(path)?;
            let mut tree = tree(message)?;
            let value = super::convert::to_value(&value).map_err(fail)?;
            value_path::assign(&mut tree, &path, value).map_err(fail)?;
            if let serde_json::Value::Object(map) = &tree {
                *message = super::convert::map_to_rhai(map);
            }
            Ok(())
        },
    );
}

/// Rhai's `trim` and `replace` change the string in place and return `()`,
/// so `name = name.trim()` would blank the name: the mistake everyone
/// coming from JavaScript makes. These change it in place *and* return it,
/// so both `name.trim();` and `name = name.trim();` work.
fn register_strings(engine: &mut Engine) {
    engine.register_fn("trim", |text: &mut ImmutableString| {
        let trimmed = text.trim();
        if trimmed.len() != text.len() {
            *text = trimmed.into();
        }
        text.clone()
    });
    engine.register_fn("replace", |text: &mut ImmutableString, find: &str, with: &str| {
        if text.contains(find) {
            *text = text.replace(find, with).into();
        }
        text.clone()
    });
    engine.register_fn("replace", |text: &mut ImmutableString, find: char, with: char| {
        if text.contains(find) {
            *text = text.replace(find, with.encode_utf8(&mut [0; 4])).into();
        }
        text.clone()
    });
}

fn register_lookups(engine: &mut Engine, mappings: Arc<Mappings>) {
    let m = mappings.clone();
    engine.register_fn("lookup", move |table: &str, by: &str, value: Dynamic, column: &str| {
        lookup(&m, table, by, value, column)
    });
    let m = mappings.clone();
    engine.register_fn(
        "lookup",
        move |table: &str, value: Dynamic, column: &str| -> Result<Dynamic> {
            let key = find_table(&m, table)?.columns()[0].clone();
            lookup(&m, table, &key, value, column)
        },
    );
    let m = mappings.clone();
    engine.register_fn("table_rows", move |table: &str| -> Result<rhai::Array> {
        Ok(find_table(&m, table)?.rows().map(row_map).collect())
    });
    engine.register_fn(
        "lookup_row",
        move |table: &str, by: &str, value: Dynamic| -> Result<Dynamic> {
            let t = find_table(&mappings, table)?;
            let by_index = find_column(t, by)?;
            let Some(code) = code_text(&value) else {
                return Ok(Dynamic::UNIT);
            };
            Ok(match t.find(by_index, &code) {
                None => Dynamic::UNIT,
                Some(row) => row_map(t.row(row).expect("found rows exist")),
            })
        },
    );
}

/// A table row as a script sees it: a map of column to text, empty cells left out.
fn row_map(row: crate::mappings::Row<'_>) -> Dynamic {
    let map: rhai::Map = row
        .cells()
        .map(|(c, v)| (c.into(), Dynamic::from(v.to_string())))
        .collect();
    Dynamic::from_map(map)
}

fn lookup(mappings: &Mappings, table: &str, by: &str, value: Dynamic, column: &str) -> Result<Dynamic> {
    let t = find_table(mappings, table)?;
    let by_index = find_column(t, by)?;
    let column_index = find_column(t, column)?;
    let Some(code) = code_text(&value) else {
        return Ok(Dynamic::UNIT);
    };
    Ok(t.find(by_index, &code)
        .and_then(|row| t.cell(row, column_index))
        .map_or(Dynamic::UNIT, |v| Dynamic::from(ImmutableString::from(v))))
}

/// A code as the text tables hold: strings as they are, numbers and
/// booleans written out; `()` has no code.
fn code_text(value: &Dynamic) -> Option<String> {
    if value.is_unit() {
        None
    } else if value.is_string() {
        value.clone().into_string().ok()
    } else {
        Some(value.to_string())
    }
}

fn find_table<'a>(mappings: &'a Mappings, name: &str) -> Result<&'a Table> {
    mappings
        .table(name)
        .ok_or_else(|| fail(mappings.unknown_table_message(name)))
}

fn find_column(table: &Table, column: &str) -> Result<usize> {
    table
        .column_index(column)
        .ok_or_else(|| fail(table.unknown_column_message(column)))
}
