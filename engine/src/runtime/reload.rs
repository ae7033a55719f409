//! Live reload: read the settings and the whole configuration again, check
//! it as `medbus check` does, and swap it in without dropping a request.
//!
//! Order of a swap: bind the new listener addresses (a taken port refuses
//! the reload while nothing has changed yet), swap the snapshot, serve the
//! new listeners, start and stop timers, close the listeners no route uses
//! any more (their requests in flight finish), wake the delivery workers of
//! added and changed routes. Routes whose inputs did not change are the
//! very same compiled routes in the new snapshot.
//!
//! The secrets file and `MEDBUS_SECRET_*` are read again with the settings:
//! a rotated secret applies to the requests and delivery attempts that
//! start after the swap, and a file with an error refuses the reload.

use super::snapshot::{RouteChanges, Snapshot};
use super::{file_pollers, listeners, mllp_listeners, timers, Engine};
use crate::config::Diagnostic;
use crate::settings::{RestartRequired, Settings};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many past outcomes are kept (for the admin console).
const HISTORY: usize = 20;

/// Serializes reloads and keeps the last outcomes.
#[derive(Default)]
pub struct Reloads {
    one_at_a_time: tokio::sync::Mutex<()>,
    count: AtomicU64,
    history: Mutex<VecDeque<Report>>,
}

impl Reloads {
    pub fn last(&self) -> Option<Report> {
        self.history.lock().unwrap().front().cloned()
    }

    /// The last outcomes, newest first.
    pub fn history(&self) -> Vec<Report> {
        self.history.lock().unwrap().iter().cloned().collect()
    }

    fn record(&self, report: Report) {
        let mut history = self.history.lock().unwrap();
        history.push_front(report);
        history.truncate(HISTORY);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST /api/reload` (also what `medbus reload` calls).
    Api,
    /// A file under a watched folder, or the settings file, changed.
    Watch,
    /// SIGHUP.
    Signal,
}

/// One reload's outcome, as the admin API answers it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub took_ms: u64,
    /// Counts reloads since medbus started, from 1.
    pub number: u64,
    pub trigger: Trigger,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Applied {
        routes: RouteChanges,
        restart_required: Vec<RestartRequired>,
    },
    Refused {
        errors: Vec<ReloadError>,
    },
}

/// A configuration error with its position, also as `file:line:column: message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReloadError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub text: String,
}

impl From<&Diagnostic> for ReloadError {
    fn from(d: &Diagnostic) -> Self {
        ReloadError {
            file: d.file.display().to_string(),
            line: d.at.line,
            column: d.at.column,
            message: d.message.clone(),
            text: d.to_string(),
        }
    }
}

/// Reloads the configuration (one reload at a time) and records the outcome.
pub async fn reload(engine: &Arc<Engine>, trigger: Trigger) -> Report {
    let _one_at_a_time = engine.reloads.one_at_a_time.lock().await;
    let started = Instant::now();
    let outcome = match swap(engine).await {
        Ok((routes, restart_required)) => Outcome::Applied {
            routes,
            restart_required,
        },
        Err(errors) => Outcome::Refused {
            errors: errors.iter().map(ReloadError::from).collect(),
        },
    };
    let took = started.elapsed();
    let report = Report {
        outcome,
        took_ms: took.as_millis() as u64,
        number: engine.reloads.count.fetch_add(1, Ordering::Relaxed) + 1,
        trigger,
        at: Utc::now(),
    };
    log_and_count(&report, took);
    engine.reloads.record(report.clone());
    report
}

fn log_and_count(report: &Report, took: std::time::Duration) {
    let outcome = match &report.outcome {
        Outcome::Applied {
            routes,
            restart_required,
        } => {
            tracing::info!(
                trigger = ?report.trigger,
                added = ?routes.added,
                changed = ?routes.changed,
                removed = ?routes.removed,
                unchanged = routes.unchanged,
                took_ms = report.took_ms,
                "configuration reloaded"
            );
            for setting in restart_required {
                tracing::warn!(
                    setting = setting.setting,
                    running = %setting.running,
                    configured = %setting.configured,
                    "this setting changed but applies only after a restart; the running value stays"
                );
            }
            "applied"
        }
        Outcome::Refused { errors } => {
            for error in errors {
                tracing::error!("reload refused: {}", error.text);
            }
            tracing::error!(
                trigger = ?report.trigger,
                errors = errors.len(),
                "reload refused; the running configuration stays"
            );
            "refused"
        }
    };
    metrics::counter!("medbus_reloads_total", "outcome" => outcome).increment(1);
    metrics::histogram!("medbus_reload_seconds").record(took.as_secs_f64());
}

async fn swap(engine: &Arc<Engine>) -> Result<(RouteChanges, Vec<RestartRequired>), Vec<Diagnostic>> {
    let running = engine.snapshot();
    let configured = Settings::load(&running.settings.file, &|name| std::env::var(name).ok())?;
    let restart_required = Settings::needing_restart(&running.settings, &configured);
    let settings = Arc::new(configured.keeping_restart_only(&running.settings));
    let previous = running.clone();
    let loaded = tokio::task::spawn_blocking(move || Snapshot::load_reusing(settings, Some(previous.as_ref())))
        .await
        .map_err(|e| {
            vec![Diagnostic::in_file(
                &running.settings.file,
                format!("the reload failed: {e}"),
            )]
        })??;

    // Added databases open and every database's new migrations apply before
    // the routes that need them serve.
    loaded
        .resources
        .databases
        .open(&loaded.settings.databases)
        .await
        .map_err(|e| vec![Diagnostic::in_file(&loaded.settings.file, e)])?;

    let open = engine.listeners.addrs();
    let wanted = loaded.http_addrs();
    let to_open: Vec<_> = wanted.iter().copied().filter(|a| !open.contains(a)).collect();
    let bound = listeners::bind(&to_open)
        .await
        .map_err(|(addr, e)| vec![cannot_listen(&loaded, addr, &e)])?;
    let open_mllp = engine.mllp_listeners.addrs();
    let wanted_mllp = loaded.mllp_addrs();
    let to_open: Vec<_> = wanted_mllp.iter().copied().filter(|a| !open_mllp.contains(a)).collect();
    let bound_mllp = listeners::bind(&to_open)
        .await
        .map_err(|(addr, e)| vec![cannot_listen(&loaded, addr, &e)])?;

    let changes = loaded.changes_from(&running);
    let loaded = Arc::new(loaded);
    engine.swap_snapshot(loaded.clone());
    if loaded.settings.secrets != running.settings.secrets {
        tracing::info!(
            secrets = loaded.settings.secrets.len(),
            "secrets read again; the new ones apply from now"
        );
    }
    loaded.settings.secrets.log_warnings();
    for (addr, listener) in bound {
        listeners::serve(engine, addr, listener);
    }
    for (addr, listener) in bound_mllp {
        mllp_listeners::serve(engine, addr, listener);
    }
    timers::sync(engine);
    file_pollers::sync(engine);
    for addr in open.into_iter().filter(|a| !wanted.contains(a)) {
        engine.listeners.close(addr);
    }
    for addr in open_mllp.into_iter().filter(|a| !wanted_mllp.contains(a)) {
        engine.mllp_listeners.close(addr);
    }
    for id in changes.added.iter().chain(&changes.changed) {
        if let Some(route) = loaded.route(id) {
            engine.deliveries.wake_route(engine, route);
        }
    }
    Ok((changes, restart_required))
}

/// A bind failure, reported at the first route that asks for the address.
fn cannot_listen(snapshot: &Snapshot, addr: std::net::SocketAddr, error: &std::io::Error) -> Diagnostic {
    let message = format!("cannot listen on {addr}: {error}; expected a free address");
    let asking = snapshot.routes.iter().find(|r| r.source.listener_addr() == Some(addr));
    match asking {
        Some(route) => Diagnostic::new(&route.file, route.spec.source.at, message),
        None => Diagnostic::in_file(&snapshot.settings.file, message),
    }
}
