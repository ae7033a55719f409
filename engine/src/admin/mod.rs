//! The admin listener: `/health`, `/metrics`, the admin API (reload,
//! reprocess, routes, messages), behind the login and roles of [`auth`],
//! and the web console at `/`.

mod api_error;
pub mod auth;
mod console;
mod messages;
mod openapi;
mod overview;
mod reload;
mod reprocess;
mod routes;
mod stats;
mod time;

use crate::runtime::Engine;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tokio::net::TcpListener;

type AdminState = (Arc<Engine>, PrometheusHandle);

pub fn serve(engine: Arc<Engine>, metrics: PrometheusHandle, listener: TcpListener) {
    let gate = auth::Gate::new(engine.clone(), listener.local_addr().ok());
    let app = axum::Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .merge(reprocess::routes(engine.clone()))
        .merge(messages::routes(engine.clone()))
        .merge(routes::routes(engine.clone()))
        .merge(stats::routes(engine.clone()))
        .merge(overview::routes(engine.clone()))
        .merge(openapi::routes())
        .route("/api/reload", get(reload::last).post(reload::post))
        .route("/api/reload/history", get(reload::history))
        .merge(auth::routes(gate.clone()));
    // Last: the guard covers only the routes added before it.
    let app = auth::guard(app, gate)
        .fallback(console::file)
        .with_state((engine, metrics));
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("admin listener stopped: {e}");
        }
    });
}

async fn health(State((engine, _)): State<AdminState>) -> impl IntoResponse {
    if engine.is_ready() {
        (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "starting" })),
        )
    }
}

async fn render_metrics(State((_, metrics)): State<AdminState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
}

/// Installs the Prometheus recorder with buckets fit for message latencies
/// (seconds) and commit batch sizes.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let latency = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let batch = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)?
        .set_buckets_for_metric(Matcher::Suffix("_batch_size".into()), &batch)?
        .install_recorder()?;
    Ok(handle)
}
