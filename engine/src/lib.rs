//! medbus: a configuration-driven integration engine for health
//! information exchange. See the README for the route file reference.

pub mod config;
pub mod destinations;
pub mod exchange;
pub mod journal;
pub mod mappings;
pub mod outbound;
pub mod resources;
pub mod scripting;
pub mod settings;
pub mod sources;
pub mod steps;
pub mod templates;
pub mod unit_test;
pub mod value;
