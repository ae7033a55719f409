//! The `parse` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {}

pub struct ParseStep {}

impl ParseStep {
    pub fn build(_config: &ParseConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(ParseStep {})
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
