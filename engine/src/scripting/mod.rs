//! The Rhai sandbox: one engine per configuration snapshot, shared by every
//! script and expression of its routes.
//!
//! Scripts see the exchange as variables: `body`, `vars` and `headers`
//! (changes are kept), `msg` and `config` (read-only). They cannot reach
//! files, modules or the network; operations, sizes and nesting are capped
//! so that no script can stall a worker or exhaust memory. docs/scripting.md
//! is the reference for script authors.

mod convert;
mod dates;
#[cfg(test)]
pub(crate) mod fixture;
mod functions;

pub use functions::Rejection;

use crate::exchange::Exchange;
use crate::mappings::Mappings;
use crate::value::Value;
use rhai::module_resolvers::DummyModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, Scope, AST};
use std::fmt;
use std::sync::Arc;

/// The sandbox's limits. Each one stops a runaway script with a clear
/// error instead of letting it hold a worker or memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Operations per run (a loop iteration, a call, an expression ...).
    pub max_operations: u64,
    /// Bytes of text in one value, counting every string inside it.
    pub max_string_size: usize,
    /// Array elements in one value, counting nested arrays.
    pub max_array_size: usize,
    /// Object map keys in one value, counting nested maps.
    pub max_map_size: usize,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions at the top level of a script.
    pub max_expr_depth: usize,
    /// Nesting of expressions inside functions.
    pub max_function_expr_depth: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 500_000,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 100_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
        }
    }
}

/// The variables a script sees, in the order they are put in its scope.
/// The first three are written back after a run.
const SCOPE_NAMES: [&str; 5] = ["body", "vars", "headers", "msg", "config"];

/// Symbols turned off: `eval` would run text built at run time, out of
/// reach of compile-time checks.
const DISABLED_SYMBOLS: [&str; 1] = ["eval"];

/// The configured Rhai engine.
pub struct Scripting {
    engine: Engine,
    limits: ScriptLimits,
}

/// A compiled script or expression, ready to run any number of times.
#[derive(Clone)]
pub struct Script {
    ast: AST,
    /// Which of `SCOPE_NAMES` the source mentions: only those are moved
    /// into the script and back.
    uses: [bool; 5],
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("uses", &self.uses)
            .finish_non_exhaustive()
    }
}

/// A script that does not compile, or failed while running. `line` and
/// `column` count from 1 within the script; 0 when unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ScriptError {
    fn new(position: rhai::Position, message: impl Into<String>) -> Self {
        ScriptError {
            line: position.line().unwrap_or(0),
            column: position.position().unwrap_or(0),
            message: message.into(),
        }
    }

    /// `name:line:column: message`, naming the script (its file, or
    /// `inline script`).
    pub fn in_script(&self, name: &str) -> String {
        if self.line == 0 {
            format!("{name}: {}", self.message)
        } else {
            format!("{name}:{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        }
    }
}

/// Why a run ended without a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// The script called `reject(code, message)`: the sender is at fault.
    Rejected { code: String, message: String },
    /// The script called `fail(code, message)`: something on our side.
    FailedWith { code: String, message: String },
    /// The script failed: an error, a `throw`, or a sandbox limit.
    Failed(ScriptError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Rejected { code, message } => write!(f, "rejected: {code}: {message}"),
            RunError::FailedWith { code, message } => write!(f, "failed: {code}: {message}"),
            RunError::Failed(error) => error.fmt(f),
        }
    }
}

impl From<RunError> for String {
    fn from(error: RunError) -> String {
        error.to_string()
    }
}

impl Scripting {
    /// The engine with the default limits, date helpers in `timezone` and
    /// lookups into `mappings`.
    pub fn new(timezone: chrono_tz::Tz, mappings: Arc<Mappings>) -> Scripting {
        Scripting::with_limits(timezone, mappings, ScriptLimits::default())
    }

    pub fn with_limits(timezone: chrono_tz::Tz, mappings: Arc<Mappings>, limits: ScriptLimits) -> Scripting {
        let mut engine = Engine::new();
        engine.set_module_resolver(DummyModuleResolver::new());
        engine.set_max_operations(limits.max_operations);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_map_size);
        engine.set_max_call_levels(limits.max_call_levels);
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth);
        for symbol in DISABLED_SYMBOLS {
            engine.disable_symbol(symbol);
        }
        // Undeclared variables are compile errors: a typo such as `bdy`
        // fails the configuration load, not the first message.
        engine.set_strict_variables(true);
        engine.on_print(|text| tracing::info!(target: "medbus::script", "{text}"));
        engine.on_debug(|text, source, position| {
            tracing::debug!(target: "medbus::script", source = source.unwrap_or(""), %position, "{text}")
        });
        // Rhai's own `sleep` would hold a worker thread.
        engine.register_fn("sleep", |_: rhai::INT| -> Result<(), Box<EvalAltResult>> {
            Err("`sleep` is not available in medbus scripts".into())
        });
        engine.register_fn("sleep", |_: rhai::FLOAT| -> Result<(), Box<EvalAltResult>> {
            Err("`sleep` is not available in medbus scripts".into())
        });
        functions::register(&mut engine, timezone, mappings);
        Scripting { engine, limits }
    }

    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compiles a whole script: statements, `fn` definitions, a final value.
    pub fn compile(&self, source: &str) -> Result<Script, ScriptError> {
        let ast = self
            .engine
            .compile_with_scope(&declared_scope(), source)
            .map_err(parse_error)?;
        Ok(Script {
            ast,
            uses: uses(source),
        })
    }

    /// Compiles one expression, as in a filter condition or a `set` value.
    pub fn compile_expression(&self, source: &str) -> Result<Script, ScriptError> {
        let ast = self
            .engine
            .compile_expression_with_scope(&declared_scope(), source)
            .map_err(parse_error)?;
        Ok(Script {
            ast,
            uses: uses(source),
        })
    }

    /// Runs `script` on the exchange: `body`, `vars` and `headers` are
    /// written back (all or none: a failed run changes nothing), and the
    /// script's final value is returned. A rejection reads
    /// `rejected: CODE: message`; `execute` tells it from a failure.
    pub fn run(&self, script: &Script, ex: &mut Exchange) -> Result<Value, String> {
        self.execute(script, ex).map_err(String::from)
    }

    /// As `run`, with the error telling a rejection from a failure.
    pub fn execute(&self, script: &Script, ex: &mut Exchange) -> Result<Value, RunError> {
        let mut scope = scope_of(script, ex, false)?;
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast)
            .map_err(|e| self.run_error(*e))?;
        let value =
            convert::to_value(&result).map_err(|e| failed(format!("the script's value cannot be used: {e}")))?;
        let (mut body, mut vars, mut headers) = (None, None, None);
        let pushed = script.uses.iter().filter(|u| **u).count();
        for (name, dynamic, _) in scope.into_iter().take(pushed) {
            match name.as_str() {
                "body" => body = Some(back(&dynamic, &ex.body, "body")?),
                "vars" => vars = Some(back_to_map(&dynamic, &ex.vars, "vars")?),
                "headers" => headers = Some(back_to_map(&dynamic, &ex.headers, "headers")?),
                _ => {}
            }
        }
        if let Some(body) = body {
            ex.body = body.into();
        }
        if let Some(vars) = vars {
            ex.vars = vars;
        }
        if let Some(headers) = headers {
            ex.headers = headers;
        }
        Ok(value)
    }

    /// Evaluates `script` against the exchange without changing it; every
    /// variable is a constant.
    pub fn evaluate(&self, script: &Script, ex: &Exchange) -> Result<Value, RunError> {
        let mut scope = scope_of(script, ex, true)?;
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast)
            .map_err(|e| self.run_error(*e))?;
        convert::to_value(&result).map_err(|e| failed(format!("the value cannot be used: {e}")))
    }

    fn run_error(&self, mut error: EvalAltResult) -> RunError {
        let mut within = Vec::new();
        let error = loop {
            error = match error {
                EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
                    within.push(name);
                    *inner
                }
                EvalAltResult::ErrorInModule(_, inner, _) => *inner,
                other => break other,
            };
        };
        let position = error.position();
        let limits = &self.limits;
        let message = match &error {
            EvalAltResult::ErrorTerminated(token, _) => {
                if let Some(rejection) = token.read_lock::<Rejection>() {
                    let (code, message) = (rejection.code.clone(), rejection.message.clone());
                    return match rejection.failed {
                        false => RunError::Rejected { code, message },
                        true => RunError::FailedWith { code, message },
                    };
                }
                "the script was terminated".to_string()
            }
            EvalAltResult::ErrorTooManyOperations(_) => format!(
                "the script was stopped after {} operations (an endless loop?); that is the sandbox's limit per run",
                limits.max_operations
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let limit = if what.contains("string") {
                    format!("{} bytes", limits.max_string_size)
                } else if what.contains("array") {
                    format!("{} elements", limits.max_array_size)
                } else {
                    format!("{} keys", limits.max_map_size)
                };
                format!("{what} is over the sandbox's limit of {limit}")
            }
            EvalAltResult::ErrorStackOverflow(_) => format!(
                "function calls nested deeper than the sandbox's limit of {} levels",
                limits.max_call_levels
            ),
            EvalAltResult::ErrorModuleNotFound(name, _) => {
                format!("cannot import `{name}`: scripts cannot load modules or files")
            }
            EvalAltResult::ErrorRuntime(value, _) if value.is_string() => value.to_string(),
            EvalAltResult::ErrorRuntime(value, _) => format!("thrown: {value}"),
            other => {
                let mut text = other.to_string();
                if let Some(at) = text.rfind(" (line ") {
                    text.truncate(at);
                }
                text
            }
        };
        let message = match within.first() {
            Some(name) => format!("in function `{name}`: {message}"),
            None => message,
        };
        RunError::Failed(ScriptError::new(position, message))
    }
}

fn failed(message: String) -> RunError {
    RunError::Failed(ScriptError {
        line: 0,
        column: 0,
        message,
    })
}

/// The scope scripts are compiled against, so that strict variables know
/// the scope names.
fn declared_scope() -> Scope<'static> {
    let mut scope = Scope::with_capacity(SCOPE_NAMES.len());
    for name in SCOPE_NAMES {
        scope.push_dynamic(name, Dynamic::UNIT);
    }
    scope
}

fn parse_error(error: rhai::ParseError) -> ScriptError {
    let message = match error.err_type() {
        rhai::ParseErrorType::BadInput(rhai::LexError::ImproperSymbol(symbol, _))
            if DISABLED_SYMBOLS.contains(&symbol.as_str()) =>
        {
            format!("`{symbol}` is not available in medbus scripts")
        }
        other => other.to_string(),
    };
    ScriptError::new(error.position(), message)
}

/// Which scope variables `source` mentions as a whole word. Mentions in
/// strings or comments count too: that only costs a conversion.
fn uses(source: &str) -> [bool; 5] {
    SCOPE_NAMES.map(|name| crate::templates::mentions_word(source, name))
}

fn scope_of(script: &Script, ex: &Exchange, constant: bool) -> Result<Scope<'static>, RunError> {
    let mut scope = Scope::with_capacity(SCOPE_NAMES.len());
    for (name, used) in SCOPE_NAMES.into_iter().zip(script.uses) {
        if !used {
            continue;
        }
        let value = match name {
            "body" => convert::to_dynamic(&ex.body),
            "vars" => Dynamic::from_map(convert::map_to_rhai(&ex.vars)),
            "headers" => Dynamic::from_map(convert::map_to_rhai(&ex.headers)),
            "config" => Dynamic::from_map(convert::map_to_rhai(&ex.config)),
            _ => msg_dynamic(ex),
        };
        if constant || name == "msg" || name == "config" {
            scope.push_constant_dynamic(name, value);
        } else {
            scope.push_dynamic(name, value);
        }
    }
    Ok(scope)
}

fn msg_dynamic(ex: &Exchange) -> Dynamic {
    let mut msg = rhai::Map::new();
    msg.insert("id".into(), ex.id.clone().into());
    msg.insert("route".into(), ex.route.clone().into());
    msg.insert("received_at".into(), ex.received_at.to_rfc3339().into());
    msg.insert(
        "content_type".into(),
        ex.content_type.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    msg.insert("caller".into(), ex.caller.clone().map_or(Dynamic::UNIT, Dynamic::from));
    Dynamic::from_map(msg)
}

fn back(dynamic: &Dynamic, old: &Value, name: &str) -> Result<Value, RunError> {
    let mut value = convert::to_value(dynamic)
        .map_err(|e| failed(format!("`{name}` holds a value that cannot leave the script: {e}")))?;
    convert::restore_order(&mut value, old);
    Ok(value)
}

fn back_to_map(
    dynamic: &Dynamic,
    old: &crate::value::Map<String, Value>,
    name: &str,
) -> Result<crate::value::Map<String, Value>, RunError> {
    match convert::to_value(dynamic) {
        Ok(Value::Object(mut map)) => {
            convert::restore_map_order(&mut map, old);
            Ok(map)
        }
        Ok(other) => Err(failed(format!(
            "`{name}` must stay an object map; the script made it a {}",
            crate::value::path::kind(&other)
        ))),
        Err(e) => Err(failed(format!(
            "`{name}` holds a value that cannot leave the script: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests;
