//! The layer in front of every admin route: who is calling (a bearer
//! token, a session cookie, or a local caller while nobody is configured),
//! the CSRF rule, then the role the request needs. A refusal is logged,
//! counted and answered 401 or 403; an accepted request carries its
//! [`Caller`] as an extension for the handlers.

use super::csrf;
use super::login_limit::LoginLimit;
use super::refusal::{Reason, Refusal};
use super::roles::{self, Access, Role};
use super::sessions::{self, Sessions};
use super::settings::AdminAccess;
use crate::runtime::Engine;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Password checks running at once: each takes tens of milliseconds of CPU
/// and 19 MiB, so a burst of logins must not take the machine.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

pub struct Gate {
    pub(super) engine: Arc<Engine>,
    pub(super) sessions: Sessions,
    pub(super) login_limit: LoginLimit,
    /// Whether the admin listener is bound to a loopback address.
    local_listener: bool,
    password_checks: tokio::sync::Semaphore,
}

/// Who made an accepted request.
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub via: Via,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Via {
    Session {
        expires_at: DateTime<Utc>,
    },
    Token,
    /// Nobody is configured and the caller is local.
    Open,
}

impl Via {
    pub fn as_str(&self) -> &'static str {
        match self {
            Via::Session { .. } => "session",
            Via::Token => "token",
            Via::Open => "open",
        }
    }
}

impl Gate {
    pub fn new(engine: Arc<Engine>, listening_on: Option<SocketAddr>) -> Arc<Gate> {
        let local_listener = listening_on.is_some_and(|addr| addr.ip().is_loopback());
        if engine.settings().admin.is_open() {
            if local_listener {
                tracing::warn!("admin API has no users: open to local callers only");
            } else {
                tracing::error!(
                    "admin API has no users and is reachable from other machines: every request is refused"
                );
            }
        }
        Arc::new(Gate {
            engine,
            sessions: Sessions::default(),
            login_limit: LoginLimit::default(),
            local_listener,
            password_checks: tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS),
        })
    }

    /// Whether `password` matches `phc`; with no `phc` (an unknown name),
    /// false after as much work.
    pub(super) async fn verify_password(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.password_checks.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => super::password::verify(&password, &phc),
            None => {
                super::password::verify_for_unknown_user(&password);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    fn identify(
        &self,
        access: &AdminAccess,
        headers: &HeaderMap,
        remote: Option<SocketAddr>,
    ) -> Result<Caller, Reason> {
        if access.is_open() && self.local_listener && remote.is_none_or(|r| r.ip().is_loopback()) {
            return Ok(Caller {
                name: "local".into(),
                role: Role::Admin,
                via: Via::Open,
            });
        }
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let presented = value.to_str().ok().and_then(bearer).ok_or(Reason::BadToken)?;
            let token = access.token(presented).ok_or(Reason::BadToken)?;
            return Ok(Caller {
                name: token.name.clone(),
                role: token.role,
                via: Via::Token,
            });
        }
        let Some(id) = sessions::id_in(headers) else {
            return Err(Reason::NoCredentials);
        };
        let session = self.sessions.find(id, Instant::now()).ok_or(Reason::SessionEnded)?;
        match access.user(&session.user) {
            Some(user) if user.password_fingerprint() == session.password_fingerprint => Ok(Caller {
                name: user.name.clone(),
                role: user.role,
                via: Via::Session {
                    expires_at: session.expires_at,
                },
            }),
            _ => {
                self.sessions.end(id);
                Err(Reason::SessionEnded)
            }
        }
    }
}

/// The token of `Bearer <token>`.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The middleware: lets a request through to its route, or refuses it.
pub async fn check(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let Access::AtLeast(needed) = roles::needed(&method, &path) else {
        return next.run(request).await;
    };
    let remote = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let settings = gate.engine.settings();
    let refusal = |reason, user: Option<&str>| {
        Refusal {
            reason,
            method: &method,
            path: &path,
            remote,
            user,
        }
        .answer()
    };
    let caller = match gate.identify(&settings.admin, request.headers(), remote) {
        Ok(caller) => caller,
        Err(reason) => return refusal(reason, None),
    };
    if matches!(caller.via, Via::Session { .. }) && !csrf::allows(&method, request.headers()) {
        return refusal(Reason::Csrf, Some(&caller.name));
    }
    if !caller.role.may(needed) {
        let reason = Reason::Role {
            has: caller.role,
            needed,
        };
        return refusal(reason, Some(&caller.name));
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_token_is_read_from_its_header() {
        assert_eq!(bearer("Bearer mbt_abc"), Some("mbt_abc"));
        assert_eq!(bearer("bearer  mbt_abc "), Some("mbt_abc"));
        assert_eq!(bearer("Basic YWxpY2U6eA=="), None);
        assert_eq!(bearer("mbt_abc"), None);
    }
}
