//! The `sql` step and destination in the real binary: a route stores
//! records in the pack's own SQLite database and another answers from it;
//! a destination copies each record in a transaction, and one its table
//! refuses is dead-lettered. `medbus check` and `medbus test` see the
//! databases too.

use medbus_tests::process::run_cli;
use medbus_tests::{post, Setup};
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};

const MIGRATION: &str = "CREATE TABLE records (apply_no TEXT PRIMARY KEY, age INTEGER, urgent BOOLEAN);\n\
     CREATE TABLE copies (apply_no TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind <> 'bad'));\n";

const STORE: &str = r#"id: t.store
source:
  http: { path: /records }
steps:
  - parse: { format: json }
  - sql:
      database: hub
      query: "INSERT INTO records (apply_no, age, urgent) VALUES (:applyNo, :age, :urgent)"
      params: { applyNo: body.applyNo, age: body.age, urgent: body.urgent }
      into: vars.inserted
      expect: none
destinations:
  - name: copy
    to:
      sql:
        database: hub
        statements:
          - query: "INSERT INTO copies (apply_no, kind) VALUES (:applyNo, :kind) ON CONFLICT (apply_no) DO UPDATE SET kind = :kind"
            params: { applyNo: body.applyNo, kind: "{{ body.kind }}" }
    backoff: { initial: 100ms, max: 200ms }
reply:
  content_type: application/json
  body: '{"inserted": {{ vars.inserted }}}'
tests:
  - name: a record is stored and copied
    input: { body: { applyNo: T1, age: 3, urgent: true, kind: ok } }
    expect:
      reply: { json: { inserted: 1 } }
      databases:
        hub:
          - { query: "SELECT apply_no, age, urgent FROM records", rows: [ { apply_no: T1, age: 3, urgent: true } ] }
          - { query: "SELECT apply_no, kind FROM copies", rows: [ { apply_no: T1, kind: ok } ] }
  - name: a record stored before is refused
    given: { databases: { hub: ["INSERT INTO records (apply_no) VALUES ('T1')"] } }
    input: { body: { applyNo: T1, kind: ok } }
    expect: { status: failed, error_code: DB_CONSTRAINT }
"#;

const FIND: &str = r#"id: t.find
source:
  http: { path: /records/find }
steps:
  - parse: { format: json }
  - sql:
      database: hub
      query: "SELECT apply_no, age, urgent FROM records WHERE apply_no = :applyNo"
      params: { applyNo: body.applyNo }
      expect: one
      into: vars.record
      not_found: { code: "10004", message: "no record {{ body.applyNo }}" }
reply:
  content_type: application/json
  body: "{{ vars.record | json }}"
"#;

fn setup() -> Setup {
    let setup = Setup::empty();
    setup
        .write(
            "medbus.yaml",
            "log: info\ndatabases:\n  hub: { migrations: migrations }\n",
        )
        .write("migrations/0001_records.sql", MIGRATION)
        .write("routes/store.yaml", STORE)
        .write("routes/find.yaml", FIND);
    setup
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "{what}\n{}", logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn routes_write_and_read_their_own_database() {
    let medbus = setup().start().await;
    let store = medbus.url("/records");
    let find = medbus.url("/records/find");

    let (status, answer) = post(
        &store,
        "application/json",
        r#"{"applyNo":"A1","age":35,"urgent":true,"kind":"ok"}"#,
    )
    .await;
    assert_eq!((status, answer), (200, json!({"inserted": 1})), "{}", medbus.logs());
    let (status, answer) = post(&find, "application/json", r#"{"applyNo":"A1"}"#).await;
    assert_eq!(
        (status, answer),
        (200, json!({"apply_no": "A1", "age": 35, "urgent": true}))
    );

    let (status, answer) = post(&find, "application/json", r#"{"applyNo":"A9"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], json!({"code": "10004", "message": "no record A9"}));

    let (status, answer) = post(&store, "application/json", r#"{"applyNo":"A1","kind":"ok"}"#).await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], json!("DB_CONSTRAINT"), "{answer}");

    // The copy's table refuses kind `bad`: that delivery is dead at once.
    let (status, _) = post(&store, "application/json", r#"{"applyNo":"A2","kind":"bad"}"#).await;
    assert_eq!(status, 200);
    let database = medbus.data_dir.join("hub.db");
    wait_until(
        "the good copy is delivered and the bad one dead-lettered",
        || {
            let (medbus, database) = (&medbus, &database);
            async move {
                let metrics = medbus.metrics().await;
                let dead = metrics.lines().any(|l| {
                    l.starts_with("medbus_deliveries_total") && l.contains("outcome=\"dead\"") && l.ends_with(" 1")
                });
                let mut connection =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", database.display()))
                        .await
                        .unwrap();
                let copies: Vec<(String, String)> = sqlx::query_as("SELECT apply_no, kind FROM copies")
                    .fetch_all(&mut connection)
                    .await
                    .unwrap();
                dead && copies == vec![("A1".to_string(), "ok".to_string())]
            }
        },
        || medbus.logs(),
    )
    .await;
}

#[test]
fn check_and_test_know_the_databases() {
    let setup = setup();
    let out = run_cli(&["test", "-c", "medbus.yaml"], setup.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");

    setup.write(
        "routes/find.yaml",
        &FIND.replace("params: { applyNo: body.applyNo }", "params: { apply: body.applyNo }"),
    );
    let out = run_cli(&["check", "-c", "medbus.yaml"], setup.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("find.yaml:8:14: sql on `hub`: the query uses `:applyNo`, which `params` does not give"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`params` gives `apply`, which the query does not use"),
        "{stderr}"
    );

    // A database that cannot be opened stops the start, its password unsaid.
    setup.write("routes/find.yaml", FIND);
    let out = run_cli(
        &["run", "-c", "medbus.yaml"],
        setup.path(),
        &[("MEDBUS_DATABASE_HUB", "postgres://medbus:secret@127.0.0.1:1/hub")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("database `hub` (postgres://…@127.0.0.1:1/hub) cannot be opened"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}

#[tokio::test]
async fn a_reload_opens_and_migrates_an_added_database() {
    let medbus = setup().start().await;
    let config = &medbus.config_dir;
    let write = |relative: &str, text: &str| {
        let path = config.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("ledger/0001_ledger.sql", "CREATE TABLE ledger (entry TEXT NOT NULL);\n");
    write(
        "medbus.yaml",
        "log: info\ndatabases:\n  hub: { migrations: migrations }\n  ledger: { migrations: ledger }\n",
    );
    write(
        "routes/ledger.yaml",
        r#"id: t.ledger
source:
  http: { path: /ledger }
steps:
  - sql: { database: ledger, query: "INSERT INTO ledger (entry) VALUES (:entry)", params: { entry: "{{ body }}" } }
  - sql: { database: ledger, query: "SELECT entry FROM ledger", into: vars.entries }
reply:
  content_type: application/json
  body: "{{ vars.entries | json }}"
"#,
    );
    // The file watcher may reload first; either way the route serves.
    let report = reload(&medbus).await;
    assert_eq!(report["status"], json!("applied"), "{report}\n{}", medbus.logs());
    let (status, answer) = post(&medbus.url("/ledger"), "text/plain", "first").await;
    assert_eq!(
        (status, answer),
        (200, json!([{"entry": "first"}])),
        "{}",
        medbus.logs()
    );
    assert!(medbus.data_dir.join("ledger.db").exists());

    // Moving an open database is for a restart: the running one stays.
    write(
        "medbus.yaml",
        "log: info\ndatabases:\n  hub: { migrations: migrations }\n  ledger: { migrations: ledger, url: 'sqlite:moved.db' }\n",
    );
    reload(&medbus).await;
    wait_until(
        "a reload reports the moved database as needing a restart",
        || async {
            let history: serde_json::Value = reqwest::get(medbus.admin_url("/api/reload/history"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            history.as_array().unwrap().iter().any(|r| {
                r["restart_required"]
                    .as_array()
                    .is_some_and(|settings| settings.iter().any(|s| s["setting"] == json!("databases")))
            })
        },
        || medbus.logs(),
    )
    .await;
    let (_, answer) = post(&medbus.url("/ledger"), "text/plain", "second").await;
    assert_eq!(answer, json!([{"entry": "first"}, {"entry": "second"}]));
    assert!(!medbus.config_dir.join("moved.db").exists());
}

async fn reload(medbus: &medbus_tests::Medbus) -> serde_json::Value {
    reqwest::Client::new()
        .post(medbus.admin_url("/api/reload"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
