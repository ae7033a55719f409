//! File routes: each looks in its folder on its interval and takes the
//! files that settled. A file is first renamed into `.processing/` under
//! the moment it was taken, then cut into messages, each run through the
//! route and journaled under an id derived from the file, the moment and
//! its place; only then does the file go to `done/` (or away). A file found
//! in `.processing/` at a start was being read when medbus stopped: it is
//! read again and the messages the journal already holds are skipped, so a
//! crash neither loses nor repeats one.
//!
//! One task per route (`RouteTasks`), like timers: a reload that keeps a route keeps its task.

use super::snapshot::{Route, Source};
use super::Engine;
use crate::exchange::Exchange;
use crate::sources::file::{self, After, FileSourceConfig};
use crate::steps::StepError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

const PROCESSING: &str = ".processing";
const DONE: &str = "done";
const ERROR: &str = "error";

/// Makes the running pollers match the current snapshot.
pub fn sync(engine: &Arc<Engine>) {
    engine
        .file_pollers
        .sync(engine, |r| matches!(r.source, Source::File { .. }), poll);
}

async fn poll(engine: Arc<Engine>, route: Arc<Route>, stop: CancellationToken) {
    let Source::File { dir, config, pattern } = &route.source else {
        return;
    };
    loop {
        // A paused route leaves its files in the folder until it is resumed.
        let paused = engine.route_states.is_paused(&route.id);
        if !paused {
            if let Err(e) = take_files(&engine, &route, dir, config, pattern).await {
                tracing::warn!(route = %route.id, dir = %dir.display(), "file source: {e}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.every.0) => {}
            _ = stop.cancelled() => return,
            _ = engine.stopping() => return,
        }
    }
}

/// Reads again what a stop interrupted, then takes the settled files, oldest first.
async fn take_files(
    engine: &Arc<Engine>,
    route: &Arc<Route>,
    dir: &Path,
    config: &FileSourceConfig,
    pattern: &glob::Pattern,
) -> std::io::Result<()> {
    let processing = dir.join(PROCESSING);
    tokio::fs::create_dir_all(&processing).await?;
    for (path, _) in sorted_files(&processing, None, Duration::ZERO)? {
        if !read_file(engine, route, dir, config, &path, true).await {
            return Ok(());
        }
    }
    for (path, name) in sorted_files(dir, Some(pattern), config.settle.0)? {
        if engine.is_stopping() {
            return Ok(());
        }
        let taken = processing.join(format!("{}-{name}", now_ms()));
        tokio::fs::rename(&path, &taken).await?;
        if !read_file(engine, route, dir, config, &taken, false).await {
            return Ok(());
        }
    }
    Ok(())
}

/// The plain files of `dir` matching `pattern`, unmodified for `settle`,
/// oldest first (then by name).
fn sorted_files(
    dir: &Path,
    pattern: Option<&glob::Pattern>,
    settle: Duration,
) -> std::io::Result<Vec<(PathBuf, String)>> {
    let now = SystemTime::now();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let metadata = entry.metadata()?;
        if !metadata.is_file() || name.starts_with('.') || pattern.is_some_and(|p| !p.matches(&name)) {
            continue;
        }
        let modified = metadata.modified()?;
        if now.duration_since(modified).unwrap_or_default() < settle {
            continue;
        }
        files.push((modified, name, entry.path()));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, name, path)| (path, name)).collect())
}

/// Runs every message of a file taken into `.processing/` through the
/// route, then moves the file on. False when the journal could not keep a
/// message: the file stays where it is and is read again at the next turn.
async fn read_file(
    engine: &Arc<Engine>,
    route: &Arc<Route>,
    dir: &Path,
    config: &FileSourceConfig,
    taken: &Path,
    resumed: bool,
) -> bool {
    let taken_name = taken.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let (taken_at_ms, name) = match taken_name.split_once('-') {
        Some((ms, name)) if ms.parse::<u64>().is_ok() => (ms.parse::<u64>().unwrap_or_default(), name.to_string()),
        _ => (now_ms(), taken_name.clone()),
    };
    let content = match read_limited(taken, config.max_size.0).await {
        Ok(content) => content,
        Err(problem) => {
            refuse(
                engine,
                route,
                &name,
                bytes::Bytes::new(),
                "FILE_UNREADABLE",
                problem.clone(),
            )
            .await;
            return finish(dir, taken, &name, After::Move, Some(&problem)).await;
        }
    };
    let messages = match file::split(&content, config.split) {
        Ok(messages) => messages,
        Err(problem) => {
            let message = format!("file `{name}` cannot be cut into messages: {problem}");
            refuse(engine, route, &name, content.clone(), "BAD_FILE", message.clone()).await;
            return finish(dir, taken, &name, After::Move, Some(&message)).await;
        }
    };
    let hash = file::content_hash(&content);
    let count = messages.len();
    for (index, range) in messages.into_iter().enumerate() {
        let id = file::message_id(taken_at_ms, &route.id, &name, &hash, index);
        if resumed && matches!(engine.journal.message(&id).await, Ok(Some(_))) {
            continue;
        }
        let mut headers = serde_json::Map::new();
        headers.insert("file".into(), name.clone().into());
        headers.insert("index".into(), index.into());
        headers.insert("count".into(), count.into());
        let mut ex = Exchange::new(&route.id, content.slice(range), config.content_type(), headers);
        ex.id = id;
        let reply = engine.handle(route, ex, None).await;
        if reply.status == 503 {
            tracing::warn!(route = %route.id, file = %name, index, "the journal could not keep a message; the file is read again at the next turn");
            return false;
        }
    }
    finish(dir, taken, &name, config.after, None).await
}

async fn read_limited(path: &Path, max: u64) -> Result<bytes::Bytes, String> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    if size > max {
        return Err(format!(
            "the file is {size} bytes long, more than the {max} this route takes (`max_size`)"
        ));
    }
    tokio::fs::read(path)
        .await
        .map(bytes::Bytes::from)
        .map_err(|e| format!("cannot read the file: {e}"))
}

/// Journals a file that yields no message as one rejected message.
async fn refuse(engine: &Arc<Engine>, route: &Arc<Route>, name: &str, raw: bytes::Bytes, code: &str, message: String) {
    let mut headers = serde_json::Map::new();
    headers.insert("file".into(), name.into());
    let ex = Exchange::new(&route.id, raw, None, headers);
    engine.reject(route, ex, StepError::rejected(code, message)).await;
}

/// Moves a read file to `done/` (or deletes it), or a refused one to
/// `error/` beside a `.error.txt` note. True when it left `.processing/`.
async fn finish(dir: &Path, taken: &Path, name: &str, after: After, problem: Option<&str>) -> bool {
    let result = match (problem, after) {
        (None, After::Delete) => tokio::fs::remove_file(taken).await,
        (None, After::Move) => move_into(taken, &dir.join(DONE), name).await,
        (Some(problem), _) => {
            let target = dir.join(ERROR);
            let moved = move_into(taken, &target, name).await;
            let _ = tokio::fs::write(target.join(format!("{name}.error.txt")), format!("{problem}\n")).await;
            moved
        }
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(file = %taken.display(), "cannot move a read file out of .processing ({e}); it will be read again, its messages skipped");
            false
        }
    }
}

/// Renames into `folder` under `name`, or `name` with the time appended when taken.
async fn move_into(from: &Path, folder: &Path, name: &str) -> std::io::Result<()> {
    tokio::fs::create_dir_all(folder).await?;
    let mut target = folder.join(name);
    if tokio::fs::try_exists(&target).await.unwrap_or(false) {
        target = folder.join(format!("{name}.{}", now_ms()));
    }
    tokio::fs::rename(from, target).await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
