//! The timer source fires and its messages are delivered.

use medbus_tests::sink::Sink;
use medbus_tests::Setup;

#[tokio::test]
async fn an_interval_timer_fires_repeatedly() {
    let sink = Sink::start().await;
    let setup = Setup::empty();
    setup.write(
        "routes/tick.yaml",
        &format!(
            "id: t.tick\nsource:\n  timer: {{ every: 300ms, body: tick }}\ndestinations:\n  - name: sink\n    to: {{ http: {{ url: '{}' }} }}\n",
            sink.url("/tick")
        ),
    );
    let _medbus = setup.start().await;
    let received = sink.wait_for(3, 10).await;
    assert!(received.iter().all(|r| r.body == "tick"));
}
