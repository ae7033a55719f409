//! `POST /api/login`, `POST /api/logout`, `GET /api/me` and `GET /api/users`.

use super::gate::{Caller, Gate, Via};
use super::refusal::{Reason, Refusal};
use super::sessions;
use crate::admin::api_error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A failed login answers no sooner than this after it arrived: whatever
/// went wrong, and however long the check took, the answer comes alike,
/// and guessing is slow.
const FAILED_LOGIN_DELAY: Duration = Duration::from_secs(1);

pub fn routes<S: Clone + Send + Sync + 'static>(gate: Arc<Gate>) -> Router<S> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/users", get(users))
        .with_state(gate)
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    name: String,
    password: String,
}

async fn login(
    State(gate): State<Arc<Gate>>,
    remote: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    request: Result<Json<LoginRequest>, JsonRejection>,
) -> Response {
    let arrived = Instant::now();
    let Json(request) = match request {
        Ok(request) => request,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let remote = remote.map(|Extension(ConnectInfo(addr))| addr);
    let address = remote.map(|r| r.ip());
    if let Some(Err(wait)) = address.map(|ip| gate.login_limit.attempt(ip, arrived)) {
        return Refusal {
            reason: Reason::TooManyLogins {
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            },
            method: &Method::POST,
            path: "/api/login",
            remote,
            user: Some(&request.name),
        }
        .answer();
    }
    let settings = gate.engine.settings();
    let user = settings.admin.user(&request.name).cloned();
    let phc = user.as_ref().map(|u| u.password_hash().to_string());
    let verified = gate.verify_password(request.password, phc).await;
    let Some(user) = user.filter(|_| verified) else {
        tokio::time::sleep_until((arrived + FAILED_LOGIN_DELAY).into()).await;
        return Refusal {
            reason: Reason::LoginFailed,
            method: &Method::POST,
            path: "/api/login",
            remote,
            user: Some(&request.name),
        }
        .answer();
    };
    if let Some(ip) = address {
        gate.login_limit.succeeded(ip);
    }
    let ttl = settings.admin.session_ttl;
    let (id, session) = gate
        .sessions
        .start(&user.name, user.password_fingerprint(), ttl, Instant::now());
    let from = remote.map(|r| r.to_string()).unwrap_or_else(|| "unknown".into());
    tracing::info!(user = ?user.name, role = %user.role, remote = %from, "admin login");
    let cookie = sessions::set_cookie(&id, ttl, behind_https(&headers));
    let answer = json!({ "name": user.name, "role": user.role, "expires_at": session.expires_at });
    ([(header::SET_COOKIE, cookie)], Json(answer)).into_response()
}

/// A proxy in front that terminates TLS says so.
fn behind_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

async fn logout(State(gate): State<Arc<Gate>>, Extension(caller): Extension<Caller>, headers: HeaderMap) -> Response {
    if let Some(id) = sessions::id_in(&headers) {
        gate.sessions.end(id);
    }
    tracing::info!(user = ?caller.name, via = caller.via.as_str(), "admin logout");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, sessions::clear_cookie())]).into_response()
}

async fn me(Extension(caller): Extension<Caller>) -> Json<Value> {
    let mut answer = json!({ "name": caller.name, "role": caller.role, "via": caller.via.as_str() });
    if let Via::Session { expires_at } = caller.via {
        answer["expires_at"] = json!(expires_at);
    }
    Json(answer)
}

/// Who may use the admin API, from the settings; never a hash.
async fn users(State(gate): State<Arc<Gate>>) -> Json<Value> {
    let settings = gate.engine.settings();
    let now = Instant::now();
    let users: Vec<Value> = settings
        .admin
        .users()
        .iter()
        .map(|u| json!({ "name": u.name, "role": u.role, "sessions": gate.sessions.count_of(&u.name, now) }))
        .collect();
    let tokens: Vec<Value> = settings
        .admin
        .tokens()
        .iter()
        .map(|t| json!({ "name": t.name, "role": t.role }))
        .collect();
    Json(json!({ "users": users, "tokens": tokens }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_proxy_is_recognised_by_its_header() {
        let mut headers = HeaderMap::new();
        assert!(!behind_https(&headers));
        headers.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
        assert!(behind_https(&headers));
        headers.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!behind_https(&headers));
    }
}
