//! The `script` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {}

pub struct ScriptStep {}

impl ScriptStep {
    pub fn build(_config: &ScriptConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(ScriptStep {})
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
