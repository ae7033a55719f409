//! The step kinds of a route's pipeline. Each kind is one module holding its
//! config struct (what a route file says), its compiled form (built once per
//! configuration load) and its tests.

pub mod authenticate;
pub mod call;
pub mod extract;
pub mod fan_out;
pub mod filter;
pub mod map;
pub mod parse;
pub mod reply;
pub mod script;
pub mod set;
pub mod soap;
pub mod sql;
pub(crate) mod support;
pub mod template;
pub mod validate;

use crate::config::{Diagnostics, Position};
use crate::exchange::Exchange;
use crate::resources::Resources;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;

/// A step as written in a route file: a single-key map such as
/// `- script: { file: examples/normalize.rhai }`.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepSpec {
    /// Parse the raw body (or a string at a path) as JSON, XML or text.
    Parse(parse::ParseConfig),
    /// Check required paths, patterns and allowed values; reject with a code.
    Validate(validate::ValidateConfig),
    /// Drop or reject the message on a condition.
    Filter(filter::FilterConfig),
    /// Replace a code through a mapping table.
    Map(map::MapConfig),
    /// Run a Rhai script on the message.
    Script(script::ScriptConfig),
    /// Assign paths from values, expressions or templates.
    Set(set::SetConfig),
    /// Copy values out with JSONPath or a path into variables.
    Extract(extract::ExtractConfig),
    /// Render the outgoing body with a Tera template.
    Template(template::TemplateConfig),
    /// Call another HTTP service and keep its answer in a variable.
    Call(call::CallConfig),
    /// Call an operation of a SOAP WebService and keep its return.
    Soap(soap::SoapStepConfig),
    /// Build the synchronous answer.
    Reply(reply::ReplyConfig),
    /// Identify the caller by its secret; reject a missing or wrong one.
    Authenticate(authenticate::AuthenticateConfig),
    /// Run SQL on a database of the settings and keep its rows.
    Sql(sql::SqlConfig),
}

impl StepSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            StepSpec::Parse(_) => "parse",
            StepSpec::Validate(_) => "validate",
            StepSpec::Filter(_) => "filter",
            StepSpec::Map(_) => "map",
            StepSpec::Script(_) => "script",
            StepSpec::Set(_) => "set",
            StepSpec::Extract(_) => "extract",
            StepSpec::Template(_) => "template",
            StepSpec::Call(_) => "call",
            StepSpec::Soap(_) => "soap",
            StepSpec::Reply(_) => "reply",
            StepSpec::Authenticate(_) => "authenticate",
            StepSpec::Sql(_) => "sql",
        }
    }
}

/// What building a step needs: where its config was written (for errors),
/// and the loaded scripts, templates and mapping tables.
pub struct BuildContext<'a> {
    pub file: &'a Path,
    pub at: Position,
    pub resources: &'a Resources,
    pub diagnostics: &'a mut Diagnostics,
}

impl BuildContext<'_> {
    pub fn error(&mut self, message: impl Into<String>) {
        self.diagnostics.error(self.file, self.at, message);
    }

    /// Reads a file a step names (a script, a template) under `dir`; a
    /// missing or unreadable file is an error at the reference.
    pub fn read_referenced_file(
        &mut self,
        what: &str,
        dir: &Path,
        file: &crate::config::Located<String>,
    ) -> Option<(std::path::PathBuf, String)> {
        let path = dir.join(&file.value);
        match std::fs::read_to_string(&path) {
            Ok(source) => Some((path, source)),
            Err(e) => {
                let reason = if e.kind() == std::io::ErrorKind::NotFound {
                    "does not exist".to_string()
                } else {
                    format!("cannot be read: {e}")
                };
                // Positions of 0 come from values built in code, not read from a file.
                let at = if file.at.line == 0 { self.at } else { file.at };
                self.diagnostics.error(
                    self.file,
                    at,
                    format!(
                        "{what} `{}` {reason}; expected a file at {}",
                        file.value,
                        path.display()
                    ),
                );
                None
            }
        }
    }

    /// Parses a path written in the step's config, recording an error if bad.
    pub fn path(&mut self, text: &str) -> Option<crate::value::Path> {
        match text.parse() {
            Ok(path) => Some(path),
            Err(message) => {
                self.error(message);
                None
            }
        }
    }
}

/// What a step tells the pipeline to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The message is filtered out: journaled as `filtered`, not delivered.
    Drop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is at fault (bad format, missing field): HTTP 4xx.
    Rejected,
    /// Processing failed (a script error, a call that failed): HTTP 5xx.
    Failed,
}

/// A step's failure, with the code and message answered to the sender.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StepError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
    /// The transport's own status for this error (413, 415 ...), when the
    /// default of its kind (400, 500) would say less.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Where in the message the problem is (`body.root.applyNo`, `PID-3[2].1`),
    /// when a step knows: an HL7 ACK reports it in ERR-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl StepError {
    pub fn rejected(code: impl Into<String>, message: impl Into<String>) -> Self {
        StepError {
            kind: ErrorKind::Rejected,
            code: code.into(),
            message: message.into(),
            status: None,
            location: None,
        }
    }

    pub fn failed(code: impl Into<String>, message: impl Into<String>) -> Self {
        StepError {
            kind: ErrorKind::Failed,
            code: code.into(),
            message: message.into(),
            status: None,
            location: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A step compiled for one configuration snapshot.
pub enum Step {
    Parse(parse::ParseStep),
    Validate(validate::ValidateStep),
    Filter(filter::FilterStep),
    Map(map::MapStep),
    Script(script::ScriptStep),
    Set(set::SetStep),
    Extract(extract::ExtractStep),
    Template(template::TemplateStep),
    Call(call::CallStep),
    Soap(soap::SoapStep),
    Reply(reply::ReplyStep),
    Authenticate(authenticate::AuthenticateStep),
    Sql(sql::SqlStep),
}

/// The scopes a step may change, which the trace records after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub body: bool,
    pub vars: bool,
    pub out: bool,
    pub reply: bool,
}

impl Writes {
    /// The scopes among `body` and `vars` that these paths name.
    pub fn paths<'a>(paths: impl IntoIterator<Item = &'a crate::value::Path>) -> Writes {
        let mut writes = Writes::default();
        for path in paths {
            match path.scope {
                crate::value::Scope::Body => writes.body = true,
                crate::value::Scope::Vars => writes.vars = true,
                _ => {}
            }
        }
        writes
    }
}

impl Step {
    /// What running the step may change: a step writing only `vars` costs
    /// the trace no copy of the body.
    pub fn writes(&self) -> Writes {
        let all = Writes {
            body: true,
            vars: true,
            ..Writes::default()
        };
        match self {
            Step::Parse(step) => Writes::paths([step.target()]),
            Step::Map(step) => Writes::paths(step.targets()),
            Step::Set(step) => Writes::paths(step.targets()),
            Step::Extract(step) => Writes::paths(step.targets()),
            Step::Script(_) => all,
            Step::Template(_) => Writes { out: true, ..all },
            Step::Call(_) | Step::Soap(_) | Step::Sql(_) => Writes {
                vars: true,
                ..Writes::default()
            },
            Step::Authenticate(_) => Writes {
                body: true,
                ..Writes::default()
            },
            Step::Reply(_) => Writes {
                reply: true,
                ..Writes::default()
            },
            Step::Validate(_) | Step::Filter(_) => Writes::default(),
        }
    }

    /// Builds the step, recording every problem in `cx.diagnostics`.
    /// Returns `None` when the step cannot be built.
    pub fn build(spec: &StepSpec, cx: &mut BuildContext) -> Option<Step> {
        Some(match spec {
            StepSpec::Parse(c) => Step::Parse(parse::ParseStep::build(c, cx)?),
            StepSpec::Validate(c) => Step::Validate(validate::ValidateStep::build(c, cx)?),
            StepSpec::Filter(c) => Step::Filter(filter::FilterStep::build(c, cx)?),
            StepSpec::Map(c) => Step::Map(map::MapStep::build(c, cx)?),
            StepSpec::Script(c) => Step::Script(script::ScriptStep::build(c, cx)?),
            StepSpec::Set(c) => Step::Set(set::SetStep::build(c, cx)?),
            StepSpec::Extract(c) => Step::Extract(extract::ExtractStep::build(c, cx)?),
            StepSpec::Template(c) => Step::Template(template::TemplateStep::build(c, cx)?),
            StepSpec::Call(c) => Step::Call(call::CallStep::build(c, cx)?),
            StepSpec::Soap(c) => Step::Soap(soap::SoapStep::build(c, cx)?),
            StepSpec::Reply(c) => Step::Reply(reply::ReplyStep::build(c, cx)?),
            StepSpec::Authenticate(c) => Step::Authenticate(authenticate::AuthenticateStep::build(c, cx)?),
            StepSpec::Sql(c) => Step::Sql(sql::SqlStep::build(c, cx)?),
        })
    }

    pub async fn run(&self, ex: &mut Exchange, env: &RunEnv) -> Result<Flow, StepError> {
        match self {
            Step::Parse(s) => s.run(ex),
            Step::Validate(s) => s.run(ex),
            Step::Filter(s) => s.run(ex),
            Step::Map(s) => s.run(ex),
            Step::Script(s) => s.run(ex),
            Step::Set(s) => s.run(ex),
            Step::Extract(s) => s.run(ex),
            Step::Template(s) => s.run(ex),
            Step::Call(s) => s.run(ex, env).await,
            Step::Soap(s) => s.run(ex, env).await,
            Step::Reply(s) => s.run(ex),
            Step::Authenticate(s) => s.run(ex),
            Step::Sql(s) => s.run(ex).await,
        }
    }
}

/// What running steps needs from outside the snapshot.
pub struct RunEnv {
    pub outbound: crate::outbound::Outbound,
}
