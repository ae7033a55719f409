//! Reprocess and retention, black-box: a dead letter delivered after a
//! reprocess, whole-message and bulk reprocess, the API's refusals, and
//! bodies pruned by retention while their metadata stays.

use medbus_tests::sink::Sink;
use medbus_tests::{Medbus, Setup};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

fn route(sink: &Sink, max_attempts: u32) -> String {
    format!(
        "id: t.push\nsource:\n  http: {{ path: /push }}\ndestinations:\n  - name: sink\n    max_attempts: {max_attempts}\n    to: {{ http: {{ url: '{}' }} }}\n",
        sink.url("/inbox")
    )
}

async fn post_message(medbus: &Medbus, body: &str) -> String {
    let response = reqwest::Client::new()
        .post(medbus.url("/push"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", medbus.logs());
    let answer: Value = response.json().await.unwrap();
    answer["id"].as_str().unwrap().to_string()
}

/// POSTs to the admin API; the status and the JSON answer.
async fn admin_post(medbus: &Medbus, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(medbus.admin_url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A message's row as the journal holds it, read beside the running process.
#[derive(Debug)]
struct Journaled {
    status: String,
    parent_id: Option<String>,
    source: Value,
    raw: Vec<u8>,
    trace: Value,
    pruned: bool,
    deliveries: Vec<(String, String, i64)>,
}

async fn journaled(medbus: &Medbus, id: &str) -> Option<Journaled> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT status, parent_id, source, raw, trace, pruned_at_us FROM messages WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut db)
        .await
        .unwrap()?;
    let deliveries = sqlx::query("SELECT destination, status, attempts FROM deliveries WHERE message_id = $1")
        .bind(id)
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|d| (d.get(0), d.get(1), d.get(2)))
        .collect();
    let json = |column: &str| serde_json::from_str::<Value>(&row.get::<String, _>(column)).unwrap();
    Some(Journaled {
        status: row.get("status"),
        parent_id: row.get("parent_id"),
        source: json("source"),
        raw: row.get("raw"),
        trace: json("trace"),
        pruned: row.get::<Option<i64>, _>("pruned_at_us").is_some(),
        deliveries,
    })
}

/// Waits until the message's journal entry satisfies `done`.
async fn wait_journaled(medbus: &Medbus, id: &str, secs: u64, done: impl Fn(&Journaled) -> bool) -> Journaled {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let found = journaled(medbus, id).await;
        if let Some(found) = found.filter(&done) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "message {id} did not reach the expected state: {:?}\n{}",
            journaled(medbus, id).await,
            medbus.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn delivery_status(message: &Journaled, status: &str) -> bool {
    message.deliveries.iter().any(|(_, s, _)| s == status)
}

fn header<'a>(received: &'a medbus_tests::sink::Received, name: &str) -> &'a str {
    received.headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_delivered_after_its_destination_is_reprocessed() {
    let sink = Sink::start().await;
    sink.answer_with(503);
    let setup = Setup::empty();
    setup.write("routes/push.yaml", &route(&sink, 2));
    let mut medbus = setup.start().await;
    let id = post_message(&medbus, r#"{"patientId":"P0001"}"#).await;

    let dead = wait_journaled(&medbus, &id, 15, |m| delivery_status(m, "dead")).await;
    assert_eq!(dead.deliveries, [("sink".to_string(), "dead".to_string(), 2)]);
    assert_eq!(sink.received().len(), 2, "max_attempts: 2");

    sink.answer_with(200);
    let (status, answer) = admin_post(&medbus, &format!("/api/messages/{id}/deliveries/sink/reprocess"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reprocess_of"], json!(id));
    assert_eq!(answer["sent_as"], json!(id));
    let new_id = answer["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);

    let received = sink.wait_for_or(3, 10, || medbus.logs()).await;
    assert_eq!(received[2].body, r#"{"patientId":"P0001"}"#, "the stored payload again");
    assert_eq!(header(&received[2], "x-medbus-message-id"), id, "under the original id");
    let redelivery = wait_journaled(&medbus, &new_id, 10, |m| delivery_status(m, "delivered")).await;
    assert_eq!(redelivery.parent_id.as_deref(), Some(id.as_str()));
    assert_eq!(redelivery.source["reprocess_of"], json!(id));
    assert_eq!(redelivery.status, "processed");
    assert_eq!(redelivery.trace[0]["step"], json!("redeliver"));
    assert!(
        delivery_status(&journaled(&medbus, &id).await.unwrap(), "dead"),
        "the original stays as it was"
    );

    let (status, answer) = admin_post(&medbus, "/api/messages/no-such-id/reprocess", None).await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!("UNKNOWN_MESSAGE")));
    let (status, answer) = admin_post(
        &medbus,
        &format!("/api/messages/{id}/deliveries/nowhere/reprocess"),
        None,
    )
    .await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!("UNKNOWN_DELIVERY")));

    // The route is gone after a restart: its messages cannot run again.
    std::fs::remove_file(medbus.config_dir.join("routes/push.yaml")).unwrap();
    medbus.restart().await;
    for path in [
        format!("/api/messages/{id}/reprocess"),
        format!("/api/messages/{id}/deliveries/sink/reprocess"),
    ] {
        let (status, answer) = admin_post(&medbus, &path, None).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (409, &json!("ROUTE_NOT_LOADED")),
            "{path}"
        );
    }
    assert_eq!(sink.received().len(), 3, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_messages_and_dead_letters_in_bulk_run_again() {
    let sink = Sink::start().await;
    sink.answer_with(503);
    let setup = Setup::empty();
    setup.write("routes/push.yaml", &route(&sink, 1));
    let medbus = setup.start().await;
    let from = chrono::Utc::now() - chrono::Duration::seconds(5);
    let first = post_message(&medbus, r#"{"n":1}"#).await;
    let second = post_message(&medbus, r#"{"n":2}"#).await;
    for id in [&first, &second] {
        wait_journaled(&medbus, id, 10, |m| delivery_status(m, "dead")).await;
    }
    sink.answer_with(200);

    // The whole message, through the route as it is now.
    let (status, answer) = admin_post(&medbus, &format!("/api/messages/{first}/reprocess"), None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["reprocess_of"], &answer["status"]),
        (&json!(first), &json!("processed"))
    );
    assert_eq!(answer["reply"]["status"], json!(200));
    let again = answer["id"].as_str().unwrap().to_string();
    let received = sink.wait_for_or(3, 10, || medbus.logs()).await;
    assert_eq!(header(&received[2], "x-medbus-message-id"), again, "a new message");
    assert_eq!(received[2].body, r#"{"n":1}"#);
    let reprocessed = wait_journaled(&medbus, &again, 10, |m| delivery_status(m, "delivered")).await;
    assert_eq!(reprocessed.parent_id.as_deref(), Some(first.as_str()));
    assert_eq!(reprocessed.source["reprocess_of"], json!(first));
    assert_eq!(
        reprocessed.source["content-type"],
        json!("application/json"),
        "the original source metadata"
    );
    assert_eq!(reprocessed.raw, br#"{"n":1}"#);

    // In bulk: the dead letters of the route in a time range.
    let to = chrono::Utc::now() + chrono::Duration::seconds(5);
    let bulk = |extra: Value| {
        let mut body = json!({"route": "t.push", "status": "dead", "from": from.to_rfc3339(), "to": to.to_rfc3339()});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, answer) = admin_post(&medbus, "/api/reprocess", Some(bulk(json!({"dry_run": true})))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((&answer["selected"], &answer["reprocessed"]), (&json!(2), &json!(0)));
    assert_eq!(answer["messages"], json!([{"id": first}, {"id": second}]));
    assert_eq!(sink.received().len(), 3, "a dry run sends nothing");

    let (status, answer) = admin_post(
        &medbus,
        "/api/reprocess",
        Some(bulk(json!({"destination": "sink", "limit": 1}))),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["selected"], &answer["reprocessed"], &answer["failed"]),
        (&json!(1), &json!(1), &json!(0))
    );
    assert_eq!(
        answer["messages"][0]["id"],
        json!(first),
        "oldest first, at most `limit`"
    );
    let (status, answer) = admin_post(&medbus, "/api/reprocess", Some(bulk(json!({"destination": "sink"})))).await;
    assert_eq!((status, &answer["reprocessed"]), (200, &json!(2)), "{answer}");
    let received = sink.wait_for_or(6, 10, || medbus.logs()).await;
    let mut ids: Vec<_> = received[3..]
        .iter()
        .map(|r| header(r, "x-medbus-message-id").to_string())
        .collect();
    ids.sort();
    let mut expected = vec![first.clone(), first.clone(), second.clone()];
    expected.sort();
    assert_eq!(ids, expected, "re-deliveries go out under the original ids");

    // Bad requests change nothing.
    for (body, status, code) in [
        (bulk(json!({"status": "lost"})), 400, "BAD_STATUS"),
        (bulk(json!({"from": "yesterday"})), 400, "BAD_TIME"),
        (bulk(json!({"limit": 10001})), 400, "BAD_LIMIT"),
        (bulk(json!({"destination": "nowhere"})), 400, "UNKNOWN_DESTINATION"),
        (
            bulk(json!({"status": "failed", "destination": "sink"})),
            400,
            "BAD_REQUEST",
        ),
        (bulk(json!({"route": "t.gone"})), 409, "ROUTE_NOT_LOADED"),
        (json!({"route": "t.push"}), 400, "BAD_REQUEST"),
    ] {
        let (got, answer) = admin_post(&medbus, "/api/reprocess", Some(body.clone())).await;
        assert_eq!(
            (got, &answer["error"]["code"]),
            (status, &json!(code)),
            "{body}: {answer}"
        );
    }
    let response = reqwest::Client::new()
        .post(medbus.admin_url("/api/reprocess"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], json!("BAD_REQUEST"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_bodies_and_keeps_metadata() {
    let setup = Setup::empty()
        .env("MEDBUS_RETENTION_BODIES", "1s")
        .env("MEDBUS_RETENTION_ERRORS", "1s")
        .env("MEDBUS_RETENTION_CHECK_EVERY", "1s");
    setup.write("routes/push.yaml", "id: t.push\nsource:\n  http: { path: /push }\n");
    let medbus = setup.start().await;
    let id = post_message(&medbus, r#"{"name":"张三"}"#).await;
    let fresh = journaled(&medbus, &id).await.unwrap();
    assert_eq!(fresh.raw, r#"{"name":"张三"}"#.as_bytes());

    let pruned = wait_journaled(&medbus, &id, 10, |m| m.pruned).await;
    assert!(pruned.raw.is_empty());
    assert_eq!(pruned.trace, json!([]));
    assert_eq!(pruned.status, "processed", "metadata stays");

    let (status, answer) = admin_post(&medbus, &format!("/api/messages/{id}/reprocess"), None).await;
    assert_eq!((status, &answer["error"]["code"]), (410, &json!("PRUNED")));
    let metrics = medbus.metrics().await;
    assert!(
        metrics.contains("medbus_journal_pruned_total{what=\"bodies\"} "),
        "{metrics}"
    );
}
