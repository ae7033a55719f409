//! The baseline of the HTTP and SOAP benchmarks: a bare axum server that
//! reads the request body and answers a fixed reply, nothing else. With
//! `--soap`, the reply is a SOAP 1.1 response returning `ok` (the hospital a
//! hub forwards to, or a bare SOAP endpoint); otherwise a fixed JSON reply.
//! Usage: bare-http 127.0.0.1:9100 [--soap]

use axum::body::Bytes;

const SOAP_OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns:pushApplyRecordResponse xmlns:ns="http://hospital.demo.medbus/"><return>ok</return></ns:pushApplyRecordResponse></soap:Body></soap:Envelope>"#;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9100".into());
    let soap = args.any(|a| a == "--soap");
    let (content_type, body) = if soap {
        ("text/xml; charset=utf-8", SOAP_OK)
    } else {
        (
            "application/json",
            r#"{"status":"accepted","id":"00000000-0000-0000-0000-000000000000"}"#,
        )
    };
    let app = axum::Router::new()
        .fallback(move |_body: Bytes| async move { ([(axum::http::header::CONTENT_TYPE, content_type)], body) });
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the baseline's address");
    axum::serve(listener, app).await.expect("serve");
}
