//! CSV tables: UTF-8, a header row naming the columns, one row per line.
//! Cells are trimmed; lines starting with `#` are comments.

use super::table::{DraftRow, Table};
use crate::config::{Diagnostic, Position};
use std::path::Path;

pub(crate) fn read(name: &str, file: &Path, bytes: &[u8], errors: &mut Vec<Diagnostic>) -> Option<Table> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text),
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            let column = std::str::from_utf8(before)
                .map(|t| t.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1)
                .unwrap_or(1);
            errors.push(Diagnostic::new(
                file,
                Position { line, column },
                "the file is not UTF-8 text (GBK?); save it as UTF-8 (in Excel: \"CSV UTF-8\")",
            ));
            return None;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(e) => {
            errors.push(csv_error(file, &e));
            return None;
        }
    };
    let header_line = header.position().map_or(1, |p| p.line());
    let columns = check_columns(file, header_line, &header, errors)?;
    let before = errors.len();
    let mut drafts = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => drafts.push(DraftRow {
                at: Position {
                    line: record.position().map_or(1, |p| p.line()),
                    column: 1,
                },
                cells: record.iter().map(|c| (!c.is_empty()).then(|| c.to_string())).collect(),
            }),
            Err(e) => errors.push(csv_error(file, &e)),
        }
    }
    if errors.len() > before {
        return None;
    }
    Table::build(name, file, columns, drafts, errors)
}

fn check_columns(
    file: &Path,
    line: u64,
    header: &csv::StringRecord,
    errors: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let at = Position { line, column: 1 };
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    let mut ok = true;
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            errors.push(Diagnostic::new(
                file,
                at,
                format!("column {} of the header row has no name", i + 1),
            ));
            ok = false;
        } else if columns.iter().any(|c| c == name) {
            errors.push(Diagnostic::new(
                file,
                at,
                format!("the header row names column `{name}` twice"),
            ));
            ok = false;
        }
        columns.push(name.to_string());
    }
    ok.then_some(columns)
}

fn csv_error(file: &Path, error: &csv::Error) -> Diagnostic {
    let line = error.position().map_or(1, |p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("the row has {len} cells; expected {expected_len}, one per column of the header row")
        }
        _ => format!("not a readable CSV row: {error}"),
    };
    Diagnostic::new(file, Position { line, column: 1 }, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &[u8]) -> (Option<Table>, Vec<String>) {
        let mut errors = Vec::new();
        let table = read("t", Path::new("t.csv"), text, &mut errors);
        (table, errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn reads_header_rows_comments_and_bom() {
        let text = "\u{feff}# GB/T 2261.1\ncode, name ,hl7\n1,男,M\n\n2,\"女\",F\n9,,U\n";
        let (table, errors) = read_text(text.as_bytes());
        assert!(errors.is_empty(), "{errors:?}");
        let t = table.unwrap();
        assert_eq!(t.columns(), ["code", "name", "hl7"]);
        assert_eq!(t.lookup("hl7", "F", "name"), Some("女"));
        assert_eq!(t.lookup("code", "9", "name"), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn reports_ragged_rows_bad_headers_and_encoding_with_lines() {
        let (_, errors) = read_text(b"code,name\n1,a\n2,b,extra\n");
        assert_eq!(
            errors,
            ["t.csv:3:1: the row has 3 cells; expected 2, one per column of the header row"]
        );
        let (_, errors) = read_text(b"code,,code\n1,2,3\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[1].contains("names column `code` twice"));
        // "男" in GBK.
        let (_, errors) = read_text(b"code,name\n1,\xc4\xd0\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("t.csv:2:3: the file is not UTF-8"), "{errors:?}");
    }
}
