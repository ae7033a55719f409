//! Per-caller secrets, kept outside route files: a YAML file of
//! `name: value` pairs (`secrets_file`, default `secrets.yaml` beside
//! `medbus.yaml`) and `MEDBUS_SECRET_<NAME>` environment variables. Loaded
//! with the settings, so a reload re-reads them.
//!
//! They are read in two places only: the `authenticate` step (which caller
//! presented this secret?) and the templates of outbound requests, at send
//! time ([`Secrets::render_outbound`]). Nothing else sees a value: no
//! scope, script, trace or journal row; the [`Redactor`] masks any that a
//! caller sent where no step removed it before the journal keeps a message.

pub mod redact;

use crate::config::{Diagnostic, Located, Position};
use crate::templates::Template;
use crate::value::Value;
pub use redact::Redactor;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use subtle::ConstantTimeEq;

/// Environment variables naming one secret each: `MEDBUS_SECRET_VENDOR_120`
/// is the secret `vendor-120`.
pub const ENV_PREFIX: &str = "MEDBUS_SECRET_";

/// The name of the scope outbound templates read secrets from.
pub const SCOPE: &str = "secrets";

#[derive(Clone, Default)]
pub struct Secrets {
    by_name: BTreeMap<String, Secret>,
    redactor: Redactor,
    /// Worth logging once logging is up: a file others may read, values
    /// too short to be masked.
    warnings: Vec<String>,
}

#[derive(Clone)]
struct Secret {
    value: String,
    /// Compared instead of the value: digests of equal length leave no
    /// timing trace of the secret's length.
    digest: [u8; 32],
}

/// Values are never printed: only the names.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Secrets {
    fn eq(&self, other: &Self) -> bool {
        self.by_name.len() == other.by_name.len()
            && self
                .by_name
                .iter()
                .zip(&other.by_name)
                .all(|((a, x), (b, y))| a == b && x.value == y.value)
    }
}

impl Secrets {
    /// Reads `file` (absent: no secrets from it) and then the environment's
    /// `MEDBUS_SECRET_*` variables among `env`, which add secrets or
    /// override the file's.
    pub fn load(file: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Secrets, Vec<Diagnostic>> {
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        let mut values: BTreeMap<String, (String, Option<Position>)> = BTreeMap::new();
        match std::fs::read_to_string(file) {
            Ok(text) => {
                if let Some(warning) = readable_by_others(file) {
                    warnings.push(warning);
                }
                if !text.trim().is_empty() {
                    let pairs: indexmap::IndexMap<String, Located<String>> =
                        serde_saphyr::from_str(&text).map_err(|e| vec![crate::config::yaml_error(file, &e)])?;
                    for (name, value) in pairs {
                        if let Err(why) = check_name(&name) {
                            errors.push(Diagnostic::new(file, value.at, why));
                        }
                        values.insert(name, (value.value, Some(value.at)));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(vec![Diagnostic::in_file(
                    file,
                    format!("cannot read the secrets file: {e}"),
                )])
            }
        }
        for (var, value) in env {
            let Some(key) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let name = key.to_ascii_lowercase().replace('_', "-");
            if let Err(why) = check_name(&name) {
                errors.push(Diagnostic::new(
                    "<environment>",
                    Position { line: 1, column: 1 },
                    format!("{var}: {why}"),
                ));
            }
            values.insert(name, (value, None));
        }
        let mut by_value: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, (value, at)) in &values {
            let at = at.unwrap_or(Position { line: 1, column: 1 });
            if value.is_empty() {
                errors.push(Diagnostic::new(
                    file,
                    at,
                    format!("secret `{name}` is empty; expected its value"),
                ));
            } else if let Some(first) = by_value.insert(value, name) {
                errors.push(Diagnostic::new(
                    file,
                    at,
                    format!("secrets `{first}` and `{name}` have the same value; expected each caller to have its own, or medbus cannot tell them apart"),
                ));
            }
            if value.chars().count() < redact::MIN_MASKED_LEN {
                warnings.push(format!(
                    "secret `{name}` is shorter than {} characters: the journal does not mask values this short where a caller sends it and no `authenticate` step removes it",
                    redact::MIN_MASKED_LEN
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let by_name: BTreeMap<String, Secret> = values
            .into_iter()
            .map(|(name, (value, _))| {
                let digest = Sha256::digest(value.as_bytes()).into();
                (name, Secret { value, digest })
            })
            .collect();
        let redactor = Redactor::new(by_name.values().map(|s| s.value.as_str()));
        Ok(Secrets {
            by_name,
            redactor,
            warnings,
        })
    }

    /// What is worth a warning about these secrets (a file others may
    /// read, values too short to be masked); never a value.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Logs [`Secrets::warnings`].
    pub fn log_warnings(&self) {
        for warning in &self.warnings {
            tracing::warn!("{warning}");
        }
    }

    /// The `MEDBUS_SECRET_*` variables of this process.
    pub fn from_process_env() -> Vec<(String, String)> {
        std::env::vars()
            .filter(|(var, _)| var.starts_with(ENV_PREFIX))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The name of the caller, among those `allowed`, whose secret is
    /// `presented`. Every allowed secret is compared, in constant time, so
    /// the answer's timing says nothing about which one came close.
    pub fn caller_of(&self, presented: &str, allowed: impl Fn(&str) -> bool) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (name, secret) in &self.by_name {
            if allowed(name) {
                let equal: bool = secret.digest.ct_eq(&digest).into();
                if equal && found.is_none() {
                    found = Some(name.as_str());
                }
            }
        }
        found
    }

    /// Masks secret values out of what is kept.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Renders a template of an outbound request (a URL, a header, a body)
    /// against `context`, adding the `secrets` scope when the template reads
    /// it. The rendered text goes on the wire; never keep it in the
    /// exchange, a trace or a queued delivery. Compile such templates with
    /// [`Template::compile_outbound`].
    pub fn render_outbound(&self, template: &Template, context: &Value) -> Result<String, String> {
        if !template.uses(SCOPE) {
            return template.render(context);
        }
        let Value::Object(scopes) = context else {
            return Err("the template context is not an object".into());
        };
        let mut with_secrets: crate::value::Map<String, Value> = scopes
            .iter()
            .filter(|(name, _)| template.needs(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let values = self
            .by_name
            .iter()
            .map(|(name, secret)| (name.clone(), Value::String(secret.value.clone())))
            .collect();
        with_secrets.insert(SCOPE.into(), Value::Object(values));
        template.render_owned(Value::Object(with_secrets)).0
    }
}

/// Names are what `authenticate` records as the caller, and map one to one
/// to environment variables.
fn check_name(name: &str) -> Result<(), String> {
    let fine = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if fine {
        Ok(())
    } else {
        Err(format!(
            "secret name `{name}` is not allowed; expected lower-case letters, digits and `-`, e.g. `vendor-120`"
        ))
    }
}

#[cfg(unix)]
fn readable_by_others(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "the secrets file {} can be read by other users (mode {:o}); expected `chmod 600`",
            file.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let file = dir.join("secrets.yaml");
        std::fs::write(&file, text).unwrap();
        file
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_file_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "vendor-120: from-file-120\nhospital-zsyy: zsyy-secret-1\n");
        let secrets = Secrets::load(
            &file,
            env(&[
                ("MEDBUS_SECRET_VENDOR_120", "from-env-120"),
                ("MEDBUS_SECRET_HOSPITAL_NEW", "new-secret-9"),
                ("MEDBUS_VALUE_X", "not a secret"),
            ]),
        )
        .unwrap();
        assert_eq!(
            secrets.names().collect::<Vec<_>>(),
            ["hospital-new", "hospital-zsyy", "vendor-120"]
        );
        assert_eq!(secrets.caller_of("from-env-120", |_| true), Some("vendor-120"));
        assert_eq!(
            secrets.caller_of("from-file-120", |_| true),
            None,
            "the environment overrides"
        );
        assert_eq!(secrets.caller_of("zsyy-secret-1", |_| true), Some("hospital-zsyy"));
        assert!(
            !format!("{secrets:?}").contains("zsyy-secret-1"),
            "Debug shows names only"
        );
    }

    #[test]
    fn an_absent_file_means_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::load(&dir.path().join("none.yaml"), env(&[])).unwrap();
        assert!(secrets.is_empty() && secrets.warnings().is_empty());
        assert!(!secrets.redactor().is_active());
    }

    #[test]
    fn bad_files_are_reported_with_positions() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "vendor-120: abcdefgh\nVendor_121: other-secret\n");
        let errors = Secrets::load(&file, env(&[])).unwrap_err();
        assert!(errors[0].to_string().contains("secrets.yaml:2:"), "{}", errors[0]);
        assert!(
            errors[0].message.contains("`Vendor_121` is not allowed"),
            "{}",
            errors[0]
        );

        let file = write(dir.path(), "a: same-value\nb: same-value\n");
        let errors = Secrets::load(&file, env(&[])).unwrap_err();
        assert!(
            errors[0].message.contains("`a` and `b` have the same value"),
            "{}",
            errors[0]
        );
        assert!(!errors[0].message.contains("same-value"), "never shows a value");

        let file = write(dir.path(), "a: [1]\n");
        let errors = Secrets::load(&file, env(&[])).unwrap_err();
        assert!(errors[0].to_string().contains("secrets.yaml:1:"), "{}", errors[0]);
    }

    #[cfg(unix)]
    #[test]
    fn warns_about_a_file_others_may_read_and_short_values() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "vendor-120: abc\n");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warnings = Secrets::load(&file, env(&[])).unwrap().warnings().to_vec();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("mode 644") && warnings[0].contains("chmod 600"));
        assert!(warnings[1].contains("shorter than 6"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&file, "vendor-120: abcdefgh\n").unwrap();
        let warnings = Secrets::load(&file, env(&[])).unwrap().warnings().to_vec();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn finds_the_caller_only_among_those_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "vendor-120: secret-120\nhospital-a: secret-a\n");
        let secrets = Secrets::load(&file, env(&[])).unwrap();
        assert_eq!(
            secrets.caller_of("secret-a", |n| n.starts_with("hospital-")),
            Some("hospital-a")
        );
        assert_eq!(secrets.caller_of("secret-120", |n| n.starts_with("hospital-")), None);
        assert_eq!(secrets.caller_of("secret-12", |_| true), None);
        assert_eq!(secrets.caller_of("", |_| true), None);
    }

    #[test]
    fn outbound_templates_read_the_secrets_scope() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "vendor-120: secret-120\n");
        let secrets = Secrets::load(&file, env(&[])).unwrap();
        let template = Template::compile_outbound(r#"{{ body.id }}:{{ secrets["vendor-120"] }}"#).unwrap();
        let context = json!({"body": {"id": "A1"}});
        assert_eq!(secrets.render_outbound(&template, &context).unwrap(), "A1:secret-120");
        assert_eq!(context, json!({"body": {"id": "A1"}}), "the context is left as it was");
        let unknown = Template::compile_outbound(r#"{{ secrets["vendor-999"] }}"#).unwrap();
        let error = secrets.render_outbound(&unknown, &context).unwrap_err();
        assert!(!error.contains("secret-120"), "{error}");
    }
}
