//! The HTTP `Content-Type` of a SOAP message: its version, charset and SOAP 1.2 action.

use super::{SoapError, SoapVersion};

/// What a `Content-Type` header says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Media {
    /// `None` when the type does not tell (empty, or `application/xml`): the envelope decides.
    pub version: Option<SoapVersion>,
    pub charset: Option<String>,
    pub action: Option<String>,
}

/// Reads a `Content-Type` value such as `application/soap+xml; charset=utf-8; action="urn:x"`.
pub(super) fn parse_media(content_type: &str) -> Result<Media, SoapError> {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let version = match essence.as_str() {
        "text/xml" => Some(SoapVersion::V11),
        "application/soap+xml" => Some(SoapVersion::V12),
        "" | "application/xml" => None,
        _ => return Err(SoapError::UnsupportedContentType(content_type.to_string())),
    };
    let mut media = Media {
        version,
        ..Media::default()
    };
    for part in parts {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim().to_ascii_lowercase().as_str() {
            "charset" if !value.is_empty() => media.charset = Some(value),
            "action" if !value.is_empty() => media.action = Some(value),
            _ => {}
        }
    }
    Ok(media)
}

/// A header or parameter value without its surrounding quotes, `\"` unescaped.
pub(super) fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_charsets_and_actions() {
        let media = parse_media("text/xml; charset=UTF-8").unwrap();
        assert_eq!(media.version, Some(SoapVersion::V11));
        assert_eq!(media.charset.as_deref(), Some("UTF-8"));
        let media = parse_media(r#"Application/SOAP+XML;charset=gbk;action="urn:query""#).unwrap();
        assert_eq!(media.version, Some(SoapVersion::V12));
        assert_eq!(media.charset.as_deref(), Some("gbk"));
        assert_eq!(media.action.as_deref(), Some("urn:query"));
        assert_eq!(parse_media("").unwrap(), Media::default());
        assert_eq!(parse_media("application/xml").unwrap().version, None);
    }

    #[test]
    fn other_types_are_refused() {
        assert_eq!(
            parse_media("application/json").unwrap_err(),
            SoapError::UnsupportedContentType("application/json".into())
        );
    }

    #[test]
    fn quotes_are_removed() {
        assert_eq!(unquote(r#""urn:a""#), "urn:a");
        assert_eq!(unquote(r#""""#), "");
        assert_eq!(unquote("bare"), "bare");
    }
}
