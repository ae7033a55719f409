//! Reloads when the configuration changes on disk: the routes, scripts,
//! mappings and templates folders (recursively) and the settings file.
//! Events are debounced (a burst of writes, an editor's save dance, a
//! `git checkout` is one reload), and events that change nothing (a file
//! opened or read, hidden and backup files) are left out.

use super::reload::{reload, Outcome, Trigger};
use super::Engine;
use crate::settings::Settings;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The file watcher's own debouncing (merges the events of one file).
const DEBOUNCE: Duration = Duration::from_millis(20);
/// How often the debouncer's thread looks for settled events. Its default,
/// a quarter of DEBOUNCE, woke it 200 times a second for the life of the
/// process (about 1 % of a CPU with nothing to do); this adds at most 20
/// ms to a reload.
const DEBOUNCE_TICK: Duration = Duration::from_millis(20);
/// Quiet time after the last relevant change before reloading: the
/// watcher reports the files of one burst in several batches.
const SETTLE: Duration = Duration::from_millis(50);

/// What is watched: folders (recursively), and single files: the settings
/// file and the secrets file (a rotated secret applies without a restart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchSet {
    pub dirs: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

impl WatchSet {
    pub fn of(settings: &Settings) -> WatchSet {
        let file = std::path::absolute(&settings.file).unwrap_or_else(|_| settings.file.clone());
        WatchSet {
            dirs: vec![
                settings.routes_dir.clone(),
                settings.scripts_dir.clone(),
                settings.mappings_dir.clone(),
                settings.templates_dir.clone(),
            ],
            files: vec![file, settings.secrets_file.clone()],
        }
    }

    /// Whether a change to `path` may change the configuration.
    pub fn concerns(&self, path: &Path) -> bool {
        let hidden_or_backup = path.file_name().is_some_and(|name| {
            let name = name.to_string_lossy();
            name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp")
        });
        if self.files.iter().any(|file| file == path) {
            return true;
        }
        !hidden_or_backup && self.dirs.iter().any(|dir| path.starts_with(dir))
    }
}

/// Whether an event kind may mean changed content (opening or reading a
/// file does not; closing one written does).
pub fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Starts watching the current configuration; reloads on every settled change.
pub fn start(engine: &Arc<Engine>) -> anyhow::Result<()> {
    let (events, mut changed) = mpsc::unbounded_channel::<()>();
    let set = WatchSet::of(&engine.settings());
    let mut watching = Watching {
        _debouncer: watch(&set, events.clone())?,
        set,
    };
    let engine = engine.clone();
    let stopping = engine.stopping();
    engine.tasks.clone().spawn(async move {
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                _ = &mut stopping => return,
                got = changed.recv() => if got.is_none() { return },
            }
            settle(&mut changed, SETTLE).await;
            let report = reload(&engine, Trigger::Watch).await;
            if let Outcome::Applied { .. } = report.outcome {
                let set = WatchSet::of(&engine.settings());
                if set != watching.set {
                    match watch(&set, events.clone()) {
                        Ok(debouncer) => {
                            watching = Watching {
                                set,
                                _debouncer: debouncer,
                            }
                        }
                        Err(e) => tracing::error!("cannot watch the new configuration folders: {e}"),
                    }
                }
            }
        }
    });
    Ok(())
}

/// A watch in force: dropping the debouncer ends it.
struct Watching {
    set: WatchSet,
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

/// Waits until no change came for `quiet`: a burst of changes (and those
/// that arrived during the last reload) makes one reload.
async fn settle(changed: &mut mpsc::UnboundedReceiver<()>, quiet: Duration) {
    while let Ok(Some(())) = tokio::time::timeout(quiet, changed.recv()).await {}
}

fn watch(
    set: &WatchSet,
    changed: mpsc::UnboundedSender<()>,
) -> anyhow::Result<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let filter = set.clone();
    let mut debouncer = new_debouncer(
        DEBOUNCE,
        Some(DEBOUNCE_TICK),
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                let relevant = events
                    .iter()
                    .any(|e| changes_content(&e.kind) && e.paths.iter().any(|p| filter.concerns(p)));
                if relevant {
                    let _ = changed.send(());
                }
            }
            Err(errors) => {
                for error in errors {
                    tracing::warn!("file watching: {error}");
                }
            }
        },
    )?;
    for dir in set.dirs.iter().filter(|d| d.is_dir()) {
        debouncer.watch(dir, RecursiveMode::Recursive)?;
    }
    let mut folders: Vec<&Path> = set.files.iter().filter_map(|file| file.parent()).collect();
    folders.dedup();
    for folder in folders.into_iter().filter(|folder| folder.is_dir()) {
        debouncer.watch(folder, RecursiveMode::NonRecursive)?;
    }
    tracing::info!(dirs = ?set.dirs, files = ?set.files, "watching the configuration for changes");
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{CreateKind, ModifyKind};

    fn set() -> WatchSet {
        WatchSet {
            dirs: vec!["/c/routes".into(), "/c/scripts".into()],
            files: vec!["/c/medbus.yaml".into(), "/etc/medbus/secrets.yaml".into()],
        }
    }

    #[test]
    fn only_configuration_files_concern_a_reload() {
        let set = set();
        assert!(set.concerns(Path::new("/c/routes/a/b.yaml")));
        assert!(set.concerns(Path::new("/c/scripts/x.rhai")));
        assert!(set.concerns(Path::new("/c/medbus.yaml")));
        assert!(set.concerns(Path::new("/etc/medbus/secrets.yaml")));
        assert!(!set.concerns(Path::new("/etc/medbus/other.yaml")));
        assert!(!set.concerns(Path::new("/c/medbus-123.log")));
        assert!(!set.concerns(Path::new("/c/data/journal.db")));
        assert!(!set.concerns(Path::new("/c/routes/.b.yaml.swp")));
        assert!(!set.concerns(Path::new("/c/routes/b.yaml~")));
        assert!(!set.concerns(Path::new("/c/routesx/b.yaml")));
    }

    #[test]
    fn reading_a_file_is_no_change_but_writing_one_is() {
        assert!(!changes_content(&EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(changes_content(&EventKind::Create(CreateKind::File)));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Any)));
    }

    #[tokio::test]
    async fn a_burst_of_writes_is_one_settled_event() {
        let dir = tempfile::tempdir().unwrap();
        let routes = std::path::absolute(dir.path()).unwrap().join("routes");
        std::fs::create_dir_all(&routes).unwrap();
        let set = WatchSet {
            dirs: vec![routes.clone()],
            files: vec![std::path::absolute(dir.path()).unwrap().join("medbus.yaml")],
        };
        let (sender, mut changed) = mpsc::unbounded_channel();
        let _debouncer = watch(&set, sender).unwrap();
        for n in 0..20 {
            std::fs::write(routes.join("r.yaml"), format!("id: r{n}\n")).unwrap();
        }
        tokio::time::timeout(Duration::from_secs(5), changed.recv())
            .await
            .expect("a change is reported")
            .unwrap();
        settle(&mut changed, SETTLE).await;
        tokio::time::sleep(SETTLE * 4).await;
        assert!(changed.try_recv().is_err(), "one burst made two reloads");
        std::fs::read_to_string(routes.join("r.yaml")).unwrap();
        std::fs::write(dir.path().join("medbus-1.log"), "log line").unwrap();
        tokio::time::sleep(SETTLE * 4).await;
        assert!(
            changed.try_recv().is_err(),
            "reading a file or writing a log triggered a reload"
        );
    }
}
