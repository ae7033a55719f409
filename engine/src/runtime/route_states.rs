//! Paused routes. A paused route takes no new message: its listeners answer
//! `ROUTE_PAUSED` in their protocol's error form, its timer and folder
//! poller skip their turns, and its destinations' workers hold their queues
//! (in the journal, nothing is lost) until it is resumed. The state is kept
//! in the journal (`route_state`), so it survives restarts and reloads.

use super::Engine;
use crate::exchange::Reply;
use crate::journal::{JournalError, RouteState};
use crate::sources::ErrorAnswer;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The routes paused now, read on every message.
#[derive(Default)]
pub struct RouteStates {
    paused: RwLock<HashMap<String, RouteState>>,
}

impl RouteStates {
    pub fn is_paused(&self, route: &str) -> bool {
        self.paused.read().unwrap().contains_key(route)
    }

    /// Since when and by whom the route is paused, if it is.
    pub fn paused(&self, route: &str) -> Option<RouteState> {
        self.paused.read().unwrap().get(route).cloned()
    }

    fn set(&self, state: RouteState) {
        let mut paused = self.paused.write().unwrap();
        if state.paused {
            paused.insert(state.route.clone(), state);
        } else {
            paused.remove(&state.route);
        }
    }
}

/// The answer to a message for a paused route, in its source's own error form.
pub fn paused_answer(answer: &ErrorAnswer, route: &str) -> Reply {
    tracing::debug!(route = %route, "message refused: the route is paused");
    let message = format!("route `{route}` is paused; send the message again later");
    answer.reply(503, "ROUTE_PAUSED", &message, None, "")
}

impl Engine {
    /// At start, before any listener serves: the routes the journal holds as paused.
    pub async fn load_route_states(&self) -> Result<usize, JournalError> {
        let states = self.journal.route_states().await?;
        let mut paused = 0;
        for state in states.into_iter().filter(|s| s.paused) {
            tracing::warn!(route = %state.route, since = %state.changed_at, "route paused (by an operator before this start)");
            self.route_states.set(state);
            paused += 1;
        }
        Ok(paused)
    }

    /// Pauses or resumes a route: journaled first, then in force. Resuming
    /// wakes the route's delivery workers so that held deliveries go out.
    pub async fn set_paused(
        self: &Arc<Self>,
        route: &str,
        paused: bool,
        by: Option<String>,
    ) -> Result<RouteState, JournalError> {
        let state = RouteState {
            route: route.to_string(),
            paused,
            changed_at: Utc::now(),
            changed_by: by,
        };
        self.journal.set_route_state(&state).await?;
        self.route_states.set(state.clone());
        let by = state.changed_by.as_deref().unwrap_or("-");
        if paused {
            metrics::counter!("medbus_route_pauses_total", "route" => route.to_string(), "action" => "pause")
                .increment(1);
            tracing::warn!(route = %route, by = %by, "route paused: it takes no messages and holds its deliveries");
        } else {
            metrics::counter!("medbus_route_pauses_total", "route" => route.to_string(), "action" => "resume")
                .increment(1);
            tracing::warn!(route = %route, by = %by, "route resumed");
            if let Some(loaded) = self.snapshot().route(route).cloned() {
                self.deliveries.wake_route(self, &loaded);
            }
        }
        Ok(state)
    }
}
