//! Named application databases: the tables route packs keep for
//! themselves (the Xiamen 120 hub's apply records), and the HIS and
//! platform databases a route exchanges data with. Each is declared under
//! `databases:` in the settings, opened and migrated at start (and at a
//! reload that adds one), and used by the `sql` step and destination.
//! See `docs/databases.md`.

mod migrations;
pub mod named_params;
mod rows;
pub mod run;
pub mod settings;
pub mod statements;

#[cfg(test)]
mod tests;

use run::{DbFailure, FailureKind, Fetch, Outcome, Prepared};
use settings::{Backend, DatabaseConfig, DatabaseLocation};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long getting a connection may take before the database counts as
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a SQLite statement waits for another connection's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The open databases by name. One registry lives as long as medbus runs:
/// every configuration snapshot shares it, so a reload keeps the pools.
#[derive(Default)]
pub struct Databases {
    open: RwLock<BTreeMap<String, Arc<Database>>>,
}

impl Databases {
    pub fn get(&self, name: &str) -> Option<Arc<Database>> {
        self.open.read().unwrap().get(name).cloned()
    }

    /// Opens every configured database not open yet, then applies the
    /// pending migrations of each. The error names the database and says
    /// what failed; a database that fails stays closed.
    pub async fn open(&self, configs: &BTreeMap<String, DatabaseConfig>) -> Result<(), String> {
        for (name, config) in configs {
            let database = match self.get(name) {
                Some(open) => open,
                None => Arc::new(Database::open(name, config).await?),
            };
            migrations::apply(&database, config.migrations.as_deref()).await?;
            self.open.write().unwrap().insert(name.clone(), database);
        }
        Ok(())
    }

    /// For `medbus test`: replaces every database by a new, empty SQLite
    /// database in memory with the SQLite migrations applied.
    pub async fn open_for_tests(&self, configs: &BTreeMap<String, DatabaseConfig>) -> Result<(), String> {
        let mut fresh = BTreeMap::new();
        for (name, config) in configs {
            let database = Arc::new(Database::in_memory(name).await?);
            migrations::apply(&database, config.migrations.as_deref()).await?;
            fresh.insert(name.clone(), database);
        }
        *self.open.write().unwrap() = fresh;
        Ok(())
    }

    /// Closes every pool, waiting for the connections in use.
    pub async fn close(&self) {
        let open = std::mem::take(&mut *self.open.write().unwrap());
        for database in open.values() {
            database.close().await;
        }
    }
}

/// One open database.
pub struct Database {
    pub name: String,
    pools: Pools,
    /// Where it is, without credentials, for messages.
    shown: String,
}

enum Pools {
    /// WAL lets readers read while the one writer writes; a single writing
    /// connection takes turns in the pool's queue instead of sleeping on
    /// SQLite's busy handler.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
    MySql(MySqlPool),
}

impl Database {
    async fn open(name: &str, config: &DatabaseConfig) -> Result<Database, String> {
        let shown = config.location.to_string();
        let failed = |e: sqlx::Error| {
            format!(
                "database `{name}` ({shown}) cannot be opened: {}",
                DbFailure::from(e).message
            )
        };
        let pools = match &config.location {
            DatabaseLocation::Sqlite(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        format!("database `{name}`: cannot create the folder {}: {e}", parent.display())
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let synchronous = match config.durability {
                    crate::settings::Durability::Full => SqliteSynchronous::Full,
                    crate::settings::Durability::Normal => SqliteSynchronous::Normal,
                };
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(
                        options
                            .clone()
                            .create_if_missing(true)
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(synchronous),
                    )
                    .await
                    .map_err(failed)?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options.read_only(true))
                    .await
                    .map_err(failed)?;
                Pools::Sqlite { writer, reader }
            }
            DatabaseLocation::Postgres(url) => Pools::Postgres(
                PgPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect(url)
                    .await
                    .map_err(failed)?,
            ),
            DatabaseLocation::MySql(url) => Pools::MySql(
                MySqlPoolOptions::new()
                    .max_connections(config.max_connections)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect(url)
                    .await
                    .map_err(failed)?,
            ),
        };
        tracing::info!(database = name, location = %shown, "database opened");
        Ok(Database {
            name: name.to_string(),
            pools,
            shown,
        })
    }

    /// A private SQLite database in memory: one connection, kept open for
    /// as long as the pool lives (the data goes with it).
    async fn in_memory(name: &str) -> Result<Database, String> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| e.to_string())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| format!("database `{name}`: cannot open a test database in memory: {e}"))?;
        Ok(Database {
            name: name.to_string(),
            pools: Pools::Sqlite {
                writer: pool.clone(),
                reader: pool,
            },
            shown: "sqlite::memory:".into(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
            Pools::MySql(_) => Backend::MySql,
        }
    }

    /// Where the database is, without credentials.
    pub fn location(&self) -> &str {
        &self.shown
    }

    /// Runs the statements: several in one transaction, one on its own.
    /// `read_only` (every statement only reads) lets SQLite use a reading
    /// connection.
    pub async fn run(&self, statements: Vec<Prepared>, read_only: bool, fetch: Fetch) -> Result<Outcome, DbFailure> {
        let together = statements.len() > 1;
        match &self.pools {
            Pools::Sqlite { writer, reader } => {
                let pool = if read_only { reader } else { writer };
                // IMMEDIATE takes the write lock at once: a transaction that
                // read first could not take it later without failing.
                let begin = match (together, read_only) {
                    (false, _) => None,
                    (true, true) => Some("BEGIN"),
                    (true, false) => Some("BEGIN IMMEDIATE"),
                };
                run::run(pool, begin, statements, fetch).await
            }
            Pools::Postgres(pool) => run::run(pool, together.then_some("BEGIN"), statements, fetch).await,
            Pools::MySql(pool) => run::run(pool, together.then_some("BEGIN"), statements, fetch).await,
        }
    }

    /// Runs plain SQL without parameters (fixtures, checks).
    pub async fn run_sql(&self, sql: &str, fetch: Fetch) -> Result<Outcome, DbFailure> {
        let statement = Prepared {
            sql: sql.to_string(),
            values: Vec::new(),
        };
        self.run(vec![statement], false, fetch).await
    }

    async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
            Pools::MySql(pool) => pool.close().await,
        }
    }
}

/// A failure as the step and the destination word it: which database, what went wrong.
pub fn describe(database: &str, failure: &DbFailure) -> String {
    let what = match failure.kind {
        FailureKind::Unavailable => "cannot be reached",
        FailureKind::Busy => "is busy",
        FailureKind::Constraint => "refused the change",
        FailureKind::Other => "failed",
    };
    format!("database `{database}` {what}: {}", failure.message)
}
