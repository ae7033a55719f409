//! Delivery against a real receiver that goes away and comes back, and
//! against a process killed under load: everything acknowledged arrives,
//! ordered destinations keep their order, duplicates are counted.

use medbus_tests::load::post_until_killed;
use medbus_tests::sink::{Received, Sink};
use medbus_tests::Setup;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

use std::time::Duration;

const MESSAGE_ID: &str = "x-medbus-message-id";

fn message_id(received: &Received) -> String {
    received.headers[MESSAGE_ID].to_str().unwrap().to_string()
}

/// Every distinct message id in arrival order, and how many arrived more than once.
fn distinct(received: &[Received]) -> (Vec<String>, usize) {
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    for r in received {
        let id = message_id(r);
        if seen.insert(id.clone()) {
            order.push(id);
        }
    }
    let duplicates = received.len() - order.len();
    (order, duplicates)
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> String {
    let response = client.post(url).body(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool, logs: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}\n{}", logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_everything_and_ordered_lanes_keep_their_order() {
    let sink = Sink::start().await;
    sink.stop().await;
    let destination = |name: &str, ordered: &str| {
        format!(
            "  - name: {name}\n    to: {{ http: {{ url: \"{}\" }} }}\n    max_attempts: 1000\n    \
             backoff: {{ initial: 100ms, max: 400ms }}\n{ordered}",
            sink.url(&format!("/{name}"))
        )
    };
    let route = format!(
        "id: t.admit\nsource:\n  http: {{ path: /admit }}\nsteps:\n  - parse: {{ format: json }}\ndestinations:\n{}\n{}\n{}\n",
        destination("any", ""),
        destination("single", "    ordered: true\n"),
        destination("per-patient", "    ordered: { key: \"{{ body.patient }}\" }\n    concurrency: 4\n"),
    );
    let setup = Setup::empty();
    setup.write("routes/admit.yaml", &route);
    let medbus = setup.start().await;

    // Sent one after another while the receiver is down: each is
    // acknowledged (journaled), none can be delivered yet.
    let client = reqwest::Client::new();
    let mut sent = Vec::new();
    for n in 0..120 {
        let patient = format!("P{}", n % 5);
        let id = post(
            &client,
            &medbus.url("/admit"),
            format!("{{\"patient\":\"{patient}\",\"n\":{n}}}"),
        )
        .await;
        sent.push((id, patient));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.received().is_empty());
    sink.resume().await;

    let logs = || medbus.logs();
    let by_path = |path: &str| -> Vec<Received> { sink.received().into_iter().filter(|r| r.path == path).collect() };
    for path in ["/any", "/single", "/per-patient"] {
        wait_until(
            &format!("every message at {path}"),
            60,
            || distinct(&by_path(path)).0.len() == sent.len(),
            logs,
        )
        .await;
    }
    let sent_ids: Vec<String> = sent.iter().map(|(id, _)| id.clone()).collect();
    let (any, any_duplicates) = distinct(&by_path("/any"));
    assert_eq!(
        any.iter().collect::<HashSet<_>>(),
        sent_ids.iter().collect::<HashSet<_>>()
    );

    let (single, single_duplicates) = distinct(&by_path("/single"));
    assert_eq!(single, sent_ids, "ordered: true delivers in arrival order");

    let (per_patient, per_patient_duplicates) = distinct(&by_path("/per-patient"));
    let patient_of: HashMap<&String, &String> = sent.iter().map(|(id, p)| (id, p)).collect();
    for patient in (0..5).map(|p| format!("P{p}")) {
        let expected: Vec<&String> = sent.iter().filter(|(_, p)| *p == patient).map(|(id, _)| id).collect();
        let got: Vec<&String> = per_patient.iter().filter(|id| *patient_of[id] == patient).collect();
        assert_eq!(got, expected, "patient {patient}'s messages keep their order");
    }
    println!(
        "{} messages after the receiver came back; duplicates: any {any_duplicates}, single {single_duplicates}, \
         per-patient {per_patient_duplicates}",
        sent.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_is_delivered_across_repeated_sigkills() {
    let sink = Sink::start().await;
    let setup = Setup::empty();
    setup.write(
        "routes/ingest.yaml",
        &format!(
            "id: t.ingest\nsource:\n  http: {{ path: /ingest }}\ndestinations:\n  - name: out\n    \
             to: {{ http: {{ url: \"{}\" }} }}\n    backoff: {{ initial: 100ms, max: 1s }}\n",
            sink.url("/out")
        ),
    );
    let mut medbus = setup.start().await;
    let mut acked = HashSet::new();
    for round in 1..=3 {
        let ids = post_until_killed(&mut medbus, "/ingest", 16, Duration::from_millis(1500)).await;
        println!("round {round}: {} acknowledged before SIGKILL", ids.len());
        assert!(!ids.is_empty(), "the load produced no acknowledgement");
        acked.extend(ids);
        medbus.restart().await;
    }
    let logs = || medbus.logs();
    wait_until(
        "every acknowledged message at the receiver",
        90,
        || {
            let delivered: HashSet<String> = sink.received().iter().map(message_id).collect();
            acked.is_subset(&delivered)
        },
        logs,
    )
    .await;
    let (delivered, duplicates) = distinct(&sink.received());
    println!(
        "{} acknowledged over 3 kills, {} delivered, {duplicates} delivered more than once (sent again after a kill)",
        acked.len(),
        delivered.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deliveries_follow_a_changed_destination_and_drain_after_their_route_is_removed() {
    let sink = Sink::start().await;
    sink.stop().await;
    let route = |id: &str, path: &str, target: &str| {
        format!(
            "id: {id}\nsource:\n  http: {{ path: {path} }}\ndestinations:\n  - name: out\n    \
             to: {{ http: {{ url: \"{}\" }} }}\n    max_attempts: 1000\n    backoff: {{ initial: 100ms, max: 300ms }}\n",
            sink.url(target)
        )
    };
    let setup = Setup::empty();
    setup.write("routes/kept.yaml", &route("t.kept", "/kept", "/old"));
    setup.write("routes/removed.yaml", &route("t.removed", "/removed", "/removed"));
    let medbus = setup.start().await;
    let client = reqwest::Client::new();
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for n in 0..5 {
        kept.push(post(&client, &medbus.url("/kept"), format!("{{\"n\":{n}}}")).await);
        removed.push(post(&client, &medbus.url("/removed"), format!("{{\"n\":{n}}}")).await);
    }

    // While the receiver is down: the kept route's destination moves to
    // another path, the other route goes away.
    std::fs::write(
        medbus.config_dir.join("routes/kept.yaml"),
        route("t.kept", "/kept", "/new"),
    )
    .unwrap();
    std::fs::remove_file(medbus.config_dir.join("routes/removed.yaml")).unwrap();
    let reload = client.post(medbus.admin_url("/api/reload")).send().await.unwrap();
    assert_eq!(reload.status(), 200, "{}", reload.text().await.unwrap());
    let refused = client.post(medbus.url("/removed")).body("{}").send().await.unwrap();
    assert_eq!(refused.status(), 404, "a removed route accepts nothing more");

    sink.resume().await;
    let logs = || medbus.logs();
    let at = |path: &str| -> HashSet<String> {
        sink.received()
            .iter()
            .filter(|r| r.path == path)
            .map(message_id)
            .collect()
    };
    wait_until(
        "the queues delivered",
        30,
        || at("/new").len() == kept.len() && at("/removed").len() == removed.len(),
        logs,
    )
    .await;
    assert_eq!(
        at("/new"),
        kept.into_iter().collect(),
        "queued messages go out with the new settings"
    );
    assert!(at("/old").is_empty());
    assert_eq!(
        at("/removed"),
        removed.into_iter().collect(),
        "the removed route's queue drained"
    );
    wait_until(
        "the removed route's worker ends once its queue is empty",
        10,
        || medbus.logs().contains("queue drained; worker stopped"),
        logs,
    )
    .await;
}
