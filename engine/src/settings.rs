//! The engine's own settings (`medbus.yaml`), each overridable by an
//! environment variable. Relative directories are relative to the settings
//! file's folder.

use crate::admin::auth::settings::{self as admin_auth, AdminAccess, AdminSettings};
use crate::config::{Diagnostic, Position};
use crate::databases::settings::{self as databases, DatabaseConfig, DatabaseSettings};
use crate::journal::retention::{self, RetentionSettings};
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SettingsFile {
    /// Folder of route files, read recursively. Env: MEDBUS_ROUTES_DIR.
    pub routes_dir: PathBuf,
    /// Folder of Rhai scripts. Env: MEDBUS_SCRIPTS_DIR.
    pub scripts_dir: PathBuf,
    /// Folder of mapping tables (YAML or CSV). Env: MEDBUS_MAPPINGS_DIR.
    pub mappings_dir: PathBuf,
    /// Folder of Tera templates. Env: MEDBUS_TEMPLATES_DIR.
    pub templates_dir: PathBuf,
    /// Where medbus keeps its state (the SQLite journal, files). Env: MEDBUS_DATA_DIR.
    pub data_dir: PathBuf,
    /// `sqlite` (a file in the data dir), `sqlite:///path/to/file.db`, or a
    /// `postgres://` URL. Env: MEDBUS_JOURNAL.
    pub journal: String,
    /// `full`: fsync on every commit. `normal`: survives a process crash,
    /// not a power loss. Env: MEDBUS_JOURNAL_DURABILITY.
    pub journal_durability: Durability,
    /// Listener of /health, /metrics and the admin API. Env: MEDBUS_ADMIN_ADDR.
    pub admin_addr: SocketAddr,
    /// Who may use the admin API: users, API tokens, how long a login
    /// lasts (docs/admin-auth.md). Env: MEDBUS_ADMIN_SESSION_TTL.
    pub admin: AdminSettings,
    /// Listener of HTTP routes that name no address of their own. Env: MEDBUS_HTTP_ADDR.
    pub http_addr: SocketAddr,
    /// IANA time zone of timers and date helpers. Env: MEDBUS_TIMEZONE.
    pub timezone: String,
    /// `text` (human-readable) or `json`. Env: MEDBUS_LOG_FORMAT.
    pub log_format: LogFormat,
    /// Log filter, as RUST_LOG. Env: MEDBUS_LOG.
    pub log: String,
    /// Named values that routes read as `config.<name>` (addresses of other
    /// systems, hospital codes ...). Env: MEDBUS_VALUE_<NAME> (upper case)
    /// overrides one.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// How long the journal keeps message bodies, errors and metadata.
    /// Env: MEDBUS_RETENTION_<KEY>.
    pub retention: RetentionSettings,
    /// A YAML file of `name: value` secrets, one per caller (`vendor-120:
    /// ...`); an absent file means none. Keep it out of the repository,
    /// mode 0600. Env: MEDBUS_SECRETS_FILE; MEDBUS_SECRET_<NAME> (upper
    /// case, `-` as `_`) adds or overrides one secret.
    pub secrets_file: PathBuf,
    /// Named listener addresses, for routes to give as `listen: <name>`
    /// (e.g. `er: 0.0.0.0:8088`): an operator moves a route pack to another
    /// port here, without editing its routes. Env: MEDBUS_LISTENER_<NAME>
    /// (upper case, `-` as `_`) overrides one named here.
    pub listeners: std::collections::BTreeMap<String, SocketAddr>,
    /// Application databases by name, for `sql` steps and destinations;
    /// `hub:` alone is a SQLite database with every default.
    /// Env: MEDBUS_DATABASE_<NAME> overrides a declared one's `url`.
    pub databases: std::collections::BTreeMap<String, Option<DatabaseSettings>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    Full,
    Normal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for SettingsFile {
    fn default() -> Self {
        SettingsFile {
            routes_dir: "routes".into(),
            scripts_dir: "scripts".into(),
            mappings_dir: "mappings".into(),
            templates_dir: "templates".into(),
            data_dir: "data".into(),
            journal: "sqlite".into(),
            journal_durability: Durability::Full,
            admin_addr: "127.0.0.1:8081".parse().unwrap(),
            admin: AdminSettings::default(),
            http_addr: "127.0.0.1:8080".parse().unwrap(),
            timezone: "Asia/Shanghai".into(),
            log_format: LogFormat::Text,
            log: "info".into(),
            values: serde_json::Map::new(),
            retention: RetentionSettings::default(),
            secrets_file: "secrets.yaml".into(),
            listeners: Default::default(),
            databases: Default::default(),
        }
    }
}

/// Settings resolved: environment applied, folders made absolute.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub file: PathBuf,
    pub routes_dir: PathBuf,
    pub scripts_dir: PathBuf,
    pub mappings_dir: PathBuf,
    pub templates_dir: PathBuf,
    pub data_dir: PathBuf,
    pub journal: JournalLocation,
    pub journal_durability: Durability,
    pub admin_addr: SocketAddr,
    /// Read again at every reload: a removed user's sessions end.
    pub admin: AdminAccess,
    pub http_addr: SocketAddr,
    pub timezone: chrono_tz::Tz,
    pub log_format: LogFormat,
    pub log: String,
    pub values: std::sync::Arc<serde_json::Map<String, serde_json::Value>>,
    pub retention: RetentionSettings,
    pub secrets_file: PathBuf,
    /// Read again at every reload, so a rotated secret applies without a restart.
    pub secrets: std::sync::Arc<crate::secrets::Secrets>,
    pub listeners: std::collections::BTreeMap<String, SocketAddr>,
    pub databases: std::collections::BTreeMap<String, DatabaseConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A setting changed in the file that only a restart applies.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RestartRequired {
    pub setting: &'static str,
    pub running: String,
    pub configured: String,
}

/// The variable overriding the listener `name`: `er-2` -> `MEDBUS_LISTENER_ER_2`.
pub fn listener_env_var(name: &str) -> String {
    format!("MEDBUS_LISTENER_{}", name.to_ascii_uppercase().replace('-', "_"))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

impl std::fmt::Display for JournalLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalLocation::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            // The URL may hold a password: show only its scheme and host part.
            JournalLocation::Postgres(url) => {
                let host = url.rsplit('@').next().unwrap_or(url);
                write!(
                    f,
                    "postgres://…@{}",
                    host.trim_start_matches("postgres://")
                        .trim_start_matches("postgresql://")
                )
            }
        }
    }
}

/// Every environment variable that overrides a setting, with its key.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("MEDBUS_ROUTES_DIR", "routes_dir"),
    ("MEDBUS_SCRIPTS_DIR", "scripts_dir"),
    ("MEDBUS_MAPPINGS_DIR", "mappings_dir"),
    ("MEDBUS_TEMPLATES_DIR", "templates_dir"),
    ("MEDBUS_DATA_DIR", "data_dir"),
    ("MEDBUS_JOURNAL", "journal"),
    ("MEDBUS_JOURNAL_DURABILITY", "journal_durability"),
    ("MEDBUS_ADMIN_ADDR", "admin_addr"),
    ("MEDBUS_HTTP_ADDR", "http_addr"),
    ("MEDBUS_TIMEZONE", "timezone"),
    ("MEDBUS_LOG_FORMAT", "log_format"),
    ("MEDBUS_LOG", "log"),
    ("MEDBUS_SECRETS_FILE", "secrets_file"),
];

/// Sets the keys of the section `name` that `overrides` name and the
/// environment has.
fn apply_section_env(
    map: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    overrides: &[(&str, &str)],
    env: &dyn Fn(&str) -> Option<String>,
) {
    let from_env: Vec<_> = overrides
        .iter()
        .filter_map(|(var, key)| Some((*key, env(var).filter(|v| !v.is_empty())?)))
        .collect();
    if from_env.is_empty() {
        return;
    }
    let section = map
        .entry(name)
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if let Some(section) = section.as_object_mut() {
        for (key, value) in from_env {
            section.insert(key.to_string(), serde_json::Value::String(value));
        }
    }
}

impl Settings {
    /// Reads the settings file (missing is fine: defaults apply), then the
    /// environment. Every problem is returned, each with its position.
    pub fn load(file: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, Vec<Diagnostic>> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(vec![Diagnostic::in_file(
                    file,
                    format!("cannot read the settings file: {e}"),
                )])
            }
        };
        // The file alone first, for exact positions of its own errors.
        let mut raw = serde_json::json!({});
        if !text.trim().is_empty() {
            serde_saphyr::from_str::<SettingsFile>(&text).map_err(|e| vec![crate::config::yaml_error(file, &e)])?;
            raw = serde_saphyr::from_str(&text).map_err(|e| vec![crate::config::yaml_error(file, &e)])?;
        }
        if let Some(map) = raw.as_object_mut() {
            for (var, key) in ENV_OVERRIDES {
                if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                    map.insert((*key).to_string(), serde_json::Value::String(value));
                }
            }
            apply_section_env(map, "retention", retention::ENV_OVERRIDES, env);
            apply_section_env(map, "admin", admin_auth::ENV_OVERRIDES, env);
            if let Some(serde_json::Value::Object(listeners)) = map.get_mut("listeners") {
                for (name, value) in listeners.iter_mut() {
                    if let Some(from_env) = env(&listener_env_var(name)) {
                        *value = serde_json::Value::String(from_env);
                    }
                }
            }
            databases::apply_env(map, env);
            if let Some(serde_json::Value::Object(values)) = map.get_mut("values") {
                for (name, value) in values.iter_mut() {
                    if let Some(from_env) = env(&format!("MEDBUS_VALUE_{}", name.to_ascii_uppercase())) {
                        *value = serde_json::Value::String(from_env);
                    }
                }
            }
        }
        let parsed: SettingsFile = serde_json::from_value(raw).map_err(|e| {
            vec![Diagnostic::new(
                "<environment>",
                Position { line: 1, column: 1 },
                format!("bad setting from an environment variable: {e}"),
            )]
        })?;
        Settings::resolve(file, parsed, crate::secrets::Secrets::from_process_env())
    }

    fn resolve(file: &Path, s: SettingsFile, env_secrets: Vec<(String, String)>) -> Result<Settings, Vec<Diagnostic>> {
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let base = std::path::absolute(&base).unwrap_or(base);
        let abs = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let mut errors = Vec::new();
        let timezone = s.timezone.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            errors.push(Diagnostic::in_file(
                file,
                format!(
                    "timezone `{}` is unknown; expected an IANA name such as Asia/Shanghai",
                    s.timezone
                ),
            ));
            chrono_tz::Asia::Shanghai
        });
        let data_dir = abs(&s.data_dir);
        let journal = if s.journal == "sqlite" {
            JournalLocation::Sqlite(data_dir.join("journal.db"))
        } else if let Some(path) = s.journal.strip_prefix("sqlite://") {
            JournalLocation::Sqlite(abs(Path::new(path)))
        } else if s.journal.starts_with("postgres://") || s.journal.starts_with("postgresql://") {
            JournalLocation::Postgres(s.journal.clone())
        } else {
            errors.push(Diagnostic::in_file(
                file,
                format!("journal `{}` is not understood; expected `sqlite`, `sqlite:///path/file.db` or a `postgres://` URL", s.journal),
            ));
            JournalLocation::Sqlite(data_dir.join("journal.db"))
        };
        if s.retention.check_every.0.is_zero() {
            errors.push(Diagnostic::in_file(
                file,
                "retention.check_every must be longer than zero; expected e.g. `1h`".to_string(),
            ));
        }
        for (name, addr) in &s.listeners {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                errors.push(Diagnostic::in_file(
                    file,
                    format!("listener name `{name}` is not usable; expected letters, digits, `-` and `_`"),
                ));
            }
            if *addr == s.admin_addr {
                errors.push(Diagnostic::in_file(
                    file,
                    format!("listener `{name}` is the admin listener {addr}; expected another address for routes"),
                ));
            }
        }
        let secrets_file = abs(&s.secrets_file);
        let secrets = match crate::secrets::Secrets::load(&secrets_file, env_secrets) {
            Ok(secrets) => secrets,
            Err(problems) => {
                errors.extend(problems);
                Default::default()
            }
        };
        let databases = databases::resolve(file, &base, &data_dir, &s.databases, &mut errors);
        let admin = AdminAccess::resolve(file, &s.admin, s.admin_addr, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            file: file.to_path_buf(),
            routes_dir: abs(&s.routes_dir),
            scripts_dir: abs(&s.scripts_dir),
            mappings_dir: abs(&s.mappings_dir),
            templates_dir: abs(&s.templates_dir),
            data_dir,
            journal,
            journal_durability: s.journal_durability,
            admin_addr: s.admin_addr,
            admin,
            http_addr: s.http_addr,
            timezone,
            log_format: s.log_format,
            log: s.log,
            values: std::sync::Arc::new(s.values),
            retention: s.retention,
            secrets_file,
            secrets: std::sync::Arc::new(secrets),
            listeners: s.listeners,
            databases,
        })
    }

    /// The settings a running medbus cannot change (the journal, the admin
    /// listener, the data dir, logging), each named with its running and
    /// configured value, where `configured` differs from `running`.
    pub fn needing_restart(running: &Settings, configured: &Settings) -> Vec<RestartRequired> {
        let mut differ = Vec::new();
        let mut compare = |setting: &'static str, a: String, b: String| {
            if a != b {
                differ.push(RestartRequired {
                    setting,
                    running: a,
                    configured: b,
                });
            }
        };
        compare("data_dir", shown(&running.data_dir), shown(&configured.data_dir));
        compare("journal", running.journal.to_string(), configured.journal.to_string());
        compare(
            "journal_durability",
            format!("{:?}", running.journal_durability).to_lowercase(),
            format!("{:?}", configured.journal_durability).to_lowercase(),
        );
        compare(
            "admin_addr",
            running.admin_addr.to_string(),
            configured.admin_addr.to_string(),
        );
        compare(
            "log_format",
            format!("{:?}", running.log_format).to_lowercase(),
            format!("{:?}", configured.log_format).to_lowercase(),
        );
        compare("log", running.log.clone(), configured.log.clone());
        for (name, running_db) in &running.databases {
            if let Some(configured_db) = configured.databases.get(name) {
                compare(
                    "databases",
                    format!("{name}: {}", running_db.connection_summary()),
                    format!("{name}: {}", configured_db.connection_summary()),
                );
            }
        }
        differ
    }

    /// `self` with the settings that need a restart taken from `running`:
    /// what a reload applies.
    pub fn keeping_restart_only(mut self, running: &Settings) -> Settings {
        self.data_dir = running.data_dir.clone();
        self.journal = running.journal.clone();
        self.journal_durability = running.journal_durability;
        self.admin_addr = running.admin_addr;
        self.log_format = running.log_format;
        self.log = running.log.clone();
        // An open pool keeps what it was opened with; added databases open
        // at the reload.
        for (name, config) in self.databases.iter_mut() {
            if let Some(open) = running.databases.get(name) {
                config.location = open.location.clone();
                config.max_connections = open.max_connections;
                config.durability = open.durability;
            }
        }
        self
    }

    /// Settings for unit tests and `medbus test`: everything under `base`.
    pub fn for_dir(base: &Path) -> Settings {
        Settings::resolve(&base.join("medbus.yaml"), SettingsFile::default(), Vec::new()).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "data_dir: state\nadmin_addr: 127.0.0.1:9000\n").unwrap();
        let env = |name: &str| (name == "MEDBUS_ADMIN_ADDR").then(|| "127.0.0.1:9100".to_string());
        let s = Settings::load(&file, &env).unwrap();
        assert_eq!(s.admin_addr, "127.0.0.1:9100".parse().unwrap());
        assert_eq!(s.data_dir, std::path::absolute(dir.path()).unwrap().join("state"));
        assert_eq!(s.journal, JournalLocation::Sqlite(s.data_dir.join("journal.db")));
        assert_eq!(s.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(s.journal_durability, Durability::Full);
    }

    #[test]
    fn retention_has_defaults_and_its_own_environment_variables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "retention:\n  errors: 120d\n  metadata: 1y\n").unwrap();
        let env = |name: &str| (name == "MEDBUS_RETENTION_BODIES").then(|| "7d".to_string());
        let s = Settings::load(&file, &env).unwrap();
        let day = 24 * 3600;
        assert_eq!(s.retention.bodies.0.as_secs(), 7 * day);
        assert_eq!(s.retention.errors.0.as_secs(), 120 * day);
        assert!(s.retention.metadata.is_some());
        assert_eq!(s.retention.check_every.0.as_secs(), 3600);
        let defaults = Settings::load(&dir.path().join("none.yaml"), &|_| None).unwrap();
        assert_eq!(defaults.retention, RetentionSettings::default());
        let env = |name: &str| (name == "MEDBUS_RETENTION_CHECK_EVERY").then(|| "0s".to_string());
        let errors = Settings::load(&file, &env).unwrap_err();
        assert!(errors[0].message.contains("check_every"), "{}", errors[0]);
        std::fs::write(&file, "retention:\n  bodies: soon\n").unwrap();
        let errors = Settings::load(&file, &|_| None).unwrap_err();
        assert!(errors[0].to_string().contains("medbus.yaml:2:"), "{}", errors[0]);
    }

    #[test]
    fn the_admin_section_has_defaults_and_its_own_environment_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "admin:\n  session_ttl: 2h\n").unwrap();
        let s = Settings::load(&file, &|_| None).unwrap();
        assert_eq!(s.admin.session_ttl.as_secs(), 2 * 3600);
        assert!(s.admin.is_open());
        let env = |name: &str| (name == "MEDBUS_ADMIN_SESSION_TTL").then(|| "15m".to_string());
        assert_eq!(Settings::load(&file, &env).unwrap().admin.session_ttl.as_secs(), 900);
        let defaults = Settings::load(&dir.path().join("none.yaml"), &|_| None).unwrap();
        assert_eq!(defaults.admin.session_ttl.as_secs(), 8 * 3600);
        let env = |name: &str| (name == "MEDBUS_ADMIN_ADDR").then(|| "0.0.0.0:8081".to_string());
        let errors = Settings::load(&file, &env).unwrap_err();
        assert!(errors[0].message.contains("no users and no tokens"), "{}", errors[0]);
    }

    #[test]
    fn settings_a_reload_cannot_apply_are_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let running = Settings::for_dir(dir.path());
        let mut configured = running.clone();
        configured.journal_durability = Durability::Normal;
        configured.admin_addr = "127.0.0.1:9999".parse().unwrap();
        configured.timezone = chrono_tz::Europe::Paris;
        let named: Vec<_> = Settings::needing_restart(&running, &configured)
            .into_iter()
            .map(|r| r.setting)
            .collect();
        assert_eq!(named, ["journal_durability", "admin_addr"]);
        let applied = configured.keeping_restart_only(&running);
        assert_eq!(applied.journal_durability, Durability::Full);
        assert_eq!(applied.admin_addr, running.admin_addr);
        assert_eq!(applied.timezone, chrono_tz::Europe::Paris);
        assert!(Settings::needing_restart(&running, &applied).is_empty());
    }

    #[test]
    fn secrets_come_from_the_file_beside_the_settings_or_the_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(dir.path().join("secrets.yaml"), "vendor-120: beside-settings\n").unwrap();
        let s = Settings::load(&file, &|_| None).unwrap();
        assert!(s.secrets.contains("vendor-120"));
        assert_eq!(
            s.secrets_file,
            std::path::absolute(dir.path()).unwrap().join("secrets.yaml")
        );
        std::fs::write(dir.path().join("other.yaml"), "hospital-a: named-by-env\n").unwrap();
        let env = |name: &str| (name == "MEDBUS_SECRETS_FILE").then(|| "other.yaml".to_string());
        let s = Settings::load(&file, &env).unwrap();
        assert_eq!(s.secrets.names().collect::<Vec<_>>(), ["hospital-a"]);
        std::fs::write(dir.path().join("other.yaml"), "hospital-a: [x]\n").unwrap();
        let errors = Settings::load(&file, &env).unwrap_err();
        assert!(errors[0].to_string().contains("other.yaml:1:"), "{}", errors[0]);
    }

    #[test]
    fn named_listeners_come_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "listeners:\n  er: 0.0.0.0:8088\n  hub-api: 127.0.0.1:8089\n").unwrap();
        let env = |name: &str| (name == "MEDBUS_LISTENER_HUB_API").then(|| "127.0.0.1:9089".to_string());
        let s = Settings::load(&file, &env).unwrap();
        assert_eq!(s.listeners["er"], "0.0.0.0:8088".parse().unwrap());
        assert_eq!(s.listeners["hub-api"], "127.0.0.1:9089".parse().unwrap());

        std::fs::write(&file, "listeners:\n  er: 127.0.0.1:8081\n  \"a b\": 127.0.0.1:1\n").unwrap();
        let errors: Vec<String> = Settings::load(&file, &|_| None)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.iter().any(|e| e.contains("`er` is the admin listener")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("`a b` is not usable")), "{errors:?}");
    }

    #[test]
    fn an_open_database_keeps_its_connection_until_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "databases:\n  hub:\n").unwrap();
        let running = Settings::load(&file, &|_| None).unwrap();
        std::fs::write(
            &file,
            "databases:\n  hub: { max_connections: 2 }\n  his: { url: 'mysql://root@h/his' }\n",
        )
        .unwrap();
        let env = |name: &str| (name == "MEDBUS_DATABASE_HUB").then(|| "postgres://u:pw@db/hub".to_string());
        let configured = Settings::load(&file, &env).unwrap();
        let restart = Settings::needing_restart(&running, &configured);
        assert_eq!(restart.len(), 1, "{restart:?}");
        assert_eq!(restart[0].setting, "databases");
        assert!(
            restart[0]
                .configured
                .starts_with("hub: postgres://…@db/hub (2 connections"),
            "{restart:?}"
        );
        let applied = configured.keeping_restart_only(&running);
        assert_eq!(applied.databases["hub"], running.databases["hub"]);
        assert!(
            applied.databases.contains_key("his"),
            "an added database applies at once"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_with_positions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("medbus.yaml");
        std::fs::write(&file, "data_dir: x\nadmin_adr: 1\n").unwrap();
        let errors = Settings::load(&file, &|_| None).unwrap_err();
        assert!(errors[0].to_string().contains("medbus.yaml:2:"), "{}", errors[0]);
        std::fs::write(&file, "timezone: Mars/Olympus\n").unwrap();
        let errors = Settings::load(&file, &|_| None).unwrap_err();
        assert!(errors[0].message.contains("Asia/Shanghai"));
    }
}
