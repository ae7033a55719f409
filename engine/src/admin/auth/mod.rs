//! Who may use the admin API: users who log in (argon2id passwords, a
//! session cookie) and API tokens (`Authorization: Bearer`), each with a
//! role, from the `admin` section of the settings. See docs/admin-auth.md.

mod api;
pub mod commands;
mod csrf;
mod gate;
mod login_limit;
pub mod password;
mod prompt;
mod refusal;
pub mod roles;
mod sessions;
pub mod settings;
pub mod token;

pub use gate::{Caller, Gate, Via};
pub use roles::Role;

use axum::Router;
use std::sync::Arc;

/// `/api/login`, `/api/logout`, `/api/me`, `/api/users`.
pub fn routes<S: Clone + Send + Sync + 'static>(gate: Arc<Gate>) -> Router<S> {
    api::routes(gate)
}

/// Puts every route of `router` behind the gate.
pub fn guard<S: Clone + Send + Sync + 'static>(router: Router<S>, gate: Arc<Gate>) -> Router<S> {
    router.layer(axum::middleware::from_fn_with_state(gate, gate::check))
}
