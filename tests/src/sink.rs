//! A stand-in receiver for destinations: an HTTP server that records every
//! request it gets and answers with a status the test controls.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    /// Stops the server when it was started by `start` or `resume`.
    running: Arc<Mutex<Option<Running>>>,
    delay_ms: Arc<AtomicU64>,
}

/// The server's stop signal and its task.
type Running = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>);

impl Sink {
    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = Sink {
            addr,
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            running: Arc::default(),
            delay_ms: Arc::default(),
        };
        sink.serve(listener);
        sink
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new().fallback(record).with_state(self.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        *self.running.lock().unwrap() = Some((stop, server));
    }

    /// Stops listening, as a receiver that went down: connections are
    /// closed and new ones refused until `resume`.
    pub async fn stop(&self) {
        let running = self.running.lock().unwrap().take();
        if let Some((stop, server)) = running {
            let _ = stop.send(());
            let _ = server.await;
        }
    }

    /// Listens again on the same address.
    pub async fn resume(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The status later requests are answered with.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// How long later requests wait before they are answered.
    pub fn delay(&self, delay: std::time::Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (or panics after `secs`).
    pub async fn wait_for(&self, count: usize, secs: u64) -> Vec<Received> {
        self.wait_for_or(count, secs, String::new).await
    }

    /// As `wait_for`, adding `context()` (e.g. the process log) to a failure.
    pub async fn wait_for_or(&self, count: usize, secs: u64, context: impl Fn() -> String) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {count} requests at the sink, got {}\n{}",
                received.len(),
                context()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn record(State(sink): State<Sink>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = sink.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    sink.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::from_u16(sink.status.load(Ordering::SeqCst)).unwrap()
}
