//! The `validate` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {}

pub struct ValidateStep {}

impl ValidateStep {
    pub fn build(_config: &ValidateConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(ValidateStep {})
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
