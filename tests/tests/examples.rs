//! The shipped configuration, run as shipped (but on free ports and a
//! temporary data dir): the example REST route end to end through the demo
//! registry, its bad inputs, the timer route, and `medbus test`.

use medbus_tests::process::run_cli;
use medbus_tests::{Medbus, Setup};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn shipped() -> Setup {
    let setup = Setup::shipped();
    let registry = setup.url("/demo/registry");
    setup.env("MEDBUS_VALUE_REGISTRY_URL", &registry)
}

async fn register(medbus: &Medbus, body: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(medbus.url("/api/patients"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text}"));
    (status, value)
}

async fn wait_for_files(dir: &Path, count: usize) -> Vec<String> {
    for _ in 0..200 {
        let files: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        e.file_name().to_string_lossy().ends_with(".xml")
                            || e.file_name().to_string_lossy().ends_with(".json")
                    })
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= count {
            return files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} files in {}", dir.display());
}

async fn journal_statuses(medbus: &Medbus, route: &str) -> Vec<(String, String)> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_as("SELECT id, status FROM messages WHERE route = ? ORDER BY id")
        .bind(route)
        .fetch_all(&mut db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_registration_goes_through_every_step_to_the_registry() {
    let medbus = shipped().start().await;
    let record = json!({
        "patientId": "P0001", "name": " 张三 ", "sex": "1", "birthDate": "1980-05-17",
        "idType": "01", "idNumber": "110101198005170011", "address": "福建省厦门市思明区"
    });
    let (status, reply) = register(&medbus, &record.to_string()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["code"], "0");
    assert_eq!(reply["patientId"], "P0001");

    let stored = wait_for_files(&medbus.data_dir.join("demo-registry"), 1).await;
    let xml = &stored[0];
    for needle in [
        "<name>张三</name>",
        "<genderName>男</genderName>",
        "<typeName>居民身份证</typeName>",
        "<address>福建省厦门市思明区</address>",
    ] {
        assert!(xml.contains(needle), "{needle} missing in:\n{xml}");
    }
    assert!(xml.contains(&format!(
        "<sourceMessageId>{}</sourceMessageId>",
        reply["id"].as_str().unwrap()
    )));
}

#[tokio::test]
async fn bad_registrations_get_coded_errors_are_journaled_and_go_nowhere() {
    let medbus = shipped().start().await;
    let cases = [
        ("{\"patientId\": ", "INVALID_JSON"),
        (
            r#"{"patientId":"P2","sex":"1","birthDate":"1980-05-17","idType":"01","idNumber":"110101198005170011"}"#,
            "MISSING_FIELD",
        ),
        (
            r#"{"patientId":"P3","name":"赵六","sex":"7","birthDate":"1980-05-17","idType":"99","idNumber":"X1"}"#,
            "UNKNOWN_CODE",
        ),
        (
            r#"{"patientId":"P4","name":"赵六","sex":"1","birthDate":"80-05-17","idType":"99","idNumber":"X1"}"#,
            "BAD_FORMAT",
        ),
        (
            r#"{"patientId":"P5","name":"王五","sex":"1","birthDate":"1980-05-18","idType":"01","idNumber":"110101198005170011"}"#,
            "INCONSISTENT_RECORD",
        ),
    ];
    for (body, code) in cases {
        let (status, reply) = register(&medbus, body).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some(code)), "{body} -> {reply}");
        assert!(!reply["message"].as_str().unwrap().is_empty());
    }
    let oversized = format!("{{\"name\":\"{}\"}}", "x".repeat(300 * 1024));
    let (status, reply) = register(&medbus, &oversized).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE")),
        "{reply}"
    );
    let response = reqwest::Client::new()
        .post(medbus.url("/api/patients"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    let journaled = journal_statuses(&medbus, "examples.patient-register").await;
    assert_eq!(journaled.len(), 7, "{journaled:?}");
    assert!(
        journaled.iter().all(|(_, status)| status == "rejected"),
        "{journaled:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !medbus.data_dir.join("demo-registry").exists(),
        "nothing reached the registry"
    );
}

#[tokio::test]
async fn the_heartbeat_timer_writes_its_file() {
    let setup = shipped();
    let route = std::fs::read_to_string(setup.path().join("routes/examples/heartbeat.yaml")).unwrap();
    setup.write(
        "routes/examples/heartbeat.yaml",
        &route.replace("every: 60s", "every: 200ms"),
    );
    let medbus = setup.start().await;
    let beats = wait_for_files(&medbus.data_dir.join("heartbeats"), 1).await;
    let beat: Value = serde_json::from_str(&beats[0]).unwrap();
    assert_eq!(beat["node"], "medbus-demo");
}

#[test]
fn the_shipped_route_unit_tests_pass_and_a_wrong_expectation_fails_with_a_diff() {
    let setup = Setup::shipped();
    let out = run_cli(&["test"], setup.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(" 0 failed"), "{stdout}");

    let out = run_cli(&["test", "scripts/examples/normalize-patient.rhai"], setup.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");

    let route = setup.path().join("routes/examples/patient-register.yaml");
    let text = std::fs::read_to_string(&route).unwrap();
    std::fs::write(&route, text.replace("vars.sexName: 男", "vars.sexName: 女")).unwrap();
    let out = run_cli(&["test", "routes/examples"], setup.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("vars.sexName") && stdout.contains("女") && stdout.contains("男"),
        "{stdout}"
    );
}

#[test]
fn the_shipped_configuration_checks_clean() {
    let out = run_cli(&["check", "-c", "medbus.yaml"], &medbus_tests::repo_root(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_readme_shows_the_example_route_as_shipped() {
    let root = medbus_tests::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let route = std::fs::read_to_string(root.join("routes/examples/patient-register.yaml")).unwrap();
    let head = route[..route.find("\ntests:").unwrap()].trim_end();
    assert!(
        readme.contains(head),
        "the README's walk-through differs from routes/examples/patient-register.yaml"
    );
}
