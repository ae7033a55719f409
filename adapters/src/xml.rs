//! XML <-> value tree. (placeholder until implemented)

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("{message} (at byte {position})")]
pub struct XmlError {
    pub message: String,
    pub position: u64,
}

/// Parses an XML document into the value tree.
pub fn parse(_xml: &str) -> Result<Value, XmlError> {
    Err(XmlError {
        message: "not implemented".into(),
        position: 0,
    })
}

/// Writes a value tree back as an XML document.
pub fn write(_value: &Value) -> Result<String, XmlError> {
    Err(XmlError {
        message: "not implemented".into(),
        position: 0,
    })
}
