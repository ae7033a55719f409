//! The `sql` step: runs statements on one of the settings' databases while
//! the message is processed (store a record, look a patient up), its rows
//! kept in a path for the steps after it.
//!
//! ```yaml
//! - sql:
//!     database: hub
//!     query: "SELECT apply_no, status FROM apply_records WHERE event_no = :eventNo"
//!     params: { eventNo: body.root.eventNo }
//!     expect: one
//!     into: vars.record
//!     not_found: { code: "10004", message: "no apply record for event {{ body.root.eventNo }}" }
//! ```
//!
//! Failures fail the message: `DB_UNAVAILABLE` (unreachable, busy, timed
//! out), `DB_CONSTRAINT` (a unique, foreign key, not null or check
//! constraint), `DB_ERROR` (anything else). Several `statements` run in one
//! transaction: on any failure none of them stays.

use super::filter::{RejectConfig, Rejecter};
use super::{BuildContext, Flow, StepError};
use crate::config::{DurationText, Located};
use crate::databases::run::{FailureKind, Fetch, Outcome};
use crate::databases::statements::{self, ParamSource, Scopes, Statement, StatementConfig};
use crate::databases::{self as databases, Databases};
use crate::exchange::Exchange;
use crate::value::{Path, Value};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Run SQL on a database of the settings and keep what it answers.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// The database's name under `databases:` in the settings, e.g. `hub`.
    pub database: String,
    /// SQL with named parameters, e.g.
    /// `SELECT * FROM apply_records WHERE event_no = :eventNo`.
    #[serde(default)]
    pub query: Option<Located<String>>,
    /// Where each `:name` of `query` gets its value: a path (the value with
    /// its type; null when missing), a template (text), a number,
    /// true/false, null, or `{ value: ... }`.
    #[serde(default)]
    pub params: IndexMap<String, ParamSource>,
    /// Instead of `query`: several statements run in order in one
    /// transaction; `expect` and `into` apply to the last.
    #[serde(default)]
    pub statements: Vec<StatementConfig>,
    /// What the (last) statement answers: `all` rows as a list, exactly
    /// `one` row as an object (none is `not_found`), an `optional` row (the
    /// object or null), or `none`: a write, `into` gets the number of rows
    /// it changed. Default: `all` with `into`, else `none`.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Where the result is written, e.g. `vars.record`.
    #[serde(default)]
    pub into: Option<String>,
    /// With `expect: one`, how a missing row is answered. Default: rejected
    /// with code `NOT_FOUND`.
    #[serde(default)]
    pub not_found: Option<RejectConfig>,
    /// How long the statements may take, connection included. Default: `10s`.
    #[serde(default = "default_timeout")]
    pub timeout: DurationText,
}

fn default_timeout() -> DurationText {
    DurationText::secs(10)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Every row, as a list of objects (empty when none came back).
    All,
    /// Exactly one row, as an object; none is answered with `not_found`.
    One,
    /// One row as an object, or null when none came back.
    Optional,
    /// A write: `into` gets the number of rows it changed.
    None,
}

pub struct SqlStep {
    database: String,
    statements: Vec<Statement>,
    expect: Expect,
    into: Option<Path>,
    not_found: Rejecter,
    timeout: std::time::Duration,
    databases: Arc<Databases>,
}

impl SqlStep {
    pub fn build(config: &SqlConfig, cx: &mut BuildContext) -> Option<Self> {
        let what = format!("sql on `{}`", config.database);
        let dialect = statements::database_backend(cx, &what, &config.database);
        let built = dialect.and_then(|dialect| {
            statements::build(
                cx,
                &what,
                dialect,
                config.query.as_ref(),
                &config.params,
                &config.statements,
            )
        });
        let into = match &config.into {
            Some(text) => Some(super::support::target_path(cx, &format!("{what} `into`"), text)?),
            None => None,
        };
        let expect = config
            .expect
            .unwrap_or(if into.is_some() { Expect::All } else { Expect::None });
        if config.not_found.is_some() && expect != Expect::One {
            cx.error(format!("{what} has `not_found`, which applies to `expect: one` only"));
            return None;
        }
        if config.timeout.0.is_zero() {
            cx.error(format!("{what} `timeout` is 0; expected e.g. `10s`"));
            return None;
        }
        let not_found = Rejecter::build(config.not_found.as_ref(), "NOT_FOUND", cx)?;
        Some(SqlStep {
            database: config.database.clone(),
            statements: built?,
            expect,
            into,
            not_found,
            timeout: config.timeout.0,
            databases: cx.resources.databases.clone(),
        })
    }

    pub async fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let name = &self.database;
        let database = self
            .databases
            .get(name)
            .ok_or_else(|| StepError::failed("DB_UNAVAILABLE", format!("database `{name}` is not open")))?;
        let (prepared, read_only) =
            statements::prepare_all(&self.statements, database.backend(), &Scopes::Exchange(ex))
                .map_err(|e| StepError::failed("TEMPLATE_ERROR", format!("sql on `{name}`: {e}")))?;
        let fetch = match self.expect {
            Expect::All => Fetch::Rows(None),
            Expect::One | Expect::Optional => Fetch::Rows(Some(2)),
            Expect::None => Fetch::Affected,
        };
        let outcome = match tokio::time::timeout(self.timeout, database.run(prepared, read_only, fetch)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(failure)) => {
                let code = match failure.kind {
                    FailureKind::Unavailable | FailureKind::Busy => "DB_UNAVAILABLE",
                    FailureKind::Constraint => "DB_CONSTRAINT",
                    FailureKind::Other => "DB_ERROR",
                };
                return Err(StepError::failed(code, databases::describe(name, &failure)));
            }
            Err(_) => {
                return Err(StepError::failed(
                    "DB_UNAVAILABLE",
                    format!(
                        "database `{name}` did not answer within {}",
                        humantime::format_duration(self.timeout)
                    ),
                ))
            }
        };
        let result = match (self.expect, outcome) {
            (_, Outcome::Affected(count)) => Value::from(count),
            (Expect::One | Expect::Optional, Outcome::Rows(rows)) if rows.len() > 1 => {
                return Err(StepError::failed(
                    "DB_ERROR",
                    format!(
                        "sql on `{name}` returned more than one row; expected at most one (`expect: {}`)",
                        if self.expect == Expect::One { "one" } else { "optional" }
                    ),
                ))
            }
            (Expect::One, Outcome::Rows(rows)) if rows.is_empty() => {
                return Err(self
                    .not_found
                    .reject(ex, vec![], || format!("sql on `{name}` found no row")))
            }
            (Expect::One | Expect::Optional, Outcome::Rows(rows)) => {
                rows.into_iter().next().map(Value::Object).unwrap_or(Value::Null)
            }
            (_, Outcome::Rows(rows)) => Value::Array(rows.into_iter().map(Value::Object).collect()),
        };
        if let Some(into) = &self.into {
            ex.assign(into, result)
                .map_err(|e| StepError::failed("DB_ERROR", format!("sql on `{name}`: {e}")))?;
        }
        Ok(Flow::Continue)
    }
}
