//! The `route` destination: hand the message to another route, which runs
//! its own steps and destinations on it. The runtime does the handing over.

use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteDestinationConfig {
    /// The id of the route that takes the message; its raw input is this
    /// route's outgoing payload.
    pub id: String,
}
