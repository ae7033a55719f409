//! The `sql` destination: each delivery runs its statements on one of the
//! settings' databases, in one transaction, with parameters read from the
//! delivery's saved context (`body`, `vars`, `headers`, `msg`, and the
//! current `config`).
//!
//! Delivery is at least once: a delivery cut short by a crash after its
//! commit runs again. Write statements that can run twice (upserts:
//! `INSERT ... ON CONFLICT (...) DO UPDATE` on SQLite and PostgreSQL,
//! `INSERT ... ON DUPLICATE KEY UPDATE` on MySQL/MariaDB).

use super::{Attempt, Failure, Outgoing};
use crate::config::{DurationText, Located};
use crate::databases::run::{FailureKind, Fetch, Outcome};
use crate::databases::statements::{self, ParamSource, Scopes, Statement, StatementConfig};
use crate::databases::{self as databases, Databases};
use crate::steps::BuildContext;
use crate::value::Path;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlDestinationConfig {
    /// The database's name under `databases:` in the settings, e.g. `his`.
    pub database: String,
    /// SQL with named parameters, e.g.
    /// `INSERT INTO exam_requests (apply_no, patient_id) VALUES (:applyNo, :patientId)`.
    #[serde(default)]
    pub query: Option<Located<String>>,
    /// Where each `:name` of `query` gets its value: a path (the value with
    /// its type; null when missing), a template (text), a number,
    /// true/false, null, or `{ value: ... }`.
    #[serde(default)]
    pub params: IndexMap<String, ParamSource>,
    /// Instead of `query`: several statements run in order in one transaction.
    #[serde(default)]
    pub statements: Vec<StatementConfig>,
    /// Give up on one attempt after this long. Default: `30s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
    /// A path to a list (e.g. `vars.rows`): the statements run once per
    /// element, all in the delivery's one transaction; their templates see
    /// `item` (the element) and `index` (from 0), e.g. `"{{ item.icd10 }}"`.
    /// An empty or missing list writes nothing.
    #[serde(default)]
    pub each: Option<String>,
}

fn default_timeout() -> DurationText {
    DurationText::secs(30)
}

pub struct SqlEndpoint {
    database: String,
    statements: Vec<Statement>,
    each: Option<Path>,
    timeout: std::time::Duration,
    databases: Arc<Databases>,
}

impl SqlEndpoint {
    pub fn build(config: &SqlDestinationConfig, cx: &mut BuildContext) -> Option<Self> {
        let what = format!("sql destination on `{}`", config.database);
        let dialect = statements::database_backend(cx, &what, &config.database)?;
        let built = statements::build(
            cx,
            &what,
            dialect,
            config.query.as_ref(),
            &config.params,
            &config.statements,
        )?;
        if config.timeout.0.is_zero() {
            cx.error(format!("{what} `timeout` is 0; expected e.g. `30s`"));
            return None;
        }
        let each = match &config.each {
            Some(text) => Some(cx.path(text)?),
            None => None,
        };
        Some(SqlEndpoint {
            database: config.database.clone(),
            statements: built,
            each,
            timeout: config.timeout.0,
            databases: cx.resources.databases.clone(),
        })
    }

    pub fn uses(&self, scope: &str) -> bool {
        self.each.as_ref().is_some_and(|each| each.scope.name() == scope)
            || self.statements.iter().any(|s| s.uses(scope))
    }

    pub async fn deliver(&self, outgoing: &Outgoing<'_>) -> Attempt {
        let name = &self.database;
        let failed = |error: String, failure: Failure| Attempt::Failed {
            error,
            failure,
            response: None,
        };
        let Some(database) = self.databases.get(name) else {
            return failed(format!("database `{name}` is not open"), Failure::Connect);
        };
        let prepared = match &self.each {
            None => statements::prepare_all(&self.statements, database.backend(), &Scopes::Context(outgoing.context)),
            Some(each) => statements::prepare_each(&self.statements, database.backend(), outgoing.context, each),
        };
        let (prepared, read_only) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => return failed(e, Failure::Invalid),
        };
        if prepared.is_empty() {
            return Attempt::Delivered {
                response: Some(serde_json::json!({ "rows_affected": 0 })),
            };
        }
        match tokio::time::timeout(self.timeout, database.run(prepared, read_only, Fetch::Affected)).await {
            Ok(Ok(outcome)) => {
                let changed = match outcome {
                    Outcome::Affected(count) => count,
                    Outcome::Rows(rows) => rows.len() as u64,
                };
                Attempt::Delivered {
                    response: Some(serde_json::json!({ "rows_affected": changed })),
                }
            }
            Ok(Err(failure)) => {
                let kind = match failure.kind {
                    FailureKind::Unavailable => Failure::Connect,
                    FailureKind::Busy => Failure::Timeout,
                    FailureKind::Constraint | FailureKind::Other => Failure::Invalid,
                };
                failed(databases::describe(name, &failure), kind)
            }
            Err(_) => failed(
                format!(
                    "database `{name}` did not answer within {}",
                    humantime::format_duration(self.timeout)
                ),
                Failure::Timeout,
            ),
        }
    }
}
