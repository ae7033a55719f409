//! The journal against real databases: SQLite in a temporary folder and the
//! local PostgreSQL (`MEDBUS_TEST_POSTGRES`, by default
//! `postgres://postgres@127.0.0.1:5432/test`), where each test makes its own
//! database and drops it after.

use super::*;
use bytes::Bytes;
use chrono::TimeZone;
use serde_json::json;
use sqlx::{Connection, Executor};
use std::time::Instant;

/// One test's database, removed when the fixture is dropped.
struct Fixture {
    location: JournalLocation,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<TestDatabase>,
}

struct TestDatabase {
    admin_url: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("MEDBUS_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        // A folder that does not exist yet: opening must create it.
        let path = dir.path().join("data").join("journal.db");
        Fixture {
            location: JournalLocation::Sqlite(path),
            _dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres() -> Fixture {
        let admin_url = admin_url();
        let name = format!("medbus_j_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is needed for this test: {e}"));
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        admin.close().await.unwrap();
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        Fixture {
            location: JournalLocation::Postgres(format!("{base}/{name}")),
            _dir: None,
            postgres: Some(TestDatabase { admin_url, name }),
        }
    }

    async fn open(&self) -> Journal {
        Journal::open(&self.location, Durability::Full).await.unwrap()
    }

    fn is_sqlite(&self) -> bool {
        matches!(self.location, JournalLocation::Sqlite(_))
    }

    /// Runs SQL on a connection of its own, beside the journal's.
    async fn execute(&self, sql: &str) {
        match &self.location {
            JournalLocation::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
            JournalLocation::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

impl Fixture {
    /// A count read on a connection of its own.
    async fn count(&self, sql: &str) -> i64 {
        match &self.location {
            JournalLocation::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            JournalLocation::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }
}

/// The database's write lock, held by a connection of the test's own.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Fixture {
    /// Takes the write lock, so that the journal's writer waits.
    async fn lock_writes(&self) -> WriteLock {
        match &self.location {
            JournalLocation::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
                conn.execute("BEGIN IMMEDIATE").await.unwrap();
                WriteLock::Sqlite(conn)
            }
            JournalLocation::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                conn.execute("BEGIN; LOCK TABLE messages, deliveries IN EXCLUSIVE MODE")
                    .await
                    .unwrap();
                WriteLock::Postgres(conn)
            }
        }
    }
}

impl WriteLock {
    async fn release(self) {
        match self {
            WriteLock::Sqlite(mut conn) => {
                conn.execute("ROLLBACK").await.unwrap();
                conn.close().await.unwrap();
            }
            WriteLock::Postgres(mut conn) => {
                conn.execute("ROLLBACK").await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let Some(db) = self.postgres.take() else {
            return;
        };
        // Drop may run inside the test's runtime: drop the database from a
        // thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&db.admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name).as_str())
                    .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn message(route: &str, received_at: DateTime<Utc>) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        route: route.to_string(),
        received_at,
        status: MessageStatus::Processed,
        source: json!({"method": "POST", "path": "/push", "headers": {"x-vendor": "120"}}),
        content_type: Some("application/xml".to_string()),
        raw: Bytes::from_static(b"<root><applyNo>A0001</applyNo></root>"),
        trace: json!([{"step": "parse", "micros": 12, "outcome": "ok"}]).to_string(),
        reply: Some(json!("ok")),
        error: None,
        duration_us: 250,
        parent_id: None,
        caller: None,
        keys: Vec::new(),
        deliveries: Vec::new(),
    }
}

fn delivery(destination: &str) -> NewDelivery {
    NewDelivery {
        id: new_id(),
        destination: destination.to_string(),
        payload: format!("<to>{destination}</to>"),
        content_type: "application/xml".to_string(),
        context: json!({"vars": {"hospital": {"endpoint": "http://h1/ws"}}}),
        order_key: None,
    }
}

fn update(id: &str, status: DeliveryStatus, attempts: u32, at: DateTime<Utc>) -> DeliveryUpdate {
    DeliveryUpdate {
        id: id.to_string(),
        status,
        attempts,
        next_attempt_at: None,
        error: None,
        response: None,
        at,
        duration_us: 1_000,
    }
}

async fn record_and_read_back(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut raw = "<applyNo>A0001</applyNo><name>张三</name><hospital>厦门市第一医院</hospital>"
        .as_bytes()
        .to_vec();
    // Not text at all: the bytes must come back exactly.
    raw.extend_from_slice(&[0x00, 0xff, 0xfe, 0x80, b'\n']);
    let mut record = message("xiamen-120.push", at(0));
    record.raw = Bytes::from(raw);
    // Keys out of alphabetical order: the journal keeps them as written.
    record.source = json!({"remote": "10.0.0.7", "method": "POST", "headers": {"x-来源": "急救中心"}});
    record.trace = json!([
        {"step": "parse", "micros": 40, "outcome": "ok", "output": {"患者": "张三"}},
        {"step": "validate", "micros": 7, "outcome": "ok"}
    ])
    .to_string();
    record.reply = Some(json!({"result": "成功", "code": 0}));
    record.error = None;
    record.parent_id = Some(new_id());
    let mut hospital = delivery("hospital");
    hospital.payload = "<患者><姓名>张三</姓名></患者>".to_string();
    record.deliveries = vec![hospital, delivery("archive")];
    journal.record(record.clone()).await.unwrap();

    let mut failed = message("xiamen-120.push", at(5));
    failed.status = MessageStatus::Rejected;
    failed.error = Some(json!({"kind": "validation", "code": "10001", "message": "applyNo 必填"}));
    failed.reply = None;
    journal.record(failed.clone()).await.unwrap();
    journal.record(message("other.route", at(3))).await.unwrap();

    let stored = journal.message(&record.id).await.unwrap().unwrap();
    assert_eq!(stored.raw, record.raw);
    assert_eq!(stored.route, record.route);
    assert_eq!(stored.received_at, record.received_at);
    assert_eq!(stored.status, MessageStatus::Processed);
    assert_eq!(stored.source.to_string(), record.source.to_string());
    assert_eq!(stored.trace.to_string(), record.trace);
    assert_eq!(stored.reply, record.reply);
    assert_eq!(stored.error, None);
    assert_eq!(stored.content_type, record.content_type);
    assert_eq!(stored.duration_us, 250);
    assert_eq!(stored.parent_id, record.parent_id);
    let destinations: Vec<_> = stored.deliveries.iter().map(|d| d.destination.as_str()).collect();
    assert_eq!(destinations, ["hospital", "archive"]);
    let first = &stored.deliveries[0];
    assert_eq!(first.id, record.deliveries[0].id);
    assert_eq!(first.payload, "<患者><姓名>张三</姓名></患者>");
    assert_eq!(first.context, record.deliveries[0].context);
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!((first.attempts, first.created_at), (0, at(0)));
    assert_eq!(first.next_attempt_at, Some(at(0)));
    assert!(first.history.is_empty());

    let rejected = journal.message(&failed.id).await.unwrap().unwrap();
    assert_eq!(rejected.error, failed.error);
    assert_eq!(rejected.reply, None);
    assert_eq!(journal.message("no-such-id").await.unwrap(), None);

    let all = journal.search(&MessageFilter::default()).await.unwrap().messages;
    let ids: Vec<_> = all.iter().map(|m| m.route.as_str()).collect();
    assert_eq!(
        ids,
        ["xiamen-120.push", "other.route", "xiamen-120.push"],
        "newest first"
    );
    let filter = MessageFilter {
        route: Some("xiamen-120.push".into()),
        status: Some(MessageStatus::Rejected),
        ..MessageFilter::default()
    };
    let found = journal.search(&filter).await.unwrap().messages;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, failed.id);
    assert_eq!(found[0].error, failed.error);
    let window = MessageFilter {
        received_from: Some(at(3)),
        received_before: Some(at(5)),
        limit: 10,
        ..MessageFilter::default()
    };
    let found = journal.search(&window).await.unwrap().messages;
    assert_eq!(
        found.iter().map(|m| m.route.as_str()).collect::<Vec<_>>(),
        ["other.route"]
    );
    let limited = MessageFilter {
        limit: 1,
        ..MessageFilter::default()
    };
    assert_eq!(journal.search(&limited).await.unwrap().messages[0].received_at, at(5));

    let counts = journal.count_by_status(None).await.unwrap();
    assert_eq!(counts, [("processed".to_string(), 2), ("rejected".to_string(), 1)]);
    let counts = journal.count_by_status(Some("other.route")).await.unwrap();
    assert_eq!(counts, [("processed".to_string(), 1)]);
    journal.shutdown().await;
}

async fn deliveries_fall_due_and_keep_their_history(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut first = message("r", at(0));
    first.deliveries = vec![delivery("hospital"), delivery("archive")];
    let mut second = message("r", at(10));
    second.deliveries = vec![delivery("hospital")];
    journal.record(first.clone()).await.unwrap();
    journal.record(second.clone()).await.unwrap();
    let hospital_1 = first.deliveries[0].id.as_str();
    let archive_1 = first.deliveries[1].id.as_str();
    let hospital_2 = second.deliveries[0].id.as_str();

    let ids = |due: &[PendingDelivery]| due.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&journal
            .due_deliveries("r", "hospital", at(5), 10, DueKind::All)
            .await
            .unwrap()),
        [hospital_1]
    );
    let due = journal
        .due_deliveries("r", "hospital", at(20), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!(due[0].message_id, first.id);
    assert_eq!(due[0].payload, "<to>hospital</to>");
    assert_eq!(due[0].context, first.deliveries[0].context);
    assert_eq!((due[0].attempts, due[0].created_at), (0, at(0)));
    assert_eq!(ids(&due), [hospital_1, hospital_2]);
    assert_eq!(
        journal
            .due_deliveries("r", "hospital", at(20), 1, DueKind::All)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        journal.pending_destinations().await.unwrap(),
        [
            ("r".to_string(), "archive".to_string()),
            ("r".to_string(), "hospital".to_string())
        ]
    );

    // The first attempt fails: try again a minute later.
    let mut failed = update(hospital_1, DeliveryStatus::Pending, 1, at(20));
    failed.next_attempt_at = Some(at(80));
    failed.error = Some("connection refused".into());
    journal.update_delivery(failed).await.unwrap();
    assert_eq!(
        ids(&journal
            .due_deliveries("r", "hospital", at(30), 10, DueKind::All)
            .await
            .unwrap()),
        [hospital_2]
    );
    let due = journal
        .due_deliveries("r", "hospital", at(80), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!(ids(&due), [hospital_2, hospital_1], "in the order they fell due");
    assert_eq!(due[1].attempts, 1);

    let mut delivered = update(hospital_1, DeliveryStatus::Delivered, 2, at(81));
    delivered.response = Some(json!({"status": 200, "body": "成功"}));
    journal.update_delivery(delivered).await.unwrap();
    journal
        .update_delivery(update(archive_1, DeliveryStatus::Dead, 5, at(82)))
        .await
        .unwrap();
    assert_eq!(
        ids(&journal
            .due_deliveries("r", "hospital", at(100), 10, DueKind::All)
            .await
            .unwrap()),
        [hospital_2]
    );
    assert!(journal
        .due_deliveries("r", "archive", at(100), 10, DueKind::All)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        journal.pending_destinations().await.unwrap(),
        [("r".to_string(), "hospital".to_string())]
    );

    let stored = journal.message(&first.id).await.unwrap().unwrap();
    let hospital = &stored.deliveries[0];
    assert_eq!(hospital.status, DeliveryStatus::Delivered);
    assert_eq!((hospital.attempts, hospital.next_attempt_at), (2, None));
    assert_eq!(hospital.updated_at, at(81));
    assert_eq!(hospital.response, Some(json!({"status": 200, "body": "成功"})));
    let history: Vec<_> = hospital
        .history
        .iter()
        .map(|a| (a.attempt, a.at, a.status, a.error.as_deref()))
        .collect();
    assert_eq!(
        history,
        [
            (1, at(20), DeliveryStatus::Pending, Some("connection refused")),
            (2, at(81), DeliveryStatus::Delivered, None),
        ]
    );
    assert_eq!(hospital.history[1].response, hospital.response);
    assert_eq!(stored.deliveries[1].status, DeliveryStatus::Dead);
    assert_eq!(stored.deliveries[1].history.len(), 1);

    let unknown = journal
        .update_delivery(update("no-such-delivery", DeliveryStatus::Delivered, 1, at(90)))
        .await;
    assert!(matches!(unknown, Err(JournalError::UnknownDelivery(id)) if id == "no-such-delivery"));
    journal.shutdown().await;
}

async fn workers_ask_for_retries_only_or_for_the_heads_of_lanes(fixture: Fixture) {
    let journal = fixture.open().await;
    // Three messages of patient A and one of patient B to an ordered
    // destination, one lane per patient.
    let mut ids = Vec::new();
    for (seconds, patient) in [(0, "A"), (1, "B"), (2, "A"), (3, "A")] {
        let mut record = message("r", at(seconds));
        let mut lane = delivery("his");
        lane.order_key = Some(patient.to_string());
        ids.push(lane.id.clone());
        record.deliveries = vec![lane];
        journal.record(record).await.unwrap();
    }
    let due = |kind| journal.due_deliveries("r", "his", at(100), 10, kind);
    let heads = due(DueKind::LaneHeads).await.unwrap();
    let lanes: Vec<_> = heads.iter().map(|d| (d.id.as_str(), d.order_key.as_deref())).collect();
    assert_eq!(lanes, [(ids[0].as_str(), Some("A")), (ids[1].as_str(), Some("B"))]);
    assert!(due(DueKind::Retries).await.unwrap().is_empty(), "nothing attempted yet");

    // A's head fails and waits for its retry: A's lane waits with it, B's does not.
    let mut failed = update(&ids[0], DeliveryStatus::Pending, 1, at(10));
    failed.next_attempt_at = Some(at(200));
    journal.update_delivery(failed).await.unwrap();
    let heads = due(DueKind::LaneHeads).await.unwrap();
    assert_eq!(
        heads.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [ids[1].as_str()]
    );
    let retries = journal
        .due_deliveries("r", "his", at(200), 10, DueKind::Retries)
        .await
        .unwrap();
    assert_eq!(
        retries.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [ids[0].as_str()]
    );

    // Once A's head is delivered, its next message heads the lane.
    journal
        .update_delivery(update(&ids[0], DeliveryStatus::Delivered, 2, at(20)))
        .await
        .unwrap();
    let heads = due(DueKind::LaneHeads).await.unwrap();
    assert_eq!(
        heads.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [ids[1].as_str(), ids[2].as_str()]
    );
    journal.shutdown().await;
}

async fn the_last_of_several_updates_in_a_batch_wins(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("twice", at(0));
    record.deliveries = vec![delivery("hospital")];
    journal.record(record.clone()).await.unwrap();
    let id = record.deliveries[0].id.clone();

    // Hold the writer on one write while three updates of one delivery queue behind it.
    let lock = fixture.lock_writes().await;
    let blocked = tokio::spawn({
        let journal = journal.clone();
        async move { journal.record(message("twice", at(1))).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let updates = tokio::spawn({
        let journal = journal.clone();
        async move {
            let mut retry = update(&id, DeliveryStatus::Pending, 1, at(1));
            retry.next_attempt_at = Some(at(30));
            // Polled in order, so queued in order.
            let (first, second, third) = tokio::join!(
                journal.update_delivery(retry),
                journal.update_delivery(update(&id, DeliveryStatus::Delivered, 2, at(2))),
                journal.update_delivery(update(&id, DeliveryStatus::Dead, 3, at(3))),
            );
            [first, second, third]
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let commits_before = journal.stats().commits;
    lock.release().await;
    blocked.await.unwrap().unwrap();
    for result in updates.await.unwrap() {
        result.unwrap();
    }
    // The held write, then the three updates together (or all four at once
    // when the writer took them up together); one by one would be four commits.
    let commits = journal.stats().commits - commits_before;
    assert!(
        commits <= 2,
        "the three updates did not share a commit: {commits} commits"
    );

    let stored = journal.message(&record.id).await.unwrap().unwrap();
    let delivery = &stored.deliveries[0];
    assert_eq!((delivery.status, delivery.attempts), (DeliveryStatus::Dead, 3));
    let attempts: Vec<_> = delivery.history.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    journal.shutdown().await;
}

async fn concurrent_records_share_commits(fixture: Fixture) {
    let journal = fixture.open().await;
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let journal = journal.clone();
            tokio::spawn(async move {
                let mut record = message("busy", at(i));
                record.deliveries = vec![delivery("hospital")];
                journal.record(record).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = journal.stats();
    assert_eq!((stats.committed, stats.failed), (400, 0));
    assert!(stats.commits < 400, "every message had a commit of its own: {stats:?}");
    let counts = journal.count_by_status(Some("busy")).await.unwrap();
    assert_eq!(counts, [("processed".to_string(), 400)]);
    assert_eq!(
        journal
            .due_deliveries("busy", "hospital", at(1000), 1000, DueKind::All)
            .await
            .unwrap()
            .len(),
        400
    );
    journal.shutdown().await;
}

async fn a_failing_batch_fails_its_callers(fixture: Fixture) {
    let journal = fixture.open().await;
    if fixture.is_sqlite() {
        fixture
            .execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .await;
    } else {
        fixture
            .execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$")
            .await;
        fixture
            .execute("CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH STATEMENT EXECUTE FUNCTION refuse()")
            .await;
    }
    let records: Vec<_> = (0..20).map(|i| message("refused", at(i))).collect();
    let tasks: Vec<_> = records
        .iter()
        .cloned()
        .map(|record| {
            let journal = journal.clone();
            tokio::spawn(async move { journal.record(record).await })
        })
        .collect();
    for task in tasks {
        let result = task.await.unwrap();
        let error = result.expect_err("a refused write must not be reported committed");
        assert!(matches!(error, JournalError::Write(_)), "{error:?}");
        assert!(error.to_string().contains("refused by the test"), "{error}");
    }
    for record in &records {
        assert_eq!(journal.message(&record.id).await.unwrap(), None);
    }
    assert_eq!((journal.stats().commits, journal.stats().failed), (0, 20));

    // The writer goes on with the next batch.
    if fixture.is_sqlite() {
        fixture.execute("DROP TRIGGER refuse").await;
    } else {
        fixture.execute("DROP TRIGGER refuse ON messages").await;
    }
    journal.record(records[0].clone()).await.unwrap();
    journal.record(message("refused", at(30))).await.unwrap();
    assert_eq!(
        journal.count_by_status(Some("refused")).await.unwrap(),
        [("processed".to_string(), 2)]
    );
    journal.shutdown().await;
}

async fn one_faulty_write_fails_alone(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut existing = message("mixed", at(0));
    existing.deliveries = vec![delivery("hospital")];
    journal.record(existing.clone()).await.unwrap();

    let mut duplicate = message("mixed", at(1));
    duplicate.id = existing.id.clone();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let journal = journal.clone();
        tasks.push(tokio::spawn(async move {
            journal.record(message("mixed", at(2 + i))).await
        }));
    }
    let bad_record = tokio::spawn({
        let journal = journal.clone();
        async move { journal.record(duplicate).await }
    });
    let bad_update = tokio::spawn({
        let journal = journal.clone();
        async move {
            journal
                .update_delivery(update("no-such-delivery", DeliveryStatus::Delivered, 1, at(5)))
                .await
        }
    });
    let good_update = tokio::spawn({
        let journal = journal.clone();
        let id = existing.deliveries[0].id.clone();
        async move {
            journal
                .update_delivery(update(&id, DeliveryStatus::Delivered, 1, at(5)))
                .await
        }
    });
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(matches!(bad_record.await.unwrap(), Err(JournalError::Write(_))));
    assert!(matches!(
        bad_update.await.unwrap(),
        Err(JournalError::UnknownDelivery(_))
    ));
    good_update.await.unwrap().unwrap();
    let kept = journal.message(&existing.id).await.unwrap().unwrap();
    assert_eq!(kept.received_at, at(0), "the duplicate did not overwrite the message");
    assert_eq!(kept.deliveries[0].status, DeliveryStatus::Delivered);
    assert_eq!(
        journal.count_by_status(Some("mixed")).await.unwrap(),
        [("processed".to_string(), 31)]
    );
    assert_eq!(journal.stats().failed, 2);
    journal.shutdown().await;
}

async fn reopening_keeps_everything(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("restart", at(0));
    record.raw = Bytes::from("重启前的消息".as_bytes());
    record.deliveries = vec![delivery("hospital")];
    journal.record(record.clone()).await.unwrap();
    let mut retry = update(&record.deliveries[0].id, DeliveryStatus::Pending, 1, at(1));
    retry.next_attempt_at = Some(at(60));
    retry.error = Some("timeout".into());
    journal.update_delivery(retry).await.unwrap();
    let before = journal.message(&record.id).await.unwrap().unwrap();
    journal.shutdown().await;
    let closed = journal.record(message("restart", at(2))).await;
    assert!(matches!(closed, Err(JournalError::Closed)), "{closed:?}");

    let journal = fixture.open().await;
    assert_eq!(journal.message(&record.id).await.unwrap(), Some(before));
    assert_eq!(
        journal.pending_destinations().await.unwrap(),
        [("restart".to_string(), "hospital".to_string())]
    );
    let due = journal
        .due_deliveries("restart", "hospital", at(60), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!((due.len(), due[0].attempts), (1, 1));
    journal.record(message("restart", at(3))).await.unwrap();
    assert_eq!(
        journal.count_by_status(Some("restart")).await.unwrap(),
        [("processed".to_string(), 2)]
    );
    journal.shutdown().await;
}

async fn migrations_are_idempotent(fixture: Fixture) {
    let journal = fixture.open().await;
    let record = message("m", at(0));
    journal.record(record.clone()).await.unwrap();
    journal.shutdown().await;
    for _ in 0..2 {
        let journal = fixture.open().await;
        assert!(journal.message(&record.id).await.unwrap().is_some());
        journal.shutdown().await;
    }
    let expected = if fixture.is_sqlite() {
        sqlite::MIGRATOR.iter().count()
    } else {
        postgres::MIGRATOR.iter().count()
    };
    let applied = match &fixture.location {
        JournalLocation::Sqlite(path) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        JournalLocation::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    };
    assert_eq!(applied as usize, expected);
}

impl Fixture {
    /// Creates the journal's schema as it was after migration `last`, before the later ones.
    async fn migrate_up_to(&self, last: i64) {
        let all = if self.is_sqlite() {
            &sqlite::MIGRATOR
        } else {
            &postgres::MIGRATOR
        };
        let migrator = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(all.iter().filter(|m| m.version <= last).cloned().collect()),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        match &self.location {
            JournalLocation::Sqlite(path) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
                migrator.run(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            JournalLocation::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                migrator.run(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

/// A journal written before deliveries kept their payload and context apart
/// (migration 0007): after the upgrade its pending delivery is still due, with
/// its payload and context, and can be delivered; a delivered one keeps its
/// payload, response and history.
async fn an_upgrade_keeps_pending_deliveries_deliverable(fixture: Fixture) {
    fixture.migrate_up_to(6).await;
    let us = at(0).timestamp_micros();
    fixture
        .execute(&format!(
            "INSERT INTO messages (id, route, received_at_us, status, source, content_type, raw, trace, duration_us)
             VALUES ('m1', 'old', {us}, 'processed', '{{}}', 'text/plain', {raw}, '[]', 5);
             INSERT INTO deliveries (id, message_id, route, destination, ordinal, status, payload, content_type,
                                     context, attempts, created_at_us, next_attempt_at_us, updated_at_us, response)
             VALUES ('d1', 'm1', 'old', 'registry', 0, 'pending', '<p>1</p>', 'application/xml',
                     '{{\"vars\":{{\"n\":1}}}}', 0, {us}, {us}, {us}, NULL),
                    ('d2', 'm1', 'old', 'archive', 1, 'delivered', '<p>2</p>', 'application/xml',
                     '{{}}', 1, {us}, NULL, {us}, '{{\"status\":200}}');
             INSERT INTO delivery_attempts (delivery_id, attempt, at_us, status, response, duration_us)
             VALUES ('d2', 1, {us}, 'delivered', '{{\"status\":200}}', 7);",
            raw = if fixture.is_sqlite() { "X'6869'" } else { "'\\x6869'" },
        ))
        .await;
    let journal = fixture.open().await;
    let due = journal
        .due_deliveries("old", "registry", at(1), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].id.as_str(), due[0].payload.as_str(), &due[0].context),
        ("d1", "<p>1</p>", &json!({"vars": {"n": 1}}))
    );
    journal
        .update_delivery(update("d1", DeliveryStatus::Delivered, 1, at(2)))
        .await
        .unwrap();
    let stored = journal.message("m1").await.unwrap().unwrap();
    let deliveries: Vec<_> = stored
        .deliveries
        .iter()
        .map(|d| (d.id.as_str(), d.status, d.payload.as_str(), d.history.len()))
        .collect();
    assert_eq!(
        deliveries,
        [
            ("d1", DeliveryStatus::Delivered, "<p>1</p>", 1),
            ("d2", DeliveryStatus::Delivered, "<p>2</p>", 1)
        ]
    );
    assert_eq!(stored.deliveries[1].response, Some(json!({"status": 200})));
    assert!(journal.pending_destinations().await.unwrap().is_empty());
    journal.shutdown().await;
}

/// Deliveries of one message with the same payload and context share one
/// stored body; each still reads back its own, also after an update.
async fn deliveries_with_the_same_body_share_it(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("hub", at(0));
    let (hospital, hub_db, monitor) = (delivery("x"), delivery("x"), delivery("monitor"));
    record.deliveries = vec![
        NewDelivery {
            destination: "hospital".into(),
            ..hospital
        },
        NewDelivery {
            destination: "hub-db".into(),
            ..hub_db
        },
        monitor,
    ];
    let ids: Vec<_> = record.deliveries.iter().map(|d| d.id.clone()).collect();
    journal.record(record.clone()).await.unwrap();
    assert_eq!(fixture.count("SELECT COUNT(*) FROM delivery_bodies").await, 2);
    journal
        .update_delivery(update(&ids[1], DeliveryStatus::Delivered, 1, at(1)))
        .await
        .unwrap();
    let stored = journal.message(&record.id).await.unwrap().unwrap();
    let read: Vec<_> = stored
        .deliveries
        .iter()
        .map(|d| (d.destination.as_str(), d.payload.as_str(), d.context.clone()))
        .collect();
    let written: Vec<_> = record
        .deliveries
        .iter()
        .map(|d| (d.destination.as_str(), d.payload.as_str(), d.context.clone()))
        .collect();
    assert_eq!(read, written);
    let due = journal
        .due_deliveries("hub", "hospital", at(1), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!((due.len(), due[0].payload.as_str()), (1, "<to>x</to>"));
    journal.shutdown().await;
}

/// A delivery's last attempt is its row (migration 0008): one done at the
/// first attempt writes no history row, and the attempts before the last
/// move into the history as later ones come, in order.
async fn the_last_attempt_lives_in_the_delivery_row(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("once", at(0));
    record.deliveries = vec![delivery("fast"), delivery("slow")];
    let (fast, slow) = (record.deliveries[0].id.clone(), record.deliveries[1].id.clone());
    journal.record(record.clone()).await.unwrap();
    journal
        .update_delivery(update(&fast, DeliveryStatus::Delivered, 1, at(1)))
        .await
        .unwrap();
    for (attempts, status) in [(1, DeliveryStatus::Pending), (2, DeliveryStatus::Pending)] {
        journal
            .update_delivery(DeliveryUpdate {
                error: Some(format!("refused {attempts}")),
                ..update(&slow, status, attempts, at(i64::from(attempts)))
            })
            .await
            .unwrap();
    }
    journal
        .update_delivery(update(&slow, DeliveryStatus::Dead, 3, at(3)))
        .await
        .unwrap();
    let history_rows = format!("SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = '{fast}'");
    assert_eq!(fixture.count(&history_rows).await, 0);
    let stored = journal.message(&record.id).await.unwrap().unwrap();
    let history = |i: usize| -> Vec<_> {
        stored.deliveries[i]
            .history
            .iter()
            .map(|a| (a.attempt, a.status, a.error.clone()))
            .collect()
    };
    assert_eq!(history(0), [(1, DeliveryStatus::Delivered, None)]);
    assert_eq!(
        history(1),
        [
            (1, DeliveryStatus::Pending, Some("refused 1".to_string())),
            (2, DeliveryStatus::Pending, Some("refused 2".to_string())),
            (3, DeliveryStatus::Dead, None)
        ]
    );
    assert_eq!(stored.deliveries[1].history[2].at, at(3));
    journal.shutdown().await;
}

async fn durability_reaches_the_writer(fixture: Fixture) {
    for (durability, sqlite, postgres) in [(Durability::Full, "2", "on"), (Durability::Normal, "1", "off")] {
        let journal = Journal::open(&fixture.location, durability).await.unwrap();
        let store = &journal.inner.store;
        if let store::Store::Sqlite(sqlite_store) = store {
            assert_eq!(sqlite_store.writer_setting("synchronous").await, sqlite);
            assert_eq!(sqlite_store.writer_setting("journal_mode").await, "wal");
            // The group commit's own connection, opened as the journal opens it.
            let group_commit = sqlite_writer::SqliteBatchWriter::open(&sqlite_store.path, durability).unwrap();
            assert_eq!(group_commit.setting("synchronous"), sqlite);
            assert_eq!(group_commit.setting("journal_mode"), "wal");
            assert_eq!(group_commit.setting("foreign_keys"), "1");
        } else {
            assert_eq!(store.writer_setting("synchronous_commit").await, postgres);
        }
        journal.record(message("d", at(0))).await.unwrap();
        journal.shutdown().await;
    }
}

async fn invalid_text_is_refused_before_writing(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("nul", at(0));
    record.deliveries = vec![delivery("hospital")];
    record.deliveries[0].payload = "a\0b".to_string();
    let refused = journal.record(record.clone()).await;
    assert!(matches!(refused, Err(JournalError::Invalid(_))), "{refused:?}");
    assert_eq!(journal.message(&record.id).await.unwrap(), None);
    assert_eq!(journal.stats(), JournalStats::default());
    journal.shutdown().await;
}

async fn selects_messages_to_reprocess(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut failed = message("r", at(10));
    failed.status = MessageStatus::Failed;
    let mut failed_late = message("r", at(30));
    failed_late.status = MessageStatus::Failed;
    let mut failed_elsewhere = message("other", at(10));
    failed_elsewhere.status = MessageStatus::Failed;
    let mut two_dead = message("r", at(12));
    two_dead.deliveries = vec![delivery("hospital"), delivery("archive")];
    let mut one_dead = message("r", at(11));
    one_dead.deliveries = vec![delivery("hospital"), delivery("archive")];
    let mut delivered = message("r", at(13));
    delivered.deliveries = vec![delivery("hospital")];
    for record in [
        &failed,
        &failed_late,
        &failed_elsewhere,
        &two_dead,
        &one_dead,
        &delivered,
    ] {
        journal.record(record.clone()).await.unwrap();
    }
    for (id, status) in [
        (&two_dead.deliveries[0].id, DeliveryStatus::Dead),
        (&two_dead.deliveries[1].id, DeliveryStatus::Dead),
        (&one_dead.deliveries[0].id, DeliveryStatus::Delivered),
        (&one_dead.deliveries[1].id, DeliveryStatus::Dead),
        (&delivered.deliveries[0].id, DeliveryStatus::Delivered),
    ] {
        journal.update_delivery(update(id, status, 2, at(20))).await.unwrap();
    }
    let select = |status: &str, destination: Option<&str>, limit: u32| ReprocessSelection {
        route: "r".into(),
        status: status.parse().unwrap(),
        destination: destination.map(str::to_string),
        received_from: at(10),
        received_before: at(30),
        limit,
    };
    let ids = journal.select_for_reprocess(&select("failed", None, 10)).await.unwrap();
    assert_eq!(ids, [failed.id.clone()], "one route, `to` excluded");
    let ids = journal.select_for_reprocess(&select("dead", None, 10)).await.unwrap();
    assert_eq!(
        ids,
        [one_dead.id.clone(), two_dead.id.clone()],
        "each message once, oldest first"
    );
    let ids = journal
        .select_for_reprocess(&select("dead", Some("hospital"), 10))
        .await
        .unwrap();
    assert_eq!(ids, [two_dead.id.clone()]);
    let ids = journal.select_for_reprocess(&select("dead", None, 1)).await.unwrap();
    assert_eq!(ids, [one_dead.id.clone()]);
    let ids = journal
        .select_for_reprocess(&select("processed", None, 10))
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    journal.shutdown().await;
}

async fn a_redelivery_goes_out_under_the_original_id(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut record = message("r", at(0));
    record.id = new_id();
    record.parent_id = Some("original-id".into());
    record.deliveries = vec![delivery("hospital")];
    journal.record_redelivery(record.clone(), "original-id").await.unwrap();
    let due = journal
        .due_deliveries("r", "hospital", at(1), 10, DueKind::All)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, record.deliveries[0].id);
    assert_eq!(due[0].message_id, "original-id");
    assert_eq!(due[0].payload, record.deliveries[0].payload);
    let stored = journal.message(&record.id).await.unwrap().unwrap();
    assert_eq!(stored.parent_id.as_deref(), Some("original-id"));
    assert_eq!(stored.deliveries[0].status, DeliveryStatus::Pending);
    let duplicate = journal.record_redelivery(record, "original-id").await;
    assert!(matches!(duplicate, Err(JournalError::Write(_))), "{duplicate:?}");
    journal.shutdown().await;
}

/// Prunes in batches of `limit` until nothing is left to do.
async fn prune_all(journal: &Journal, cutoffs: &PruneCutoffs, limit: u32) -> Pruned {
    let mut cursor = PruneCursor::default();
    let mut total = Pruned::default();
    loop {
        let pruned = journal
            .prune_batch(cutoffs, &mut cursor, at(1000), limit)
            .await
            .unwrap();
        total += pruned;
        if pruned.bodies < u64::from(limit) && pruned.metadata < u64::from(limit) {
            return total;
        }
    }
}

async fn retention_empties_bodies_and_keeps_metadata(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut delivered = message("r", at(0));
    delivered.deliveries = vec![delivery("hospital")];
    let mut dead = message("r", at(1));
    dead.deliveries = vec![delivery("hospital")];
    let mut pending = message("r", at(2));
    pending.deliveries = vec![delivery("hospital")];
    let mut rejected = message("r", at(3));
    rejected.status = MessageStatus::Rejected;
    rejected.error = Some(json!({"kind": "rejected", "code": "MISSING_FIELD", "message": "body.name is required"}));
    let plain = message("r", at(4));
    let young = message("r", at(500));
    for record in [&delivered, &dead, &pending, &rejected, &plain, &young] {
        journal.record(record.clone()).await.unwrap();
    }
    let mut answered = update(&delivered.deliveries[0].id, DeliveryStatus::Delivered, 1, at(5));
    answered.response = Some(json!({"status": 200, "body": "张三 received"}));
    journal.update_delivery(answered).await.unwrap();
    journal
        .update_delivery(update(&dead.deliveries[0].id, DeliveryStatus::Dead, 2, at(5)))
        .await
        .unwrap();

    // Bodies received before 100 s go; errors (rejected, dead) only before 2 s.
    let cutoffs = PruneCutoffs {
        bodies: at(100),
        errors: at(2),
        metadata: None,
    };
    // Batches of two: the cursor carries each batch on after the last.
    let pruned = prune_all(&journal, &cutoffs, 2).await;
    assert_eq!(pruned, Pruned { bodies: 3, metadata: 0 }, "delivered, dead, plain");

    let emptied = journal.message(&delivered.id).await.unwrap().unwrap();
    assert_eq!(emptied.pruned_at, Some(at(1000)));
    assert!(emptied.raw.is_empty());
    assert_eq!(emptied.trace, json!([]));
    assert_eq!(emptied.reply, None);
    assert_eq!(
        (emptied.status, emptied.duration_us, emptied.received_at),
        (MessageStatus::Processed, 250, at(0))
    );
    let kept = &emptied.deliveries[0];
    assert_eq!((kept.status, kept.attempts), (DeliveryStatus::Delivered, 1));
    assert_eq!(
        (kept.payload.as_str(), &kept.context, &kept.response),
        ("", &json!({}), &None)
    );
    assert_eq!(kept.history.len(), 1);
    assert_eq!(kept.history[0].response, None);
    assert!(journal.message(&dead.id).await.unwrap().unwrap().raw.is_empty());

    for untouched in [&pending, &rejected, &young] {
        let stored = journal.message(&untouched.id).await.unwrap().unwrap();
        assert_eq!(stored.pruned_at, None, "{}", untouched.id);
        assert_eq!(stored.raw, untouched.raw);
    }
    assert_eq!(
        journal.message(&pending.id).await.unwrap().unwrap().deliveries[0].payload,
        pending.deliveries[0].payload
    );

    // Errors past their own age go too; a second pass finds nothing more.
    let cutoffs = PruneCutoffs {
        errors: at(100),
        ..cutoffs
    };
    assert_eq!(
        prune_all(&journal, &cutoffs, 100).await,
        Pruned { bodies: 1, metadata: 0 }
    );
    let rejected_now = journal.message(&rejected.id).await.unwrap().unwrap();
    assert!(rejected_now.raw.is_empty());
    assert_eq!(rejected_now.error, rejected.error, "the error is metadata");
    assert_eq!(prune_all(&journal, &cutoffs, 100).await, Pruned::default());

    // Metadata past its age is deleted with deliveries and attempts; the
    // message with a pending delivery stays.
    let cutoffs = PruneCutoffs {
        metadata: Some(at(100)),
        ..cutoffs
    };
    assert_eq!(
        prune_all(&journal, &cutoffs, 2).await,
        Pruned { bodies: 0, metadata: 4 }
    );
    assert_eq!(journal.message(&delivered.id).await.unwrap(), None);
    assert!(journal.message(&pending.id).await.unwrap().is_some());
    assert!(journal.message(&young.id).await.unwrap().is_some());
    let counts = journal.count_by_status(Some("r")).await.unwrap();
    assert_eq!(counts, [("processed".to_string(), 2)]);
    let orphans = fixture.count("SELECT COUNT(*) FROM delivery_attempts").await;
    assert_eq!(orphans, 0, "attempts of deleted deliveries are deleted");
    journal.shutdown().await;
}

/// The caller is kept and found again; a secret a caller sent is masked
/// everywhere the message is kept.
async fn the_caller_is_kept_and_secrets_are_masked(fixture: Fixture) {
    let journal = fixture.open().await;
    let redactor = crate::secrets::Redactor::new(["s3cret-120"]);
    let mut record = message("xiamen-120.push", at(0));
    record.caller = Some("vendor-120".into());
    record.raw = Bytes::from_static(b"<root><secret>s3cret-120</secret></root>");
    record.source = json!({"headers": {"x-secret": "s3cret-120"}});
    record.trace = json!([{"step": "parse", "output": {"body": {"root": {"secret": "s3cret-120"}}}}]).to_string();
    record.reply = Some(json!({"echo": "s3cret-120"}));
    record.error = Some(json!({"code": "E", "message": "bad s3cret-120"}));
    let mut hospital = delivery("hospital");
    hospital.payload = "<secret>s3cret-120</secret>".into();
    hospital.context = json!({"body": {"secret": "s3cret-120"}});
    record.deliveries = vec![hospital];
    record.redact(&redactor);
    journal.record(record.clone()).await.unwrap();
    journal.record(message("xiamen-120.push", at(1))).await.unwrap();

    let stored = journal.message(&record.id).await.unwrap().unwrap();
    assert_eq!(stored.caller.as_deref(), Some("vendor-120"));
    assert_eq!(stored.raw, Bytes::from_static(b"<root><secret>******</secret></root>"));
    let kept = format!(
        "{} {} {:?} {:?} {} {}",
        stored.source,
        stored.trace,
        stored.reply,
        stored.error,
        stored.deliveries[0].payload,
        stored.deliveries[0].context
    );
    assert!(!kept.contains("s3cret-120"), "{kept}");
    assert_eq!(kept.matches("******").count(), 6, "{kept}");
    let found = journal.search(&MessageFilter::default()).await.unwrap().messages;
    let callers: Vec<_> = found.iter().map(|m| m.caller.as_deref()).collect();
    assert_eq!(callers, [None, Some("vendor-120")]);
    journal.shutdown().await;
}

fn keyed(route: &str, received_at: DateTime<Utc>, keys: &[(&str, &str)]) -> MessageRecord {
    let mut record = message(route, received_at);
    record.keys = keys.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    record
}

/// Business keys are written with their message, found through their
/// index, listed with each summary, and deleted with the message.
async fn messages_are_found_by_their_business_keys(fixture: Fixture) {
    let journal = fixture.open().await;
    let first = keyed("120.push", at(0), &[("applyNo", "A0001"), ("eventNo", "E1")]);
    let second = keyed("120.push", at(1), &[("applyNo", "A0002"), ("eventNo", "E1")]);
    let other = keyed("his.adt", at(2), &[("PatientID", "A0001")]);
    // Concurrent records share a commit: the batched insert carries every key.
    let (a, b, c) = tokio::join!(
        journal.record(first.clone()),
        journal.record(second.clone()),
        journal.record(other.clone())
    );
    for written in [a, b, c] {
        written.unwrap();
    }

    let by_key = |name: &str, value: &str| MessageFilter {
        key: Some((name.into(), value.into())),
        ..MessageFilter::default()
    };
    let ids = |page: SearchPage| page.messages.into_iter().map(|m| m.id).collect::<Vec<String>>();
    assert_eq!(
        ids(journal.search(&by_key("applyNo", "A0001")).await.unwrap()),
        vec![first.id.clone()]
    );
    assert_eq!(
        ids(journal.search(&by_key("eventNo", "E1")).await.unwrap()),
        [second.id.clone(), first.id.clone()],
        "newest first"
    );
    assert!(journal
        .search(&by_key("applyNo", "A0003"))
        .await
        .unwrap()
        .messages
        .is_empty());
    let page = journal.search(&by_key("PatientID", "A0001")).await.unwrap();
    assert_eq!(page.messages[0].keys, [("PatientID".to_string(), "A0001".to_string())]);
    let stored = journal.message(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.keys, first.keys);

    // Bodies pruned: the keys are metadata and stay; metadata deleted: they go.
    let cutoffs = PruneCutoffs {
        bodies: at(100),
        errors: at(100),
        metadata: None,
    };
    prune_all(&journal, &cutoffs, 64).await;
    assert_eq!(
        ids(journal.search(&by_key("applyNo", "A0001")).await.unwrap()),
        vec![first.id.clone()]
    );
    let cutoffs = PruneCutoffs {
        metadata: Some(at(100)),
        ..cutoffs
    };
    prune_all(&journal, &cutoffs, 64).await;
    assert!(journal
        .search(&by_key("eventNo", "E1"))
        .await
        .unwrap()
        .messages
        .is_empty());
    assert_eq!(fixture.count("SELECT COUNT(*) FROM message_keys").await, 0);
    journal.shutdown().await;
}

/// Pages follow each other by cursor without gaps or repeats, messages of
/// one microsecond included; a text search looks at a bounded window.
async fn searches_page_newest_first_and_find_text(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut written = Vec::new();
    for n in 0..7 {
        // Two messages per second, the last two in the same microsecond.
        let mut record = message("paged", at(n / 2));
        if n % 3 == 0 {
            record.status = MessageStatus::Failed;
        }
        record.raw = Bytes::from(format!(
            "<patient><name>{}</name></patient>",
            if n == 4 { "张三" } else { "李四" }
        ));
        journal.record(record.clone()).await.unwrap();
        written.push(record);
    }
    let mut newest_first: Vec<_> = written.iter().map(|r| (r.received_at, r.id.clone())).collect();
    newest_first.sort();
    newest_first.reverse();
    let mut seen = Vec::new();
    let mut filter = MessageFilter {
        route: Some("paged".into()),
        limit: 3,
        ..MessageFilter::default()
    };
    loop {
        let page = journal.search(&filter).await.unwrap();
        assert!(!page.truncated);
        seen.extend(page.messages.iter().map(|m| (m.received_at, m.id.clone())));
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let failed = MessageFilter {
        route: Some("paged".into()),
        status: Some(MessageStatus::Failed),
        received_from: Some(at(1)),
        ..MessageFilter::default()
    };
    let found = journal.search(&failed).await.unwrap().messages;
    assert_eq!(
        found.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [written[6].id.as_str(), written[3].id.as_str()]
    );

    let text = MessageFilter {
        text: Some("张三".into()),
        ..MessageFilter::default()
    };
    let page = journal.search(&text).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(
        (page.messages[0].id.as_str(), page.next.is_none(), page.truncated),
        (written[4].id.as_str(), true, false)
    );
    journal.shutdown().await;
}

/// A paused route stays paused across a reopening; resuming is recorded too.
async fn route_states_are_kept(fixture: Fixture) {
    let journal = fixture.open().await;
    assert!(journal.route_states().await.unwrap().is_empty());
    let paused = RouteState {
        route: "120.push".into(),
        paused: true,
        changed_at: at(0),
        changed_by: Some("operator".into()),
    };
    journal.set_route_state(&paused).await.unwrap();
    journal.shutdown().await;
    let journal = fixture.open().await;
    assert_eq!(journal.route_states().await.unwrap(), vec![paused.clone()]);
    let resumed = RouteState {
        paused: false,
        changed_at: at(5),
        changed_by: None,
        ..paused
    };
    journal.set_route_state(&resumed).await.unwrap();
    assert_eq!(journal.route_states().await.unwrap(), [resumed]);
    journal.shutdown().await;
}

/// Queued and dead deliveries per route, and a route's last error.
async fn routes_have_queue_counts_and_a_last_error(fixture: Fixture) {
    let journal = fixture.open().await;
    let mut queued = message("a", at(0));
    queued.deliveries = vec![delivery("x"), delivery("y")];
    let mut dead = message("b", at(1));
    dead.deliveries = vec![delivery("x")];
    let mut rejected = message("a", at(2));
    rejected.status = MessageStatus::Rejected;
    rejected.error = Some(json!({"code": "MISSING_FIELD", "message": "applyNo is required"}));
    let mut failed = message("a", at(3));
    failed.status = MessageStatus::Failed;
    failed.error = Some(json!({"code": "SCRIPT_FAILED", "message": "boom"}));
    for record in [&queued, &dead, &rejected, &failed, &message("a", at(4))] {
        journal.record(record.clone()).await.unwrap();
    }
    journal
        .update_delivery(update(&dead.deliveries[0].id, DeliveryStatus::Dead, 1, at(5)))
        .await
        .unwrap();
    assert_eq!(
        journal.delivery_counts().await.unwrap(),
        [("a".to_string(), 2, 0), ("b".to_string(), 0, 1)]
    );
    assert_eq!(
        journal.last_error("a").await.unwrap(),
        Some((at(3), failed.error.clone()))
    );
    assert_eq!(journal.last_error("b").await.unwrap(), None);
    journal.shutdown().await;
}

/// Counts by bucket, status and caller, with latency percentiles.
async fn statistics_count_by_bucket_and_caller(fixture: Fixture) {
    let journal = fixture.open().await;
    let record = |route: &str, second: i64, status: MessageStatus, micros: i64, caller: Option<&str>| {
        let mut record = message(route, at(second));
        record.status = status;
        record.duration_us = micros;
        record.caller = caller.map(str::to_string);
        record
    };
    let records = [
        record("a", 0, MessageStatus::Processed, 1_200, Some("vendor-1")),
        record("a", 10, MessageStatus::Processed, 1_300, Some("vendor-1")),
        record("a", 20, MessageStatus::Rejected, 60_000, Some("vendor-2")),
        record("a", 70, MessageStatus::Failed, 2_500, Some("vendor-1")),
        record("b", 80, MessageStatus::Processed, 400, None),
        record("a", 500, MessageStatus::Processed, 1_000, Some("vendor-1")),
    ];
    for r in &records {
        journal.record(r.clone()).await.unwrap();
    }
    let query = StatsQuery {
        route: Some("a".into()),
        caller: None,
        from: at(0),
        to: at(120),
        bucket_us: 60_000_000,
    };
    let buckets = journal.stats_over_time(&query).await.unwrap();
    assert_eq!(buckets.keys().copied().collect::<Vec<_>>(), [0, 1]);
    let first = &buckets[&0];
    assert_eq!(
        (
            first.total(),
            first.count(MessageStatus::Processed),
            first.count(MessageStatus::Rejected)
        ),
        (3, 2, 1)
    );
    let p50 = first.percentile(0.5).unwrap();
    assert!((1_000..=1_500).contains(&p50), "{p50}");
    assert!(first.percentile(0.99).unwrap() >= 50_000);
    assert_eq!(buckets[&1].count(MessageStatus::Failed), 1);

    let vendor_1 = StatsQuery {
        route: None,
        caller: Some("vendor-1".into()),
        ..query.clone()
    };
    let buckets = journal.stats_over_time(&vendor_1).await.unwrap();
    assert_eq!((buckets[&0].total(), buckets[&1].total()), (2, 1));

    let callers = journal.stats_by_caller(at(0), at(600)).await.unwrap();
    let keys: Vec<_> = callers.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            ("vendor-1".to_string(), "a".to_string()),
            ("vendor-2".to_string(), "a".to_string())
        ]
    );
    let vendor_1 = &callers[&("vendor-1".to_string(), "a".to_string())];
    assert_eq!((vendor_1.total(), vendor_1.count(MessageStatus::Failed)), (4, 1));
    journal.shutdown().await;
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Fixture::sqlite()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Fixture::postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    record_and_read_back,
    deliveries_fall_due_and_keep_their_history,
    workers_ask_for_retries_only_or_for_the_heads_of_lanes,
    the_last_of_several_updates_in_a_batch_wins,
    concurrent_records_share_commits,
    a_failing_batch_fails_its_callers,
    one_faulty_write_fails_alone,
    reopening_keeps_everything,
    migrations_are_idempotent,
    an_upgrade_keeps_pending_deliveries_deliverable,
    deliveries_with_the_same_body_share_it,
    the_last_attempt_lives_in_the_delivery_row,
    durability_reaches_the_writer,
    invalid_text_is_refused_before_writing,
    selects_messages_to_reprocess,
    a_redelivery_goes_out_under_the_original_id,
    retention_empties_bodies_and_keeps_metadata,
    the_caller_is_kept_and_secrets_are_masked,
    messages_are_found_by_their_business_keys,
    searches_page_newest_first_and_find_text,
    route_states_are_kept,
    routes_have_queue_counts_and_a_last_error,
    statistics_count_by_bucket_and_caller,
);

/// Processed messages stay out of SQLite's status indexes (migration 0009);
/// the queries for the other statuses name the indexes' condition, so that
/// the planner takes them instead of reading a route's or the whole
/// journal's processed messages.
#[tokio::test]
async fn sqlite_queries_for_failures_use_the_partial_status_indexes() {
    use sqlx::Row;
    let fixture = Fixture::sqlite();
    let journal = fixture.open().await;
    let store::Store::Sqlite(sqlite) = &journal.inner.store else {
        unreachable!()
    };
    let failed = |route: Option<&str>| MessageFilter {
        route: route.map(str::to_string),
        status: Some(MessageStatus::Failed),
        limit: 10,
        ..MessageFilter::default()
    };
    let search = |filter: MessageFilter| {
        let (sql, args) = sql::search(&filter, sql::Dialect::Sqlite).page;
        let args = args
            .into_iter()
            .map(|arg| match arg {
                sql::SearchArg::Text(t) => t,
                sql::SearchArg::Int(i) => i.to_string(),
                sql::SearchArg::Bytes(_) => unreachable!(),
            })
            .collect::<Vec<_>>();
        (sql, args)
    };
    let reprocess = sql::select_by_status(MessageStatus::Failed);
    let one = |x: &str| vec![x.to_string()];
    let cases = [
        (search(failed(None)), "messages_by_status"),
        (search(failed(Some("r"))), "messages_by_route_status"),
        ((sql::LAST_ERROR.to_string(), one("r")), "messages_by_route_status"),
        (
            (
                reprocess,
                vec!["r".into(), "failed".into(), "0".into(), "1".into(), "5".into()],
            ),
            "messages_by_route_status",
        ),
    ];
    for ((sql, args), index) in cases {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query(&explain);
        for arg in &args {
            query = query.bind(arg);
        }
        let plan: Vec<String> = query
            .fetch_all(&sqlite.reader)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>(3))
            .collect();
        assert!(plan.iter().any(|step| step.contains(index)), "{sql}\nplan: {plan:?}");
    }
    journal.shutdown().await;
}

/// Under constant load with retention, the SQLite file stops growing: the
/// pages emptied bodies held are reused by the next messages' bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_stays_bounded_under_retention() {
    const MESSAGES: usize = 1_000;
    let fixture = Fixture::sqlite();
    let JournalLocation::Sqlite(path) = fixture.location.clone() else {
        unreachable!()
    };
    let body = Bytes::from("x".repeat(8 * 1024));
    let mut sizes = Vec::new();
    for round in 0..4 {
        let journal = fixture.open().await;
        let records = (0..MESSAGES).map(|n| {
            let mut record = message("load", at(round * 10_000 + n as i64));
            record.raw = body.clone();
            record
        });
        futures::future::try_join_all(records.map(|r| journal.record(r)))
            .await
            .unwrap();
        // A retention of "everything received so far": what a short age
        // does to the previous rounds under constant load.
        let cutoffs = PruneCutoffs {
            bodies: at((round + 1) * 10_000),
            errors: at((round + 1) * 10_000),
            metadata: None,
        };
        let pruned = prune_all(&journal, &cutoffs, 256).await;
        assert_eq!(pruned.bodies, MESSAGES as u64);
        // Closing checkpoints the WAL into the file.
        journal.shutdown().await;
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    let written_per_round = (MESSAGES * body.len()) as u64;
    let growth = sizes[3] - sizes[1];
    println!("file sizes after each round: {sizes:?}");
    // Without reuse the file would grow by two rounds of bodies. What it
    // does grow by is the kept metadata: each round's rows stay in leaf
    // pages the pruned bodies no longer fill (about 1 MB a round here,
    // more or less with how commits happen to batch under load).
    assert!(
        growth < written_per_round / 2,
        "the file grew by {growth} bytes over two rounds of {written_per_round} bytes of bodies: {sizes:?}"
    );
}

/// Records 20,000 messages from 64 concurrent tasks and prints the rate.
/// Run in release mode:
/// `cargo test -p medbus --release journal::tests::throughput -- --ignored --nocapture`
async fn throughput(fixture: Fixture, durability: Durability) {
    const MESSAGES: usize = 20_000;
    const TASKS: usize = 64;
    let journal = Journal::open(&fixture.location, durability).await.unwrap();
    let raw = Bytes::from(format!("<applyRecord>{}</applyRecord>", "<field>值</field>".repeat(60)));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let journal = journal.clone();
            let raw = raw.clone();
            tokio::spawn(async move {
                for i in (task..MESSAGES).step_by(TASKS) {
                    let mut record = message("throughput", at(i as i64));
                    record.raw = raw.clone();
                    record.deliveries = vec![delivery("hospital")];
                    journal.record(record).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let stats = journal.stats();
    journal.shutdown().await;
    assert_eq!(stats.committed, MESSAGES as u64);
    println!(
        "{:?} {durability:?}: {MESSAGES} messages ({} raw bytes, 1 delivery each) from {TASKS} tasks in {:.2} s: {:.0} messages/s, {} commits, {:.1} messages per commit",
        fixture.location,
        raw.len(),
        elapsed.as_secs_f64(),
        MESSAGES as f64 / elapsed.as_secs_f64(),
        stats.commits,
        stats.committed as f64 / stats.commits as f64,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
async fn throughput_sqlite_full() {
    throughput(Fixture::sqlite(), Durability::Full).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
async fn throughput_sqlite_normal() {
    throughput(Fixture::sqlite(), Durability::Normal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
async fn throughput_postgres_full() {
    throughput(Fixture::postgres().await, Durability::Full).await;
}

/// Searches on a journal of a million messages: a key lookup, a page of a
/// route's failed messages in a week and the page after it, and a text
/// search. The rows are written by SQL in batches of 100,000 (the journal's
/// own writer would take minutes), with the indexes of the migrations.
/// `cargo test -p medbus --release --lib journal::tests::search_a_million -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
async fn search_a_million_messages() {
    const MESSAGES: i64 = 1_000_000;
    const BATCH: i64 = 100_000;
    let fixture = Fixture::sqlite();
    fixture.open().await.shutdown().await;
    let start_us = at(0).timestamp_micros();
    // One message every 2.6 s spreads a million over 30 days; ten routes
    // (by a hash of the number, independent of the status), 90 % processed, 5 % rejected, 4 % failed, 1 % filtered.
    let filled = Instant::now();
    for first in (0..MESSAGES).step_by(BATCH as usize) {
        fixture
            .execute(&format!(
                "BEGIN;
                 WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {end})
                 INSERT INTO messages (id, route, received_at_us, status, source, content_type, raw, trace, reply,
                                       error, duration_us, parent_id, caller)
                 SELECT printf('%016x-%08d', {start_us} + i * 2592000, i), 'route.' || ((i * 2654435761) % 1000003 % 10),
                        {start_us} + i * 2592000,
                        CASE WHEN i % 100 < 90 THEN 'processed' WHEN i % 100 < 95 THEN 'rejected'
                             WHEN i % 100 < 99 THEN 'failed' ELSE 'filtered' END,
                        '{{}}', 'application/xml',
                        CAST('<root><applyNo>A' || i || '</applyNo><name>patient ' || (i % 5000) || '</name></root>'
                             || printf('%.300c', 'x') AS BLOB),
                        '[]', NULL, NULL, 1000 + (i * 7919) % 50000, NULL,
                        CASE WHEN i % 3 = 0 THEN 'vendor-' || (i % 7) END
                 FROM n;
                 WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {end})
                 INSERT INTO message_keys (message_id, name, value)
                 SELECT printf('%016x-%08d', {start_us} + i * 2592000, i), 'applyNo', 'A' || i FROM n
                 UNION ALL
                 SELECT printf('%016x-%08d', {start_us} + i * 2592000, i), 'eventNo', 'E' || (i / 3) FROM n;
                 COMMIT;",
                end = first + BATCH
            ))
            .await;
    }
    println!("filled {MESSAGES} messages in {:.1?}", filled.elapsed());
    let journal = fixture.open().await;
    let timed = |name: &'static str| {
        let started = Instant::now();
        move |found: usize| println!("{name}: {found} found in {:.2?}", started.elapsed())
    };

    let done = timed("newest 50, no condition");
    done(
        journal
            .search(&MessageFilter {
                limit: 50,
                ..MessageFilter::default()
            })
            .await
            .unwrap()
            .messages
            .len(),
    );
    let done = timed("last error of route.3");
    done(journal.last_error("route.3").await.unwrap().into_iter().count());

    let done = timed("key applyNo:A777777");
    let filter = MessageFilter {
        key: Some(("applyNo".into(), "A777777".into())),
        ..MessageFilter::default()
    };
    let page = journal.search(&filter).await.unwrap();
    done(page.messages.len());
    assert_eq!(page.messages.len(), 1);

    let done = timed("key eventNo:E123456 (3 messages)");
    let filter = MessageFilter {
        key: Some(("eventNo".into(), "E123456".into())),
        ..MessageFilter::default()
    };
    done(journal.search(&filter).await.unwrap().messages.len());

    let week = MessageFilter {
        route: Some("route.3".into()),
        status: Some(MessageStatus::Failed),
        received_from: Some(at(0) + chrono::Duration::days(20)),
        received_before: Some(at(0) + chrono::Duration::days(27)),
        limit: 50,
        ..MessageFilter::default()
    };
    let done = timed("route.3, failed, 7 days, first page of 50");
    let page = journal.search(&week).await.unwrap();
    done(page.messages.len());
    let done = timed("route.3, failed, 7 days, second page");
    let second = MessageFilter {
        after: page.next.clone(),
        ..week.clone()
    };
    done(journal.search(&second).await.unwrap().messages.len());

    let done = timed("route.3, all statuses, 7 days, first page of 50");
    let any_status = MessageFilter {
        status: None,
        ..week.clone()
    };
    done(journal.search(&any_status).await.unwrap().messages.len());

    let done = timed("text `patient 4321` over the newest 10,000");
    let text = MessageFilter {
        text: Some("patient 4321<".into()),
        limit: 50,
        ..MessageFilter::default()
    };
    let page = journal.search(&text).await.unwrap();
    done(page.messages.len());
    assert!(
        page.truncated && page.next.is_some(),
        "the window ends before the page is full"
    );
    let done = timed("the same again");
    done(journal.search(&text).await.unwrap().messages.len());

    let done = timed("stats route.3, 7 days by hour (100,000 messages)");
    let hourly = StatsQuery {
        route: Some("route.3".into()),
        caller: None,
        from: at(0) + chrono::Duration::days(20),
        to: at(0) + chrono::Duration::days(27),
        bucket_us: 3_600_000_000,
    };
    done(journal.stats_over_time(&hourly).await.unwrap().len());
    let done = timed("stats all routes, 1 day by 5 minutes (33,000 messages)");
    let five_minutes = StatsQuery {
        route: None,
        to: at(0) + chrono::Duration::days(21),
        bucket_us: 300_000_000,
        ..hourly
    };
    done(journal.stats_over_time(&five_minutes).await.unwrap().len());
    let done = timed("stats per caller and route, 1 day");
    done(
        journal
            .stats_by_caller(at(0) + chrono::Duration::days(20), at(0) + chrono::Duration::days(21))
            .await
            .unwrap()
            .len(),
    );
    let done = timed("stats per caller and route, 30 days (333,000 messages)");
    done(
        journal
            .stats_by_caller(at(0), at(0) + chrono::Duration::days(31))
            .await
            .unwrap()
            .len(),
    );
    journal.shutdown().await;
}
