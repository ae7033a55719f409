//! Roles and the table of who may call what on the admin listener.
//!
//! | request | who |
//! |---|---|
//! | anything outside `/api/` (`/health`, `/metrics`, the console's files) | anyone |
//! | `POST /api/login` | anyone |
//! | `GET /api/me`, `POST /api/logout` | any logged-in caller |
//! | any method on `/api/users` and below | admin |
//! | `GET`, `HEAD`, `OPTIONS` on the rest of `/api/` | viewer |
//! | any other method on the rest of `/api/` | operator |
//!
//! The table goes by method and path, not by route, so endpoints added
//! later are covered as soon as they exist.

use axum::http::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Each role may do what the one before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads: routes, messages, statistics, reload outcomes.
    Viewer,
    /// Also acts: reprocess, pause and resume routes, reload.
    Operator,
    /// Also sees who may use the admin API (`/api/users`).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn may(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    AtLeast(Role),
}

/// Who may make a request of `method` on `path`.
pub fn needed(method: &Method, path: &str) -> Access {
    let Some(rest) = path.strip_prefix("/api/") else {
        return if path == "/api" {
            by_method(method)
        } else {
            Access::Anyone
        };
    };
    match rest {
        "login" if method == Method::POST => Access::Anyone,
        "logout" | "me" => Access::AtLeast(Role::Viewer),
        _ if is_at_or_under(rest, "users") => Access::AtLeast(Role::Admin),
        _ => by_method(method),
    }
}

/// A method that only reads.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn by_method(method: &Method) -> Access {
    if is_safe(method) {
        Access::AtLeast(Role::Viewer)
    } else {
        Access::AtLeast(Role::Operator)
    }
}

fn is_at_or_under(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases = [
            (Method::GET, "/health", Access::Anyone),
            (Method::GET, "/metrics", Access::Anyone),
            (Method::GET, "/", Access::Anyone),
            (Method::GET, "/app.js", Access::Anyone),
            (Method::POST, "/api/login", Access::Anyone),
            (Method::GET, "/api/login", Access::AtLeast(Role::Viewer)),
            (Method::GET, "/api/me", Access::AtLeast(Role::Viewer)),
            (Method::POST, "/api/logout", Access::AtLeast(Role::Viewer)),
            (Method::GET, "/api/reload", Access::AtLeast(Role::Viewer)),
            (Method::HEAD, "/api/messages", Access::AtLeast(Role::Viewer)),
            (Method::POST, "/api/reload", Access::AtLeast(Role::Operator)),
            (
                Method::POST,
                "/api/messages/m1/reprocess",
                Access::AtLeast(Role::Operator),
            ),
            (Method::POST, "/api/routes/r1/pause", Access::AtLeast(Role::Operator)),
            (Method::DELETE, "/api/anything", Access::AtLeast(Role::Operator)),
            (Method::PUT, "/api", Access::AtLeast(Role::Operator)),
            (Method::GET, "/api/users", Access::AtLeast(Role::Admin)),
            (Method::GET, "/api/users/alice", Access::AtLeast(Role::Admin)),
            (Method::GET, "/api/usersx", Access::AtLeast(Role::Viewer)),
            (Method::GET, "/apis", Access::Anyone),
        ];
        for (method, path, access) in cases {
            assert_eq!(needed(&method, path), access, "{method} {path}");
        }
    }

    #[test]
    fn each_role_may_what_the_one_before_may() {
        assert!(Role::Admin.may(Role::Operator) && Role::Operator.may(Role::Viewer));
        assert!(!Role::Viewer.may(Role::Operator) && !Role::Operator.may(Role::Admin));
        assert!(Role::Operator.may(Role::Operator));
    }
}
