//! An acknowledged message is in the journal, whatever happens to the
//! process right after: SIGKILL under load, restart, look for every id.

use medbus_tests::{create_postgres_database, drop_database, postgres_url, Medbus, Setup};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUTE: &str = "id: t.ingest\nsource:\n  http: { path: /ingest }\n";

/// Sends from 32 tasks until killed; returns the ids of every 200 answer.
async fn load_then_kill(medbus: &mut Medbus, run_for: Duration) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let client = reqwest::Client::new();
    let url = medbus.url("/ingest");
    let mut tasks = Vec::new();
    for worker in 0..32 {
        let (client, url, acked) = (client.clone(), url.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let Ok(response) = client
                    .post(&url)
                    .body(format!("{{\"worker\":{worker},\"n\":{n}}}"))
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() != 200 {
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                acked.lock().unwrap().insert(body["id"].as_str().unwrap().to_string());
            }
        }));
    }
    tokio::time::sleep(run_for).await;
    medbus.kill();
    for task in tasks {
        let _ = task.await;
    }
    let ids = acked.lock().unwrap().clone();
    ids
}

async fn journaled_ids_sqlite(file: &std::path::Path) -> HashSet<String> {
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display()))
        .await
        .unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM messages")
        .fetch_all(&mut db)
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

async fn journaled_ids_postgres(url: &str) -> HashSet<String> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM messages")
        .fetch_all(&mut db)
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

fn assert_all_journaled(acked: &HashSet<String>, journaled: &HashSet<String>, round: usize) {
    let lost: Vec<_> = acked.difference(journaled).collect();
    println!(
        "round {round}: {} acknowledged, {} journaled, {} lost",
        acked.len(),
        journaled.len(),
        lost.len()
    );
    assert!(!acked.is_empty(), "the load produced no acknowledgement");
    assert!(lost.is_empty(), "acknowledged but not journaled: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_message_sqlite() {
    let setup = Setup::empty();
    setup.write("routes/ingest.yaml", ROUTE);
    let mut medbus = setup.start().await;
    let mut all_acked = HashSet::new();
    for round in 1..=3 {
        let acked = load_then_kill(&mut medbus, Duration::from_millis(1500)).await;
        all_acked.extend(acked);
        let journaled = journaled_ids_sqlite(&medbus.journal_file()).await;
        assert_all_journaled(&all_acked, &journaled, round);
        medbus.restart().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_message_postgres() {
    let database = create_postgres_database().await;
    let url = postgres_url(&database);
    let setup = Setup::empty().env("MEDBUS_JOURNAL", &url);
    setup.write("routes/ingest.yaml", ROUTE);
    let mut medbus = setup.start().await;
    let mut all_acked = HashSet::new();
    for round in 1..=2 {
        let acked = load_then_kill(&mut medbus, Duration::from_millis(1500)).await;
        all_acked.extend(acked);
        let journaled = journaled_ids_postgres(&url).await;
        assert_all_journaled(&all_acked, &journaled, round);
        medbus.restart().await;
    }
    drop(medbus);
    drop_database(&database).await;
}
