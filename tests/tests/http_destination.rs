//! The `http` destination against a receiver that answers 200 whatever
//! happened and says in its body whether it took the message, as the
//! seeds' platforms do (`{"code":"0","msg":"成功"}`): `success_when` and
//! `error_when` decide, and a refusal is not retried.

use axum::routing::post;
use medbus_tests::{post as post_json, Medbus, Setup};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers every POST with 200 and `{"code": <the request's "answer">, "msg": ...}`;
/// counts the requests.
async fn platform() -> (SocketAddr, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().route(
        "/persons",
        post(move |body: String| {
            counted.fetch_add(1, Ordering::Relaxed);
            async move {
                let sent: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let code = sent["answer"].as_str().unwrap_or("?").to_string();
                let msg = if code == "0" { "成功" } else { "参数错误" };
                axum::Json(json!({ "code": code, "msg": msg }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, requests)
}

fn route(platform: SocketAddr) -> String {
    format!(
        r#"id: t.register
description: a registration forwarded twice, each destination judging the answer's body its own way
source:
  http: {{ method: POST, path: /register, content_types: [application/json] }}
steps:
  - parse: {{ format: json }}
destinations:
  - name: positive
    to:
      http:
        url: http://{platform}/persons
        success_when: '"code"\s*:\s*"0"'
    backoff: {{ initial: 100ms, max: 100ms }}
  - name: negative
    to:
      http:
        url: http://{platform}/persons
        error_when: '"code"\s*:\s*"[1-9]'
    backoff: {{ initial: 100ms, max: 100ms }}
"#
    )
}

/// Each destination's (status, attempts, last error) once none is pending.
async fn settled(medbus: &Medbus, message: &str) -> Vec<(String, String, i64, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let whole = medbus.message(message).await;
        let mut deliveries: Vec<_> = whole["deliveries"]
            .as_array()
            .unwrap_or_else(|| panic!("{whole}"))
            .iter()
            .map(|d| {
                (
                    d["destination"].as_str().unwrap().to_string(),
                    d["status"].as_str().unwrap().to_string(),
                    d["attempts"].as_i64().unwrap(),
                    d["last_error"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        deliveries.sort();
        if deliveries.len() == 2 && deliveries.iter().all(|d| d.1 != "pending") {
            return deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "still pending: {deliveries:?}\n{}",
            medbus.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn register(medbus: &Medbus, answer: &str) -> String {
    let body = json!({ "patientId": "P1", "answer": answer }).to_string();
    let (status, reply) = post_json(&medbus.url("/register"), "application/json", body).await;
    assert_eq!(status, 200, "{reply}\n{}", medbus.logs());
    reply["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answers_body_decides_whether_a_200_delivered() {
    let (addr, requests) = platform().await;
    let setup = Setup::empty();
    setup.write("routes/register.yaml", &route(addr));
    let medbus = setup.start().await;

    let accepted = register(&medbus, "0").await;
    let delivered = settled(&medbus, &accepted).await;
    assert_eq!(
        delivered
            .iter()
            .map(|d| (d.0.as_str(), d.1.as_str(), d.2))
            .collect::<Vec<_>>(),
        [("negative", "delivered", 1), ("positive", "delivered", 1)]
    );

    // A business error in a 200: both refuse it, and neither tries again.
    let refused = register(&medbus, "1").await;
    let dead = settled(&medbus, &refused).await;
    assert_eq!((dead[0].1.as_str(), dead[0].2), ("dead", 1), "{dead:?}");
    assert!(
        dead[0].3.contains("the answer matches `error_when`") && dead[0].3.contains("参数错误"),
        "{dead:?}"
    );
    assert_eq!((dead[1].1.as_str(), dead[1].2), ("dead", 1), "{dead:?}");
    assert!(
        dead[1].3.contains("the answer does not match `success_when`"),
        "{dead:?}"
    );

    // An answer neither rule foresaw: only the positive rule refuses it.
    let unforeseen = register(&medbus, "").await;
    let split = settled(&medbus, &unforeseen).await;
    assert_eq!(split[0].1, "delivered", "{split:?}");
    assert_eq!((split[1].1.as_str(), split[1].2), ("dead", 1), "{split:?}");

    // Two destinations, three messages, one attempt each.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(requests.load(Ordering::Relaxed), 6, "a refusal is not sent again");
}

#[test]
fn check_points_at_a_bad_body_rule() {
    let setup = Setup::empty();
    setup.write(
        "routes/bad.yaml",
        "id: t.bad\ndescription: d\nsource:\n  http: { method: POST, path: /x }\ndestinations:\n  - name: p\n    to:\n      http: { url: 'http://127.0.0.1:1/', error_when: '(' }\n",
    );
    let (code, text) = setup.check();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("routes/bad.yaml:") && text.contains("`error_when` is not a valid regular expression"),
        "{text}"
    );
}
