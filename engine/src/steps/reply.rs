//! The `reply` step. (placeholder until implemented)

use super::{BuildContext, Flow, StepError};
use crate::exchange::Exchange;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyConfig {}

pub struct ReplyStep {}

impl ReplyStep {
    pub fn build(_config: &ReplyConfig, _cx: &mut BuildContext) -> Option<Self> {
        Some(ReplyStep {})
    }

    pub fn render(&self, _context: &serde_json::Value) -> Result<crate::exchange::Reply, String> {
        Err("placeholder".into())
    }

    pub fn run(&self, _ex: &mut Exchange) -> Result<Flow, StepError> {
        Ok(Flow::Continue)
    }
}
