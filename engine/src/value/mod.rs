//! The value model: one JSON-like tree for every format (DESIGN.md).
//! `serde_json::Value` with insertion order kept is the tree; the codecs
//! for XML live in `medbus-adapters`, JSON and text are handled here.

pub mod path;

pub use path::{Path, Scope};
pub use serde_json::{Map, Value};
