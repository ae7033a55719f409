//! The Rhai sandbox (placeholder until implemented).

pub struct Scripting {}
