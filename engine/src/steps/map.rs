//! The `map` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {}

pub struct MapStep {}

impl MapStep {
    pub fn build(_config: &MapConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(MapStep {})
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
