//! Helpers for black-box tests: a medbus process started from the real
//! binary on free ports with its own data dir, and the means to talk to it.

pub mod hl7;
pub mod load;
pub mod process;
pub mod sink;

pub use process::{Medbus, Setup};

use std::path::PathBuf;

/// The repository's root folder (for the shipped routes, scripts, mappings).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A TCP port free at the time of asking, on 127.0.0.1, and not handed out
/// before in this process: the system may give a port it just gave again
/// once its probe is closed, and two listeners of one medbus would then
/// share it.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// The files a `file` destination has finished writing in `dir`: its
/// in-progress `.medbus-*.tmp` files (renamed into place when complete) and
/// other hidden files left out. Empty when `dir` does not exist yet.
pub fn written_files(dir: &std::path::Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// A PostgreSQL database of its own for one test, dropped by `drop_database`.
pub async fn create_postgres_database() -> String {
    use sqlx::Executor;
    let name = format!("medbus_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = admin_connection().await;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    name
}

pub async fn drop_database(name: &str) {
    use sqlx::Executor;
    let mut admin = admin_connection().await;
    let _ = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await;
}

pub fn postgres_url(database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/{database}")
}

async fn admin_connection() -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&postgres_url("test"))
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (see .ci/run)")
}

/// Posts `body` with a content type; the status and the answer, as JSON
/// when it parses, else as a JSON string of its text.
pub async fn post(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
