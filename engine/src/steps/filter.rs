//! The `filter` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {}

pub struct FilterStep {}

impl FilterStep {
    pub fn build(_config: &FilterConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(FilterStep {})
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
