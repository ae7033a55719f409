//! `medbus run`: open the journal, load the configuration, bind every
//! listener, resume queued deliveries, then serve until told to stop;
//! reload on changed files, SIGHUP or the admin API meanwhile.

use crate::config::Diagnostic;
use crate::journal::Journal;
use crate::runtime::snapshot::Snapshot;
use crate::runtime::{file_pollers, listeners, mllp_listeners, reload, timers, watch, Engine};
use crate::settings::Settings;
use std::sync::Arc;

/// How long a stop waits for requests and deliveries in flight.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

pub enum StartError {
    Config(Vec<Diagnostic>),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Other(e)
    }
}

pub async fn run(settings: Settings) -> Result<(), StartError> {
    let settings = Arc::new(settings);
    let snapshot = Snapshot::load(settings.clone()).map_err(StartError::Config)?;
    let metrics = crate::admin::install_metrics()?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data dir {}: {e}", settings.data_dir.display()))?;
    let journal = Journal::open(&settings.journal, settings.journal_durability).await?;
    let databases = snapshot.resources.databases.clone();
    databases
        .open(&settings.databases)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!(summary = %crate::cli::summary(&snapshot), "configuration loaded");
    settings.secrets.log_warnings();
    let engine = Engine::new(snapshot, journal.clone());
    // Before any listener, timer or worker runs: a paused route stays paused.
    engine.load_route_states().await.map_err(|e| anyhow::anyhow!("{e}"))?;

    let admin = tokio::net::TcpListener::bind(settings.admin_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (admin): {e}", settings.admin_addr))?;
    let bound = listeners::bind_all(&engine).await?;
    let bound_mllp = mllp_listeners::bind_all(&engine).await?;
    crate::admin::serve(engine.clone(), metrics, admin);
    for (addr, listener) in bound {
        listeners::serve(&engine, addr, listener);
    }
    for (addr, listener) in bound_mllp {
        mllp_listeners::serve(&engine, addr, listener);
    }
    timers::sync(&engine);
    file_pollers::sync(&engine);
    let retention = crate::journal::retention::run(journal.clone(), settings.retention.clone(), engine.stopping());
    engine.tasks.spawn(retention);
    let resumed = engine
        .deliveries
        .resume(&engine)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Err(e) = watch::start(&engine) {
        tracing::warn!("cannot watch the configuration for changes ({e}); reload with SIGHUP or POST /api/reload");
    }
    reload_on_hangup(&engine);
    engine.set_ready();
    tracing::info!(admin = %settings.admin_addr, resumed_destinations = resumed, "medbus ready");

    shutdown_signal().await;
    tracing::info!("stopping: finishing requests and deliveries in flight");
    engine.stop(STOP_GRACE).await;
    journal.shutdown().await;
    databases.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP reloads the configuration.
fn reload_on_hangup(engine: &Arc<Engine>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(e) => {
                tracing::warn!("cannot handle SIGHUP: {e}");
                return;
            }
        };
        let engine = engine.clone();
        let stopping = engine.stopping();
        engine.tasks.clone().spawn(async move {
            tokio::pin!(stopping);
            loop {
                tokio::select! {
                    _ = &mut stopping => return,
                    _ = hangup.recv() => { reload::reload(&engine, reload::Trigger::Signal).await; }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = engine;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
