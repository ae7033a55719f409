//! medbus: a configuration-driven integration engine for health
//! information exchange. See the README for the route file reference.

pub mod admin;
pub mod cli;
pub mod config;
pub mod databases;
pub mod destinations;
pub mod exchange;
pub mod journal;
pub mod mappings;
pub mod outbound;
pub mod resources;
pub mod runtime;
pub mod scripting;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod sources;
pub mod steps;
pub mod telemetry;
pub mod templates;
pub mod unit_test;
pub mod value;
