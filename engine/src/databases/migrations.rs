//! A pack's migrations, applied with sqlx's migrator from the folder the
//! settings name. SQL dialects differ, so a folder may hold one subfolder
//! per backend (`sqlite/`, `postgres/`, `mysql/`); each backend then runs
//! its own.

use super::settings::Backend;
use super::{Database, Pools};
use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::{Connection, Pool};
use std::path::{Path, PathBuf};

/// The folder of `backend`'s migrations under `folder`.
pub fn folder_for(folder: &Path, backend: Backend) -> Result<PathBuf, String> {
    let split: Vec<&str> = [Backend::Sqlite, Backend::Postgres, Backend::MySql]
        .into_iter()
        .map(Backend::name)
        .filter(|name| folder.join(name).is_dir())
        .collect();
    if split.is_empty() {
        return Ok(folder.to_path_buf());
    }
    let own = folder.join(backend.name());
    if own.is_dir() {
        Ok(own)
    } else {
        Err(format!(
            "the migrations folder {} has {} but no `{}/`; expected one subfolder per backend in use",
            folder.display(),
            split.iter().map(|s| format!("`{s}/`")).collect::<Vec<_>>().join(", "),
            backend.name()
        ))
    }
}

/// Applies the migrations not applied yet; a changed or missing applied
/// migration is an error, and nothing of a failed migration stays (where
/// the backend can roll DDL back).
pub async fn apply(database: &Database, folder: Option<&Path>) -> Result<(), String> {
    let Some(folder) = folder else {
        return Ok(());
    };
    let name = &database.name;
    let folder = folder_for(folder, database.backend()).map_err(|e| format!("database `{name}`: {e}"))?;
    let migrator = Migrator::new(folder.as_path()).await.map_err(|e| {
        format!(
            "database `{name}`: cannot read the migrations in {}: {e}",
            folder.display()
        )
    })?;
    let applied = match &database.pools {
        // SQLite takes no migration lock; and a test database in memory
        // lives in its one pooled connection.
        Pools::Sqlite { writer, .. } => migrator.run(writer).await,
        Pools::Postgres(pool) => run_alone(&migrator, pool).await,
        Pools::MySql(pool) => run_alone(&migrator, pool).await,
    };
    applied.map_err(|e| {
        format!(
            "database `{name}` ({}): the migrations in {} failed: {e}",
            database.location(),
            folder.display()
        )
    })
}

/// Runs the migrator on a connection taken out of the pool and closed
/// after: a failed migration may leave its connection holding the
/// migration lock (MySQL's GET_LOCK, PostgreSQL's advisory lock) or an
/// unfinished transaction, which a pooled connection would keep.
async fn run_alone<DB>(migrator: &Migrator, pool: &Pool<DB>) -> Result<(), MigrateError>
where
    DB: sqlx::Database,
    DB::Connection: Migrate,
{
    let mut connection = pool.acquire().await?.detach();
    let applied = migrator.run_direct(&mut connection).await;
    let _ = connection.close().await;
    applied
}
