//! Where processed messages go.

pub mod file;
pub mod http;
pub mod route;
