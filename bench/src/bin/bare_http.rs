//! The baseline of the REST benchmark: a bare axum server that reads the
//! request body and answers a fixed JSON reply, nothing else.
//! Usage: bare-http 127.0.0.1:9100

use axum::body::Bytes;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9100".into());
    let app = axum::Router::new().fallback(|_body: Bytes| async {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"status":"accepted","id":"00000000-0000-0000-0000-000000000000"}"#,
        )
    });
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the baseline's address");
    axum::serve(listener, app).await.expect("serve");
}
