//! An acknowledged message is in the journal, whatever happens to the
//! process right after: SIGKILL under load, restart, look for every id.

use medbus_tests::load::post_until_killed;
use medbus_tests::{create_postgres_database, drop_database, postgres_url, Setup};
use std::collections::HashSet;
use std::time::Duration;

const ROUTE: &str = "id: t.ingest\nsource:\n  http: { path: /ingest }\n";

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
        let acked = post_until_killed(&mut medbus, "/ingest", 32, Duration::from_millis(1500)).await;
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
        let acked = post_until_killed(&mut medbus, "/ingest", 32, Duration::from_millis(1500)).await;
        all_acked.extend(acked);
        let journaled = journaled_ids_postgres(&url).await;
        assert_all_journaled(&all_acked, &journaled, round);
        medbus.restart().await;
    }
    drop(medbus);
    drop_database(&database).await;
}
