//! The `soap` step and destination against a SOAP service nobody here
//! wrote: tests/soap/spyne_server.py, built on Python's spyne (installed
//! by .ci/run from tests/soap/requirements-server.txt), in SOAP 1.1 and 1.2.

use medbus_tests::{free_port, post, repo_root, Medbus, Setup};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NAMESPACE: &str = "urn:medbus:test";

/// The spyne service on its own port; killed when dropped.
struct Spyne {
    child: Child,
    port: u16,
    stored: PathBuf,
    log: PathBuf,
}

impl Spyne {
    /// Starts the service on `port`, recording stored records under `dir`.
    async fn start(port: u16, dir: &Path) -> Spyne {
        let found = Command::new("python3")
            .args(["-c", "import spyne, lxml"])
            .output()
            .expect("python3 is needed to run the spyne SOAP server");
        assert!(
            found.status.success(),
            "the spyne SOAP server library is missing; install it with \
             `python3 -m pip install -r tests/soap/requirements-server.txt` (.ci/run does):\n{}",
            String::from_utf8_lossy(&found.stderr)
        );
        let stored = dir.join("stored.jsonl");
        let log = dir.join(format!("spyne-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new("python3")
            .arg(repo_root().join("tests/soap/spyne_server.py"))
            .arg(port.to_string())
            .arg(&stored)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start the spyne server");
        let mut spyne = Spyne {
            child,
            port,
            stored,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = spyne.child.try_wait().unwrap() {
                panic!("the spyne server exited with {status}:\n{}", spyne.logs());
            }
            assert!(
                Instant::now() < deadline,
                "the spyne server did not listen:\n{}",
                spyne.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        spyne
    }

    fn url(port: u16, version: &str) -> String {
        format!("http://127.0.0.1:{port}/soap{}", version.replace('.', ""))
    }

    /// The records `store` took, in order.
    fn stored(&self) -> Vec<String> {
        std::fs::read_to_string(&self.stored)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line).unwrap()["record"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Spyne {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `soap` step's YAML, indented for a route's `steps:` list.
fn soap_step(name: &str, port: u16, version: &str, operation: &str, params: &str, more: &str) -> String {
    format!(
        "  - soap:\n      name: {name}\n      url: {}\n      namespace: {NAMESPACE}\n      version: {version}\n      \
         operation: {operation}\n      params: {params}\n{more}",
        Spyne::url(port, version)
    )
}

const ERROR_REPLY: &str = "on_error:\n  reply:\n    content_type: application/json\n    \
     body: '{\"code\":\"{{ error.code }}\",\"message\":{{ error.message | json }}}'\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soap_step_calls_spyne_in_both_versions_and_reads_returns_faults_and_refusals() {
    let setup = Setup::empty();
    let spyne = Spyne::start(free_port(), setup.path()).await;
    let port = spyne.port;
    let ask = format!(
        "id: t.ask\nsource:\n  http: {{ path: /ask }}\nsteps:\n  - parse: {{ format: json }}\n{}{}{}\
         reply:\n  content_type: application/json\n  \
         body: '{{\"name\":\"{{{{ vars.p.value.patient.name }}}}\",\"xml\":{{{{ vars.p.text | json }}}},\
         \"joined\":\"{{{{ vars.joined.text }}}}\",\"echo\":{{{{ vars.echo.value | json }}}}}}'\n{ERROR_REPLY}",
        soap_step("p", port, "1.1", "patient", "{ id: '{{ body.id }}' }", ""),
        soap_step(
            "joined",
            port,
            "1.2",
            "join",
            "{ a: '{{ body.a }}', b: '{{ body.b }}' }",
            ""
        ),
        soap_step(
            "echo",
            port,
            "1.2",
            "echo",
            "{ text: '<x a=\"1\">{{ body.a }} &amp; 李四</x>' }",
            ""
        ),
    );
    let fail = |name: &str, version: &str, operation: &str, params: &str, more: &str| {
        format!(
            "id: t.{name}\nsource:\n  http: {{ path: /{name} }}\nsteps:\n{}{ERROR_REPLY}",
            soap_step(name, port, version, operation, params, more)
        )
    };
    setup.write("routes/ask.yaml", &ask);
    setup.write(
        "routes/reject.yaml",
        &fail("reject", "1.1", "reject", "{ why: bad id }", ""),
    );
    setup.write("routes/crash.yaml", &fail("crash", "1.2", "crash", "{}", ""));
    let refuse = "      error_when: '^error:'\n";
    setup.write(
        "routes/refuse.yaml",
        &fail("refuse", "1.2", "store", "{ record: refuse }", refuse),
    );
    setup.write(
        "routes/html.yaml",
        &fail("html", "1.1", "echo", "{ text: x }", "").replace("/soap11", "/nothing"),
    );
    let medbus = setup.start().await;

    let (status, reply) = post(
        &medbus.url("/ask"),
        "application/json",
        r#"{"id":"P1","a":"甲","b":"<乙>"}"#,
    )
    .await;
    assert_eq!(status, 200, "{reply}\n{}", medbus.logs());
    assert_eq!(
        reply,
        json!({
            "name": "张三",
            "xml": "<patient><id>P1</id><name>张三</name></patient>",
            "joined": "甲|<乙>",
            "echo": {"x": {"@a": "1", "#text": "甲 & 李四"}},
        }),
        "1.1 and 1.2 returns, XML in a return decoded, XML in a parameter sent escaped"
    );

    let expect_error = |path: &'static str, code: &'static str, message: &'static str| {
        let medbus = &medbus;
        async move {
            let (status, reply) = post(&medbus.url(path), "application/json", "{}").await;
            assert_eq!(
                (status, &reply),
                (500, &json!({"code": code, "message": message})),
                "{path}\n{}",
                medbus.logs()
            );
        }
    };
    expect_error("/reject", "SOAP_FAULT", "Client.Invalid: rejected: bad id").await;
    expect_error("/crash", "SOAP_FAULT", "Receiver: the database is down").await;
    expect_error("/refuse", "SOAP_ERROR_ANSWER", "error:10001:the record is refused").await;
    let (status, reply) = post(&medbus.url("/html"), "application/json", "{}").await;
    assert_eq!((status, reply["code"].as_str()), (500, Some("SOAP_BAD_ANSWER")));
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.contains("answered HTTP 404, not a SOAP answer: unsupported content type `text/html"),
        "{message}"
    );
    assert!(spyne.stored().is_empty(), "the refused record was not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soap_fan_out_asks_every_item_and_keeps_a_fault_beside_the_answers() {
    let setup = Setup::empty();
    let spyne = Spyne::start(free_port(), setup.path()).await;
    let port = spyne.port;
    let route = |name: &str, version: &str, more: &str| {
        format!(
            "id: t.{name}\nsource:\n  http: {{ path: /{name} }}\nsteps:\n  - parse: {{ format: json }}\n{}\
             reply:\n  content_type: application/json\n  body: '{{{{ vars.beds | json }}}}'\n{ERROR_REPLY}",
            soap_step(
                "beds",
                port,
                version,
                "beds",
                "{ hospital: '{{ item.code }}' }",
                &format!("      each: body.hospitals\n      concurrency: 2\n{more}")
            )
            .replace(&Spyne::url(port, version), "'{{ item.url }}'")
        )
    };
    setup.write("routes/beds.yaml", &route("beds", "1.2", ""));
    setup.write("routes/strict.yaml", &route("strict", "1.1", "      fail_on: any\n"));
    let medbus = setup.start().await;
    let hospitals = |version: &str| {
        let url = Spyne::url(port, version);
        json!({"hospitals": [
            {"code": "H01", "url": url},
            {"code": "down", "url": url},
            {"code": "H003", "url": url},
        ]})
        .to_string()
    };

    let (status, reply) = post(&medbus.url("/beds"), "application/json", hospitals("1.2")).await;
    assert_eq!(status, 200, "{reply}\n{}", medbus.logs());
    let beds = reply.as_array().unwrap();
    assert_eq!(beds.len(), 3, "{reply}");
    assert_eq!(beds[0]["value"], json!({"beds": {"hospital": "H01", "free": "3"}}));
    assert_eq!((&beds[0]["item_index"], &beds[0]["error"]), (&json!(0), &json!(null)));
    assert_eq!(
        (&beds[1]["error"], &beds[1]["fault"]["code"], &beds[1]["item_index"]),
        (
            &json!({"code": "SOAP_FAULT", "message": "Receiver: the bed service of down is down"}),
            &json!("Receiver"),
            &json!(1)
        ),
        "{reply}"
    );
    assert_eq!(beds[2]["value"]["beds"]["hospital"], json!("H003"));

    let (status, reply) = post(&medbus.url("/strict"), "application/json", hospitals("1.1")).await;
    assert_eq!(
        (status, reply),
        (
            500,
            json!({"code": "SOAP_FAULT", "message": "item 1 of 3: Server: the bed service of down is down"})
        ),
        "{}",
        medbus.logs()
    );
}

/// Deliveries of one message as the journal holds them: (destination, status, attempts, last error).
async fn deliveries(medbus: &Medbus, message: &str) -> Vec<(String, String, i64, Option<String>)> {
    let url = format!("sqlite://{}?mode=ro", medbus.journal_file().display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT destination, status, attempts, last_error FROM deliveries WHERE message_id = $1 ORDER BY destination",
    )
    .bind(message)
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
    .collect()
}

/// Waits until no delivery of `message` is pending.
async fn settled(medbus: &Medbus, message: &str) -> Vec<(String, String, i64, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = deliveries(medbus, message).await;
        if !found.is_empty() && found.iter().all(|(_, status, _, _)| status != "pending") {
            return found;
        }
        assert!(Instant::now() < deadline, "still pending: {found:?}\n{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soap_destination_delivers_once_spyne_is_up_and_dead_letters_what_spyne_refuses() {
    let setup = Setup::empty();
    let port = free_port();
    let destination = |name: &str, version: &str, operation: &str, params: &str, more: &str| {
        format!(
            "  - name: {name}\n    to:\n      soap:\n        url: {}\n        namespace: {NAMESPACE}\n        \
             version: {version}\n        operation: {operation}\n        params: {params}\n        \
             error_when: '^error:'\n    backoff: {{ initial: 100ms, max: 300ms }}\n{more}",
            Spyne::url(port, version)
        )
    };
    let route = format!(
        "id: t.push\nsource:\n  http: {{ path: /push }}\nsteps:\n  - parse: {{ format: json }}\n  \
         - template: {{ inline: '<record><no>{{{{ body.no }}}}</no><name>{{{{ body.name }}}}</name></record>' }}\n\
         destinations:\n{}{}{}",
        destination(
            "store",
            "1.2",
            "store",
            "{ record: '{{ payload }}' }",
            "    max_attempts: 1000\n"
        ),
        destination(
            "reject",
            "1.1",
            "reject",
            "{ why: '{{ body.no }}' }",
            "    max_attempts: 1000\n"
        ),
        destination("crash", "1.1", "crash", "{}", "    max_attempts: 3\n"),
    );
    setup.write("routes/push.yaml", &route);
    let medbus = setup.start().await;

    // The service is down: each message is accepted and waits for it.
    let mut ids = Vec::new();
    for n in 1..=5 {
        let body = json!({"no": format!("A{n}"), "name": if n == 5 { "refuse" } else { "张三" }});
        let (status, reply) = post(&medbus.url("/push"), "application/json", body.to_string()).await;
        assert_eq!(status, 200, "{reply}");
        ids.push(reply["id"].as_str().unwrap().to_string());
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let waiting = deliveries(&medbus, &ids[0]).await;
    // `crash` gives up after 3 attempts 100 to 300 ms apart: on a busy machine the five posts
    // take long enough for its retries to run out before the check.
    assert!(
        waiting.iter().all(|(name, status, attempts, _)| *attempts >= 1
            && (status == "pending" || name == "crash" && status == "dead" && *attempts == 3)),
        "{waiting:?}"
    );

    let spyne = Spyne::start(port, &medbus.config_dir).await;
    let mut results = Vec::new();
    for id in &ids {
        results.push(settled(&medbus, id).await);
    }
    let mut stored = spyne.stored();
    stored.sort();
    let expected: Vec<String> = (1..=4)
        .map(|n| format!("<record><no>A{n}</no><name>张三</name></record>"))
        .collect();
    assert_eq!(
        stored,
        expected,
        "every record the service takes arrived, once\n{}",
        spyne.logs()
    );

    for (n, result) in results.iter().enumerate() {
        let status = |name: &str| result.iter().find(|d| d.0 == name).cloned().unwrap();
        let (_, reject_status, _, reject_error) = status("reject");
        assert_eq!(reject_status, "dead", "a client fault is not retried");
        assert_eq!(
            reject_error.as_deref(),
            Some(format!("SOAP Fault Client.Invalid: rejected: A{}", n + 1).as_str())
        );
        let (_, store_status, _, store_error) = status("store");
        if n < 4 {
            assert_eq!(store_status, "delivered", "{store_error:?}");
        } else {
            assert_eq!(
                (store_status.as_str(), store_error.as_deref()),
                (
                    "dead",
                    Some("the service refused the message: error:10001:the record is refused")
                ),
                "a refusal matched by error_when is not retried"
            );
        }
    }

    // With the service up from the start, a server fault is retried until max_attempts.
    let (_, reply) = post(&medbus.url("/push"), "application/json", r#"{"no":"A6","name":"王五"}"#).await;
    let result = settled(&medbus, reply["id"].as_str().unwrap()).await;
    let (_, crash_status, crash_attempts, crash_error) = result.iter().find(|d| d.0 == "crash").cloned().unwrap();
    assert_eq!((crash_status.as_str(), crash_attempts), ("dead", 3), "{crash_error:?}");
    assert_eq!(crash_error.as_deref(), Some("SOAP Fault Server: the database is down"));
    let (_, reject_status, reject_attempts, _) = result.iter().find(|d| d.0 == "reject").cloned().unwrap();
    assert_eq!((reject_status.as_str(), reject_attempts), ("dead", 1));
}
