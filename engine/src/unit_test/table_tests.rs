//! Tests of one mapping table: `<name>.test.yaml` beside `<name>.csv`.
//!
//! ```yaml
//! table: sex                     # default: this file's name without .test.yaml
//! cases:
//!   - { by: code, value: "1", column: name, expect: 男 }
//!   - { by: code, value: "7", column: name, expect: null }   # not in the table
//! ```

use super::CaseResult;
use crate::runtime::snapshot::Snapshot;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableTestFile {
    #[serde(default)]
    table: Option<String>,
    cases: Vec<TableCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableCase {
    #[serde(default)]
    name: Option<String>,
    by: String,
    value: String,
    column: String,
    expect: Option<String>,
}

pub fn read_yaml<T: DeserializeOwned>(file: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| crate::config::yaml_error(file, &e).to_string())
}

pub fn run(snapshot: &Snapshot, file: &Path) -> Vec<CaseResult> {
    let tests: TableTestFile = match read_yaml(file) {
        Ok(tests) => tests,
        Err(problem) => {
            return vec![CaseResult {
                file: file.to_path_buf(),
                name: "(test file)".into(),
                failures: vec![problem],
            }]
        }
    };
    let table_name = tests.table.unwrap_or_else(|| {
        let relative = file.strip_prefix(&snapshot.settings.mappings_dir).unwrap_or(file);
        relative
            .to_string_lossy()
            .trim_end_matches(".test.yaml")
            .replace('\\', "/")
    });
    let table = snapshot.resources.mappings.table(&table_name);
    tests
        .cases
        .into_iter()
        .map(|case| {
            let name = case
                .name
                .clone()
                .unwrap_or_else(|| format!("{}={} -> {}", case.by, case.value, case.column));
            let failures = match table {
                None => vec![format!("mapping table `{table_name}` is not loaded")],
                Some(table) => {
                    let actual = table.lookup(&case.by, &case.value, &case.column);
                    if actual == case.expect.as_deref() {
                        vec![]
                    } else {
                        vec![format!(
                            "lookup {}={} -> {}: expected {:?}, got {:?}",
                            case.by, case.value, case.column, case.expect, actual
                        )]
                    }
                }
            };
            CaseResult {
                file: file.to_path_buf(),
                name,
                failures,
            }
        })
        .collect()
}
