//! The `file` source: files dropped in a folder are cut into messages,
//! journaled, and moved on; a file refused as a whole goes to `error/`; a
//! file being read when medbus stopped is read again without repeating the
//! messages the journal already holds.

use medbus_tests::{written_files, Medbus, Setup};
use sqlx::{Connection, Row};
use std::path::Path;
use std::time::Duration;

const BATCH: &str = "FHS|^~\\&|HIS|XMZSYY\r\
BHS|^~\\&|HIS|XMZSYY\r\
MSH|^~\\&|HIS|XMZSYY|EMPI|P|20261122090000||ADT^A04|B1|P|2.5\rPID|1||P1||张^三\r\
MSH|^~\\&|HIS|XMZSYY|EMPI|P|20261122090100||ADT^A04|B2|P|2.5\rPID|1||P2||李^四\r\
MSH|^~\\&|HIS|XMZSYY|EMPI|P|20261122090200||ADT^A04|B3|P|2.5\rPID|1||P3||王^五\r\
BTS|3\r\
FTS|1\r";

fn setup() -> Setup {
    let setup = Setup::empty();
    setup.write(
        "routes/batch.yaml",
        "id: t.batch\n\
         source:\n  file: { dir: inbox, pattern: '*.hl7', split: hl7, every: 100ms, settle: 0s }\n\
         steps:\n\
         \x20 - parse: { format: hl7 }\n\
         \x20 - validate: { required: [PID-3.1] }\n\
         \x20 - set: { vars.id: { expr: 'hl7(body, \"PID-3.1\")' } }\n\
         destinations:\n\
         \x20 - name: out\n\
         \x20   to: { file: { dir: out, name: '{{ vars.id }}.hl7' } }\n",
    );
    setup.write(
        "routes/lines.yaml",
        "id: t.lines\n\
         source:\n  file: { dir: jsonl, split: lines, after: delete, every: 100ms, settle: 0s }\n\
         steps:\n  - parse: { format: json }\n",
    );
    setup
}

/// A journaled message: id, route, status, the file index, the error code.
type Journaled = (String, String, String, Option<i64>, Option<String>);

async fn rows(medbus: &Medbus) -> Vec<Journaled> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT id, route, status, json_extract(source, '$.index'), json_extract(error, '$.code') \
         FROM messages ORDER BY id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_becomes_its_messages_and_the_file_moves_to_done() {
    let medbus = setup().start().await;
    let inbox = medbus.data_dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("adt-0001.hl7"), BATCH).unwrap();
    std::fs::write(inbox.join("notes.txt"), "not taken: the pattern is *.hl7").unwrap();
    let done = inbox.join("done");
    wait_until("the batch in done/", || names(&done) == ["adt-0001.hl7"]).await;
    let journal = rows(&medbus).await;
    let batch: Vec<_> = journal.iter().filter(|r| r.1 == "t.batch").collect();
    assert_eq!(batch.len(), 3, "{journal:?}");
    assert!(batch.iter().all(|r| r.2 == "processed"));
    assert_eq!(
        batch.iter().map(|r| r.3).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    let out = medbus.data_dir.join("out");
    wait_until("three deliveries", || written_files(&out).len() == 3).await;
    assert_eq!(
        std::fs::read_to_string(out.join("P2.hl7")).unwrap(),
        "MSH|^~\\&|HIS|XMZSYY|EMPI|P|20261122090100||ADT^A04|B2|P|2.5\rPID|1||P2||李^四\r"
    );
    assert!(names(&inbox).contains(&"notes.txt".to_string()));

    // A batch whose trailer disagrees is refused whole: error/, a note, one rejected message.
    std::fs::write(inbox.join("cut.hl7"), BATCH.replace("BTS|3", "BTS|4")).unwrap();
    let error = inbox.join("error");
    wait_until("the cut file in error/", || names(&error).len() == 2).await;
    let note = std::fs::read_to_string(error.join("cut.hl7.error.txt")).unwrap();
    assert!(note.contains("BTS-1 says 4 messages, and there are 3"), "{note}");
    let journal = rows(&medbus).await;
    assert!(
        journal
            .iter()
            .any(|r| r.2 == "rejected" && r.4.as_deref() == Some("BAD_FILE")),
        "{journal:?}"
    );

    // JSON lines, deleted once read; a bad line is rejected alone.
    let jsonl = medbus.data_dir.join("jsonl");
    std::fs::create_dir_all(&jsonl).unwrap();
    std::fs::write(jsonl.join("events.jsonl"), "{\"a\":1}\n\n{oops}\r\n{\"a\":3}\n").unwrap();
    wait_until("the JSON lines file gone", || {
        names(&jsonl).iter().all(|n| n.starts_with('.'))
    })
    .await;
    let lines: Vec<_> = rows(&medbus)
        .await
        .into_iter()
        .filter(|r| r.1 == "t.lines")
        .map(|r| r.2)
        .collect();
    assert_eq!(lines, ["processed", "rejected", "processed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_read_again_after_a_stop_repeats_no_message() {
    let mut medbus = setup().start().await;
    let inbox = medbus.data_dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(inbox.join("adt.hl7"), BATCH).unwrap();
    let done = inbox.join("done");
    wait_until("the batch in done/", || names(&done) == ["adt.hl7"]).await;
    let first = rows(&medbus).await;
    assert_eq!(first.len(), 3);
    medbus.kill();

    // As if medbus had died after journaling only the first message: the
    // file back in .processing/ under the moment it was taken (the ids'
    // UUID v7 time), the other two messages not in the journal.
    let taken_ms = u64::from_str_radix(&first[0].0.replace('-', "")[..12], 16).unwrap();
    std::fs::rename(
        done.join("adt.hl7"),
        inbox.join(".processing").join(format!("{taken_ms}-adt.hl7")),
    )
    .unwrap();
    let url = format!("sqlite://{}", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for (id, ..) in &first[1..] {
        sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(id)
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();

    medbus.restart().await;
    wait_until("the file in done/ again", || names(&done).len() == 1).await;
    let again = rows(&medbus).await;
    let ids = |rows: &[Journaled]| rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&first), "the same three messages, none twice");
}
