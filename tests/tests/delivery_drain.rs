//! A figure, not a test of correctness (ignored; run it by hand): how fast
//! a destination's backlog drains once its receiver is back, beside the bare
//! rate of the same requests sent straight to the receiver with the
//! destination's concurrency (16).
//!
//! `cargo test --release -p medbus-tests --test delivery_drain -- --ignored --nocapture`

use medbus_tests::sink::Sink;
use medbus_tests::Setup;
use std::time::{Duration, Instant};

const BACKLOG: usize = 3000;
const CONCURRENCY: usize = 16;

async fn send_all(url: &str, count: usize) {
    let client = reqwest::Client::new();
    let mut running = tokio::task::JoinSet::new();
    for i in 0..count {
        if running.len() >= CONCURRENCY {
            running.join_next().await.unwrap().unwrap();
        }
        let (client, url) = (client.clone(), url.to_string());
        running.spawn(async move {
            let status = client.post(&url).body(format!("m{i}")).send().await.unwrap().status();
            assert!(status.is_success(), "{status}");
        });
    }
    while running.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints a figure"]
async fn a_backlog_drains_once_the_receiver_is_back() {
    let bare = Sink::start().await;
    let started = Instant::now();
    send_all(&bare.url("/x"), BACKLOG).await;
    let bare_time = started.elapsed();

    let sink = Sink::start().await;
    sink.stop().await;
    let setup = Setup::empty();
    setup.write(
        "routes/r.yaml",
        &format!(
            "id: t.r\nsource:\n  http: {{ path: /in }}\ndestinations:\n  - name: s\n    max_attempts: 1000\n    \
             backoff: {{ initial: 200ms, max: 200ms }}\n    to: {{ http: {{ url: '{}' }} }}\n",
            sink.url("/x")
        ),
    );
    let medbus = setup.start().await;
    send_all(&medbus.url("/in"), BACKLOG).await;
    // Every delivery failed once and waits in the journal for its retry.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sink.resume().await;
    let started = Instant::now();
    sink.wait_for(BACKLOG, 120).await;
    let drain_time = started.elapsed();

    let rate = |time: Duration| BACKLOG as f64 / time.as_secs_f64();
    println!("backlog of {BACKLOG} deliveries, concurrency {CONCURRENCY}");
    println!(
        "bare: the same requests straight to the receiver  {:>8.0} req/s",
        rate(bare_time)
    );
    println!(
        "medbus: the backlog drained from the journal       {:>8.0} deliveries/s",
        rate(drain_time)
    );
    println!(
        "ratio medbus/bare: {:.2}",
        bare_time.as_secs_f64() / drain_time.as_secs_f64()
    );
}
