//! Databases in route tests: every database of the settings is a new,
//! empty SQLite database in memory for each test, with its SQLite
//! migrations applied. A test seeds it (`given.databases`), `sql` steps and
//! `sql` destinations run against it, and the test checks its rows
//! afterwards (`expect.databases`).

use super::expect::{value_diff, values_match};
use crate::databases::run::{Fetch, Outcome};
use crate::databases::{describe, Databases};
use crate::destinations::{Endpoint, Outgoing};
use crate::journal::NewDelivery;
use crate::runtime::snapshot::{Route, Snapshot};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the world holds before the test runs.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// SQL run on each database before the input, in order, e.g.
    /// `hub: ["INSERT INTO apply_records (apply_no, event_no) VALUES ('A1', 'E1')"]`.
    #[serde(default)]
    pub databases: BTreeMap<String, Vec<String>>,
}

/// A query run after the test and the rows it must give.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsExpectation {
    /// SQL without parameters, e.g. `SELECT apply_no, status FROM apply_records ORDER BY apply_no`.
    pub query: String,
    /// Every row, in order, each an object of column -> value; scalars
    /// compare as text (`1` matches `"1"`).
    pub rows: Vec<Value>,
}

/// Opens fresh databases for one test and runs its seeds.
pub async fn prepare(snapshot: &Snapshot, given: &Given) -> Result<(), String> {
    let databases = &snapshot.resources.databases;
    if !snapshot.settings.databases.is_empty() {
        databases
            .open_for_tests(&snapshot.settings.databases)
            .await
            .map_err(|e| format!("databases: {e}"))?;
    }
    for (name, seeds) in &given.databases {
        let database = open(databases, name, "given")?;
        for sql in seeds {
            database
                .run_sql(sql, Fetch::Affected)
                .await
                .map_err(|e| format!("given: {}", describe(name, &e)))?;
        }
    }
    Ok(())
}

/// Runs the deliveries to `sql` destinations against the test databases.
pub async fn deliver(
    snapshot: &Snapshot,
    route: &Route,
    message_id: &str,
    deliveries: &[NewDelivery],
    failures: &mut Vec<String>,
) {
    for delivery in deliveries {
        let destination = route.destinations.iter().find(|d| d.name == delivery.destination);
        let Some(Endpoint::Sql(endpoint)) = destination.map(|d| &d.endpoint) else {
            continue;
        };
        let context = crate::runtime::delivery::with_config(&delivery.context, &snapshot.settings.values);
        let outgoing = Outgoing {
            message_id,
            destination: &delivery.destination,
            payload: &delivery.payload,
            content_type: &delivery.content_type,
            context: &context,
        };
        if let crate::destinations::Attempt::Failed { error, .. } = endpoint.deliver(&outgoing).await {
            failures.push(format!(
                "destination `{}`: the delivery failed: {error}",
                delivery.destination
            ));
        }
    }
}

/// Compares each expected query's rows with what the databases hold.
pub async fn check(
    snapshot: &Snapshot,
    expected: &BTreeMap<String, Vec<RowsExpectation>>,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    for (name, checks) in expected {
        let database = open(&snapshot.resources.databases, name, "expect")?;
        for check in checks {
            let rows = match database.run_sql(&check.query, Fetch::Rows(None)).await {
                Ok(Outcome::Rows(rows)) => Value::Array(rows.into_iter().map(Value::Object).collect()),
                Ok(Outcome::Affected(_)) => Value::Array(vec![]),
                Err(e) => {
                    failures.push(format!("databases.{name} `{}`: {}", check.query, describe(name, &e)));
                    continue;
                }
            };
            let wanted = Value::Array(check.rows.clone());
            if !values_match(&wanted, &rows) {
                failures.push(value_diff(
                    &format!("databases.{name} rows of `{}`", check.query),
                    &wanted,
                    &rows,
                ));
            }
        }
    }
    Ok(())
}

fn open(databases: &Databases, name: &str, part: &str) -> Result<std::sync::Arc<crate::databases::Database>, String> {
    databases
        .get(name)
        .ok_or_else(|| format!("{part}: database `{name}` is not declared under `databases:` in the settings"))
}
