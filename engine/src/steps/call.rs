//! The `call` step. (placeholder until implemented)

use super::{BuildContext, Flow, RunEnv, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {}

pub struct CallStep {}

impl CallStep {
    pub fn build(_config: &CallConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(CallStep {})
    }

    pub async fn run(&self, _ex: &mut Exchange, _env: &RunEnv) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
