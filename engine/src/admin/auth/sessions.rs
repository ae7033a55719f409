//! Login sessions, in memory: a restart of medbus logs everyone out.
//!
//! A session id is 256 random bits, sent in the `medbus_session` cookie.
//! The store keeps the ids' SHA-256 only. A session lasts `session_ttl`
//! from the login on, and ends earlier on logout, or when its user is
//! removed from the settings or their password changes.

use super::token;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie holding the session id.
pub const COOKIE: &str = "medbus_session";

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user: String,
    /// The user's password hash at login, as [`super::settings::User::password_fingerprint`].
    pub password_fingerprint: [u8; 32],
    pub expires: Instant,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// A new session for `user`, lasting `ttl` from `now`; its id.
    pub fn start(&self, user: &str, password_fingerprint: [u8; 32], ttl: Duration, now: Instant) -> (String, Session) {
        let id = token::random_256();
        let session = Session {
            user: user.to_string(),
            password_fingerprint,
            expires: now + ttl,
            expires_at: chrono::Duration::from_std(ttl)
                .ok()
                .and_then(|ttl| Utc::now().checked_add_signed(ttl))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        };
        let mut sessions = self.by_digest.lock().unwrap();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(token::digest(&id), session.clone());
        (id, session)
    }

    /// The session `id` names, unless it ended or expired.
    pub fn find(&self, id: &str, now: Instant) -> Option<Session> {
        let digest = token::digest(id);
        let mut sessions = self.by_digest.lock().unwrap();
        match sessions.get(&digest) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                sessions.remove(&digest);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.by_digest.lock().unwrap().remove(&token::digest(id));
    }

    /// Sessions of `user` still running at `now`.
    pub fn count_of(&self, user: &str, now: Instant) -> usize {
        let sessions = self.by_digest.lock().unwrap();
        sessions.values().filter(|s| s.user == user && s.expires > now).count()
    }
}

/// The session id a request's `Cookie` headers carry.
pub fn id_in(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value of a new session: not readable by scripts, not
/// sent by other sites, for the whole admin listener. `Secure` when a
/// proxy in front says it serves HTTPS.
pub fn set_cookie(id: &str, ttl: Duration, behind_https: bool) -> String {
    let secure = if behind_https { "; Secure" } else { "" };
    format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_session_lasts_its_ttl_then_ends() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (id, session) = sessions.start("alice", [1; 32], HOUR, now);
        assert_eq!(id.len(), 43);
        assert_eq!(sessions.find(&id, now + HOUR - Duration::from_secs(1)), Some(session));
        assert_eq!(sessions.count_of("alice", now), 1);
        assert_eq!(sessions.find(&id, now + HOUR), None);
        assert_eq!(sessions.find(&id, now), None, "an expired session is gone");
        assert_eq!(sessions.count_of("alice", now), 0);
    }

    #[test]
    fn sessions_end_on_logout_and_are_told_apart() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (a, _) = sessions.start("alice", [1; 32], HOUR, now);
        let (b, _) = sessions.start("bob", [2; 32], HOUR, now);
        assert_ne!(a, b);
        sessions.end(&a);
        assert_eq!(sessions.find(&a, now), None);
        assert_eq!(sessions.find(&b, now).unwrap().user, "bob");
        assert_eq!(sessions.find("made-up", now), None);
    }

    #[test]
    fn the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "theme=dark; medbus_session=abc123; other=1".parse().unwrap());
        assert_eq!(id_in(&headers), Some("abc123"));
        headers.insert("cookie", "medbus_session=".parse().unwrap());
        assert_eq!(id_in(&headers), None);
        assert_eq!(
            set_cookie("abc", HOUR, false),
            "medbus_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600"
        );
        assert!(set_cookie("abc", HOUR, true).ends_with("; Secure"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
