//! One mapping table: named columns, rows of text cells, and an index per
//! column so that a lookup by any column is one hash probe.

use crate::config::{Diagnostic, Position};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A code table such as `sex` (GB/T 2261.1 codes with their HL7 and FHIR
/// equivalents). Cells are text; an empty cell holds no value.
#[derive(Debug)]
pub struct Table {
    name: String,
    file: PathBuf,
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    /// Per column: cell value -> the first row holding it.
    indexes: Vec<HashMap<String, usize>>,
}

/// A row as read from a file, before the table checks it.
pub(crate) struct DraftRow {
    pub at: Position,
    pub cells: Vec<Option<String>>,
}

impl Table {
    /// Builds the table, checking that the key column (the first) holds a
    /// distinct value in every row. Other columns may repeat; a lookup by
    /// them finds the first row. Problems are pushed to `errors`.
    pub(crate) fn build(
        name: &str,
        file: &Path,
        columns: Vec<String>,
        drafts: Vec<DraftRow>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Table> {
        let before = errors.len();
        if columns.is_empty() {
            errors.push(Diagnostic::in_file(
                file,
                "the table has no columns; expected a header row or named cells",
            ));
            return None;
        }
        let mut indexes: Vec<HashMap<String, usize>> = vec![HashMap::with_capacity(drafts.len()); columns.len()];
        let mut key_lines: HashMap<&str, u64> = HashMap::with_capacity(drafts.len());
        for (row, draft) in drafts.iter().enumerate() {
            match draft.cells.first().and_then(Option::as_deref) {
                None => errors.push(Diagnostic::new(
                    file,
                    draft.at,
                    format!(
                        "the row has no value in the key column `{}`; every row needs one",
                        columns[0]
                    ),
                )),
                Some(key) => {
                    if let Some(first) = key_lines.insert(key, draft.at.line) {
                        key_lines.insert(key, first);
                        errors.push(Diagnostic::new(
                            file,
                            draft.at,
                            format!(
                                "`{key}` in the key column `{}` repeats the row at line {first}; key values must be unique",
                                columns[0]
                            ),
                        ));
                    }
                }
            }
            for (index, cell) in indexes.iter_mut().zip(&draft.cells) {
                if let Some(value) = cell {
                    index.entry(value.clone()).or_insert(row);
                }
            }
        }
        if errors.len() > before {
            return None;
        }
        Some(Table {
            name: name.to_string(),
            file: file.to_path_buf(),
            columns,
            rows: drafts.into_iter().map(|d| d.cells).collect(),
            indexes,
        })
    }

    /// The table's name: its path under the mappings folder without the
    /// extension, e.g. `sex` or `xiamen-120/hospitals`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file the table was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Column names in file order; the first is the key column.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The value of `column` in the first row whose `by_column` equals
    /// `value`. `None` when the value is not in the table, when either
    /// column does not exist, or when the cell is empty.
    pub fn lookup(&self, by_column: &str, value: &str, column: &str) -> Option<&str> {
        let row = self.find(self.column_index(by_column)?, value)?;
        self.cell(row, self.column_index(column)?)
    }

    /// The first row whose cell in column `by` equals `value`.
    pub fn find(&self, by: usize, value: &str) -> Option<usize> {
        self.indexes.get(by)?.get(value).copied()
    }

    /// The first row whose `by_column` equals `value`.
    pub fn row_by(&self, by_column: &str, value: &str) -> Option<Row<'_>> {
        let index = self.find(self.column_index(by_column)?, value)?;
        Some(Row { table: self, index })
    }

    pub fn cell(&self, row: usize, column: usize) -> Option<&str> {
        self.rows.get(row)?.get(column)?.as_deref()
    }

    /// The row at `index` (file order, from 0).
    pub fn row(&self, index: usize) -> Option<Row<'_>> {
        (index < self.rows.len()).then_some(Row { table: self, index })
    }

    /// "table `sex` has no column `x`; its columns are: code, name".
    pub fn unknown_column_message(&self, column: &str) -> String {
        format!(
            "table `{}` has no column `{column}`; its columns are: {}",
            self.name,
            self.columns.join(", ")
        )
    }

    /// Every row in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.rows.len()).map(move |index| Row { table: self, index })
    }
}

/// One row of a table.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    table: &'a Table,
    index: usize,
}

impl<'a> Row<'a> {
    /// The row's cell in `column`; `None` when empty or no such column.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        self.table.cell(self.index, self.table.column_index(column)?)
    }

    /// `(column, value)` for every non-empty cell, in column order.
    pub fn cells(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let table = self.table;
        let index = self.index;
        table
            .columns
            .iter()
            .enumerate()
            .filter_map(move |(c, name)| Some((name.as_str(), table.cell(index, c)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(line: u64, cells: &[&str]) -> DraftRow {
        DraftRow {
            at: Position { line, column: 1 },
            cells: cells.iter().map(|c| (!c.is_empty()).then(|| c.to_string())).collect(),
        }
    }

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn looks_up_by_any_column_first_row_wins() {
        let mut errors = Vec::new();
        let rows = vec![
            draft(2, &["0", "未知的性别", "U"]),
            draft(3, &["1", "男", "M"]),
            draft(4, &["9", "未说明的性别", "U"]),
        ];
        let t = Table::build(
            "sex",
            Path::new("sex.csv"),
            columns(&["code", "name", "hl7"]),
            rows,
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(t.lookup("code", "1", "name"), Some("男"));
        assert_eq!(t.lookup("name", "男", "hl7"), Some("M"));
        assert_eq!(t.lookup("hl7", "U", "code"), Some("0"));
        assert_eq!(t.lookup("code", "7", "name"), None);
        assert_eq!(t.lookup("nope", "1", "name"), None);
        let row = t.row_by("hl7", "M").unwrap();
        assert_eq!(
            row.cells().collect::<Vec<_>>(),
            vec![("code", "1"), ("name", "男"), ("hl7", "M")]
        );
        assert_eq!(t.rows().count(), 3);
        assert_eq!(t.row(2).unwrap().get("name"), Some("未说明的性别"));
        assert!(t.row(3).is_none());
        assert_eq!(
            t.unknown_column_message("x"),
            "table `sex` has no column `x`; its columns are: code, name, hl7"
        );
    }

    #[test]
    fn empty_cells_hold_no_value() {
        let mut errors = Vec::new();
        let rows = vec![draft(2, &["1", ""]), draft(3, &["2", "x"])];
        let t = Table::build("t", Path::new("t.csv"), columns(&["code", "name"]), rows, &mut errors).unwrap();
        assert_eq!(t.lookup("code", "1", "name"), None);
        assert_eq!(t.lookup("name", "", "code"), None);
    }

    #[test]
    fn duplicate_and_missing_keys_are_errors_at_their_rows() {
        let mut errors = Vec::new();
        let rows = vec![draft(2, &["1", "a"]), draft(3, &["1", "b"]), draft(4, &["", "c"])];
        assert!(Table::build("t", Path::new("t.csv"), columns(&["code", "name"]), rows, &mut errors).is_none());
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].to_string(),
            "t.csv:3:1: `1` in the key column `code` repeats the row at line 2; key values must be unique"
        );
        assert!(errors[1]
            .to_string()
            .starts_with("t.csv:4:1: the row has no value in the key column `code`"));
    }
}
