//! Live reload, from outside: through the admin API, the file watcher,
//! SIGHUP and `medbus reload`, under load, with broken configurations,
//! a listener that moves, a timer that must keep its cadence and settings
//! that need a restart.

use medbus_tests::process::run_cli;
use medbus_tests::sink::Sink;
use medbus_tests::{free_port, post, Medbus, Setup};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

async fn post_reload(medbus: &Medbus) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(medbus.admin_url("/api/reload"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn reload_history(medbus: &Medbus) -> Vec<Value> {
    let response = reqwest::get(medbus.admin_url("/api/reload/history")).await.unwrap();
    response.json().await.unwrap()
}

/// The number of the newest reload so far (0: none yet).
async fn last_reload_number(medbus: &Medbus) -> u64 {
    reload_history(medbus)
        .await
        .first()
        .map_or(0, |r| r["number"].as_u64().unwrap())
}

/// Waits for a reload after `after` that satisfies `wanted`; returns it.
async fn wait_for_reload(medbus: &Medbus, after: u64, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let history = reload_history(medbus).await;
        if let Some(found) = history
            .iter()
            .find(|r| r["number"].as_u64().unwrap() > after && wanted(r))
        {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no such reload after #{after}: {history:#?}\n{}",
            medbus.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn post_json(url: &str) -> (u16, Value) {
    post(url, "application/json", r#"{"sex":"1"}"#).await
}

/// Writes a whole file at once (write beside, then rename), as editors and
/// deployment tools do, so the watcher never sees half a file.
fn write_atomically(dir: &Path, relative: &str, text: &str) {
    let target = dir.join(relative);
    let staging = dir.join(format!(".staging-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&staging, text).unwrap();
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::rename(staging, target).unwrap();
}

fn error_texts(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect()
}

fn assert_errors_positioned(report: &Value) {
    let errors = report["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{report:#}");
    for error in errors {
        let (file, line, column) = (
            error["file"].as_str().unwrap(),
            error["line"].as_u64().unwrap(),
            error["column"].as_u64().unwrap(),
        );
        assert!(line >= 1 && column >= 1, "{error}");
        let prefix = format!("{file}:{line}:{column}: ");
        assert!(error["text"].as_str().unwrap().starts_with(&prefix), "{error}");
    }
}

const INGEST_ROUTE: &str = "\
id: t.ingest
source:
  http: { path: /ingest }
steps:
  - parse: { format: json }
  - map: { path: body.sex, table: sex, by: code, to: name, as: vars.sex }
reply:
  content_type: application/json
  body: '{\"id\":\"{{ msg.id }}\",\"version\":\"VERSION\",\"sex\":\"{{ vars.sex }}\"}'
";

fn ingest_route(version: &str) -> String {
    INGEST_ROUTE.replace("VERSION", version)
}

fn sex_table(name: &str) -> String {
    format!("code,name\n1,{name}\n2,other\n")
}

#[derive(Clone, Copy, Debug)]
enum Trigger {
    Api,
    Watch,
    Signal,
}

#[derive(Clone, Copy, Debug)]
enum Edit {
    Reply(u32),
    Table(u32),
    SyntaxError,
    UnknownKey,
    MissingScript,
}

impl Edit {
    fn is_valid(self) -> bool {
        matches!(self, Edit::Reply(_) | Edit::Table(_))
    }
}

/// Applies an edit; returns the (version, sex) the route answers once it is applied.
fn apply(dir: &Path, edit: Edit, current: &mut (String, String)) {
    let broken = dir.join("routes/broken.yaml");
    match edit {
        Edit::Reply(n) => {
            current.0 = format!("v{n}");
            let _ = std::fs::remove_file(&broken);
            write_atomically(dir, "routes/ingest.yaml", &ingest_route(&current.0));
        }
        Edit::Table(n) => {
            current.1 = format!("male-{n}");
            let _ = std::fs::remove_file(&broken);
            write_atomically(dir, "routes/ingest.yaml", &ingest_route(&current.0));
            write_atomically(dir, "mappings/sex.csv", &sex_table(&current.1));
        }
        Edit::SyntaxError => write_atomically(dir, "routes/ingest.yaml", "id: t.ingest\nsource: [unclosed\n"),
        Edit::UnknownKey => write_atomically(
            dir,
            "routes/ingest.yaml",
            &ingest_route(&current.0).replace("  http: { path: /ingest }", "  http: { path: /ingest, colour: red }"),
        ),
        Edit::MissingScript => write_atomically(
            dir,
            "routes/broken.yaml",
            "id: t.broken\nsource:\n  http: { path: /broken }\nsteps:\n  - script: { file: missing.rhai }\n",
        ),
    }
}

async fn answers(medbus: &Medbus) -> (String, String) {
    let (status, reply) = post_json(&medbus.url("/ingest")).await;
    assert_eq!(status, 200, "{reply}");
    (
        reply["version"].as_str().unwrap().to_string(),
        reply["sex"].as_str().unwrap().to_string(),
    )
}

async fn wait_until_answering(medbus: &Medbus, expected: &(String, String)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answered = answers(medbus).await;
        if answered == *expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the route answers {answered:?}, never {expected:?}\n{}",
            medbus.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn journaled_ids(medbus: &Medbus) -> HashSet<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM messages")
        .fetch_all(&mut db)
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_under_load_drop_no_request_and_lose_no_message() {
    let setup = Setup::empty();
    setup.write("routes/ingest.yaml", &ingest_route("v0"));
    setup.write("mappings/sex.csv", &sex_table("male-0"));
    let medbus = setup.start().await;
    let dir = medbus.config_dir.clone();
    let ids_file = dir.join("acknowledged.txt");
    let load = tokio::process::Command::new(env!("CARGO_BIN_EXE_load-client"))
        .args(["--url", &medbus.url("/ingest"), "--rate", "600", "--connections", "32"])
        .args(["--duration", "20s", "--ids"])
        .arg(&ids_file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let load_started = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;

    use Edit::*;
    let edits = [
        Reply(1),
        SyntaxError,
        Table(2),
        Reply(3),
        UnknownKey,
        Reply(4),
        MissingScript,
        Table(5),
        Reply(6),
        SyntaxError,
        Table(7),
        MissingScript,
        Reply(8),
        UnknownKey,
        Table(9),
        Reply(10),
        SyntaxError,
        Reply(11),
        MissingScript,
        Table(12),
    ];
    let mut current = ("v0".to_string(), "male-0".to_string());
    let (mut applied, mut refused) = (0, 0);
    for (n, edit) in edits.into_iter().enumerate() {
        let trigger = [Trigger::Api, Trigger::Watch, Trigger::Signal][n % 3];
        let before = last_reload_number(&medbus).await;
        let previous = current.clone();
        apply(&dir, edit, &mut current);
        let report = match trigger {
            Trigger::Api => {
                let (status, report) = post_reload(&medbus).await;
                assert_eq!(status, if edit.is_valid() { 200 } else { 422 }, "{edit:?}: {report:#}");
                report
            }
            Trigger::Watch => {
                let wanted = if edit.is_valid() { "applied" } else { "refused" };
                wait_for_reload(&medbus, before, |r| r["trigger"] == "watch" && r["status"] == wanted).await
            }
            Trigger::Signal => {
                medbus.hangup();
                wait_for_reload(&medbus, before, |r| r["trigger"] == "signal").await
            }
        };
        if edit.is_valid() {
            assert_eq!(report["status"], "applied", "{trigger:?} {edit:?}: {report:#}");
            wait_until_answering(&medbus, &current).await;
            applied += 1;
        } else {
            assert_eq!(report["status"], "refused", "{trigger:?} {edit:?}: {report:#}");
            assert_errors_positioned(&report);
            current = previous;
            assert_eq!(
                answers(&medbus).await,
                current,
                "the old configuration goes on answering"
            );
            refused += 1;
        }
        println!("reload {:>2} {trigger:?} {edit:?}: {}", n + 1, report["status"]);
    }
    assert!(
        load_started.elapsed() < Duration::from_secs(19),
        "the reloads took longer than the load ran"
    );
    let output = load.wait_with_output().await.unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let acknowledged: HashSet<String> = std::fs::read_to_string(&ids_file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let journaled = journaled_ids(&medbus).await;
    let lost = acknowledged.difference(&journaled).count();
    println!(
        "{applied} applied, {refused} refused; load: {} ok, {} failed in {:.1} s ({:.0} req/s); {} acknowledged, {lost} lost",
        summary["ok"],
        summary["failed"],
        summary["seconds"].as_f64().unwrap(),
        summary["ok"].as_f64().unwrap() / summary["seconds"].as_f64().unwrap(),
        acknowledged.len()
    );
    assert_eq!(summary["failed"], 0, "failed requests: {summary:#}");
    assert!(
        summary["ok"].as_f64().unwrap() / summary["seconds"].as_f64().unwrap() >= 500.0,
        "the load stayed under 500 req/s: {summary}"
    );
    assert_eq!(lost, 0, "acknowledged but not journaled");
    assert_eq!((applied, refused), (12, 8));
}

#[tokio::test]
async fn a_listener_moves_to_another_port_without_dropping_the_request_in_flight() {
    let sink = Sink::start().await;
    let (old_port, new_port) = (free_port(), free_port());
    let route = |port: u16| {
        format!(
            "id: t.slow\nsource:\n  http: {{ path: /slow, listen: 127.0.0.1:{port} }}\nsteps:\n  - call: {{ name: slow, url: '{}' }}\nreply:\n  body: 'answered on {port}'\n",
            sink.url("/slow")
        )
    };
    let setup = Setup::empty();
    setup.write("routes/slow.yaml", &route(old_port));
    let medbus = setup.start().await;

    sink.delay(Duration::from_millis(1500));
    let in_flight = tokio::spawn(
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{old_port}/slow"))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    sink.delay(Duration::ZERO);

    std::fs::write(medbus.config_dir.join("routes/slow.yaml"), route(new_port)).unwrap();
    let (status, report) = post_reload(&medbus).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["routes"]["changed"], serde_json::json!(["t.slow"]));

    let moved = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{new_port}/slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(moved.text().await.unwrap(), format!("answered on {new_port}"));

    let refused = tokio::net::TcpStream::connect(("127.0.0.1", old_port)).await;
    assert!(refused.is_err(), "the old port still accepts connections");
    assert!(!in_flight.is_finished(), "the slow request should still be running");

    let answer = in_flight.await.unwrap().expect("the request in flight is answered");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), format!("answered on {old_port}"));
}

#[tokio::test]
async fn a_refused_reload_lists_every_error_and_changes_nothing() {
    let setup = Setup::empty();
    setup.write("routes/ingest.yaml", &ingest_route("v1"));
    setup.write("routes/other.yaml", "id: t.other\nsource:\n  http: { path: /other }\n");
    setup.write("mappings/sex.csv", &sex_table("male"));
    let admin = setup.admin.to_string();
    let medbus = setup.start().await;
    let dir = medbus.config_dir.clone();

    std::fs::write(
        dir.join("routes/ingest.yaml"),
        ingest_route("v2").replace(
            "  - parse: { format: json }",
            "  - parse: { format: json, strict: yes }",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("routes/other.yaml"),
        "id: t.other\nsource:\n  http: { path: /other }\nsteps:\n  - script: { file: nowhere.rhai }\n",
    )
    .unwrap();
    let (status, report) = post_reload(&medbus).await;
    assert_eq!(status, 422, "{report:#}");
    assert_eq!(report["status"], "refused");
    assert_errors_positioned(&report);
    let texts = error_texts(&report);
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts[0].contains("ingest.yaml:5:") && texts[0].contains("strict"),
        "{texts:#?}"
    );
    assert!(
        texts[1].contains("other.yaml:5:") && texts[1].contains("nowhere.rhai"),
        "{texts:#?}"
    );
    assert_eq!(answers(&medbus).await, ("v1".to_string(), "male".to_string()));
    assert_eq!(post_json(&medbus.url("/other")).await.0, 200);

    let env = [("MEDBUS_ADMIN_ADDR", admin.as_str())];
    let cli = run_cli(&["reload", "-c", "medbus.yaml"], &dir, &env);
    let stderr = String::from_utf8_lossy(&cli.stderr);
    assert_eq!(cli.status.code(), Some(1), "{stderr}");
    for text in &texts {
        assert!(stderr.contains(text.as_str()), "{text} missing from:\n{stderr}");
    }
    assert!(stderr.contains("2 errors"), "{stderr}");

    std::fs::write(dir.join("routes/ingest.yaml"), ingest_route("v2")).unwrap();
    std::fs::remove_file(dir.join("routes/other.yaml")).unwrap();
    let cli = run_cli(&["reload", "-c", "medbus.yaml"], &dir, &env);
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert_eq!(
        cli.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(stdout.starts_with("applied in "), "{stdout}");
    assert_eq!(answers(&medbus).await.0, "v2");
    assert_eq!(post_json(&medbus.url("/other")).await.0, 404);

    let metrics = medbus.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("medbus_reloads_total{outcome=\"refused\"}")),
        "{metrics}"
    );
    assert!(metrics.contains("medbus_reload_seconds_count"), "{metrics}");
}

/// When each message of `route` was received, in microseconds, in order.
async fn fired_at_us(medbus: &Medbus, route: &str) -> Vec<i64> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT received_at_us FROM messages WHERE route = ? ORDER BY received_at_us")
            .bind(route)
            .fetch_all(&mut db)
            .await
            .unwrap();
    rows.into_iter().map(|(at,)| at).collect()
}

#[tokio::test]
async fn a_timer_keeps_its_cadence_when_another_route_is_reloaded() {
    let setup = Setup::empty();
    setup.write(
        "routes/tick.yaml",
        "id: t.tick\nsource:\n  timer: { every: 1s, body: tick }\n",
    );
    setup.write(
        "routes/echo.yaml",
        "id: t.echo\nsource:\n  http: { path: /echo }\nreply: { body: one }\n",
    );
    let medbus = setup.start().await;

    // Reload 400 ms after a firing: a restarted timer would fire 1 s after
    // the reload, 1.4 s after the previous firing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fired_at_us(&medbus, "t.tick").await.len() < 2 {
        assert!(Instant::now() < deadline, "the timer does not fire\n{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    std::fs::write(
        medbus.config_dir.join("routes/echo.yaml"),
        "id: t.echo\nsource:\n  http: { path: /echo }\nreply: { body: two }\n",
    )
    .unwrap();
    let (status, report) = post_reload(&medbus).await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(report["routes"]["changed"], serde_json::json!(["t.echo"]));
    assert_eq!(report["routes"]["unchanged"], 1);
    tokio::time::sleep(Duration::from_millis(3300)).await;

    let fired = fired_at_us(&medbus, "t.tick").await;
    let gaps_ms: Vec<i64> = fired.windows(2).map(|w| (w[1] - w[0]) / 1000).collect();
    println!("gaps between firings (ms): {gaps_ms:?}");
    assert!(gaps_ms.len() >= 4, "{gaps_ms:?}");
    assert!(
        gaps_ms.iter().all(|gap| (850..=1250).contains(gap)),
        "the timer lost its cadence: {gaps_ms:?}"
    );

    // Changing the timer route itself restarts it.
    std::fs::write(
        medbus.config_dir.join("routes/tick.yaml"),
        "id: t.tick\nsource:\n  timer: { every: 1s, body: tock }\n",
    )
    .unwrap();
    let (_, report) = post_reload(&medbus).await;
    assert_eq!(report["routes"]["changed"], serde_json::json!(["t.tick"]));
}

#[tokio::test]
async fn settings_that_need_a_restart_are_reported_and_the_others_apply() {
    let setup = Setup::empty();
    setup.write("medbus.yaml", "log: info\nvalues: { greeting: hello }\n");
    setup.write(
        "routes/greet.yaml",
        "id: t.greet\nsource:\n  http: { path: /greet }\nreply: { body: '{{ config.greeting }}' }\n",
    );
    let admin = setup.admin.to_string();
    let medbus = setup.start().await;
    let greet = || async { post_json(&medbus.url("/greet")).await.1 };
    assert_eq!(greet().await, "hello");

    std::fs::write(
        medbus.config_dir.join("medbus.yaml"),
        "log: info\nlog_format: json\njournal_durability: normal\nvalues: { greeting: bonjour }\n",
    )
    .unwrap();
    let (status, report) = post_reload(&medbus).await;
    assert_eq!(status, 200, "{report:#}");
    let named: Vec<&str> = report["restart_required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["setting"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["journal_durability", "log_format"], "{report:#}");
    assert_eq!(report["restart_required"][0]["running"], "full");
    assert_eq!(report["restart_required"][0]["configured"], "normal");
    assert_eq!(greet().await, "bonjour", "values apply live");
    assert!(
        medbus.logs().contains("applies only after a restart"),
        "{}",
        medbus.logs()
    );

    let cli = run_cli(
        &["reload", "-c", "medbus.yaml"],
        &medbus.config_dir,
        &[("MEDBUS_ADMIN_ADDR", admin.as_str())],
    );
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert_eq!(cli.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("restart required: journal_durability changed from \"full\" to \"normal\""),
        "{stdout}"
    );
}
