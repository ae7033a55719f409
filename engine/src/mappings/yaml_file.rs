//! YAML tables, in one of two shapes:
//!
//! ```yaml
//! - { code: "1", name: 男, hl7: M }     # a list of rows, each a map
//! - { code: "2", name: 女, hl7: F }
//! ```
//!
//! ```yaml
//! columns: [code, name, hl7]           # or named columns and rows of cells
//! rows:
//!   - ["1", 男, M]
//!   - ["2", 女, F]
//! ```
//!
//! Cells are scalars read as their text (`01` stays `01`); `~`, `null` and
//! empty cells hold no value.

use super::table::{DraftRow, Table};
use crate::config::{yaml_error, Diagnostic, Position};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;
use std::path::Path;

type Cell = Spanned<Option<String>>;

enum Document {
    Rows(Vec<Spanned<RowMap>>),
    Columns(ColumnsAndRows),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnsAndRows {
    columns: Vec<String>,
    rows: Vec<Spanned<Vec<Cell>>>,
}

/// A row's cells in the order written.
struct RowMap(Vec<(String, Cell)>);

pub(crate) fn read(name: &str, file: &Path, text: &str, errors: &mut Vec<Diagnostic>) -> Option<Table> {
    let document = match serde_saphyr::from_str::<Document>(text) {
        Ok(document) => document,
        Err(e) => {
            errors.push(explain(yaml_error(file, &e)));
            return None;
        }
    };
    let (columns, drafts) = match document {
        Document::Rows(rows) => from_row_maps(rows),
        Document::Columns(table) => from_columns_and_rows(file, table, errors)?,
    };
    Table::build(name, file, columns, drafts, errors)
}

/// serde-saphyr's wording for a table's usual mistakes, said in table terms.
fn explain(mut error: Diagnostic) -> Diagnostic {
    let prefix = format!("line {} column {}: ", error.at.line, error.at.column);
    if let Some(rest) = error.message.strip_prefix(&prefix) {
        error.message = rest.to_string();
    }
    error.message = match error.message.as_str() {
        "expected string scalar" => "a cell must be text, a number or a boolean".to_string(),
        "expected mapping start" => "a row must be a map of column: value".to_string(),
        "unexpected end of input" => format!("the file is empty; expected {EXPECTED_DOCUMENT}"),
        _ => error.message,
    };
    error
}

fn position(location: &serde_saphyr::Location) -> Position {
    Position {
        line: location.line(),
        column: location.column(),
    }
}

/// Columns are named by the rows' keys, in order of first appearance.
fn from_row_maps(rows: Vec<Spanned<RowMap>>) -> (Vec<String>, Vec<DraftRow>) {
    let mut columns: Vec<String> = Vec::new();
    let mut drafts = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = vec![None; columns.len()];
        for (key, cell) in row.value.0 {
            let index = columns.iter().position(|c| *c == key).unwrap_or_else(|| {
                columns.push(key);
                columns.len() - 1
            });
            if cells.len() <= index {
                cells.resize(index + 1, None);
            }
            cells[index] = cell.value.filter(|v| !v.is_empty());
        }
        drafts.push(DraftRow {
            at: position(&row.referenced),
            cells,
        });
    }
    for draft in &mut drafts {
        draft.cells.resize(columns.len(), None);
    }
    (columns, drafts)
}

fn from_columns_and_rows(
    file: &Path,
    table: ColumnsAndRows,
    errors: &mut Vec<Diagnostic>,
) -> Option<(Vec<String>, Vec<DraftRow>)> {
    let before = errors.len();
    for (i, column) in table.columns.iter().enumerate() {
        if column.trim().is_empty() {
            errors.push(Diagnostic::in_file(file, format!("column {} has no name", i + 1)));
        } else if table.columns[..i].contains(column) {
            errors.push(Diagnostic::in_file(file, format!("`columns` names `{column}` twice")));
        }
    }
    let mut drafts = Vec::with_capacity(table.rows.len());
    for row in table.rows {
        let at = position(&row.referenced);
        if row.value.len() != table.columns.len() {
            errors.push(Diagnostic::new(
                file,
                at,
                format!(
                    "the row has {} cells; expected {}, one per name in `columns`",
                    row.value.len(),
                    table.columns.len()
                ),
            ));
            continue;
        }
        let cells = row
            .value
            .into_iter()
            .map(|c| c.value.filter(|v| !v.is_empty()))
            .collect();
        drafts.push(DraftRow { at, cells });
    }
    (errors.len() == before).then_some((table.columns, drafts))
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor)
    }
}

const EXPECTED_DOCUMENT: &str = "a list of rows (maps of column: value) or a map with `columns` and `rows`";

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED_DOCUMENT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element()? {
            rows.push(row);
        }
        Ok(Document::Rows(rows))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Document, A::Error> {
        ColumnsAndRows::deserialize(de::value::MapAccessDeserializer::new(map)).map(Document::Columns)
    }
}

impl<'de> Deserialize<'de> for RowMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = RowMap;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row: a map of column name to text, number or boolean")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RowMap, A::Error> {
                let mut cells = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((key, cell)) = map.next_entry::<String, Cell>()? {
                    cells.push((key, cell));
                }
                Ok(RowMap(cells))
            }
        }
        deserializer.deserialize_map(RowVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Option<Table>, Vec<String>) {
        let mut errors = Vec::new();
        let table = read("t", Path::new("t.yaml"), text, &mut errors);
        (table, errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn reads_a_list_of_row_maps_keeping_cell_text() {
        let (table, errors) = read_text(
            "# 性别\n- { code: 01, name: 男, hl7: M, active: true }\n- code: 02\n  name: 女\n  hl7: F\n  fhir: female\n- { code: 09, name: ~ }\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let t = table.unwrap();
        assert_eq!(t.columns(), ["code", "name", "hl7", "active", "fhir"]);
        assert_eq!(t.lookup("code", "01", "active"), Some("true"));
        assert_eq!(t.lookup("name", "女", "fhir"), Some("female"));
        assert_eq!(t.lookup("code", "09", "name"), None);
        assert_eq!(t.lookup("code", "02", "active"), None);
    }

    #[test]
    fn reads_columns_and_rows() {
        let (table, errors) = read_text("columns: [code, name]\nrows:\n  - [1, 男]\n  - [2, 女]\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(table.unwrap().lookup("name", "女", "code"), Some("2"));
    }

    #[test]
    fn reports_bad_cells_rows_and_keys_with_positions() {
        let (_, errors) = read_text("- { code: 1, name: { x: 1 } }\n");
        assert_eq!(errors, ["t.yaml:1:20: a cell must be text, a number or a boolean"]);
        let (_, errors) = read_text("- [1, 2]\n");
        assert_eq!(errors, ["t.yaml:1:3: a row must be a map of column: value"]);
        let (_, errors) = read_text("");
        assert!(
            errors[0].starts_with("t.yaml:1:1: the file is empty; expected a list of rows"),
            "{errors:?}"
        );
        let (_, errors) = read_text("columns: [code, name]\nrows:\n  - [1, a]\n  - [2]\n");
        assert_eq!(
            errors,
            ["t.yaml:4:5: the row has 1 cells; expected 2, one per name in `columns`"]
        );
        let (_, errors) = read_text("- { code: 1 }\n- { code: 1 }\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("t.yaml:2:3: `1` in the key column"), "{errors:?}");
        let (_, errors) = read_text("columns: [code]\nrow: []\n");
        assert_eq!(
            errors,
            ["t.yaml:2:1: unknown field `row`, expected one of columns, rows"]
        );
        let (_, errors) = read_text("just text\n");
        assert!(errors[0].contains("a list of rows"), "{errors:?}");
    }
}
