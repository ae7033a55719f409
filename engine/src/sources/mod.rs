//! Where messages come from.

pub mod http;
pub mod soap;
pub mod timer;
