//! Character sets by their HL7 names (MSH-18, table 0211), read and written with encoding_rs.

use super::Hl7Error;
use encoding_rs::{DecoderResult, Encoding};
use std::borrow::Cow;

/// The character set of a message's bytes.
///
/// Only character sets in which ASCII bytes always mean ASCII characters are supported, so that
/// delimiters and segment ends can be found before decoding: UTF-8, the ISO 8859 family,
/// GB 18030, GBK, Big5, EUC-KR, Shift_JIS and the like. UTF-16 and ISO 2022 are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Charset {
    encoding: &'static Encoding,
    /// US-ASCII: bytes above 0x7F are errors rather than UTF-8.
    ascii: bool,
}

impl Charset {
    /// `UNICODE UTF-8`.
    pub const UTF_8: Charset = Charset::of(encoding_rs::UTF_8);
    /// `ASCII` (US-ASCII, ISO IR6): only bytes up to 0x7F.
    pub const ASCII: Charset = Charset {
        encoding: encoding_rs::UTF_8,
        ascii: true,
    };
    /// `GB 18030-2000` (read and written as GB 18030, which is a superset of GBK and GB 2312).
    pub const GB18030: Charset = Charset::of(encoding_rs::GB18030);
    /// GBK (also used for `GB2312`, which it extends).
    pub const GBK: Charset = Charset::of(encoding_rs::GBK);
    /// `BIG-5`.
    pub const BIG5: Charset = Charset::of(encoding_rs::BIG5);
    /// `8859/1` (read as windows-1252, its superset, as the WHATWG Encoding Standard does).
    pub const ISO_8859_1: Charset = Charset::of(encoding_rs::WINDOWS_1252);

    const fn of(encoding: &'static Encoding) -> Charset {
        Charset { encoding, ascii: false }
    }

    /// The character set an HL7 name stands for: the values of HL7 table 0211 (`ASCII`,
    /// `8859/1` ... `8859/15`, `ISO IR6`, `ISO IR100` ..., `GB 18030-2000`, `KS X 1001`,
    /// `BIG-5`, `UNICODE UTF-8`), the spellings seen in the wild (`UTF-8`, `UNICODE`, `GB18030`,
    /// `GBK`, `GB2312`), and any ASCII-compatible label of the WHATWG Encoding Standard
    /// (`windows-1252`, `shift_jis`, ...). Case, spaces, `-`, `_` and `/` do not matter.
    pub fn from_name(name: &str) -> Option<Charset> {
        let key: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_' | '/' | '.'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let encoding = match key.as_str() {
            "ASCII" | "USASCII" | "ISOIR6" => return Some(Charset::ASCII),
            "UNICODEUTF8" | "UTF8" | "UNICODE" => encoding_rs::UTF_8,
            "88591" | "ISO88591" | "ISOIR100" | "LATIN1" => encoding_rs::WINDOWS_1252,
            "88592" | "ISO88592" | "ISOIR101" => encoding_rs::ISO_8859_2,
            "88593" | "ISO88593" | "ISOIR109" => encoding_rs::ISO_8859_3,
            "88594" | "ISO88594" | "ISOIR110" => encoding_rs::ISO_8859_4,
            "88595" | "ISO88595" | "ISOIR144" => encoding_rs::ISO_8859_5,
            "88596" | "ISO88596" | "ISOIR127" => encoding_rs::ISO_8859_6,
            "88597" | "ISO88597" | "ISOIR126" => encoding_rs::ISO_8859_7,
            "88598" | "ISO88598" | "ISOIR138" => encoding_rs::ISO_8859_8,
            "88599" | "ISO88599" | "ISOIR148" => encoding_rs::WINDOWS_1254,
            "885910" | "ISO885910" => encoding_rs::ISO_8859_10,
            "885913" | "ISO885913" => encoding_rs::ISO_8859_13,
            "885914" | "ISO885914" => encoding_rs::ISO_8859_14,
            "885915" | "ISO885915" | "ISOIR203" => encoding_rs::ISO_8859_15,
            "885916" | "ISO885916" => encoding_rs::ISO_8859_16,
            "GB180302000" | "GB180302005" | "GB180302022" | "GB18030" => encoding_rs::GB18030,
            "GBK" | "CP936" | "GB2312" | "GB231280" | "EUCCN" => encoding_rs::GBK,
            "BIG5" => encoding_rs::BIG5,
            "KSX1001" | "KSC5601" | "EUCKR" => encoding_rs::EUC_KR,
            _ => Encoding::for_label_no_replacement(name.trim().as_bytes()).filter(|e| e.is_ascii_compatible())?,
        };
        Some(Charset::of(encoding))
    }

    /// The character set's name (the WHATWG name, or `US-ASCII`).
    pub fn name(&self) -> &'static str {
        match self.ascii {
            true => "US-ASCII",
            false => self.encoding.name(),
        }
    }

    /// Whether decoded text has the very bytes of the input (UTF-8 and ASCII).
    pub(crate) fn is_utf8(&self) -> bool {
        self.encoding == encoding_rs::UTF_8
    }

    /// Decodes `bytes`, refusing malformed ones: the error is the offset of the first bad byte.
    pub(crate) fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, str>, usize> {
        if self.ascii {
            return match bytes.iter().position(|b| !b.is_ascii()) {
                None => Ok(Cow::Borrowed(std::str::from_utf8(bytes).map_err(|e| e.valid_up_to())?)),
                Some(at) => Err(at),
            };
        }
        if self.is_utf8() {
            return std::str::from_utf8(bytes)
                .map(Cow::Borrowed)
                .map_err(|e| e.valid_up_to());
        }
        let mut decoder = self.encoding.new_decoder_without_bom_handling();
        let capacity = decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .ok_or(0usize)?;
        let mut text = String::with_capacity(capacity);
        match decoder.decode_to_string_without_replacement(bytes, &mut text, true) {
            (DecoderResult::InputEmpty, _) => Ok(Cow::Owned(text)),
            (DecoderResult::Malformed(bad, after), read) => Err(read.saturating_sub(bad as usize + after as usize)),
            (DecoderResult::OutputFull, read) => Err(read),
        }
    }

    /// Encodes `text`; the error is the first character this character set cannot hold.
    pub(crate) fn encode<'a>(&self, text: &'a str) -> Result<Cow<'a, [u8]>, char> {
        if self.ascii {
            return match text.chars().find(|c| !c.is_ascii()) {
                None => Ok(Cow::Borrowed(text.as_bytes())),
                Some(c) => Err(c),
            };
        }
        if self.is_utf8() {
            return Ok(Cow::Borrowed(text.as_bytes()));
        }
        let (bytes, _, unmappable) = self.encoding.encode(text);
        if !unmappable {
            return Ok(bytes);
        }
        let mut buffer = [0; 4];
        let first = text
            .chars()
            .find(|c| self.encoding.encode(c.encode_utf8(&mut buffer)).2)
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        Err(first)
    }

    /// Encodes `text` for a message, with an error that names the character and the segment.
    pub(crate) fn encode_segment<'a>(&self, text: &'a str, segment: usize) -> Result<Cow<'a, [u8]>, Hl7Error> {
        self.encode(text).map_err(|c| {
            Hl7Error::new(format!(
                "the character `{c}` (U+{:04X}) cannot be written in {}; change the value or the \
                 message's character set (MSH-18)",
                c as u32,
                self.name()
            ))
            .in_segment(segment)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_hl7_names_and_their_wild_spellings() {
        for (name, expected) in [
            ("UNICODE UTF-8", Charset::UTF_8),
            ("utf-8", Charset::UTF_8),
            ("UNICODE", Charset::UTF_8),
            ("ASCII", Charset::ASCII),
            ("ISO IR6", Charset::ASCII),
            ("GB 18030-2000", Charset::GB18030),
            ("GB18030", Charset::GB18030),
            ("GBK", Charset::GBK),
            ("GB2312", Charset::GBK),
            ("BIG-5", Charset::BIG5),
            ("8859/1", Charset::ISO_8859_1),
            ("ISO IR100", Charset::ISO_8859_1),
            ("8859/15", Charset::of(encoding_rs::ISO_8859_15)),
            ("ISO IR101", Charset::of(encoding_rs::ISO_8859_2)),
            ("KS X 1001", Charset::of(encoding_rs::EUC_KR)),
            ("shift_jis", Charset::of(encoding_rs::SHIFT_JIS)),
        ] {
            assert_eq!(Charset::from_name(name), Some(expected), "{name}");
        }
        for unknown in ["", "UNICODE UTF-16", "ISO IR87", "EBCDIC", "utf-16le", "iso-2022-jp"] {
            assert_eq!(Charset::from_name(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn decodes_strictly_and_says_where() {
        let gbk = [0xD5, 0xC5, 0xC8, 0xFD];
        assert_eq!(Charset::GBK.decode(&gbk).unwrap(), "张三");
        assert_eq!(Charset::GB18030.decode(&gbk).unwrap(), "张三");
        assert_eq!(Charset::UTF_8.decode(b"ab\xD5\xC5").unwrap_err(), 2);
        assert_eq!(Charset::ASCII.decode(b"abc\xC3\xA9").unwrap_err(), 3);
        assert_eq!(Charset::GBK.decode(b"ab\xD5").unwrap_err(), 2);
    }

    #[test]
    fn encodes_strictly() {
        assert_eq!(&*Charset::GBK.encode("张三").unwrap(), &[0xD5, 0xC5, 0xC8, 0xFD]);
        assert_eq!(Charset::GBK.encode("a😀").unwrap_err(), '😀');
        assert_eq!(Charset::ASCII.encode("é").unwrap_err(), 'é');
        assert_eq!(&*Charset::GB18030.encode("😀").unwrap(), &[0x94, 0x39, 0xFC, 0x36]);
        let error = Charset::GBK.encode_segment("x😀", 3).unwrap_err();
        assert_eq!(error.segment, Some(3));
        assert!(error.message.contains("cannot be written in GBK"), "{error}");
    }
}
