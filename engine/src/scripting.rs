//! The Rhai sandbox (placeholder until the scripts branch lands).
use crate::exchange::Exchange;
use crate::mappings::Mappings;
use std::sync::Arc;

pub struct Scripting {}
pub struct Script {}
pub struct ScriptError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Scripting {
    pub fn new(_timezone: chrono_tz::Tz, _mappings: Arc<Mappings>) -> Scripting {
        Scripting {}
    }
    pub fn compile(&self, _source: &str) -> Result<Script, ScriptError> {
        Err(ScriptError {
            line: 1,
            column: 1,
            message: "placeholder".into(),
        })
    }
    pub fn run(&self, _script: &Script, _ex: &mut Exchange) -> Result<serde_json::Value, String> {
        Err("placeholder".into())
    }
}
