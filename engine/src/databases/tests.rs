//! The `sql` step and destination against real databases: SQLite in a
//! temporary folder, the local PostgreSQL (`MEDBUS_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`) and the local MariaDB
//! (`MEDBUS_TEST_MYSQL`, default `mysql://root@127.0.0.1:3306/test`). Each
//! server test makes its own database and drops it after.

use super::settings::{DatabaseConfig, DatabaseLocation};
use super::*;
use crate::config::{Diagnostics, Position};
use crate::destinations::sql::{SqlDestinationConfig, SqlEndpoint};
use crate::destinations::{Attempt, Failure, Outgoing};
use crate::exchange::Exchange;
use crate::settings::{Durability, Settings};
use crate::steps::sql::{SqlConfig, SqlStep};
use crate::steps::{BuildContext, ErrorKind, Flow};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use std::sync::Arc;

const SQLITE: &str = "CREATE TABLE records (apply_no VARCHAR(32) PRIMARY KEY, event_no VARCHAR(32) NOT NULL, \
     age INTEGER, fee DECIMAL(10,2), urgent BOOLEAN, applied_on DATE, note TEXT);";
const POSTGRES: &str = "CREATE TABLE records (apply_no VARCHAR(32) PRIMARY KEY, event_no VARCHAR(32) NOT NULL, \
     age INTEGER, fee NUMERIC(10,2), urgent BOOLEAN, applied_on DATE, note TEXT);";
const MYSQL: &str = "CREATE TABLE records (apply_no VARCHAR(32) PRIMARY KEY, event_no VARCHAR(32) NOT NULL, \
     age INTEGER, fee DECIMAL(10,2), urgent BOOLEAN, applied_on DATE, note TEXT);";

/// One test's database: its settings, its open registry, and what to drop after.
struct Fixture {
    backend: Backend,
    settings: Arc<Settings>,
    databases: Arc<Databases>,
    server: Option<(Backend, String, String)>,
    _dir: tempfile::TempDir,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn admin_url(backend: Backend) -> String {
    match backend {
        Backend::Postgres => env_or("MEDBUS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"),
        _ => env_or("MEDBUS_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test"),
    }
}

async fn admin(backend: Backend, sql: &str) {
    let url = admin_url(backend);
    let done = match backend {
        Backend::Postgres => match sqlx::PgConnection::connect(&url).await {
            Ok(mut c) => c.execute(sql).await.map(|_| ()),
            Err(e) => Err(e),
        },
        _ => match sqlx::MySqlConnection::connect(&url).await {
            Ok(mut c) => c.execute(sql).await.map(|_| ()),
            Err(e) => Err(e),
        },
    };
    done.unwrap_or_else(|e| panic!("{} at {url} is needed for this test: {e}", backend.name()));
}

impl Fixture {
    /// A database of `backend` with the records table made by per-backend migrations.
    async fn new(backend: Backend) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (sub, ddl) in [("sqlite", SQLITE), ("postgres", POSTGRES), ("mysql", MYSQL)] {
            let folder = dir.path().join("migrations").join(sub);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("0001_records.sql"), ddl).unwrap();
        }
        let (location, server) = match backend {
            Backend::Sqlite => (DatabaseLocation::Sqlite(dir.path().join("data/hub.db")), None),
            server => {
                let name = format!("medbus_sql_{}", uuid::Uuid::new_v4().simple());
                admin(server, &format!("CREATE DATABASE {name}")).await;
                let admin = admin_url(server);
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
                let url = format!("{base}/{name}");
                let location = if server == Backend::Postgres {
                    DatabaseLocation::Postgres(url)
                } else {
                    DatabaseLocation::MySql(url)
                };
                (location, Some((server, name, admin.clone())))
            }
        };
        let mut settings = Settings::for_dir(dir.path());
        let config = DatabaseConfig {
            location,
            migrations: Some(dir.path().join("migrations")),
            max_connections: 3,
            durability: Durability::Normal,
        };
        settings.databases.insert("hub".into(), config);
        let databases = Arc::new(Databases::default());
        databases.open(&settings.databases).await.unwrap();
        Fixture {
            backend,
            settings: Arc::new(settings),
            databases,
            server,
            _dir: dir,
        }
    }

    fn build<C: serde::de::DeserializeOwned, S>(
        &self,
        yaml: &str,
        build: impl FnOnce(&C, &mut BuildContext) -> Option<S>,
    ) -> Result<S, String> {
        let config: C = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        let resources = crate::steps::support::test_resources(self.settings.clone(), self.databases.clone());
        let mut diagnostics = Diagnostics::default();
        let mut cx = BuildContext {
            file: std::path::Path::new("routes/test.yaml"),
            at: Position { line: 3, column: 5 },
            resources: &resources,
            diagnostics: &mut diagnostics,
        };
        let built = build(&config, &mut cx);
        let errors: Vec<String> = diagnostics.items.iter().map(ToString::to_string).collect();
        match built {
            Some(built) if errors.is_empty() => Ok(built),
            _ => Err(errors.join("\n")),
        }
    }

    fn step(&self, yaml: &str) -> SqlStep {
        self.build::<SqlConfig, _>(yaml, SqlStep::build).unwrap()
    }

    async fn rows(&self, sql: &str) -> Value {
        match self
            .databases
            .get("hub")
            .unwrap()
            .run_sql(sql, Fetch::Rows(None))
            .await
            .unwrap()
        {
            Outcome::Rows(rows) => Value::Array(rows.into_iter().map(Value::Object).collect()),
            Outcome::Affected(_) => unreachable!(),
        }
    }

    /// The INSERT of a record: text going into DATE and NUMERIC columns
    /// needs a cast on PostgreSQL, and `::` is PostgreSQL's own.
    fn insert(&self) -> &'static str {
        if self.backend == Backend::Postgres {
            "INSERT INTO records (apply_no, event_no, age, fee, urgent, applied_on, note) \
             VALUES (:applyNo, :eventNo, :age, :fee::numeric, :urgent, :appliedOn::date, :note)"
        } else {
            "INSERT INTO records (apply_no, event_no, age, fee, urgent, applied_on, note) \
             VALUES (:applyNo, :eventNo, :age, :fee, :urgent, :appliedOn, :note)"
        }
    }

    fn insert_step(&self) -> SqlStep {
        self.step(&format!(
            r#"
database: hub
query: "{}"
params:
  applyNo: body.applyNo
  eventNo: body.eventNo
  age: body.age
  fee: body.fee
  urgent: body.urgent
  appliedOn: body.appliedOn
  note: "{{{{ body.applyNo }}}} from {{{{ headers.caller }}}}"
into: vars.inserted
expect: none
"#,
            self.insert()
        ))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let Some((backend, name, _)) = self.server.take() else {
            return;
        };
        // The pools are not closed first: a connection still on its way back
        // to its pool travels on the test's runtime, which waits for this drop.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let sql = match backend {
                    Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                };
                admin(backend, &sql).await;
            })
        })
        .join();
    }
}

fn exchange(body: Value) -> Exchange {
    let mut ex = Exchange::new("r", Default::default(), None, Default::default());
    ex.body = body.into();
    ex.headers.insert("caller".into(), json!("his"));
    ex
}

fn record(apply_no: &str, age: Value) -> Value {
    json!({"applyNo": apply_no, "eventNo": "E1", "age": age, "fee": "12.50", "urgent": true,
           "appliedOn": "2024-05-01"})
}

/// Writes and reads through the step: typed values in, typed values out,
/// `one`, `optional`, `all` and `none`, missing rows, constraints.
async fn step_writes_and_reads(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let insert = fx.insert_step();
    let mut ex = exchange(record("A1", json!(35)));
    assert_eq!(insert.run(&mut ex).await, Ok(Flow::Continue));
    assert_eq!(ex.vars["inserted"], json!(1));
    // A null first, then a number, through the same statement text.
    insert.run(&mut exchange(record("A2", Value::Null))).await.unwrap();
    insert.run(&mut exchange(record("A3", json!(7)))).await.unwrap();

    let one = fx.step(
        r#"{ database: hub, query: "SELECT apply_no, age, fee, urgent, applied_on, note FROM records WHERE apply_no = :no OR event_no = :no", params: { no: body.no }, expect: one, into: vars.record }"#,
    );
    let mut ex = exchange(json!({"no": "A1"}));
    one.run(&mut ex).await.unwrap();
    let fee = if backend == Backend::Sqlite {
        json!(12.5)
    } else {
        json!("12.50")
    };
    assert_eq!(
        ex.vars["record"],
        json!({"apply_no": "A1", "age": 35, "fee": fee, "urgent": true, "applied_on": "2024-05-01", "note": "A1 from his"})
    );

    let err = one.run(&mut exchange(json!({"no": "A9"}))).await.unwrap_err();
    assert_eq!((err.kind, err.code.as_str()), (ErrorKind::Rejected, "NOT_FOUND"));
    let err = one.run(&mut exchange(json!({"no": "E1"}))).await.unwrap_err();
    assert_eq!(err.code, "DB_ERROR");
    assert!(err.message.contains("more than one row"), "{err}");

    let custom = fx.step(
        r#"{ database: hub, query: "SELECT 1 AS found FROM records WHERE apply_no = :no", params: { no: body.no }, expect: one, not_found: { code: "10004", message: "no record {{ body.no }}" } }"#,
    );
    let err = custom.run(&mut exchange(json!({"no": "A9"}))).await.unwrap_err();
    assert_eq!((err.code.as_str(), err.message.as_str()), ("10004", "no record A9"));

    let optional = fx.step(
        r#"{ database: hub, query: "SELECT age FROM records WHERE apply_no = :no", params: { no: body.no }, expect: optional, into: vars.age }"#,
    );
    let mut ex = exchange(json!({"no": "A2"}));
    optional.run(&mut ex).await.unwrap();
    assert_eq!(ex.vars["age"], json!({"age": null}));
    let mut ex = exchange(json!({"no": "A9"}));
    optional.run(&mut ex).await.unwrap();
    assert_eq!(ex.vars["age"], Value::Null);

    let all = fx.step(
        r#"{ database: hub, query: "SELECT apply_no FROM records WHERE age > :min OR age IS NULL ORDER BY apply_no", params: { min: 10 }, into: vars.rows }"#,
    );
    let mut ex = exchange(json!({}));
    all.run(&mut ex).await.unwrap();
    assert_eq!(ex.vars["rows"], json!([{"apply_no": "A1"}, {"apply_no": "A2"}]));

    let err = insert.run(&mut exchange(record("A1", json!(1)))).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Failed, "DB_CONSTRAINT"),
        "{err}"
    );
    assert!(err.message.starts_with("database `hub` refused the change: "), "{err}");

    let bad = fx.step(r#"{ database: hub, query: "SELECT nothing FROM nowhere" }"#);
    let err = bad.run(&mut exchange(json!({}))).await.unwrap_err();
    assert_eq!(err.code, "DB_ERROR", "{err}");
}

/// Several statements are one transaction: a failing one leaves nothing.
async fn statements_roll_back_together(backend: Backend) {
    let fx = Fixture::new(backend).await;
    fx.insert_step()
        .run(&mut exchange(record("A1", json!(1))))
        .await
        .unwrap();
    let two = fx.step(
        r#"
database: hub
statements:
  - query: "INSERT INTO records (apply_no, event_no) VALUES (:no, 'E2')"
    params: { no: vars.first }
  - query: "INSERT INTO records (apply_no, event_no) VALUES (:no, 'E2')"
    params: { no: vars.second }
  - query: "SELECT COUNT(*) AS n FROM records"
expect: one
into: vars.count
"#,
    );
    let mut ex = exchange(json!({}));
    ex.vars.insert("first".into(), json!("B1"));
    ex.vars.insert("second".into(), json!("A1"));
    let err = two.run(&mut ex).await.unwrap_err();
    assert_eq!(err.code, "DB_CONSTRAINT", "{err}");
    assert_eq!(
        fx.rows("SELECT apply_no FROM records ORDER BY apply_no").await,
        json!([{"apply_no": "A1"}])
    );

    ex.vars.insert("second".into(), json!("B2"));
    two.run(&mut ex).await.unwrap();
    assert_eq!(ex.vars["count"], json!({"n": 3}));
}

/// The destination delivers in a transaction from a saved context; a
/// constraint makes the attempt invalid (dead at once), not retried.
async fn destination_delivers_and_refuses(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let upsert = if backend == Backend::MySql {
        "INSERT INTO records (apply_no, event_no, age) VALUES (:no, :event, :age) ON DUPLICATE KEY UPDATE event_no = :event"
    } else {
        "INSERT INTO records (apply_no, event_no, age) VALUES (:no, :event, :age) ON CONFLICT (apply_no) DO UPDATE SET event_no = :event"
    };
    let endpoint = fx
        .build::<SqlDestinationConfig, _>(
            &format!(
                r#"{{ database: hub, statements: [ {{ query: "{upsert}", params: {{ no: body.applyNo, event: "{{{{ body.eventNo }}}}-{{{{ config.site }}}}", age: vars.age }} }}, {{ query: "INSERT INTO records (apply_no, event_no) VALUES (:no, 'copy')", params: {{ no: vars.copy }} }} ] }}"#
            ),
            SqlEndpoint::build,
        )
        .unwrap();
    assert!(endpoint.uses("body") && endpoint.uses("vars") && endpoint.uses("config") && !endpoint.uses("headers"));
    let deliver = |context: Value| {
        let endpoint = &endpoint;
        async move {
            let outgoing = Outgoing {
                message_id: "m1",
                destination: "hub",
                payload: "",
                content_type: "text/plain",
                context: &context,
            };
            endpoint.deliver(&outgoing).await
        }
    };
    let context = |copy: &str| json!({"body": {"applyNo": "A1", "eventNo": "E7"}, "vars": {"age": 40, "copy": copy}, "config": {"site": "xm"}});
    assert!(matches!(deliver(context("C1")).await, Attempt::Delivered { .. }));
    // The copy row exists now: the whole delivery is refused, and not retried.
    match deliver(context("C1")).await {
        Attempt::Failed { failure, error, .. } => {
            assert_eq!(failure, Failure::Invalid, "{error}");
            assert!(error.contains("refused the change"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(deliver(context("C2")).await, Attempt::Delivered { .. }));
    assert_eq!(
        fx.rows("SELECT apply_no, event_no, age FROM records ORDER BY apply_no")
            .await,
        json!([
            {"apply_no": "A1", "event_no": "E7-xm", "age": 40},
            {"apply_no": "C1", "event_no": "copy", "age": null},
            {"apply_no": "C2", "event_no": "copy", "age": null},
        ])
    );
}

/// Migrations apply once; a reopened database runs only new ones.
async fn migrations_apply_once(backend: Backend) {
    let fx = Fixture::new(backend).await;
    let migrations = fx.settings.databases["hub"].migrations.clone().unwrap();
    std::fs::write(
        migrations.join(backend.name()).join("0002_seed.sql"),
        "INSERT INTO records (apply_no, event_no) VALUES ('S1', 'seed');",
    )
    .unwrap();
    fx.databases.open(&fx.settings.databases).await.unwrap();
    fx.databases.open(&fx.settings.databases).await.unwrap();
    assert_eq!(
        fx.rows("SELECT apply_no FROM records").await,
        json!([{"apply_no": "S1"}])
    );
    std::fs::write(
        migrations.join(backend.name()).join("0003_broken.sql"),
        "CREATE TABLE broken (;",
    )
    .unwrap();
    let err = fx.databases.open(&fx.settings.databases).await.unwrap_err();
    assert!(err.starts_with("database `hub` ("), "{err}");
    assert!(err.contains("the migrations in") && err.contains("failed"), "{err}");
}

#[tokio::test]
async fn sqlite_step_writes_and_reads() {
    step_writes_and_reads(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_step_writes_and_reads() {
    step_writes_and_reads(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_step_writes_and_reads() {
    step_writes_and_reads(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_statements_roll_back_together() {
    statements_roll_back_together(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_statements_roll_back_together() {
    statements_roll_back_together(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_statements_roll_back_together() {
    statements_roll_back_together(Backend::MySql).await;
}

/// `each`: one write per element of a list, all in one transaction.
#[tokio::test]
async fn sqlite_destination_writes_each_element_of_a_list() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let endpoint = fx
        .build::<SqlDestinationConfig, _>(
            r#"{ database: hub, each: vars.rows, query: "INSERT INTO records (apply_no, event_no) VALUES (:no, :event)", params: { no: "{{ item.no }}", event: "{{ index }}-{{ body.e }}" } }"#,
            SqlEndpoint::build,
        )
        .unwrap();
    assert!(endpoint.uses("vars") && endpoint.uses("body"));
    let deliver = |context: Value| {
        let endpoint = &endpoint;
        async move {
            let outgoing = Outgoing {
                message_id: "m1",
                destination: "hub",
                payload: "",
                content_type: "text/plain",
                context: &context,
            };
            endpoint.deliver(&outgoing).await
        }
    };
    let delivered = deliver(json!({"body": {"e": "E"}, "vars": {"rows": [{"no": "A1"}, {"no": "A2"}]}})).await;
    assert!(matches!(delivered, Attempt::Delivered { .. }), "{delivered:?}");
    assert!(matches!(
        deliver(json!({"vars": {"rows": []}})).await,
        Attempt::Delivered { .. }
    ));
    // A2 exists: the second element fails, and the first is not written either.
    match deliver(json!({"body": {"e": "F"}, "vars": {"rows": [{"no": "A3"}, {"no": "A2"}]}})).await {
        Attempt::Failed { failure, .. } => assert_eq!(failure, Failure::Invalid),
        other => panic!("{other:?}"),
    }
    match deliver(json!({"vars": {"rows": "A9"}})).await {
        Attempt::Failed { failure, error, .. } => {
            assert_eq!(failure, Failure::Invalid);
            assert!(error.contains("`each` vars.rows is string; expected a list"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fx.rows("SELECT apply_no, event_no FROM records ORDER BY apply_no")
            .await,
        json!([{"apply_no": "A1", "event_no": "0-E"}, {"apply_no": "A2", "event_no": "1-E"}])
    );
}

#[tokio::test]
async fn sqlite_destination_delivers_and_refuses() {
    destination_delivers_and_refuses(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_destination_delivers_and_refuses() {
    destination_delivers_and_refuses(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_destination_delivers_and_refuses() {
    destination_delivers_and_refuses(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_migrations_apply_once() {
    migrations_apply_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_migrations_apply_once() {
    migrations_apply_once(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_migrations_apply_once() {
    migrations_apply_once(Backend::MySql).await;
}

#[tokio::test]
async fn postgres_reads_its_own_types() {
    let fx = Fixture::new(Backend::Postgres).await;
    let step = fx.step(
        r#"{ database: hub, query: "SELECT 1::int2 AS small, 2.5::float4 AS real, '{\"a\": [1]}'::jsonb AS doc, '2024-05-01 08:30:00'::timestamp AS at, '2024-05-01 08:30:00+08'::timestamptz AS at_tz, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, '\\x0102'::bytea AS raw, -0.0050::numeric AS small_fee, :text AS echoed", params: { text: { value: "张三" } }, expect: one, into: vars.row }"#,
    );
    let mut ex = exchange(json!({}));
    step.run(&mut ex).await.unwrap();
    assert_eq!(
        ex.vars["row"],
        json!({"small": 1, "real": 2.5, "doc": {"a": [1]}, "at": "2024-05-01 08:30:00",
               "at_tz": "2024-05-01T00:30:00+00:00", "id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
               "raw": "AQI=", "small_fee": "-0.0050", "echoed": "张三"})
    );
    let unreadable = fx.step(r#"{ database: hub, query: "SELECT interval '1 day' AS span", into: vars.x }"#);
    let err = unreadable.run(&mut ex).await.unwrap_err();
    assert!(
        err.message.contains("column `span` has the type INTERVAL") && err.message.contains("span::text"),
        "{err}"
    );
}

#[tokio::test]
async fn a_database_gone_is_unavailable_and_its_password_is_never_shown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let configs = std::collections::BTreeMap::from([(
        "his".to_string(),
        DatabaseConfig {
            location: DatabaseLocation::Postgres(format!("postgres://medbus:secret@127.0.0.1:{port}/his")),
            migrations: None,
            max_connections: 1,
            durability: Durability::Normal,
        },
    )]);
    let err = Databases::default().open(&configs).await.unwrap_err();
    assert!(
        err.starts_with(&format!(
            "database `his` (postgres://…@127.0.0.1:{port}/his) cannot be opened"
        )),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");

    // A database dropped under an open pool: the step and the destination
    // see it unreachable.
    let fx = Fixture::new(Backend::Postgres).await;
    let (_, name, _) = fx.server.clone().unwrap();
    admin(Backend::Postgres, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    let step = fx.step(r#"{ database: hub, query: "SELECT 1 AS one", into: vars.x }"#);
    let err = step.run(&mut exchange(json!({}))).await.unwrap_err();
    assert_eq!(err.code, "DB_UNAVAILABLE", "{err}");
    let endpoint = fx
        .build::<SqlDestinationConfig, _>(r#"{ database: hub, query: "SELECT 1" }"#, SqlEndpoint::build)
        .unwrap();
    let context = json!({});
    let outgoing = Outgoing {
        message_id: "m",
        destination: "d",
        payload: "",
        content_type: "",
        context: &context,
    };
    match endpoint.deliver(&outgoing).await {
        Attempt::Failed { failure, .. } => assert_eq!(failure, Failure::Connect),
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_reports_misnamed_parameters_and_databases_at_their_position() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fx = runtime.block_on(Fixture::new(Backend::Sqlite));
    let err = |yaml: &str| fx.build::<SqlConfig, _>(yaml, SqlStep::build).err().unwrap();
    let e =
        err("database: hub\nquery: \"SELECT * FROM t WHERE a = :a AND b = :b\"\nparams: { a: body.a, c: body.c }\n");
    assert!(
        e.contains("routes/test.yaml:2:8: sql on `hub`: the query uses `:b`, which `params` does not give"),
        "{e}"
    );
    assert!(e.contains("`params` gives `c`, which the query does not use"), "{e}");
    let e = err("{ database: his, query: 'SELECT 1' }");
    assert!(e.contains("routes/test.yaml:3:5: sql on `his` names database `his`, which is not declared; expected one of the settings' databases: hub"), "{e}");
    assert!(err("{ database: hub, query: 'SELECT :a', params: { a: open } }")
        .contains("a text value is written `a: { value: \"open\" }`"));
    assert!(err("{ database: hub, query: 'SELECT :a', params: { a: '{{ x' } }").contains("not a valid template"));
    assert!(
        err("{ database: hub, query: 'SELECT 1', statements: [{ query: 'SELECT 2' }] }")
            .contains("both `query` and `statements`")
    );
    assert!(
        err("{ database: hub, query: 'SELECT 1', expect: all, not_found: { code: X } }").contains("`expect: one` only")
    );
    assert!(err("{ database: hub, query: 'SELECT ?' }").contains("`?` placeholder"));
    assert!(err("{ database: hub, query: 'SELECT 1', into: msg.x }").contains("read-only"));
    assert!(err("{ database: hub, query: 'SELECT :a', params: { a: [1] } }").contains("{ value: ... }"));
    assert!(err("{ database: hub, qeury: 'SELECT 1' }").contains("unknown field `qeury`"));
}

#[test]
fn the_documented_examples_build() {
    #[derive(serde::Deserialize)]
    struct Destinations {
        destinations: Vec<crate::config::DestinationSpec>,
    }
    #[derive(serde::Deserialize)]
    struct Tests {
        #[allow(dead_code)]
        tests: Vec<crate::unit_test::RouteTest>,
    }
    let docs = include_str!("../../../docs/databases.md");
    let blocks: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 6, "{}", blocks.len());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fx = runtime.block_on(Fixture::new(Backend::Sqlite));
    let mut settings = (*fx.settings).clone();
    let mut his = settings.databases["hub"].clone();
    his.location = DatabaseLocation::MySql("mysql://medbus@his-db/his".into());
    settings.databases.insert("his".into(), his);
    fx.settings = Arc::new(settings);
    for block in blocks {
        let built = if block.starts_with("# medbus.yaml") {
            serde_saphyr::from_str::<crate::settings::SettingsFile>(block)
                .map(drop)
                .map_err(|e| e.to_string())
        } else if block.starts_with("- sql:") {
            fx.build(block, |specs: &Vec<crate::steps::StepSpec>, cx| {
                specs
                    .iter()
                    .map(|spec| crate::steps::Step::build(spec, cx))
                    .collect::<Option<Vec<_>>>()
            })
            .map(drop)
        } else if block.starts_with("destinations:") {
            fx.build(block, |specs: &Destinations, cx| {
                specs
                    .destinations
                    .iter()
                    .map(|d| crate::destinations::Endpoint::build(&d.to.value, d.to.at, cx))
                    .collect::<Option<Vec<_>>>()
            })
            .map(drop)
        } else if block.starts_with("tests:") {
            serde_saphyr::from_str::<Tests>(block)
                .map(drop)
                .map_err(|e| e.to_string())
        } else {
            panic!("an example of an unknown kind:\n{block}");
        };
        assert!(built.is_ok(), "{block}\n{}", built.err().unwrap());
    }
}

#[tokio::test]
async fn route_tests_seed_run_and_check_fresh_databases() {
    let dir = tempfile::tempdir().unwrap();
    let write = |relative: &str, text: &str| {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("migrations/sqlite/0001_records.sql", SQLITE);
    write("migrations/postgres/0001_records.sql", POSTGRES);
    write(
        "medbus.yaml",
        "databases:\n  hub: { url: 'postgres://nowhere/hub', migrations: migrations }\n",
    );
    write(
        "routes/store.yaml",
        r#"id: t.store
source: { http: { path: /store } }
steps:
  - parse: { format: json }
  - sql: { database: hub, query: "INSERT INTO records (apply_no, event_no) VALUES (:no, 'E1')", params: { no: body.no } }
  - sql: { database: hub, query: "SELECT COUNT(*) AS n FROM records", expect: one, into: vars.count }
destinations:
  - name: copy
    to: { sql: { database: hub, query: "UPDATE records SET note = :note WHERE apply_no = :no", params: { no: body.no, note: "copied {{ msg.route }}" } } }
tests:
  - name: seeded rows are there, and only for this test
    given: { databases: { hub: ["INSERT INTO records (apply_no, event_no) VALUES ('S1', 'seed')"] } }
    input: { body: { no: A1 } }
    expect:
      values: { vars.count: { n: 2 } }
      databases:
        hub: [ { query: "SELECT apply_no, note FROM records ORDER BY apply_no", rows: [ { apply_no: A1, note: copied t.store }, { apply_no: S1, note: null } ] } ]
  - name: a fresh database for every test
    input: { body: { no: A1 } }
    expect:
      values: { vars.count: { n: 1 } }
      databases:
        hub: [ { query: "SELECT apply_no FROM records", rows: [ { apply_no: A2 } ] } ]
"#,
    );
    let settings = Settings::load(&dir.path().join("medbus.yaml"), &|_| None).unwrap();
    let snapshot = crate::runtime::snapshot::Snapshot::load(Arc::new(settings)).unwrap();
    let results = crate::unit_test::run(&snapshot, None).await;
    assert_eq!(results.len(), 2);
    assert!(results[0].failures.is_empty(), "{:?}", results[0].failures);
    let failures = results[1].failures.join("\n");
    assert!(
        failures.contains("databases.hub rows of `SELECT apply_no FROM records`") && failures.contains("\"A2\""),
        "{failures}"
    );
}
