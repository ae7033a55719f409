//! What the `sql` step and the `sql` destination share: statements written
//! with named parameters, where each parameter's value comes from (a path,
//! a template or a literal), checked when the route is built and made
//! ready for the database's backend when run.

use super::named_params::{NamedQuery, Rewritten};
use super::run::Prepared;
use super::settings::Backend;
use crate::config::Located;
use crate::exchange::Exchange;
use crate::steps::BuildContext;
use crate::templates::Template;
use crate::value::{Path, Value};
use indexmap::IndexMap;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// One statement of a `statements` list.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementConfig {
    /// SQL with named parameters, e.g.
    /// `INSERT INTO apply_records (apply_no, event_no) VALUES (:applyNo, :eventNo)`.
    pub query: Located<String>,
    /// Where each `:name` of the query gets its value.
    #[serde(default)]
    pub params: IndexMap<String, ParamSource>,
}

/// Where a parameter's value comes from: a path (`body.root.eventNo`: the
/// value with its type, null when missing), a template
/// (`"{{ body.a }}-{{ body.b }}"`: text), a number, `true`/`false` or
/// `null` as written, or `{ value: ... }` for any literal (a text, a list).
#[derive(Clone, Debug, PartialEq)]
pub enum ParamSource {
    /// A path, or a template when it holds `{{` or `{%`.
    Text(String),
    Literal(Value),
}

impl<'de> Deserialize<'de> for ParamSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(ParamSource::Text(text)),
            Value::Object(mut map) if map.len() == 1 && map.contains_key("value") => {
                Ok(ParamSource::Literal(map.remove("value").unwrap_or_default()))
            }
            Value::Array(_) | Value::Object(_) => Err(D::Error::custom(
                "expected a path, a template, a number, true/false, null or `{ value: ... }`",
            )),
            scalar => Ok(ParamSource::Literal(scalar)),
        }
    }
}

impl JsonSchema for ParamSource {
    fn schema_name() -> Cow<'static, str> {
        "ParamSource".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A path (`body.root.eventNo`), a template (`\"{{ body.a }}\"`), a number, true/false, null, or `{ value: ... }`.",
            "anyOf": [
                { "type": ["string", "number", "boolean", "null"] },
                {
                    "type": "object",
                    "properties": { "value": {} },
                    "required": ["value"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

enum Param {
    Path(Path),
    Template(Box<Template>),
    Literal(Value),
}

/// A statement compiled: its query in each backend's terms and its
/// parameters in the order of the query's names.
pub struct Statement {
    sqlite: Rewritten,
    postgres: Rewritten,
    mysql: Rewritten,
    read_only: bool,
    params: Vec<(String, Param)>,
}

/// Where parameter values are read: a message being processed, or a
/// queued delivery's saved context.
pub enum Scopes<'a> {
    Exchange(&'a Exchange),
    Context(&'a Value),
}

impl Scopes<'_> {
    fn lookup(&self, path: &Path) -> Value {
        match self {
            Scopes::Exchange(ex) => ex.lookup(path),
            Scopes::Context(context) => context
                .get(path.scope.name())
                .and_then(|root| path.lookup(root))
                .cloned(),
        }
        .unwrap_or(Value::Null)
    }

    fn render(&self, template: &Template) -> Result<String, String> {
        match self {
            Scopes::Exchange(ex) => template.render(&ex.context_for(|name| template.uses(name))),
            Scopes::Context(context) => template.render(context),
        }
    }
}

impl Statement {
    /// Makes the statement ready for `backend` with values from `scopes`.
    pub fn prepare(&self, backend: Backend, scopes: &Scopes) -> Result<Prepared, String> {
        let mut values = Vec::with_capacity(self.params.len());
        for (name, param) in &self.params {
            values.push(match param {
                Param::Path(path) => scopes.lookup(path),
                Param::Literal(value) => value.clone(),
                Param::Template(template) => Value::String(
                    scopes
                        .render(template)
                        .map_err(|e| format!("parameter `{name}` cannot be rendered: {e}"))?,
                ),
            });
        }
        let rewritten = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
            Backend::MySql => &self.mysql,
        };
        Ok(Prepared {
            sql: rewritten.sql.clone(),
            values: rewritten.binds.iter().map(|&i| values[i].clone()).collect(),
        })
    }

    /// Whether any template or path of its parameters reads `scope`.
    pub fn uses(&self, scope: &str) -> bool {
        self.params.iter().any(|(_, param)| match param {
            Param::Path(path) => path.scope.name() == scope,
            Param::Template(template) => template.uses(scope),
            Param::Literal(_) => false,
        })
    }
}

/// Every statement ready for `backend`, and whether all of them only read.
pub fn prepare_all(
    statements: &[Statement],
    backend: Backend,
    scopes: &Scopes,
) -> Result<(Vec<Prepared>, bool), String> {
    let prepared = statements
        .iter()
        .map(|s| s.prepare(backend, scopes))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((prepared, statements.iter().all(|s| s.read_only)))
}

/// The database a step or destination names, checked against the
/// settings; its backend decides how queries are read.
/// The statements once per element of the list at `each` in `context`,
/// for one transaction: their templates also see `item` (the element) and
/// `index` (from 0). A missing list or null is no element.
pub fn prepare_each(
    statements: &[Statement],
    backend: Backend,
    context: &Value,
    each: &Path,
) -> Result<(Vec<Prepared>, bool), String> {
    let list = context.get(each.scope.name()).and_then(|root| each.lookup(root));
    let items = match list {
        None | Some(Value::Null) => return Ok((Vec::new(), true)),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "`each` {each} is {}; expected a list",
                crate::value::path::kind(other)
            ))
        }
    };
    let mut prepared = Vec::with_capacity(items.len() * statements.len());
    let mut scopes = context.clone();
    for (index, item) in items.iter().enumerate() {
        if let Value::Object(map) = &mut scopes {
            map.insert("item".into(), item.clone());
            map.insert("index".into(), Value::from(index));
        }
        let (batch, _) =
            prepare_all(statements, backend, &Scopes::Context(&scopes)).map_err(|e| format!("item {index}: {e}"))?;
        prepared.extend(batch);
    }
    Ok((prepared, statements.iter().all(|s| s.read_only)))
}

pub fn database_backend(cx: &mut BuildContext, what: &str, database: &str) -> Option<Backend> {
    match cx.resources.settings.databases.get(database) {
        Some(config) => Some(config.location.backend()),
        None => {
            let known: Vec<&str> = cx.resources.settings.databases.keys().map(String::as_str).collect();
            let expected = if known.is_empty() {
                "no database is declared; add it under `databases:` in the settings".to_string()
            } else {
                format!("expected one of the settings' databases: {}", known.join(", "))
            };
            cx.error(format!(
                "{what} names database `{database}`, which is not declared; {expected}"
            ));
            None
        }
    }
}

/// Builds `query` + `params`, or `statements`: exactly one of the two forms.
pub fn build(
    cx: &mut BuildContext,
    what: &str,
    dialect: Backend,
    query: Option<&Located<String>>,
    params: &IndexMap<String, ParamSource>,
    statements: &[StatementConfig],
) -> Option<Vec<Statement>> {
    match (query, statements.is_empty()) {
        (Some(_), false) => {
            cx.error(format!(
                "{what} has both `query` and `statements`; expected one of them"
            ));
            None
        }
        (None, true) => {
            cx.error(format!(
                "{what} has no `query`; expected `query: \"SELECT ...\"` or a list of `statements`"
            ));
            None
        }
        (None, false) if !params.is_empty() => {
            cx.error(format!(
                "{what} has `params` beside `statements`; expected the params inside each statement"
            ));
            None
        }
        (Some(query), true) => Some(vec![build_one(cx, what, dialect, query, params)?]),
        (None, false) => {
            let built: Vec<Option<Statement>> = statements
                .iter()
                .map(|s| build_one(cx, what, dialect, &s.query, &s.params))
                .collect();
            built.into_iter().collect()
        }
    }
}

fn build_one(
    cx: &mut BuildContext,
    what: &str,
    dialect: Backend,
    query: &Located<String>,
    params: &IndexMap<String, ParamSource>,
) -> Option<Statement> {
    let at = if query.at.line == 0 { cx.at } else { query.at };
    let error = |cx: &mut BuildContext, message: String| cx.diagnostics.error(cx.file, at, message);
    let parsed = match NamedQuery::parse(&query.value, dialect) {
        Ok(parsed) => parsed,
        Err(e) => {
            error(cx, format!("{what}: {e}"));
            return None;
        }
    };
    let mut ok = true;
    let mut compiled = Vec::with_capacity(parsed.names().len());
    for name in parsed.names() {
        let Some(source) = params.get(name) else {
            error(
                cx,
                format!("{what}: the query uses `:{name}`, which `params` does not give; expected `params: {{ {name}: <path or template> }}`"),
            );
            ok = false;
            continue;
        };
        match build_param(name, source) {
            Ok(param) => compiled.push((name.clone(), param)),
            Err(e) => {
                error(cx, format!("{what}: parameter `{name}`: {e}"));
                ok = false;
            }
        }
    }
    for name in params.keys().filter(|k| !parsed.names().contains(k)) {
        error(
            cx,
            format!("{what}: `params` gives `{name}`, which the query does not use; expected `:{name}` in the query"),
        );
        ok = false;
    }
    ok.then(|| Statement {
        sqlite: parsed.rewrite(Backend::Sqlite),
        postgres: parsed.rewrite(Backend::Postgres),
        mysql: parsed.rewrite(Backend::MySql),
        read_only: parsed.is_read_only(),
        params: compiled,
    })
}

fn build_param(name: &str, source: &ParamSource) -> Result<Param, String> {
    match source {
        ParamSource::Literal(value) => Ok(Param::Literal(value.clone())),
        ParamSource::Text(text) if text.contains("{{") || text.contains("{%") => Template::compile(text)
            .map(|t| Param::Template(Box::new(t)))
            .map_err(|e| format!("not a valid template: {}", crate::steps::support::one_line(&e))),
        ParamSource::Text(text) => text
            .parse::<Path>()
            .map(Param::Path)
            .map_err(|e| format!("{e}; a text value is written `{name}: {{ value: \"{text}\" }}`")),
    }
}
