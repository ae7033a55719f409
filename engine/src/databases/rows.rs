//! Rows as values: each row an object of column -> value. Integers, reals,
//! text, booleans and null come as themselves; dates and times, decimals
//! (exactly, as written) and UUIDs as text; JSON columns as their value;
//! binary columns as base64 text. A column of another type is an error
//! that says how to cast it.

use crate::value::{Map, Value};
use base64::Engine as _;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

type Decoded = Result<Value, String>;

fn unreadable(column: &str, type_name: &str, cast: &str) -> String {
    format!(
        "column `{column}` has the type {type_name}, which medbus does not read; cast it in the query, e.g. `{cast}`"
    )
}

fn base64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn float(number: f64) -> Value {
    serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
}

/// Decodes every column of `row` with `decode`, which sees the column's
/// index and name and gives its value.
fn object<R: Row>(row: &R, decode: impl Fn(&R, usize, &str) -> Decoded) -> Result<Map<String, Value>, String> {
    let mut object = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let name = column.name();
        let value = decode(row, index, name).map_err(|e| {
            if e.starts_with("column `") {
                e
            } else {
                format!("column `{name}` cannot be read: {e}")
            }
        })?;
        object.insert(name.to_string(), value);
    }
    Ok(object)
}

pub fn sqlite(row: &SqliteRow) -> Result<Map<String, Value>, String> {
    object(row, |row, i, _| {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        // The value's storage class (INTEGER, REAL, TEXT, BLOB); a column
        // declared BOOLEAN stores its values as integers.
        let declared_bool = row.column(i).type_info().name() == "BOOLEAN";
        let stored = raw.type_info().name().to_string();
        Ok(match stored.as_str() {
            "INTEGER" if declared_bool => {
                Value::Bool(row.try_get_unchecked::<i64, _>(i).map_err(|e| e.to_string())? != 0)
            }
            "INTEGER" => Value::from(row.try_get_unchecked::<i64, _>(i).map_err(|e| e.to_string())?),
            "REAL" => float(row.try_get_unchecked::<f64, _>(i).map_err(|e| e.to_string())?),
            "BLOB" => base64(&row.try_get_unchecked::<Vec<u8>, _>(i).map_err(|e| e.to_string())?),
            _ => Value::String(row.try_get_unchecked::<String, _>(i).map_err(|e| e.to_string())?),
        })
    })
}

pub fn postgres(row: &PgRow) -> Result<Map<String, Value>, String> {
    object(row, |row, i, name| {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let type_name = raw.type_info().name().to_string();
        let get_err = |e: sqlx::Error| e.to_string();
        Ok(match type_name.as_str() {
            "BOOL" => Value::Bool(row.try_get(i).map_err(get_err)?),
            "INT2" => Value::from(row.try_get::<i16, _>(i).map_err(get_err)?),
            "INT4" => Value::from(row.try_get::<i32, _>(i).map_err(get_err)?),
            "INT8" => Value::from(row.try_get::<i64, _>(i).map_err(get_err)?),
            "OID" => Value::from(row.try_get::<sqlx::postgres::types::Oid, _>(i).map_err(get_err)?.0),
            "FLOAT4" => float(row.try_get::<f32, _>(i).map_err(get_err)?.into()),
            "FLOAT8" => float(row.try_get::<f64, _>(i).map_err(get_err)?),
            "NUMERIC" => Value::String(pg_numeric(raw.as_bytes().map_err(|e| e.to_string())?)?),
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "\"CHAR\"" | "UNKNOWN" | "CITEXT" => {
                Value::String(row.try_get_unchecked::<String, _>(i).map_err(get_err)?)
            }
            "DATE" => Value::String(row.try_get::<chrono::NaiveDate, _>(i).map_err(get_err)?.to_string()),
            "TIME" => Value::String(row.try_get::<chrono::NaiveTime, _>(i).map_err(get_err)?.to_string()),
            "TIMESTAMP" => Value::String(
                row.try_get::<chrono::NaiveDateTime, _>(i)
                    .map_err(get_err)?
                    .format("%Y-%m-%d %H:%M:%S%.f")
                    .to_string(),
            ),
            "TIMESTAMPTZ" => Value::String(
                row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                    .map_err(get_err)?
                    .to_rfc3339(),
            ),
            "UUID" => {
                let bytes = raw.as_bytes().map_err(|e| e.to_string())?;
                let uuid = uuid::Uuid::from_slice(bytes).map_err(|e| e.to_string())?;
                Value::String(uuid.to_string())
            }
            "JSON" | "JSONB" => {
                let bytes = raw.as_bytes().map_err(|e| e.to_string())?;
                // Binary JSONB starts with its format version, 1.
                let text = if type_name == "JSONB" {
                    bytes.get(1..).unwrap_or_default()
                } else {
                    bytes
                };
                serde_json::from_slice(text).map_err(|e| e.to_string())?
            }
            "BYTEA" => base64(raw.as_bytes().map_err(|e| e.to_string())?),
            other => return Err(unreadable(name, other, &format!("{name}::text"))),
        })
    })
}

/// PostgreSQL's binary NUMERIC as decimal text, every digit kept: base
/// 10000 digits with the weight of the first one, a sign and a scale.
fn pg_numeric(bytes: &[u8]) -> Result<String, String> {
    let word = |at: usize| -> Result<i32, String> {
        bytes
            .get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]) as i32)
            .ok_or_else(|| "a NUMERIC value is cut short".to_string())
    };
    let (count, weight, sign, scale) = (word(0)?, word(2)?, word(4)? as u16, word(6)? as u16 as usize);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits = (0..count)
        .map(|i| word(8 + 2 * i as usize))
        .collect::<Result<Vec<_>, _>>()?;
    let digit = |group: i32| {
        if group >= 0 && (group as usize) < digits.len() {
            digits[group as usize]
        } else {
            0
        }
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for group in 1..=weight {
            text.push_str(&format!("{:04}", digit(group)));
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut group = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(group)));
            group += 1;
        }
        text.push('.');
        text.push_str(&fraction[..scale]);
    }
    Ok(text)
}

pub fn mysql(row: &MySqlRow) -> Result<Map<String, Value>, String> {
    object(row, |row, i, name| {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let type_name = raw.type_info().name().to_string();
        let get_err = |e: sqlx::Error| e.to_string();
        Ok(match type_name.as_str() {
            "BOOLEAN" => Value::Bool(row.try_get_unchecked::<i8, _>(i).map_err(get_err)? != 0),
            "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => {
                Value::from(row.try_get_unchecked::<i64, _>(i).map_err(get_err)?)
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED" | "BIGINT UNSIGNED"
            | "YEAR" | "BIT" => Value::from(row.try_get_unchecked::<u64, _>(i).map_err(get_err)?),
            "FLOAT" => float(row.try_get_unchecked::<f32, _>(i).map_err(get_err)?.into()),
            "DOUBLE" => float(row.try_get_unchecked::<f64, _>(i).map_err(get_err)?),
            "DECIMAL" | "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
            | "JSON" => Value::String(row.try_get_unchecked::<String, _>(i).map_err(get_err)?),
            "DATE" => Value::String(row.try_get::<chrono::NaiveDate, _>(i).map_err(get_err)?.to_string()),
            "TIME" => Value::String(row.try_get::<chrono::NaiveTime, _>(i).map_err(get_err)?.to_string()),
            "DATETIME" | "TIMESTAMP" => Value::String(
                row.try_get_unchecked::<chrono::NaiveDateTime, _>(i)
                    .map_err(get_err)?
                    .format("%Y-%m-%d %H:%M:%S%.f")
                    .to_string(),
            ),
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                base64(&row.try_get_unchecked::<Vec<u8>, _>(i).map_err(get_err)?)
            }
            other => return Err(unreadable(name, other, &format!("CAST({name} AS CHAR)"))),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(count: i16, weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [count, weight, sign as i16, scale as i16]
            .into_iter()
            .chain(digits.iter().copied())
        {
            bytes.extend(word.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numerics_keep_every_digit() {
        assert_eq!(pg_numeric(&numeric(2, 0, 0, 2, &[12, 5000])).unwrap(), "12.50");
        assert_eq!(pg_numeric(&numeric(1, -1, 0, 3, &[10])).unwrap(), "0.001");
        assert_eq!(pg_numeric(&numeric(2, 1, 0x4000, 0, &[1, 2])).unwrap(), "-10002");
        assert_eq!(pg_numeric(&numeric(1, 2, 0, 1, &[7])).unwrap(), "700000000.0");
        assert_eq!(pg_numeric(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(pg_numeric(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert!(pg_numeric(&[0, 1]).is_err());
    }
}
