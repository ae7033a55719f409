//! The `mllp` destination against an HL7 v2 receiver nobody here wrote: tests/hl7/mllp_server.py,
//! built on Python's hl7apy (installed by .ci/run from tests/hl7/requirements.txt). It answers
//! AA, AE when PID-3 holds FAIL, AR when it holds REJECT, with ACKs built by hl7apy, and closes
//! each connection after one message.

use medbus_tests::{free_port, post, repo_root, Medbus, Setup};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hl7apy receiver on its own port; killed when dropped.
struct Hl7apy {
    child: Child,
    received: PathBuf,
    log: PathBuf,
}

impl Hl7apy {
    async fn start(port: u16, dir: &Path) -> Hl7apy {
        let found = Command::new("python3")
            .args(["-c", "import hl7apy.mllp"])
            .output()
            .expect("python3 is needed to run the hl7apy MLLP server");
        assert!(
            found.status.success(),
            "the hl7apy library is missing; install it with \
             `python3 -m pip install -r tests/hl7/requirements.txt` (.ci/run does):\n{}",
            String::from_utf8_lossy(&found.stderr)
        );
        let received = dir.join("received.jsonl");
        let log = dir.join(format!("hl7apy-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new("python3")
            .arg(repo_root().join("tests/hl7/mllp_server.py"))
            .arg(port.to_string())
            .arg(&received)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start the hl7apy server");
        let mut server = Hl7apy { child, received, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the hl7apy server exited with {status}:\n{}", server.logs());
            }
            assert!(
                Instant::now() < deadline,
                "the hl7apy server did not listen:\n{}",
                server.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// What it received, in order: (MSH-10, the code it answered, the message's ER7).
    fn received(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(&self.received)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let line: Value = serde_json::from_str(line).unwrap();
                let text = |key: &str| line[key].as_str().unwrap().to_string();
                (text("control_id"), text("code"), text("message"))
            })
            .collect()
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Hl7apy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A route turning a JSON admission into an ADT^A01 sent to the receiver on `port`.
fn admission_route(port: u16) -> String {
    r#"id: t.admit
source:
  http: { path: /admit }
steps:
  - parse: { format: json }
  - template:
      content_type: x-application/hl7-v2+er7
      inline: "MSH|^~\\&|MEDBUS|HUB|HIS|H01|20240301120000||ADT^A01^ADT_A01|{{ body.no }}|P|2.5|||||CHN|UNICODE UTF-8\rEVN|A01|20240301120000\rPID|1||{{ body.patient }}^^^H01^MR||{{ body.name }}\rPV1|1|I\r"
destinations:
  - name: his
    to:
      mllp: { address: "127.0.0.1:PORT", timeout: 10s, connect_timeout: 1s }
    backoff: { initial: 100ms, max: 300ms }
    max_attempts: 3
"#
    .replace("PORT", &port.to_string())
}

/// The ER7 the template makes of an admission.
fn adt(no: &str, patient: &str, name: &str) -> String {
    format!(
        "MSH|^~\\&|MEDBUS|HUB|HIS|H01|20240301120000||ADT^A01^ADT_A01|{no}|P|2.5|||||CHN|UNICODE UTF-8\r\
         EVN|A01|20240301120000\rPID|1||{patient}^^^H01^MR||{name}\rPV1|1|I\r"
    )
}

async fn admit(medbus: &Medbus, no: &str, patient: &str, name: &str) -> String {
    let body = json!({"no": no, "patient": patient, "name": name}).to_string();
    let (status, reply) = post(&medbus.url("/admit"), "application/json", body).await;
    assert_eq!(status, 200, "{reply}\n{}", medbus.logs());
    reply["id"].as_str().unwrap().to_string()
}

/// The `his` delivery of a message as the journal holds it.
#[derive(Debug)]
struct Delivery {
    status: String,
    attempts: i64,
    error: Option<String>,
    response: Value,
}

async fn delivery(medbus: &Medbus, message: &str) -> Option<Delivery> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let row = sqlx::query(
        "SELECT status, attempts, last_error, CAST(response AS TEXT) FROM deliveries \
         WHERE message_id = $1 AND destination = 'his'",
    )
    .bind(message)
    .fetch_optional(&mut db)
    .await
    .unwrap()?;
    let response: Option<String> = row.get(3);
    Some(Delivery {
        status: row.get(0),
        attempts: row.get(1),
        error: row.get(2),
        response: response.map_or(Value::Null, |text| serde_json::from_str(&text).unwrap()),
    })
}

/// The error of each attempt of the `his` delivery of `message`, in order, as the admin API shows them.
async fn attempt_errors(medbus: &Medbus, message: &str) -> Vec<String> {
    let whole = medbus.message(message).await;
    let his = whole["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == "his")
        .unwrap_or_else(|| panic!("{whole}"));
    his["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["error"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits until the delivery of `message` is no longer pending.
async fn settled(medbus: &Medbus, message: &str) -> Delivery {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = delivery(medbus, message).await;
        if let Some(found) = found.filter(|d| d.status != "pending") {
            return found;
        }
        assert!(Instant::now() < deadline, "still pending\n{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hl7apy_acks_deliver_retry_or_dead_letter_as_their_code_says() {
    let setup = Setup::empty();
    let port = free_port();
    let server = Hl7apy::start(port, setup.path()).await;
    setup.write("routes/admit.yaml", &admission_route(port));
    let medbus = setup.start().await;

    let accepted = admit(&medbus, "A1", "P001", "张^三").await;
    let rejected = admit(&medbus, "A2", "REJECT7", "李^四").await;
    let failing = admit(&medbus, "A3", "FAIL9", "王^五").await;

    let delivered = settled(&medbus, &accepted).await;
    assert_eq!(
        (delivered.status.as_str(), delivered.attempts, &delivered.error),
        ("delivered", 1, &None),
        "{}\n{}",
        medbus.logs(),
        server.logs()
    );
    let ack = delivered.response["ack"].as_str().unwrap();
    assert!(
        ack.starts_with("MSH|^~\\&|HIS|H01|MEDBUS|HUB|") && ack.contains("|ACK^A01^ACK|ACK-A1|P|2.5|"),
        "the ACK hl7apy built is journaled: {ack}"
    );
    assert_eq!(
        (
            &delivered.response["code"],
            &delivered.response["control_id"],
            &delivered.response["text"]
        ),
        (&json!("AA"), &json!("A1"), &json!(""))
    );

    let dead = settled(&medbus, &rejected).await;
    assert_eq!((dead.status.as_str(), dead.attempts), ("dead", 1), "AR is not retried");
    assert_eq!(
        dead.error.as_deref(),
        Some("the receiver answered AR (application reject): patient REJECT7 is not known here"),
        "MSA-3 and ERR-8, the same text, once"
    );
    assert_eq!(dead.response["code"], json!("AR"));

    let retried = settled(&medbus, &failing).await;
    assert_eq!(
        (retried.status.as_str(), retried.attempts),
        ("dead", 3),
        "AE is retried up to max_attempts"
    );
    assert!(
        retried
            .error
            .as_deref()
            .unwrap()
            .starts_with("the receiver answered AE (application error): the record of FAIL9 is locked"),
        "{retried:?}"
    );

    let mut received = server.received();
    received.sort();
    let codes: Vec<(&str, &str)> = received
        .iter()
        .map(|(id, code, _)| (id.as_str(), code.as_str()))
        .collect();
    // Each AE attempt reached hl7apy. On a busy machine an attempt may instead find its pooled
    // connection closed by the server: it fails as a network error, reaching nobody, and counts.
    let attempt_errors = attempt_errors(&medbus, &failing).await;
    let answered_ae = attempt_errors
        .iter()
        .filter(|e| e.starts_with("the receiver answered AE"))
        .count();
    assert!(
        attempt_errors
            .iter()
            .all(|e| e.starts_with("the receiver answered AE") || e.contains("connection")),
        "{attempt_errors:?}"
    );
    let mut expected = vec![("A1", "AA"), ("A2", "AR")];
    expected.extend(std::iter::repeat_n(("A3", "AE"), answered_ae));
    assert_eq!(codes, expected, "{attempt_errors:?}");
    assert!(answered_ae >= 2, "{attempt_errors:?}");
    assert_eq!(
        received[0].2,
        adt("A1", "P001", "张^三"),
        "the message arrived whole, in UTF-8"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_wait_while_the_receiver_is_down_and_go_out_once_it_is_up() {
    let setup = Setup::empty();
    let port = free_port();
    setup.write(
        "routes/admit.yaml",
        &admission_route(port).replace("max_attempts: 3", "max_attempts: 1000"),
    );
    let medbus = setup.start().await;

    let first = admit(&medbus, "B1", "P101", "赵^六").await;
    let second = admit(&medbus, "B2", "P102", "钱^七").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let waiting = delivery(&medbus, &first).await.unwrap();
    assert_eq!(waiting.status, "pending", "{waiting:?}");
    assert!(waiting.attempts >= 1, "{waiting:?}");
    let error = waiting.error.unwrap_or_default();
    assert!(
        error.starts_with(&format!("cannot connect to 127.0.0.1:{port}"))
            || error.starts_with(&format!("not connecting to 127.0.0.1:{port}"))
            || error.starts_with(&format!("another delivery is reconnecting to 127.0.0.1:{port}")),
        "{error}"
    );

    let server = Hl7apy::start(port, &medbus.config_dir).await;
    for id in [&first, &second] {
        let delivered = settled(&medbus, id).await;
        assert_eq!(delivered.status, "delivered", "{delivered:?}\n{}", server.logs());
        assert_eq!(delivered.response["code"], json!("AA"));
    }
    let mut ids: Vec<String> = server.received().into_iter().map(|(id, _, _)| id).collect();
    ids.sort();
    assert_eq!(ids, ["B1", "B2"], "each message arrived once");
}
