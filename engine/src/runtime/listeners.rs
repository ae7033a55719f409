//! HTTP listeners shared by routes: one per address. A request is served
//! by the snapshot current when it arrived, found by (address, path) for a
//! SOAP service, else by (address, method, path).
//! The open listeners are kept by address, each with its own closer, so that
//! a reload opens new addresses before the swap and closes unused ones after.

use super::pipeline::error_json;
use super::route_states::paused_answer;
use super::snapshot::Source;
use super::Engine;
use crate::exchange::{Exchange, Reply};
use crate::sources::http::{exchange, request_headers};
use crate::sources::soap::{self, SoapService};
use crate::sources::ErrorAnswer;
use crate::steps::StepError;
use crate::value::Value;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use medbus_adapters::soap::FaultCode;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The open listeners of one protocol, by address.
pub struct Listeners {
    /// `HTTP`, `MLLP`: for the logs.
    protocol: &'static str,
    open: Mutex<HashMap<SocketAddr, CancellationToken>>,
}

impl Listeners {
    pub fn new(protocol: &'static str) -> Listeners {
        Listeners {
            protocol,
            open: Mutex::default(),
        }
    }

    /// Records `addr` as open; its token closes it. A listener already
    /// open there is closed.
    pub fn register(&self, addr: SocketAddr) -> CancellationToken {
        let closer = CancellationToken::new();
        if let Some(previous) = self.open.lock().unwrap().insert(addr, closer.clone()) {
            previous.cancel();
        }
        closer
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<_> = self.open.lock().unwrap().keys().copied().collect();
        addrs.sort();
        addrs
    }

    /// Stops accepting on `addr`; requests in flight there finish.
    pub fn close(&self, addr: SocketAddr) {
        if let Some(closer) = self.open.lock().unwrap().remove(&addr) {
            closer.cancel();
            tracing::info!(%addr, protocol = self.protocol, "listener closing");
        }
    }
}

/// Binds each address; on the first that cannot be bound, none stays open.
pub async fn bind(addrs: &[SocketAddr]) -> Result<Vec<(SocketAddr, TcpListener)>, (SocketAddr, std::io::Error)> {
    let mut bound = Vec::new();
    for &addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(listener) => bound.push((addr, listener)),
            Err(e) => return Err((addr, e)),
        }
    }
    Ok(bound)
}

/// Binds every listener the snapshot needs; fails if any address is taken.
pub async fn bind_all(engine: &Arc<Engine>) -> anyhow::Result<Vec<(SocketAddr, TcpListener)>> {
    bind(&engine.snapshot().http_addrs())
        .await
        .map_err(|(addr, e)| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Serves a bound listener until medbus stops or the listener is closed.
pub fn serve(engine: &Arc<Engine>, addr: SocketAddr, listener: TcpListener) {
    let app = axum::Router::new()
        .fallback(handle_request)
        .with_state((engine.clone(), addr))
        .into_make_service_with_connect_info::<SocketAddr>();
    let closer = engine.listeners.register(addr);
    let stopping = engine.stopping();
    let closed = async move {
        tokio::select! {
            _ = stopping => {}
            _ = closer.cancelled() => {}
        }
    };
    engine.tasks.spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(closed).await {
            tracing::error!(%addr, "listener stopped: {e}");
        }
        tracing::info!(%addr, "HTTP listener closed");
    });
    tracing::info!(%addr, "HTTP listener up");
}

async fn handle_request(
    State((engine, addr)): State<(Arc<Engine>, SocketAddr)>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let snapshot = engine.snapshot();
    let (parts, body) = request.into_parts();
    if let Some(service) = snapshot.soap_service(addr, parts.uri.path()).cloned() {
        drop(snapshot);
        return to_response(handle_soap(&engine, &service, parts, body, remote).await);
    }
    let Some((route, params)) = snapshot.http_route(addr, &parts.method, parts.uri.path()) else {
        let (status, code, message) = if snapshot.http_path_known(addr, parts.uri.path()) {
            (
                405,
                "METHOD_NOT_ALLOWED",
                format!("{} is not served on {}", parts.method, parts.uri.path()),
            )
        } else {
            (
                404,
                "NOT_FOUND",
                format!("no route serves {} {}", parts.method, parts.uri.path()),
            )
        };
        return to_response(error_json(status, code, &message, ""));
    };
    drop(snapshot);
    if engine.route_states.is_paused(&route.id) {
        return to_response(paused_answer(&ErrorAnswer::Json, &route.id));
    }
    let Source::Http { config, .. } = &route.source else {
        unreachable!("only HTTP routes are in the listener table")
    };
    let mut headers = request_headers(&parts.method, &parts.uri, &parts.headers, Some(remote));
    if let Some(params) = params {
        headers.insert("params".into(), Value::Object(params));
    }
    let limit = usize::try_from(config.max_body.0).unwrap_or(usize::MAX);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let ex = exchange(&route.id, bytes::Bytes::new(), headers);
            let error = StepError::rejected(
                "PAYLOAD_TOO_LARGE",
                format!(
                    "the body is larger than the {} bytes this route accepts",
                    config.max_body.0
                ),
            );
            return to_response(engine.reject(&route, ex, error.with_status(413)).await);
        }
    };
    let ex: Exchange = exchange(&route.id, bytes, headers);
    if !config.accepts(ex.content_type.as_deref()) {
        let error = StepError::rejected(
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "content type `{}` is not accepted; expected one of: {}",
                ex.content_type.as_deref().unwrap_or("(none)"),
                config.content_types.join(", ")
            ),
        );
        return to_response(engine.reject(&route, ex, error.with_status(415)).await);
    }
    to_response(engine.handle(&route, ex, None).await)
}

pub fn to_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(reply.body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        headers.insert(axum::http::header::CONTENT_TYPE, value);
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            headers.insert(name, value);
        }
    }
    response
}

/// A request to a SOAP service: the WSDL for `GET ?wsdl`, else a call
/// dispatched to the route of its operation, answered with an envelope.
async fn handle_soap(
    engine: &Arc<Engine>,
    service: &SoapService,
    parts: axum::http::request::Parts,
    body: Body,
    remote: SocketAddr,
) -> Reply {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header("content-type").unwrap_or("").to_string();
    let version = soap::version_of(&content_type);
    let refuse = |reason, message: String| {
        soap::unrouted(service, reason, &message);
        soap::fault(version, FaultCode::Client, &message)
    };
    if parts.method == Method::GET && soap::asks_for_wsdl(parts.uri.query()) {
        let host = header("host").map_or_else(|| format!("{remote}"), str::to_string);
        return Reply {
            status: 200,
            content_type: "text/xml; charset=utf-8".into(),
            headers: Vec::new(),
            body: service.wsdl(&host),
        };
    }
    if parts.method != Method::POST {
        let message = format!(
            "{} {} is not a SOAP call; expected POST with a SOAP envelope, or GET {}?wsdl for the WSDL",
            parts.method, service.path, service.path
        );
        return refuse("method", message);
    }
    let limit = usize::try_from(service.max_body()).unwrap_or(usize::MAX);
    let Ok(raw) = axum::body::to_bytes(body, limit).await else {
        let message = format!(
            "the request body is larger than the {} bytes service `{}` accepts",
            service.max_body(),
            service.name
        );
        return refuse("too_large", message);
    };
    let request = match medbus_adapters::soap::parse_request(&raw, &content_type, header("soapaction")) {
        Ok(request) => request,
        Err(e) => {
            soap::unrouted(service, soap::refusal_reason(&e), &e.to_string());
            return soap::fault(version, e.fault_code(), &e.to_string());
        }
    };
    let route = match service.dispatch(&request) {
        Ok(route) => route.clone(),
        Err(message) => {
            soap::unrouted(service, "unknown_operation", &message);
            return soap::fault(request.version, FaultCode::Client, &message);
        }
    };
    if engine.route_states.is_paused(&route.id) {
        return paused_answer(&ErrorAnswer::Soap(request.version), &route.id);
    }
    let config = soap::source_config(&route);
    let operation = config.operation.clone();
    let headers = request_headers(&parts.method, &parts.uri, &parts.headers, Some(remote));
    let too_large = raw.len() as u64 > config.max_body.0;
    let (ex, error) = soap::exchange(&route, request, raw, headers);
    let error = too_large
        .then(|| {
            StepError::rejected(
                "PAYLOAD_TOO_LARGE",
                format!(
                    "the body is larger than the {} bytes operation `{operation}` accepts",
                    config.max_body.0
                ),
            )
        })
        .or(error);
    match error {
        Some(error) => engine.reject(&route, ex, error).await,
        None => engine.handle(&route, ex, None).await,
    }
}
