//! The console's files and its dashboard figures on the admin listener:
//! `GET /` and the modules it loads, served from the binary with their
//! types, ETags and security headers, to anyone (they hold no data); the
//! API behind them still asks for a login; `GET /api/overview` on SQLite and
//! PostgreSQL.

use medbus_tests::process::{demo_password, hash_password};
use medbus_tests::{create_postgres_database, drop_database, post, postgres_url, Medbus, Setup};
use serde_json::{json, Value};

const ROUTE: &str = r#"
id: t.push
source:
  http: { path: /push }
steps:
  - parse: { format: json }
  - validate:
      required: [body.applyNo]
destinations:
  - name: nowhere
    max_attempts: 1
    to: { http: { url: 'http://127.0.0.1:9/closed' } }
"#;

async fn overview(medbus: &Medbus) -> Value {
    let response = reqwest::get(medbus.admin_url("/api/overview")).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Sends one good and one refused message, then waits for the good one's
/// delivery to die (nothing listens on port 9).
async fn traffic(medbus: &Medbus) {
    let (status, _) = post(
        &medbus.url("/push"),
        "application/json",
        json!({"applyNo": "A1"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post(&medbus.url("/push"), "application/json", "{}".to_string()).await;
    assert_eq!(status, 400);
    for _ in 0..100 {
        if overview(medbus).await["deliveries"]["dead"] == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delivery did not die: {}", overview(medbus).await);
}

fn assert_figures(answer: &Value, backend: &str) {
    assert_eq!(
        answer["routes"],
        json!({"total": 1, "active": 1, "paused": 0}),
        "{answer}"
    );
    assert_eq!(
        answer["messages"],
        json!({"received": 2, "replied": 2, "processed": 1, "filtered": 0, "rejected": 1, "failed": 0}),
        "{answer}"
    );
    assert_eq!(answer["deliveries"], json!({"queued": 0, "dead": 1}), "{answer}");
    assert_eq!(answer["journal"]["backend"], backend);
    assert_eq!(answer["journal"]["durability"], "full");
    assert!(answer["journal"]["bytes"].as_u64().unwrap() > 0, "{answer}");
    assert!(
        !answer["journal"]["location"].as_str().unwrap().contains("password"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_figures_on_sqlite() {
    let setup = Setup::empty();
    setup.write("routes/push.yaml", ROUTE);
    let medbus = setup.start().await;
    let before = overview(&medbus).await;
    assert_eq!(before["messages"]["received"], 0);
    traffic(&medbus).await;
    let after = overview(&medbus).await;
    assert_figures(&after, "sqlite");
    assert!(after["journal"]["location"].as_str().unwrap().ends_with("journal.db"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_figures_on_postgres() {
    let database = create_postgres_database().await;
    let setup = Setup::empty().env("MEDBUS_JOURNAL", &postgres_url(&database));
    setup.write("routes/push.yaml", ROUTE);
    let medbus = setup.start().await;
    let empty = overview(&medbus).await["journal"]["bytes"].as_u64().unwrap();
    traffic(&medbus).await;
    let after = overview(&medbus).await;
    assert_figures(&after, "postgres");
    assert!(after["journal"]["bytes"].as_u64().unwrap() >= empty, "{after}");
    drop(medbus);
    drop_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_to_anyone_and_its_data_only_after_a_login() {
    let setup = Setup::empty();
    setup.write("routes/push.yaml", ROUTE);
    let hash = hash_password(&demo_password("viewer"));
    setup.write(
        "medbus.yaml",
        &format!("log: info\nadmin:\n  users:\n    - {{ name: viewer, role: viewer, password: '{hash}' }}\n"),
    );
    let medbus = setup.start().await;
    let client = reqwest::Client::new();

    let index = client.get(medbus.admin_url("/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let headers = index.headers().clone();
    assert_eq!(headers["content-type"], "text/html");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"));
    let html = index.text().await.unwrap();
    assert!(
        html.contains(r#"<script type="module" src="js/app.js"></script>"#),
        "{html}"
    );

    for (file, kind) in [
        ("/js/app.js", "javascript"),
        ("/js/hl7.js", "javascript"),
        ("/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let response = client.get(medbus.admin_url(file)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert!(
            response.headers()["content-type"].to_str().unwrap().contains(kind),
            "{file}"
        );
        let etag = response.headers()["etag"].clone();
        let again = client
            .get(medbus.admin_url(file))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{file}");
        assert!(again.bytes().await.unwrap().is_empty());
    }

    let missing = client.get(medbus.admin_url("/js/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let unknown = client.get(medbus.admin_url("/api/nothing")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let answer: Value = unknown.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "UNKNOWN_ENDPOINT");

    // The data behind the console is not for anyone.
    let refused = client.get(medbus.admin_url("/api/overview")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let viewer = medbus.login("viewer", &demo_password("viewer")).await;
    let answer: Value = viewer
        .get(medbus.admin_url("/api/overview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["routes"]["total"], 1, "{answer}");
}
