//! Secrets from outside: callers authenticated by the secret they present,
//! secrets rendered into outbound requests as they are sent, and none of
//! them in the journal or the logs, whatever a caller sends; a rotated
//! secrets file applies at the next reload.

use medbus_tests::sink::Sink;
use medbus_tests::{post, Medbus, Setup};
use serde_json::{json, Value};
use sqlx::{Connection, Row};

const VENDOR_V1: &str = "vendor-secret-120-v1";
const VENDOR_V2: &str = "vendor-secret-120-v2";
const HOSPITAL_V1: &str = "hospital-secret-a1";
const HOSPITAL_V2: &str = "hospital-secret-a2";
const FROM_ENV: &str = "env-vendor-secret-9";

const PUSH: &str = r#"
id: t.push
source:
  http: { path: /push }
steps:
  - parse: { format: json }
  - authenticate:
      secret: body.secret
      callers: [vendor-*]
      error: { code: "10004", message: authentication failed }
  - set: { vars.who: { template: "{{ msg.caller }}" } }
destinations:
  - name: hospital
    to:
      http:
        url: "SINK/in/{{ secrets[\"hospital-a\"] | urlencode }}"
        headers: { X-Secret: "{{ secrets[\"hospital-a\"] }}", X-Caller: "{{ msg.caller }}" }
reply:
  content_type: application/json
  body: '{"caller":"{{ vars.who }}","id":"{{ msg.id }}"}'
"#;

/// A route that forgets to authenticate: whatever the caller sends goes on.
const OPEN: &str = r#"
id: t.open
source:
  http: { path: /open }
steps:
  - parse: { format: json }
destinations:
  - name: archive
    to: { http: { url: "SINK/open" } }
"#;

fn secrets_file(vendor: &str, hospital: &str) -> String {
    format!("vendor-120: {vendor}\nhospital-a: {hospital}\n")
}

async fn push(medbus: &Medbus, body: Value) -> (u16, Value) {
    post(&medbus.url("/push"), "application/json", body.to_string()).await
}

/// Every value of every column of every table of the SQLite journal, as bytes.
async fn journal_cells(medbus: &Medbus) -> Vec<(String, Vec<u8>)> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let mut cells = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info({table})"))
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("name"))
            .collect();
        for column in columns {
            let values: Vec<Option<Vec<u8>>> =
                sqlx::query_scalar(&format!("SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\""))
                    .fetch_all(&mut db)
                    .await
                    .unwrap();
            cells.extend(values.into_iter().flatten().map(|v| (format!("{table}.{column}"), v)));
        }
    }
    cells
}

/// Fails naming the table and column where one of `secrets` is kept.
async fn assert_journal_holds_none_of(medbus: &Medbus, secrets: &[&str]) {
    let cells = journal_cells(medbus).await;
    assert!(cells.iter().any(|(at, _)| at == "messages.raw"), "the journal was read");
    for (at, value) in &cells {
        for secret in secrets {
            let found = value.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(
                !found,
                "{at} holds the secret {secret}: {}",
                String::from_utf8_lossy(value)
            );
        }
    }
    let logs = medbus.logs();
    for secret in secrets {
        assert!(!logs.contains(secret), "the logs hold the secret {secret}:\n{logs}");
    }
}

async fn caller_of(medbus: &Medbus, id: &str) -> Option<String> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT caller FROM messages WHERE id = $1")
        .bind(id)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_authenticated_and_secrets_stay_out_of_the_journal_and_logs() {
    let sink = Sink::start().await;
    let setup = Setup::empty().env("MEDBUS_SECRET_VENDOR_9", FROM_ENV);
    setup.write("routes/push.yaml", &PUSH.replace("SINK", &sink.url("")));
    setup.write("routes/open.yaml", &OPEN.replace("SINK", &sink.url("")));
    setup.write("secrets.yaml", &secrets_file(VENDOR_V1, HOSPITAL_V1));
    let medbus = setup.start().await;
    assert!(
        medbus.logs().contains("can be read by other users"),
        "a secrets file others may read is warned about:\n{}",
        medbus.logs()
    );

    // Missing, wrong, and another caller's secret (hospital-a is not a vendor): refused alike.
    for secret in [None, Some("not-the-secret"), Some(HOSPITAL_V1)] {
        let mut body = json!({"applyNo": "A1"});
        if let Some(secret) = secret {
            body["secret"] = json!(secret);
        }
        let (status, answer) = push(&medbus, body).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "10004");
        assert_eq!(answer["error"]["message"], "authentication failed");
        assert!(!answer.to_string().contains("secret-"), "{answer}");
    }

    // The right secret: the caller is named, journaled, and the secret is
    // gone from what is forwarded; the hospital's secret is rendered as sent.
    let (status, answer) = push(&medbus, json!({"secret": VENDOR_V1, "applyNo": "A2"})).await;
    assert_eq!(
        (status, answer["caller"].as_str()),
        (200, Some("vendor-120")),
        "{answer}"
    );
    let id = answer["id"].as_str().unwrap().to_string();
    let received = sink.wait_for(1, 10).await;
    let forwarded = &received[0];
    assert_eq!(forwarded.path, format!("/in/{HOSPITAL_V1}"));
    assert_eq!(forwarded.headers["x-secret"], HOSPITAL_V1);
    assert_eq!(forwarded.headers["x-caller"], "vendor-120");
    assert_eq!(
        serde_json::from_str::<Value>(&forwarded.body).unwrap(),
        json!({"applyNo": "A2"})
    );
    assert_eq!(caller_of(&medbus, &id).await.as_deref(), Some("vendor-120"));

    // Reprocessed from the journal (where the secret is masked): the caller it arrived as.
    let (status, again) = post(
        &medbus.admin_url(&format!("/api/messages/{id}/reprocess")),
        "application/json",
        "",
    )
    .await;
    assert_eq!((status, again["status"].as_str()), (200, Some("processed")), "{again}");
    let new_id = again["id"].as_str().unwrap();
    assert_eq!(caller_of(&medbus, new_id).await.as_deref(), Some("vendor-120"));
    sink.wait_for(2, 10).await;

    // A secret from the environment alone.
    let (status, answer) = push(&medbus, json!({"secret": FROM_ENV, "applyNo": "A3"})).await;
    assert_eq!((status, answer["caller"].as_str()), (200, Some("vendor-9")), "{answer}");

    // A route without `authenticate` journals and forwards the secret masked.
    let (status, _) = post(
        &medbus.url("/open"),
        "application/json",
        json!({"secret": VENDOR_V1, "note": format!("again {HOSPITAL_V1}")}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let received = sink.wait_for(4, 10).await;
    let archived = received.iter().find(|r| r.path == "/open").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&archived.body).unwrap(),
        json!({"secret": "******", "note": "again ******"})
    );
    assert_journal_holds_none_of(&medbus, &[VENDOR_V1, HOSPITAL_V1, FROM_ENV]).await;

    // Rotation: the file changes, a reload applies it, no restart.
    std::fs::write(
        medbus.config_dir.join("secrets.yaml"),
        secrets_file(VENDOR_V2, HOSPITAL_V2),
    )
    .unwrap();
    let reloaded = reqwest::Client::new()
        .post(medbus.admin_url("/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let (status, _) = push(&medbus, json!({"secret": VENDOR_V1, "applyNo": "A4"})).await;
    assert_eq!(status, 401, "the old secret no longer admits");
    let (status, answer) = push(&medbus, json!({"secret": VENDOR_V2, "applyNo": "A5"})).await;
    assert_eq!(
        (status, answer["caller"].as_str()),
        (200, Some("vendor-120")),
        "{answer}"
    );
    let received = sink.wait_for(5, 10).await;
    let last = received.last().unwrap();
    assert_eq!(
        last.headers["x-secret"], HOSPITAL_V2,
        "rendered with the secret current at sending"
    );
    assert_journal_holds_none_of(&medbus, &[VENDOR_V2, HOSPITAL_V2, FROM_ENV]).await;

    // Rotation again, with no reload asked: the file watcher applies it.
    const VENDOR_V3: &str = "vendor-secret-120-v3";
    std::fs::write(
        medbus.config_dir.join("secrets.yaml"),
        secrets_file(VENDOR_V3, HOSPITAL_V2),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut n = 6;
    loop {
        let (status, _) = push(&medbus, json!({"secret": VENDOR_V3, "applyNo": format!("A{n}")})).await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never applied the rotated secret"
        );
        n += 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, _) = push(&medbus, json!({"secret": VENDOR_V2, "applyNo": "A99"})).await;
    assert_eq!(status, 401, "the rotated-out secret no longer admits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_delivery_keeps_no_secret_and_gets_the_current_one_when_sent() {
    let sink = Sink::start().await;
    sink.stop().await;
    let setup = Setup::empty();
    let route = PUSH.replace("SINK", &sink.url("")).replace(
        "  - name: hospital\n",
        "  - name: hospital\n    backoff: { initial: 100ms, max: 200ms }\n",
    );
    setup.write("routes/push.yaml", &route);
    setup.write("secrets.yaml", &secrets_file(VENDOR_V1, HOSPITAL_V1));
    let medbus = setup.start().await;
    let (status, answer) = push(&medbus, json!({"secret": VENDOR_V1, "applyNo": "Q1"})).await;
    assert_eq!(status, 200, "{answer}");
    // The receiver is down: the delivery waits in the journal, without the secrets.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_journal_holds_none_of(&medbus, &[VENDOR_V1, HOSPITAL_V1]).await;
    let queued: i64 = {
        let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert_eq!(queued, 1);

    // Rotated while it waits: it goes out with the new secret.
    std::fs::write(
        medbus.config_dir.join("secrets.yaml"),
        secrets_file(VENDOR_V1, HOSPITAL_V2),
    )
    .unwrap();
    medbus.hangup();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    sink.resume().await;
    let received = sink.wait_for(1, 10).await;
    assert_eq!(received[0].headers["x-secret"], HOSPITAL_V2);
}
