//! A refused admin API request: one warning in the log (method, path,
//! remote address, user), one count in
//! `medbus_admin_refused_total{reason}`, and the 401, 403 or 429 answer.

use super::roles::Role;
use super::sessions;
use crate::admin::api_error::ApiError;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Neither a session cookie nor a bearer token.
    NoCredentials,
    /// A bearer token that is not configured.
    BadToken,
    /// A session cookie of a session that expired, was logged out, or whose
    /// user was removed or changed password.
    SessionEnded,
    /// `POST /api/login` with a wrong name or password.
    LoginFailed,
    /// `POST /api/login` from an address that failed too often lately.
    TooManyLogins { retry_after_secs: u64 },
    /// A cookie-authenticated request that acts, without `X-Medbus-Csrf`.
    Csrf,
    /// The caller's role is not enough.
    Role { has: Role, needed: Role },
}

impl Reason {
    /// The metric's label.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NoCredentials => "no_credentials",
            Reason::BadToken => "bad_token",
            Reason::SessionEnded => "session_ended",
            Reason::LoginFailed => "login_failed",
            Reason::TooManyLogins { .. } => "too_many_logins",
            Reason::Csrf => "csrf",
            Reason::Role { .. } => "role",
        }
    }

    fn is_unauthenticated(self) -> bool {
        !matches!(self, Reason::Csrf | Reason::Role { .. } | Reason::TooManyLogins { .. })
    }
}

pub struct Refusal<'a> {
    pub reason: Reason,
    pub method: &'a Method,
    pub path: &'a str,
    pub remote: Option<SocketAddr>,
    /// The caller, or the name a failed login gave.
    pub user: Option<&'a str>,
}

impl Refusal<'_> {
    /// Logs and counts the refusal; the answer to send.
    pub fn answer(self) -> Response {
        let remote = self.remote.map(|r| r.to_string()).unwrap_or_else(|| "unknown".into());
        // Debug quotes and escapes: a failed login's name is whatever the caller sent.
        let user = self.user.map(|u| u.chars().take(64).collect::<String>());
        tracing::warn!(
            method = %self.method,
            path = %self.path,
            remote = %remote,
            user = ?user.as_deref().unwrap_or("-"),
            reason = self.reason.label(),
            "admin API request refused"
        );
        metrics::counter!("medbus_admin_refused_total", "reason" => self.reason.label()).increment(1);
        let error = match self.reason {
            Reason::NoCredentials => ApiError::new(
                401,
                "UNAUTHENTICATED",
                "log in (POST /api/login) or send `Authorization: Bearer <token>`",
            ),
            Reason::BadToken => ApiError::new(401, "BAD_TOKEN", "the bearer token is not one of the configured tokens"),
            Reason::SessionEnded => ApiError::new(
                401,
                "SESSION_ENDED",
                "the session has ended (expired, logged out, or the user was changed); log in again",
            ),
            Reason::LoginFailed => ApiError::new(401, "LOGIN_FAILED", "wrong name or password"),
            Reason::TooManyLogins { retry_after_secs } => ApiError::new(
                429,
                "TOO_MANY_LOGINS",
                format!("too many failed logins from this address; try again in {retry_after_secs} s"),
            ),
            Reason::Csrf => ApiError::new(
                403,
                "CSRF",
                "a request that acts and is authenticated by the session cookie must carry the header `X-Medbus-Csrf: 1`",
            ),
            Reason::Role { has, needed } => ApiError::new(
                    403,
                    "FORBIDDEN",
                format!(
                    "{} {} needs the role {needed}; `{}` is {has}",
                    self.method,
                    self.path,
                    user.as_deref().unwrap_or("-")
                ),
            ),
        };
        let mut response = error.into_response();
        if self.reason.is_unauthenticated() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"medbus admin\""),
            );
        }
        if let Reason::TooManyLogins { retry_after_secs } = self.reason {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if self.reason == Reason::SessionEnded {
            if let Ok(clear) = HeaderValue::from_str(&sessions::clear_cookie()) {
                response.headers_mut().insert(header::SET_COOKIE, clear);
            }
        }
        response
    }
}
