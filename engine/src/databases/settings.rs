//! The `databases:` section of the settings: named application databases
//! that route packs keep their own tables in, each with its URL, its
//! migrations folder and its pool size.

use crate::config::Diagnostic;
use crate::settings::Durability;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One application database as the settings file writes it, e.g.
/// `hub: { url: "postgres://medbus@db/hub", migrations: routes/xiamen-120/migrations }`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite` (the default: `<data_dir>/<name>.db`), `sqlite:path/to/file.db`
    /// (relative to the settings file's folder, or absolute), a
    /// `postgres://` URL or a `mysql://` URL (MySQL or MariaDB).
    /// Env: MEDBUS_DATABASE_<NAME> (upper case, `-` as `_`).
    pub url: Option<String>,
    /// A folder of sqlx migrations (`0001_create_records.sql` ...), relative
    /// to the settings file's folder, applied at start and at every reload.
    /// When it holds `sqlite/`, `postgres/` or `mysql/` folders, the
    /// backend's own is used.
    pub migrations: Option<PathBuf>,
    /// Connections in the pool. Default: 10. For SQLite: the connections
    /// that read side by side; one more connection does all the writing.
    pub max_connections: Option<u32>,
    /// SQLite only. `normal` (the default): commits survive a crash of
    /// medbus; a power loss may undo the last ones, which the journal still
    /// holds for reprocessing. `full`: every commit is flushed to disk.
    pub durability: Option<Durability>,
}

/// The kind of database server, which decides the SQL dialect and the
/// placeholders a query is rewritten to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// The name used in messages and as the migrations subfolder.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseLocation {
    Sqlite(PathBuf),
    Postgres(String),
    MySql(String),
}

impl DatabaseLocation {
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseLocation::Sqlite(_) => Backend::Sqlite,
            DatabaseLocation::Postgres(_) => Backend::Postgres,
            DatabaseLocation::MySql(_) => Backend::MySql,
        }
    }
}

/// Shown without the credentials a URL may hold.
impl std::fmt::Display for DatabaseLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            DatabaseLocation::Postgres(url) | DatabaseLocation::MySql(url) => f.write_str(&without_credentials(url)),
        }
    }
}

/// `postgres://user:secret@host/db` -> `postgres://…@host/db`.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://…@{host}{path}"),
        None => url.to_string(),
    }
    .split(['?', '#'])
    .next()
    .unwrap_or_default()
    .to_string()
}

/// One database resolved: its location, and its migrations folder made absolute.
#[derive(Clone, Debug, PartialEq)]
pub struct DatabaseConfig {
    pub location: DatabaseLocation,
    pub migrations: Option<PathBuf>,
    pub max_connections: u32,
    pub durability: Durability,
}

impl DatabaseConfig {
    /// What a running pool was opened with: a change of it needs a restart.
    pub fn connection_summary(&self) -> String {
        let durability = match self.location {
            DatabaseLocation::Sqlite(_) => format!(", durability {:?}", self.durability).to_lowercase(),
            _ => String::new(),
        };
        format!("{} ({} connections{durability})", self.location, self.max_connections)
    }
}

/// The environment variable that overrides a database's URL.
pub fn env_var(name: &str) -> String {
    format!("MEDBUS_DATABASE_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Applies `MEDBUS_DATABASE_<NAME>` to each database the raw settings declare.
pub fn apply_env(raw: &mut serde_json::Map<String, serde_json::Value>, env: &dyn Fn(&str) -> Option<String>) {
    let Some(serde_json::Value::Object(databases)) = raw.get_mut("databases") else {
        return;
    };
    for (name, database) in databases.iter_mut() {
        let Some(url) = env(&env_var(name)).filter(|v| !v.is_empty()) else {
            continue;
        };
        if database.is_null() {
            *database = serde_json::json!({});
        }
        if let Some(map) = database.as_object_mut() {
            map.insert("url".into(), serde_json::Value::String(url));
        }
    }
}

/// Resolves every database, recording what is wrong with each.
pub fn resolve(
    file: &Path,
    base: &Path,
    data_dir: &Path,
    databases: &BTreeMap<String, Option<DatabaseSettings>>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, DatabaseConfig> {
    let mut resolved = BTreeMap::new();
    for (name, settings) in databases {
        let settings = settings.clone().unwrap_or_default();
        let mut error =
            |message: String| errors.push(Diagnostic::in_file(file, format!("databases.{name}: {message}")));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            error("the name must be letters, digits, `_` and `-`, e.g. `hub`".into());
            continue;
        }
        let url = settings.url.as_deref().unwrap_or("sqlite");
        let abs = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let location = if url == "sqlite" {
            DatabaseLocation::Sqlite(data_dir.join(format!("{name}.db")))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                error("`sqlite:` names no file; expected e.g. `sqlite:data/hub.db`".into());
                continue;
            }
            DatabaseLocation::Sqlite(abs(Path::new(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseLocation::Postgres(url.to_string())
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            DatabaseLocation::MySql(url.replacen("mariadb://", "mysql://", 1))
        } else {
            error(format!(
                "url `{}` is not understood; expected `sqlite`, `sqlite:path/file.db`, a `postgres://` or a `mysql://` URL",
                without_credentials(url)
            ));
            continue;
        };
        let migrations = settings.migrations.as_deref().map(abs);
        if let Some(folder) = &migrations {
            if !folder.is_dir() {
                error(format!(
                    "migrations folder {} does not exist; expected a folder of `0001_name.sql` files",
                    folder.display()
                ));
            }
        }
        let max_connections = settings.max_connections.unwrap_or(10);
        if max_connections == 0 {
            error("max_connections must be at least 1".into());
        }
        if settings.durability.is_some() && location.backend() != Backend::Sqlite {
            error("durability applies to SQLite databases only; the server decides it for others".into());
        }
        resolved.insert(
            name.clone(),
            DatabaseConfig {
                location,
                migrations,
                max_connections,
                durability: settings.durability.unwrap_or(Durability::Normal),
            },
        );
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_one(yaml: &str) -> Result<DatabaseConfig, String> {
        let settings: DatabaseSettings = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        let databases = BTreeMap::from([("hub".to_string(), Some(settings))]);
        let base = Path::new("/etc/medbus");
        let resolved = resolve(
            &base.join("medbus.yaml"),
            base,
            Path::new("/var/medbus"),
            &databases,
            &mut errors,
        );
        match errors.first() {
            Some(error) => Err(error.message.clone()),
            None => Ok(resolved["hub"].clone()),
        }
    }

    #[test]
    fn urls_resolve_to_locations() {
        let default = resolve_one("{}").unwrap();
        assert_eq!(default.location, DatabaseLocation::Sqlite("/var/medbus/hub.db".into()));
        assert_eq!((default.max_connections, default.durability), (10, Durability::Normal));
        let relative = resolve_one("{ url: 'sqlite:state/hub.db', durability: full }").unwrap();
        assert_eq!(
            relative.location,
            DatabaseLocation::Sqlite("/etc/medbus/state/hub.db".into())
        );
        assert_eq!(relative.durability, Durability::Full);
        let absolute = resolve_one("{ url: 'sqlite:///srv/hub.db' }").unwrap();
        assert_eq!(absolute.location, DatabaseLocation::Sqlite("/srv/hub.db".into()));
        let maria = resolve_one("{ url: 'mariadb://root@db/his' }").unwrap();
        assert_eq!(maria.location, DatabaseLocation::MySql("mysql://root@db/his".into()));
        let postgres = resolve_one("{ url: 'postgres://u:pw@db:5432/hub?sslmode=require' }").unwrap();
        assert_eq!(postgres.location.to_string(), "postgres://…@db:5432/hub");
    }

    #[test]
    fn bad_databases_are_named_without_their_password() {
        let err = resolve_one("{ url: 'oracle://u:secret@db/x' }").unwrap_err();
        assert!(err.contains("databases.hub: url `oracle://…@db/x`"), "{err}");
        assert!(!err.contains("secret"));
        assert!(resolve_one("{ url: 'postgres://db/x', durability: full }")
            .unwrap_err()
            .contains("SQLite databases only"));
        assert!(resolve_one("{ max_connections: 0 }")
            .unwrap_err()
            .contains("at least 1"));
        assert!(resolve_one("{ migrations: /nowhere/at/all }")
            .unwrap_err()
            .contains("does not exist"));
        assert!(resolve_one("{ uri: x }").unwrap_err().contains("unknown field `uri`"));
    }

    #[test]
    fn the_environment_overrides_a_declared_url() {
        let mut raw = serde_json::json!({"databases": {"his-db": {"max_connections": 2}, "hub": null}});
        let env = |name: &str| match name {
            "MEDBUS_DATABASE_HIS_DB" => Some("mysql://root@h/his".to_string()),
            "MEDBUS_DATABASE_HUB" => Some("postgres://p@h/hub".to_string()),
            _ => None,
        };
        apply_env(raw.as_object_mut().unwrap(), &env);
        assert_eq!(
            raw["databases"],
            serde_json::json!({"his-db": {"max_connections": 2, "url": "mysql://root@h/his"}, "hub": {"url": "postgres://p@h/hub"}})
        );
    }
}
