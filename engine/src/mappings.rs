//! Mapping tables (placeholder until implemented).

pub struct Mappings {}
