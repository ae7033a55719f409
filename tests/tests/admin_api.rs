//! The admin API, black-box: messages found by business key, status, text
//! and time, page after page; one message whole with its trace and its
//! delivery's attempts; routes with their counters and configuration; a
//! paused route refusing messages and holding its deliveries, across a
//! restart, until it is resumed.

use medbus_tests::sink::Sink;
use medbus_tests::{post, Medbus, Setup};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn push_route(sink: &Sink) -> String {
    format!(
        r#"
id: t.push
keys: {{ applyNo: body.applyNo, eventNo: body.eventNo }}
source:
  http: {{ path: /push }}
steps:
  - parse: {{ format: json }}
  - authenticate:
      secret: body.secret
      callers: [vendor-*]
  - validate:
      required: [body.applyNo]
destinations:
  - name: sink
    backoff: {{ initial: 300ms, max: 300ms }}
    to: {{ http: {{ url: '{}' }} }}
"#,
        sink.url("/inbox")
    )
}

async fn start(sink: &Sink) -> Medbus {
    let setup = Setup::empty();
    setup.write("routes/push.yaml", &push_route(sink));
    setup.write("secrets.yaml", "vendor-a: secret-a\nvendor-b: secret-b\n");
    setup.start().await
}

/// Posts a message to the route; its id.
async fn push(medbus: &Medbus, body: Value) -> String {
    let (_, answer) = post(&medbus.url("/push"), "application/json", body.to_string()).await;
    answer["id"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string()
}

/// GETs from the admin API; the status and the JSON answer.
async fn admin_get(medbus: &Medbus, path: &str) -> (u16, Value) {
    let response = reqwest::get(medbus.admin_url(path)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The ids of a search's messages.
async fn found(medbus: &Medbus, query: &str) -> Vec<String> {
    let (status, answer) = admin_get(medbus, &format!("/api/messages?{query}")).await;
    assert_eq!(status, 200, "{query}: {answer}");
    ids(&answer)
}

fn ids(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_found_by_key_status_text_and_time_and_read_whole() {
    let sink = Sink::start().await;
    let medbus = start(&sink).await;
    let first = push(
        &medbus,
        json!({"applyNo": "A1", "eventNo": "E1", "name": "张三", "secret": "secret-a"}),
    )
    .await;
    let second = push(&medbus, json!({"applyNo": "A2", "eventNo": "E1", "secret": "secret-b"})).await;
    let no_apply_no = push(&medbus, json!({"eventNo": "E2", "secret": "secret-a"})).await;
    let bad_secret = push(&medbus, json!({"applyNo": "A4", "secret": "guess"})).await;

    assert_eq!(found(&medbus, "key=applyNo:A1").await, vec![first.clone()]);
    assert_eq!(found(&medbus, "key=eventNo:E1").await, [second.clone(), first.clone()]);
    assert_eq!(
        found(&medbus, "route=t.push&status=rejected").await,
        [bad_secret.clone(), no_apply_no.clone()]
    );
    assert_eq!(
        found(&medbus, &format!("text={}", encoded("张三"))).await,
        vec![first.clone()]
    );
    assert!(found(&medbus, "route=t.other").await.is_empty());

    // Two pages of two, newest first, then no more.
    let (_, page) = admin_get(&medbus, "/api/messages?route=t.push&limit=2").await;
    assert_eq!(ids(&page), [bad_secret.clone(), no_apply_no.clone()]);
    let summary = &page["messages"][1];
    assert_eq!(
        (&summary["status"], &summary["caller"], &summary["keys"]),
        (&json!("rejected"), &json!("vendor-a"), &json!({"eventNo": "E2"}))
    );
    assert_eq!(summary["error"]["code"], json!("MISSING_FIELD"), "{summary}");
    let next = page["next"].as_str().unwrap();
    let (_, page) = admin_get(&medbus, &format!("/api/messages?route=t.push&limit=2&before={next}")).await;
    assert_eq!(ids(&page), [second.clone(), first.clone()]);
    assert_eq!((&page["next"], &page["truncated"]), (&Value::Null, &json!(false)));

    // A time range: from the second message on, before the last.
    let (_, whole_second) = admin_get(&medbus, &format!("/api/messages/{second}")).await;
    let (_, whole_last) = admin_get(&medbus, &format!("/api/messages/{bad_secret}")).await;
    let from = encoded(whole_second["received_at"].as_str().unwrap());
    let to = encoded(whole_last["received_at"].as_str().unwrap());
    assert_eq!(
        found(&medbus, &format!("from={from}&to={to}")).await,
        [no_apply_no.clone(), second.clone()]
    );

    // One message whole, once its delivery is done.
    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        let (status, message) = admin_get(&medbus, &format!("/api/messages/{first}")).await;
        assert_eq!(status, 200, "{message}");
        if message["deliveries"][0]["status"] == json!("delivered") {
            break message;
        }
        assert!(Instant::now() < deadline, "not delivered: {message}\n{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(message["raw_encoding"], json!("utf-8"));
    let raw: Value = serde_json::from_str(message["raw"].as_str().unwrap()).unwrap();
    assert_eq!(raw["name"], json!("张三"));
    assert_eq!(message["keys"], json!({"applyNo": "A1", "eventNo": "E1"}));
    assert_eq!(message["caller"], json!("vendor-a"));
    let steps: Vec<&str> = message["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["parse", "authenticate", "validate"]);
    let delivery = &message["deliveries"][0];
    assert_eq!(delivery["destination"], json!("sink"));
    assert_eq!(delivery["history"][0]["status"], json!("delivered"), "{delivery}");
    assert_eq!(delivery["history"][0]["attempt"], json!(1));
    assert!(delivery["payload"].as_str().unwrap().contains("A1"), "{delivery}");

    // Statistics: per minute over the last hour, and per caller.
    let (status, stats) = admin_get(&medbus, "/api/stats?route=t.push&bucket=1m").await;
    assert_eq!(status, 200, "{stats}");
    let buckets = stats["buckets"].as_array().unwrap();
    assert!(buckets.len() >= 24 * 60, "the last day by default");
    let sum = |name: &str| buckets.iter().map(|b| b[name].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("total"), sum("processed"), sum("rejected")), (4, 2, 2));
    let busy = buckets.iter().find(|b| b["total"] != json!(0)).unwrap();
    assert!(busy["latency_us"]["p95"].as_i64().unwrap() > 0, "{busy}");
    let (status, callers) = admin_get(&medbus, "/api/stats/callers").await;
    assert_eq!(status, 200, "{callers}");
    let rows: Vec<(&str, &str, u64, f64)> = callers["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["caller"].as_str().unwrap(),
                c["route"].as_str().unwrap(),
                c["total"].as_u64().unwrap(),
                c["error_rate"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("vendor-a", "t.push", 2, 0.5), ("vendor-b", "t.push", 1, 0.0)]);
    let (status, answer) = admin_get(&medbus, "/api/stats?bucket=2h").await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!("BAD_BUCKET")));

    let (status, document) = admin_get(&medbus, "/api/openapi.json").await;
    assert_eq!((status, &document["openapi"]), (200, &json!("3.1.0")));
    assert!(document["paths"]["/api/messages"]["get"].is_object());

    let (status, answer) = admin_get(&medbus, "/api/messages/no-such-id").await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!("UNKNOWN_MESSAGE")));
    let (status, answer) = admin_get(&medbus, "/api/messages?key=applyNo").await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!("BAD_KEY")));
}

/// POSTs to the admin API; the status and the JSON answer.
async fn admin_post(medbus: &Medbus, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(medbus.admin_url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn route_summary(medbus: &Medbus, id: &str) -> Value {
    let (status, answer) = admin_get(medbus, "/api/routes").await;
    assert_eq!(status, 200, "{answer}");
    answer["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|route| route["id"] == json!(id))
        .cloned()
        .unwrap_or_else(|| panic!("no route {id}: {answer}"))
}

/// Waits until the sink has received `count` requests, then checks no more come for `quiet`.
async fn wait_received(sink: &Sink, medbus: &Medbus, count: usize) {
    sink.wait_for_or(count, 10, || medbus.logs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_show_their_counters_and_a_paused_route_holds_everything_until_resumed() {
    let sink = Sink::start().await;
    let mut medbus = start(&sink).await;
    push(&medbus, json!({"applyNo": "A1", "secret": "secret-a"})).await;
    let refused = push(&medbus, json!({"secret": "secret-a"})).await;
    wait_received(&sink, &medbus, 1).await;

    let route = route_summary(&medbus, "t.push").await;
    assert_eq!(route["state"], json!({"state": "active"}));
    assert_eq!(
        route["source"],
        json!({"kind": "http", "listen": medbus.url("").trim_start_matches("http://"), "method": "POST", "path": "/push"})
    );
    assert_eq!(route["keys"], json!(["applyNo", "eventNo"]));
    let counters = &route["counters"];
    assert_eq!(
        (&counters["received"], &counters["processed"], &counters["rejected"]),
        (&json!(2), &json!(1), &json!(1)),
        "{route}"
    );
    assert_eq!(route["last_error"]["code"], json!("MISSING_FIELD"), "{route}");
    assert_eq!(counters["replied"], json!(2), "{route}");
    // A reprocessed message is received again, and answers no one.
    let (status, again) = admin_post(&medbus, &format!("/api/messages/{refused}/reprocess")).await;
    assert_eq!(status, 200, "{again}");
    let counters = route_summary(&medbus, "t.push").await["counters"].clone();
    assert_eq!((&counters["received"], &counters["replied"]), (&json!(3), &json!(2)));

    let (status, loaded) = admin_get(&medbus, "/api/routes/t.push").await;
    assert_eq!(status, 200, "{loaded}");
    assert!(loaded["file"].as_str().unwrap().ends_with("routes/push.yaml"));
    assert!(loaded["yaml"]
        .as_str()
        .unwrap()
        .contains("keys: { applyNo: body.applyNo"));
    assert_eq!(loaded["spec"]["keys"]["applyNo"], json!("body.applyNo"));
    let (status, answer) = admin_get(&medbus, "/api/routes/t.nothing").await;
    assert_eq!((status, &answer["error"]["code"]), (404, &json!("UNKNOWN_ROUTE")));

    // A delivery failing when the route is paused waits, however long.
    sink.answer_with(503);
    push(&medbus, json!({"applyNo": "A3", "secret": "secret-a"})).await;
    wait_received(&sink, &medbus, 2).await;
    let (status, answer) = admin_post(&medbus, "/api/routes/t.push/pause").await;
    assert_eq!((status, &answer["state"]), (200, &json!("paused")), "{answer}");
    sink.answer_with(200);
    let (status, answer) = post(&medbus.url("/push"), "application/json", r#"{"applyNo":"A4"}"#).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (503, &json!("ROUTE_PAUSED")),
        "{answer}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received().len(), 2, "the retry is held while the route is paused");
    assert_eq!(route_summary(&medbus, "t.push").await["counters"]["queued"], json!(1));

    // Still paused after a restart; resumed, the held delivery goes out.
    medbus.restart().await;
    assert_eq!(
        route_summary(&medbus, "t.push").await["state"]["state"],
        json!("paused")
    );
    let (status, _) = post(&medbus.url("/push"), "application/json", r#"{"applyNo":"A5"}"#).await;
    assert_eq!(status, 503);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.received().len(), 2, "held across the restart");
    let (status, answer) = admin_post(&medbus, "/api/routes/t.push/resume").await;
    assert_eq!((status, &answer["state"]), (200, &json!("active")), "{answer}");
    let received = sink.wait_for_or(3, 10, || medbus.logs()).await;
    assert!(received[2].body.contains("A3"), "{}", received[2].body);
    let deadline = Instant::now() + Duration::from_secs(10);
    while route_summary(&medbus, "t.push").await["counters"]["queued"] != json!(0) {
        assert!(Instant::now() < deadline, "{}", medbus.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    push(&medbus, json!({"applyNo": "A6", "secret": "secret-a"})).await;
}

const ADT_A01: &str = "MSH|^~\\&|HIS|XMZSYY|EMPI|PLATFORM|20261122093000||ADT^A01^ADT_A01|MSG00001|P|2.5\r\
EVN|A01|20261122093000\r\
PID|1||P0001^^^XMZSYY^PI||张^三||19800101|M\r";

const PING: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns:ping xmlns:ns="http://t.example/"><p>hi</p></ns:ping></soap:Body></soap:Envelope>"#;

/// Sends one framed HL7 message on a new connection; the ACK's text.
async fn mllp_exchange(port: u16, message: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(&[&[0x0b][..], message.as_bytes(), &[0x1c, 0x0d]].concat())
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(&[0x1c, 0x0d]) {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the connection closed");
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hl7_keys_are_found_and_paused_timer_soap_and_mllp_routes_stop_in_their_own_way() {
    let port = medbus_tests::free_port();
    let setup = Setup::empty();
    setup.write(
        "routes/adt.yaml",
        &format!(
            "id: t.adt\nkeys: {{ PatientID: PID-3.1, MSH-10: MSH-10 }}\n\
             source:\n  mllp: {{ listen: 127.0.0.1:{port}, messages: [ADT^A01] }}\n"
        ),
    );
    setup.write(
        "routes/ping.yaml",
        "id: t.ping\nsource:\n  soap: { service: Pings, path: /ws, namespace: 'http://t.example/', operation: ping, params: [p] }\n",
    );
    setup.write("routes/tick.yaml", "id: t.tick\nsource:\n  timer: { every: 100ms }\n");
    let medbus = setup.start().await;

    // A paused timer skips its turns; resumed, it fires again.
    admin_post(&medbus, "/api/routes/t.tick/pause").await;
    let ticks = || async { found(&medbus, "route=t.tick&limit=500").await.len() };
    let before = ticks().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(ticks().await <= before + 1, "at most the turn under way when it paused");
    let paused = ticks().await;
    admin_post(&medbus, "/api/routes/t.tick/resume").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(ticks().await >= paused + 3, "{}", medbus.logs());

    assert!(mllp_exchange(port, ADT_A01).await.contains("MSA|AA|MSG00001"));
    let by_patient = found(&medbus, "key=PatientID:P0001").await;
    assert_eq!(by_patient.len(), 1);
    assert_eq!(found(&medbus, "key=MSH-10:MSG00001").await, by_patient);

    let (status, _) = admin_post(&medbus, "/api/routes/t.adt/pause").await;
    assert_eq!(status, 200);
    let ack = mllp_exchange(port, ADT_A01).await;
    assert!(ack.contains("MSA|AE|MSG00001") && ack.contains("ROUTE_PAUSED"), "{ack}");
    assert_eq!(
        found(&medbus, "route=t.adt").await.len(),
        1,
        "a paused route journals nothing"
    );

    let soap = |body: &'static str| {
        let url = medbus.url("/ws");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("content-type", "text/xml; charset=utf-8")
                .header("soapaction", "\"ping\"")
                .body(body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(soap(PING).await.0, 200);
    admin_post(&medbus, "/api/routes/t.ping/pause").await;
    let (status, fault) = soap(PING).await;
    assert_eq!(status, 500, "{fault}");
    assert!(fault.contains("Server") && fault.contains("ROUTE_PAUSED"), "{fault}");
    admin_post(&medbus, "/api/routes/t.ping/resume").await;
    assert_eq!(soap(PING).await.0, 200);
}
