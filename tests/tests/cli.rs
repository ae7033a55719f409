//! The command line: check, schema, version.

use medbus_tests::process::run_cli;
use medbus_tests::Setup;

const GOOD_ROUTE: &str = r#"id: t.echo
description: echo
source:
  http: { path: /echo }
"#;

#[test]
fn check_passes_a_good_configuration_with_a_one_line_summary() {
    let setup = Setup::empty();
    setup.write("routes/echo.yaml", GOOD_ROUTE);
    let out = run_cli(&["check", "-c", "medbus.yaml"], setup.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("ok: 1 routes"), "{stdout}");
}

#[test]
fn check_reports_every_error_with_file_line_and_column() {
    let setup = Setup::empty();
    setup.write("routes/a.yaml", GOOD_ROUTE);
    // The same id again, and a port+path clash.
    setup.write("routes/b.yaml", GOOD_ROUTE);
    // An unknown key, deep in a step.
    setup.write(
        "routes/sub/c.yaml",
        "id: t.c\nsource:\n  http: { path: /c }\nsteps:\n  - parse: { format: json, huh: 1 }\n",
    );
    // A timer with a bad cron, and a destination handing over to nowhere.
    setup.write(
        "routes/d.yaml",
        "id: t.d\nsource:\n  timer: { cron: '99 * * * *' }\ndestinations:\n  - name: next\n    to: { route: { id: t.missing } }\n",
    );
    // Not YAML at all.
    setup.write("routes/e.yaml", "id: [unclosed\n");
    let out = run_cli(&["check", "-c", "medbus.yaml"], setup.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let has = |file: &str, line: u32, needle: &str| {
        lines
            .iter()
            .any(|l| l.contains(&format!("{file}:{line}:")) && l.contains(needle))
    };
    assert!(has("routes/b.yaml", 1, "already used by"), "{stderr}");
    assert!(has("routes/sub/c.yaml", 5, "huh"), "{stderr}");
    assert!(has("routes/d.yaml", 3, "cron"), "{stderr}");
    assert!(has("routes/d.yaml", 6, "t.missing"), "{stderr}");
    assert!(lines.iter().any(|l| l.contains("routes/e.yaml:")), "{stderr}");
    assert!(stderr.contains("5 errors found"), "{stderr}");
}

#[test]
fn run_refuses_a_broken_configuration_and_prints_the_errors() {
    let setup = Setup::empty();
    setup.write("routes/a.yaml", "id: t.a\nsource:\n  http: { path: no-slash }\n");
    let out = run_cli(
        &["run", "-c", "medbus.yaml"],
        setup.path(),
        &[("MEDBUS_DATA_DIR", "data")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("routes/a.yaml:3:") && stderr.contains("must start with `/`"),
        "{stderr}"
    );
}

#[test]
fn schema_is_a_json_schema_of_route_files() {
    let out = run_cli(&["schema"], std::path::Path::new("."), &[]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "RouteSpec");
    let text = schema.to_string();
    for key in [
        "source",
        "steps",
        "destinations",
        "on_error",
        "tests",
        "parse",
        "validate",
        "script",
        "timer",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "the schema lacks {key}");
    }
}

#[test]
fn the_shipped_schema_file_is_up_to_date() {
    let out = run_cli(&["schema"], std::path::Path::new("."), &[]);
    let shipped = std::fs::read_to_string(medbus_tests::repo_root().join("schema/route.json")).unwrap();
    assert_eq!(
        shipped.trim(),
        String::from_utf8_lossy(&out.stdout).trim(),
        "schema/route.json is stale: run `cargo run -p medbus -- schema > schema/route.json`"
    );
}

#[test]
fn version_is_printed() {
    let out = run_cli(&["--version"], std::path::Path::new("."), &[]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("medbus "));
}

#[tokio::test]
async fn logs_are_json_lines_when_asked() {
    let setup = Setup::empty().env("MEDBUS_LOG_FORMAT", "json");
    setup.write("routes/echo.yaml", GOOD_ROUTE);
    let medbus = setup.start().await;
    let logs = medbus.logs();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(!lines.is_empty());
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            event["level"].is_string() && event["fields"]["message"].is_string(),
            "{line}"
        );
    }
}
