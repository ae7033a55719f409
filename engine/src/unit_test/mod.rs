//! `medbus test`: unit tests written beside routes (a route's `tests:`),
//! scripts (`<name>.test.yaml` beside `<name>.rhai`) and mapping tables
//! (`<name>.test.yaml` beside `<name>.csv`/`.yaml`). They run offline:
//! every outbound call is answered from the test's recorded responses and
//! nothing is journaled or delivered.

mod databases;
mod expect;
mod route_tests;
mod script_tests;
mod table_tests;

pub use route_tests::RouteTest;

use crate::runtime::snapshot::Snapshot;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The result of one test case.
pub struct CaseResult {
    pub file: PathBuf,
    pub name: String,
    /// Empty when the case passed; else each difference, readable.
    pub failures: Vec<String>,
}

pub fn run_cli(config: &Path, target: Option<&Path>) -> ExitCode {
    let settings = match crate::cli::load_settings(config) {
        Ok(settings) => settings,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let snapshot = match Snapshot::load(Arc::new(settings)) {
        Ok(snapshot) => snapshot,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} configuration error(s); fix them before testing", errors.len());
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let results = runtime.block_on(run(&snapshot, target));
    report(&results)
}

/// Runs the tests `target` selects (all when `None`).
pub async fn run(snapshot: &Snapshot, target: Option<&Path>) -> Vec<CaseResult> {
    let target = target.map(|t| std::path::absolute(t).unwrap_or_else(|_| t.to_path_buf()));
    let settings = &snapshot.settings;
    let mut results = Vec::new();
    let wants_routes = target.as_ref().is_none_or(|t| {
        !is_test_file(t) && !t.starts_with(&settings.scripts_dir) && !t.starts_with(&settings.mappings_dir)
    });
    if wants_routes {
        for route in &snapshot.routes {
            if target.as_ref().is_none_or(|t| route.file.starts_with(t)) {
                results.extend(route_tests::run(snapshot, route).await);
            }
        }
    }
    for (dir, is_script) in [(&settings.scripts_dir, true), (&settings.mappings_dir, false)] {
        for file in test_files(dir) {
            let selected = match &target {
                None => true,
                Some(t) => file.starts_with(t) || test_file_for(t).as_ref() == Some(&file),
            };
            if selected {
                results.extend(if is_script {
                    script_tests::run(snapshot, &file)
                } else {
                    table_tests::run(snapshot, &file)
                });
            }
        }
    }
    results
}

fn is_test_file(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".test.yaml")
}

/// `scripts/x.rhai` -> `scripts/x.test.yaml`.
fn test_file_for(path: &Path) -> Option<PathBuf> {
    if is_test_file(path) {
        return Some(path.to_path_buf());
    }
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    Some(path.with_file_name(format!("{stem}.test.yaml")))
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if is_test_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn report(results: &[CaseResult]) -> ExitCode {
    let failed: Vec<_> = results.iter().filter(|r| !r.failures.is_empty()).collect();
    for result in results {
        let mark = if result.failures.is_empty() { "ok  " } else { "FAIL" };
        println!("{mark} {} :: {}", result.file.display(), result.name);
        for failure in &result.failures {
            for line in failure.lines() {
                println!("       {line}");
            }
        }
    }
    println!("{} passed, {} failed", results.len() - failed.len(), failed.len());
    if failed.is_empty() && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        if results.is_empty() {
            println!("no tests found");
        }
        ExitCode::FAILURE
    }
}
