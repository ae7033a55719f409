//! The HTTP source and the HTTP, file and route destinations, black-box.

use medbus_tests::sink::Sink;
use medbus_tests::{post, Setup};
use serde_json::Value;
use std::time::Duration;

fn route(id: &str, path: &str, extra: &str) -> String {
    format!("id: {id}\nsource:\n  http: {{ path: {path}, content_types: [application/json, text/plain], max_body: 1KiB }}\n{extra}")
}

#[tokio::test]
async fn requests_outside_routes_and_bad_bodies_get_clear_errors() {
    let setup = Setup::empty();
    setup.write("routes/a.yaml", &route("t.a", "/a", ""));
    let medbus = setup.start().await;

    let (status, body) = post(&medbus.url("/nowhere"), "application/json", "{}").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));

    let response = reqwest::Client::new().get(medbus.url("/a")).send().await.unwrap();
    assert_eq!(response.status(), 405);

    let (status, body) = post(&medbus.url("/a"), "application/json", vec![b'x'; 2048]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE")),
        "{body}"
    );

    let (status, body) = post(&medbus.url("/a"), "application/xml", "<a/>").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE")),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("application/json"));

    let (status, body) = post(&medbus.url("/a"), "application/json; charset=utf-8", "{}").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("accepted")), "{body}");
}

#[tokio::test]
async fn an_accepted_message_reaches_its_destinations_with_its_id() {
    let sink = Sink::start().await;
    let setup = Setup::empty();
    setup.write(
        "routes/a.yaml",
        &route(
            "t.fanout",
            "/fanout",
            &format!(
                "destinations:\n  - name: sink\n    to: {{ http: {{ url: '{}', headers: {{ X-Source: '{{{{ headers[\"x-caller\"] }}}}' }} }} }}\n  - name: archive\n    to: {{ file: {{ dir: out, name: '{{{{ msg.id }}}}.txt' }} }}\n  - name: next\n    to: {{ route: {{ id: t.next }} }}\n",
                sink.url("/inbox")
            ),
        ),
    );
    setup.write(
        "routes/next.yaml",
        &format!(
            "id: t.next\nsource:\n  http: {{ path: /internal-next }}\ndestinations:\n  - name: sink\n    to: {{ http: {{ url: '{}' }} }}\n",
            sink.url("/from-next")
        ),
    );
    let medbus = setup.start().await;
    let response = reqwest::Client::new()
        .post(medbus.url("/fanout"))
        .header("content-type", "text/plain")
        .header("x-caller", "his")
        .body("患者登记")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let received = sink.wait_for_or(2, 10, || medbus.logs()).await;
    let direct = received
        .iter()
        .find(|r| r.path == "/inbox")
        .expect("the http destination got it");
    assert_eq!(direct.body, "患者登记");
    assert_eq!(direct.headers["x-medbus-message-id"], id.as_str());
    assert_eq!(direct.headers["x-source"], "his");
    let handed = received
        .iter()
        .find(|r| r.path == "/from-next")
        .expect("the next route delivered it");
    assert_eq!(handed.body, "患者登记");

    let file = medbus.data_dir.join("out").join(format!("{id}.txt"));
    for _ in 0..100 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "患者登记");
}

#[tokio::test]
async fn a_failing_receiver_gets_the_message_once_it_recovers() {
    let sink = Sink::start().await;
    sink.answer_with(503);
    let setup = Setup::empty();
    setup.write(
        "routes/a.yaml",
        &route(
            "t.retry",
            "/retry",
            &format!(
                "destinations:\n  - name: sink\n    to: {{ http: {{ url: '{}' }} }}\n",
                sink.url("/in")
            ),
        ),
    );
    let medbus = setup.start().await;
    let (status, _) = post(&medbus.url("/retry"), "text/plain", "hello").await;
    assert_eq!(status, 200);
    sink.wait_for(1, 10).await;
    sink.answer_with(200);
    // The first retry comes after about a second, the second after two more.
    let received = sink.wait_for(2, 15).await;
    assert!(received.iter().all(|r| r.body == "hello"));
    assert!(
        received.len() <= 3,
        "no more attempts once delivered: {}",
        received.len()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.received().len(), received.len(), "nothing is sent after success");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let sink = Sink::start().await;
    sink.answer_with(400);
    let setup = Setup::empty();
    setup.write(
        "routes/a.yaml",
        &route(
            "t.bad",
            "/bad",
            &format!(
                "destinations:\n  - name: sink\n    to: {{ http: {{ url: '{}' }} }}\n",
                sink.url("/in")
            ),
        ),
    );
    let medbus = setup.start().await;
    post(&medbus.url("/bad"), "text/plain", "x").await;
    sink.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.received().len(), 1, "a 4xx answer dead-letters at once");
}

#[tokio::test]
async fn a_clean_stop_keeps_queued_deliveries_for_the_next_start() {
    let sink = Sink::start().await;
    sink.answer_with(503);
    let setup = Setup::empty();
    setup.write(
        "routes/a.yaml",
        &route(
            "t.queue",
            "/queue",
            &format!(
                "destinations:\n  - name: sink\n    to: {{ http: {{ url: '{}' }} }}\n",
                sink.url("/in")
            ),
        ),
    );
    let mut medbus = setup.start().await;
    let (status, _) = post(&medbus.url("/queue"), "text/plain", "kept").await;
    assert_eq!(status, 200);
    sink.wait_for(1, 10).await;
    let exit = medbus.stop();
    assert!(exit.success(), "SIGTERM ends medbus cleanly: {exit}\n{}", medbus.logs());
    assert!(medbus.logs().contains("stopped"), "{}", medbus.logs());

    sink.answer_with(200);
    medbus.restart().await;
    let received = sink.wait_for_or(2, 10, || medbus.logs()).await;
    assert!(received.iter().all(|r| r.body == "kept"));
}

/// A GET route answering what its path's parameters held.
fn lookup(id: &str, method: &str, path: &str, answer: &str) -> String {
    format!(
        "id: {id}\nsource:\n  http: {{ method: {method}, path: '{path}' }}\nkeys: {{ patientId: headers.params.patientId }}\n\
         reply:\n  content_type: application/json\n  body: '{answer}'\n"
    )
}

#[tokio::test]
async fn path_parameters_are_matched_decoded_and_read_by_steps() {
    let setup = Setup::empty();
    setup.write(
        "routes/patient.yaml",
        &lookup(
            "t.patient",
            "GET",
            "/api/patients/{patientId}",
            r#"{"patientId":{{ headers.params.patientId | json }},"path":"{{ headers.path }}"}"#,
        ),
    );
    setup.write(
        "routes/report.yaml",
        &lookup(
            "t.report",
            "GET",
            "/api/patients/{patientId}/reports/{reportNo}",
            r#"{"patientId":"{{ headers.params.patientId }}","reportNo":"{{ headers.params.reportNo }}"}"#,
        ),
    );
    setup.write(
        "routes/search.yaml",
        "id: t.search\nsource:\n  http: { method: GET, path: /api/patients/search }\nreply:\n  body: '{\"search\":true}'\n",
    );
    let medbus = setup.start().await;
    let get = |path: &str| {
        let url = medbus.url(path);
        async move {
            let response = reqwest::get(url).await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            )
        }
    };

    let (status, body) = get("/api/patients/P0001").await;
    assert_eq!(status, 200, "{body}\n{}", medbus.logs());
    assert_eq!(
        body,
        serde_json::json!({"patientId": "P0001", "path": "/api/patients/P0001"})
    );
    let (_, body) = get("/api/patients/%E5%BC%A0%E4%B8%89").await;
    assert_eq!(body["patientId"], "张三", "percent-decoded");
    let (_, body) = get("/api/patients/P0001/reports/L42").await;
    assert_eq!(body, serde_json::json!({"patientId": "P0001", "reportNo": "L42"}));
    let (_, body) = get("/api/patients/search").await;
    assert_eq!(
        body,
        serde_json::json!({"search": true}),
        "a fixed path wins over a pattern"
    );

    let (status, body) = post(&medbus.url("/api/patients/P0001"), "application/json", "{}").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED")),
        "{body}"
    );
    let (status, _) = get("/api/patients/P0001/visits").await;
    assert_eq!(status, 404);
    let (status, _) = get("/api/patients/").await;
    assert_eq!(status, 404, "an empty segment is no value");

    // The parameter is a business key: the message is found by it.
    let found: Value = reqwest::get(medbus.admin_url("/api/messages?key=patientId:%E5%BC%A0%E4%B8%89"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = found["messages"].as_array().unwrap_or_else(|| panic!("{found}"));
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["route"], "t.patient");
}

#[test]
fn check_refuses_patterns_it_cannot_tell_apart_and_malformed_parameters() {
    let setup = Setup::empty();
    setup.write("routes/a.yaml", &lookup("t.a", "GET", "/p/{id}", "{}"));
    setup.write("routes/b.yaml", &lookup("t.b", "POST", "/p/{no}", "{}"));
    setup.write("routes/c.yaml", &lookup("t.c", "GET", "/q/p{id}", "{}"));
    let (code, text) = setup.check();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("routes/b.yaml:")
            && text.contains("path `/p/{no}` on 127.0.0.1:")
            && text.contains("route `t.a`"),
        "{text}"
    );
    assert!(
        text.contains("routes/c.yaml:") && text.contains("segment `p{id}` is not a parameter"),
        "{text}"
    );
}
