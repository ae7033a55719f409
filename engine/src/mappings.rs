//! Mapping tables (placeholder until the scripts branch lands).
use crate::config::Diagnostic;
use std::path::Path;

pub struct Mappings {}
pub struct Table {}

impl Mappings {
    pub fn load(_dir: &Path) -> (Mappings, Vec<Diagnostic>) {
        (Mappings {}, vec![])
    }
    pub fn len(&self) -> usize {
        0
    }
    pub fn table(&self, _name: &str) -> Option<&Table> {
        None
    }
}

impl Table {
    pub fn lookup(&self, _by: &str, _value: &str, _column: &str) -> Option<&str> {
        None
    }
}
