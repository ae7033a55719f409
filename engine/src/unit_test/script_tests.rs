//! Tests of one script: `<name>.test.yaml` beside `<name>.rhai`.
//!
//! ```yaml
//! script: normalize.rhai        # beside this file; default: <name>.rhai
//! cases:
//!   - name: the name is trimmed
//!     given: { body: { name: " 张三 " }, vars: {} }
//!     expect: { body.name: 张三 }
//!   - name: a bad record is rejected
//!     given: { body: {} }
//!     error: MISSING_NAME          # text the error must contain
//! ```

use super::expect::{value_diff, values_match};
use super::CaseResult;
use crate::exchange::Exchange;
use crate::runtime::snapshot::Snapshot;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptTestFile {
    #[serde(default)]
    script: Option<String>,
    cases: Vec<ScriptCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptCase {
    name: String,
    #[serde(default)]
    given: Given,
    #[serde(default)]
    expect: BTreeMap<String, Value>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    #[serde(default)]
    body: Value,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    headers: Map<String, Value>,
}

pub fn run(snapshot: &Snapshot, file: &Path) -> Vec<CaseResult> {
    let failed = |problem: String| {
        vec![CaseResult {
            file: file.to_path_buf(),
            name: "(test file)".into(),
            failures: vec![problem],
        }]
    };
    let tests: ScriptTestFile = match super::table_tests::read_yaml(file) {
        Ok(tests) => tests,
        Err(problem) => return failed(problem),
    };
    let script_name = tests.script.unwrap_or_else(|| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        format!("{}.rhai", name.trim_end_matches(".test.yaml"))
    });
    let script_file = file.with_file_name(&script_name);
    let source = match std::fs::read_to_string(&script_file) {
        Ok(source) => source,
        Err(e) => return failed(format!("script {}: {e}", script_file.display())),
    };
    let scripting = &snapshot.resources.scripting;
    let script = match scripting.compile(&source) {
        Ok(script) => script,
        Err(e) => {
            return failed(format!(
                "{}:{}:{}: {}",
                script_file.display(),
                e.line,
                e.column,
                e.message
            ))
        }
    };
    tests
        .cases
        .into_iter()
        .map(|case| {
            let mut ex = Exchange::new("(script test)", bytes::Bytes::new(), None, case.given.headers);
            ex.body = case.given.body.into();
            ex.vars = case.given.vars;
            let mut failures = Vec::new();
            match (scripting.run(&script, &mut ex), &case.error) {
                (Ok(_), Some(wanted)) => {
                    failures.push(format!("expected an error containing `{wanted}`, the script succeeded"))
                }
                (Err(e), None) => failures.push(format!("the script failed: {e}")),
                (Err(e), Some(wanted)) if !e.contains(wanted.as_str()) => {
                    failures.push(format!("expected an error containing `{wanted}`, got: {e}"))
                }
                _ => {}
            }
            for (path_text, expected) in &case.expect {
                match path_text.parse() {
                    Err(e) => failures.push(format!("expect: {e}")),
                    Ok(path) => {
                        let actual = ex.lookup(&path).unwrap_or(Value::Null);
                        if !values_match(expected, &actual) {
                            failures.push(value_diff(&format!("value at `{path_text}`"), expected, &actual));
                        }
                    }
                }
            }
            CaseResult {
                file: file.to_path_buf(),
                name: case.name,
                failures,
            }
        })
        .collect()
}
