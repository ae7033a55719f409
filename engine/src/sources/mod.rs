//! Where messages come from.

pub mod http;
pub mod timer;
