//! Bytes in the encoding a document names -> text for [`parse`].

use super::{parse, XmlError};
use encoding_rs::{DecoderResult, Encoding, UTF_8};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;
use std::borrow::Cow;

/// Parses an XML document given as bytes, read in the encoding its byte order mark or
/// its declaration names (`<?xml version="1.0" encoding="GBK"?>`), else as UTF-8.
///
/// Every label of the WHATWG Encoding Standard is understood: GBK, GB2312, GB18030,
/// UTF-16 (with a byte order mark), Big5 and the rest. Bytes that are not valid in the
/// encoding are an error, never replaced. Error positions are byte offsets in `bytes`.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, XmlError> {
    let (encoding, bom_len) = match Encoding::for_bom(bytes) {
        Some(found) => found,
        None => (declared_encoding(bytes)?.unwrap_or(UTF_8), 0),
    };
    let body = &bytes[bom_len..];
    let bom_len = bom_len as u64;
    let text = decode(encoding, body).map_err(|e| XmlError {
        position: bom_len + e.position,
        ..e
    })?;
    parse(&text).map_err(|e| {
        let position = match encoding == UTF_8 {
            true => e.position,
            false => source_offset(encoding, body, e.position),
        };
        XmlError {
            position: bom_len + position,
            ..e
        }
    })
}

/// The encoding named by the XML declaration at the start of `bytes`, if there is one.
fn declared_encoding(bytes: &[u8]) -> Result<Option<&'static Encoding>, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    // Without a declaration, or with a broken one, `parse` gives the precise error.
    let Ok(Event::Decl(declaration)) = reader.read_event() else {
        return Ok(None);
    };
    let label = match declaration.encoding() {
        None => return Ok(None),
        Some(Ok(label)) => label,
        Some(Err(e)) => return Err(XmlError::new(format!("malformed XML declaration: {e}"), 0)),
    };
    let shown = String::from_utf8_lossy(&label);
    match Encoding::for_label(&label) {
        // The declaration was just read as ASCII, so the document cannot be in UTF-16.
        Some(encoding) if encoding.is_ascii_compatible() => Ok(Some(encoding)),
        Some(_) => Err(XmlError::new(
            format!(
                "the declared encoding `{shown}` cannot be read from a declaration written in \
                 ASCII; a UTF-16 document needs a byte order mark"
            ),
            0,
        )),
        None => Err(XmlError::new(
            format!(
                "unknown encoding `{shown}` in the XML declaration; expected a label such as \
                 UTF-8, GBK or GB18030"
            ),
            0,
        )),
    }
}

/// Decodes `body` (without its byte order mark), refusing malformed bytes.
fn decode<'b>(encoding: &'static Encoding, body: &'b [u8]) -> Result<Cow<'b, str>, XmlError> {
    if encoding == UTF_8 {
        return std::str::from_utf8(body).map(Cow::Borrowed).map_err(|e| {
            XmlError::new(
                "bytes that are not valid UTF-8; a document in another encoding must name it, \
                 as in <?xml version=\"1.0\" encoding=\"GBK\"?>",
                e.valid_up_to() as u64,
            )
        });
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let too_long = || XmlError::new("the document is too long to decode", 0);
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(body.len())
        .ok_or_else(too_long)?;
    let mut text = String::with_capacity(capacity);
    match decoder.decode_to_string_without_replacement(body, &mut text, true) {
        (DecoderResult::InputEmpty, _) => Ok(Cow::Owned(text)),
        (DecoderResult::Malformed(bad, after), read) => Err(XmlError::new(
            format!("bytes that are not valid {}", encoding.name()),
            read.saturating_sub(bad as usize + after as usize) as u64,
        )),
        (DecoderResult::OutputFull, _) => Err(too_long()),
    }
}

/// The offset in `source` of the byte that decodes to byte `utf8_offset` of the text.
fn source_offset(encoding: &'static Encoding, source: &[u8], utf8_offset: u64) -> u64 {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut written = 0;
    let mut scratch = [0; 16];
    for (index, byte) in source.iter().enumerate() {
        if written >= utf8_offset {
            return index as u64;
        }
        let (_, _, produced) =
            decoder.decode_to_utf8_without_replacement(std::slice::from_ref(byte), &mut scratch, false);
        written += produced as u64;
    }
    source.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gbk(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn the_declared_encoding_is_honoured() {
        for label in ["GBK", "gb2312", "GB18030"] {
            let xml = format!("<?xml version=\"1.0\" encoding=\"{label}\"?><患者><姓名>张三</姓名></患者>");
            let value = parse_bytes(&gbk(&xml)).unwrap();
            assert_eq!(value, json!({"患者": {"姓名": "张三"}}), "{label}");
        }
    }

    #[test]
    fn utf8_is_the_default_and_a_bom_wins() {
        assert_eq!(parse_bytes("<a>中文</a>".as_bytes()).unwrap(), json!({"a": "中文"}));
        let bom = [b"\xEF\xBB\xBF".as_slice(), "<a>中文</a>".as_bytes()].concat();
        assert_eq!(parse_bytes(&bom).unwrap(), json!({"a": "中文"}));
        let utf16: Vec<u8> = "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>中文</a>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(parse_bytes(&utf16).unwrap(), json!({"a": "中文"}));
    }

    #[test]
    fn errors_point_into_the_original_bytes() {
        // A 36-byte declaration, `<a>`, then two characters of two bytes each in GBK (three
        // each in UTF-8): the stray `</b>` is at byte 43 of the input.
        let bytes = gbk("<?xml version=\"1.0\" encoding=\"GBK\"?><a>张三</b>");
        let e = parse_bytes(&bytes).unwrap_err();
        assert_eq!(e.position, 43, "{e}");
        assert_eq!(&bytes[43..45], b"</");

        let bom = [b"\xEF\xBB\xBF".as_slice(), b"<a></b>"].concat();
        assert_eq!(parse_bytes(&bom).unwrap_err().position, 6);
    }

    #[test]
    fn malformed_bytes_are_refused() {
        let e = parse_bytes(b"<a>ok\xFF</a>").unwrap_err();
        assert_eq!(e.position, 5);
        assert!(e.message.contains("not valid UTF-8"), "{e}");

        // 0x81 starts a two-byte GBK sequence; 0x20 cannot end one.
        let e = parse_bytes(b"<?xml version=\"1.0\" encoding=\"GBK\"?><a>\x81 </a>").unwrap_err();
        assert_eq!(e.position, 39);
        assert!(e.message.contains("not valid GBK"), "{e}");
    }

    #[test]
    fn unusable_declarations_are_refused() {
        let e = parse_bytes(b"<?xml version=\"1.0\" encoding=\"klingon\"?><a/>").unwrap_err();
        assert!(e.message.contains("unknown encoding `klingon`"), "{e}");
        let e = parse_bytes(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>").unwrap_err();
        assert!(e.message.contains("needs a byte order mark"), "{e}");
    }
}
