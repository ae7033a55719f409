//! Tasks that run on their own for a route (a timer's schedule, a folder's
//! poller), kept by route id with the compiled route they run: a reload that
//! keeps a route (the same `Arc`) keeps its task and its cadence; a changed
//! route's task is replaced, a removed one's stopped.

use super::snapshot::Route;
use super::Engine;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// The running tasks of one kind, by route id.
pub struct RouteTasks {
    /// `timer`, `file poller`: for the logs.
    kind: &'static str,
    running: Mutex<HashMap<String, (Arc<Route>, CancellationToken)>>,
}

impl RouteTasks {
    pub fn new(kind: &'static str) -> RouteTasks {
        RouteTasks {
            kind,
            running: Mutex::default(),
        }
    }

    /// Makes the running tasks match the current snapshot's routes that
    /// `wanted` picks: starts the new and changed ones with `start`, stops the
    /// changed and removed ones, leaves the others be.
    pub fn sync<F, Task>(&self, engine: &Arc<Engine>, wanted: impl Fn(&Route) -> bool, start: F)
    where
        F: Fn(Arc<Engine>, Arc<Route>, CancellationToken) -> Task,
        Task: Future<Output = ()> + Send + 'static,
    {
        let snapshot = engine.snapshot();
        let mut running = self.running.lock().unwrap();
        let wanted: HashMap<&str, &Arc<Route>> = snapshot
            .routes
            .iter()
            .filter(|r| wanted(r))
            .map(|r| (r.id.as_str(), r))
            .collect();
        running.retain(|id, (route, stop)| {
            let keep = wanted.get(id.as_str()).is_some_and(|new| Arc::ptr_eq(new, route));
            if !keep {
                stop.cancel();
                tracing::info!(route = %id, kind = self.kind, "stopped");
            }
            keep
        });
        for (id, route) in wanted {
            if running.contains_key(id) {
                continue;
            }
            let stop = CancellationToken::new();
            engine.tasks.spawn(start(engine.clone(), route.clone(), stop.clone()));
            running.insert(id.to_string(), (route.clone(), stop));
        }
    }
}
