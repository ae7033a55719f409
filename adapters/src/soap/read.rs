//! Bytes -> the envelope's parts, with namespaces resolved: shared by requests and responses.

use super::media::parse_media;
use super::{SoapError, SoapVersion};
use crate::xml::{self, XmlError};
use encoding_rs::Encoding;
use serde_json::Value;

/// An envelope that has a Body with at least one element.
pub(super) struct Envelope {
    pub version: SoapVersion,
    /// The SOAP 1.2 `action` parameter of the content type.
    pub action: Option<String>,
    /// The envelope has a `Header` holding at least one entry.
    pub headers_present: bool,
    /// The first element of the Body.
    pub entry: Element,
}

/// Reads the envelope of a message whose HTTP `Content-Type` is `content_type` (may be empty).
pub(super) fn read_envelope(body: &[u8], content_type: &str) -> Result<Envelope, SoapError> {
    let media = parse_media(content_type)?;
    let root = match parse_xml(body, media.charset.as_deref())? {
        Value::Object(map) => map.into_iter().next(),
        _ => None,
    };
    let Some((name, value)) = root else {
        return Err(SoapError::NotEnvelope(String::new()));
    };
    let root = Element::new(name, value, &[]);
    if root.local != "Envelope" {
        return Err(SoapError::NotEnvelope(root.name));
    }
    let namespace = root.ns.clone().unwrap_or_default();
    let version = SoapVersion::from_envelope_ns(&namespace).ok_or(SoapError::VersionMismatch(namespace))?;
    if let Some(content_type) = media.version.filter(|&v| v != version) {
        return Err(SoapError::ContentTypeMismatch {
            content_type,
            envelope: version,
        });
    }
    let mut headers_present = false;
    let mut body = None;
    for child in root.children() {
        if child.ns.as_deref() != Some(version.envelope_ns()) {
            continue;
        }
        match child.local.as_str() {
            "Header" => headers_present |= !child.children().is_empty(),
            "Body" if body.is_none() => body = Some(child),
            _ => {}
        }
    }
    let body = body.ok_or(SoapError::NoBody)?;
    let entry = body.children().into_iter().next().ok_or(SoapError::EmptyBody)?;
    Ok(Envelope {
        version,
        action: media.action,
        headers_present,
        entry,
    })
}

/// Parses `bytes` in the charset the content type names, else as the XML itself says.
///
/// A byte order mark wins over the content type. Mislabelled bodies are common (a GBK document
/// declared as such but sent as `charset=utf-8`), so when the bytes are not valid in the
/// content type's charset the document's own declaration is tried before giving up.
fn parse_xml(bytes: &[u8], charset: Option<&str>) -> Result<Value, SoapError> {
    let charset = match charset {
        Some(label) if Encoding::for_bom(bytes).is_none() => label,
        _ => return xml::parse_bytes(bytes).map_err(SoapError::MalformedXml),
    };
    let encoding =
        Encoding::for_label(charset.as_bytes()).ok_or_else(|| SoapError::UnknownCharset(charset.to_string()))?;
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => xml::parse(&text).map_err(SoapError::MalformedXml),
        None => xml::parse_bytes(bytes).map_err(|_| {
            SoapError::MalformedXml(XmlError {
                message: format!(
                    "bytes that are not valid {} (the content type's charset)",
                    encoding.name()
                ),
                position: 0,
            })
        }),
    }
}

/// Namespace declarations in scope, innermost last: (prefix, namespace); `""` is the default.
type Scope = Vec<(String, String)>;

/// An element of the value tree with its namespace resolved.
pub(super) struct Element {
    /// The name as written, prefix included.
    pub name: String,
    pub local: String,
    pub ns: Option<String>,
    pub value: Value,
    scope: Scope,
}

impl Element {
    fn new(name: String, value: Value, parent: &[(String, String)]) -> Element {
        let mut scope = parent.to_vec();
        if let Value::Object(map) = &value {
            for (key, uri) in map {
                let prefix = match key.as_str() {
                    "@xmlns" => "",
                    other => match other.strip_prefix("@xmlns:") {
                        Some(prefix) => prefix,
                        None => continue,
                    },
                };
                scope.push((prefix.to_string(), uri.as_str().unwrap_or_default().to_string()));
            }
        }
        let (prefix, local) = name.split_once(':').unwrap_or(("", &name));
        let ns = scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.clone())
            .filter(|uri| !uri.is_empty());
        Element {
            local: local.to_string(),
            ns,
            name,
            value,
            scope,
        }
    }

    /// The child elements in document order (siblings of one name stay together).
    pub fn children(&self) -> Vec<Element> {
        let Value::Object(map) = &self.value else {
            return Vec::new();
        };
        let mut children = Vec::new();
        for (key, value) in map.iter().filter(|(key, _)| !key.starts_with(['@', '#'])) {
            let items = match value {
                Value::Array(items) => items.as_slice(),
                single => std::slice::from_ref(single),
            };
            for item in items {
                children.push(Element::new(key.clone(), item.clone(), &self.scope));
            }
        }
        children
    }

    /// The text of an element that holds no elements (CDATA included); `None` if it holds some.
    pub fn text(&self) -> Option<String> {
        match &self.value {
            Value::String(text) => Some(text.clone()),
            Value::Object(map) if map.keys().all(|key| key.starts_with(['@', '#'])) => {
                Some(map.get("#text").and_then(Value::as_str).unwrap_or_default().to_string())
            }
            Value::Object(_) => None,
            _ => Some(String::new()),
        }
    }
}
