//! Escape sequences: decoded when a value is read, written when a value is set.
//!
//! Read: `\F\ \S\ \T\ \R\ \E\` (and `\P\` when MSH-2 declares a truncation character) become the
//! delimiter they stand for; `\Xhh..\` becomes the bytes it spells, read in the message's
//! character set (adjacent `\X..\` sequences are read together, so a character may span them).
//! Formatting commands (`\H\ \N\ \.br\ \.sp\ \.in\ \.ti\ \.sk\ \.fi\ \.nf\ \.ce\ \Cxxxx\
//! \Mxxxxxx\ \Zxx\`) are kept verbatim, since they are layout for the receiving application,
//! not characters. Anything else (an unknown or unterminated sequence, hex that is not valid in
//! the character set) is kept verbatim too.
//!
//! Write: the delimiters become their sequences, carriage return and line feed become
//! `\X0D\` and `\X0A\`, and an escape character becomes `\E\` unless it starts a formatting
//! command, which is written as it is. So a value read and set again is unchanged, and for every
//! text, reading what was written gives the text back.

use super::charset::Charset;
use super::delimiters::{Delimiters, ABSENT};
use std::borrow::Cow;

/// The text `raw` (one leaf of a message, as written) stands for.
pub(crate) fn decode<'a>(raw: &'a str, delimiters: &Delimiters, charset: Charset) -> Cow<'a, str> {
    let escape = delimiters.escape;
    if escape == ABSENT || !raw.as_bytes().contains(&escape) {
        return Cow::Borrowed(raw);
    }
    let mut text = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut hex = Vec::new();
    while let Some(start) = rest.bytes().position(|b| b == escape) {
        text.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(length) = after.bytes().position(|b| b == escape) else {
            // Unterminated: kept as it is.
            text.push_str(&rest[start..]);
            return Cow::Owned(text);
        };
        let content = &after[..length];
        let sequence_end = start + 1 + length + 1;
        if let Some(delimiter) = named_delimiter(content, delimiters) {
            text.push(delimiter as char);
            rest = &rest[sequence_end..];
            continue;
        }
        if is_hex_sequence(content) {
            // Gather this and the `\X..\` sequences right after it.
            hex.clear();
            let mut end = start;
            while let Some((bytes, length)) = hex_sequence_at(&rest[end..], escape) {
                hex.extend(bytes);
                end += length;
            }
            match charset.decode(&hex) {
                Ok(decoded) if !decoded.is_empty() => text.push_str(&decoded),
                _ => text.push_str(&rest[start..end]),
            }
            rest = &rest[end..];
            continue;
        }
        text.push_str(&rest[start..sequence_end]);
        rest = &rest[sequence_end..];
    }
    text.push_str(rest);
    Cow::Owned(text)
}

/// The delimiter `\F\`, `\S\`, `\T\`, `\R\`, `\E\` or `\P\` stands for.
fn named_delimiter(content: &str, d: &Delimiters) -> Option<u8> {
    let delimiter = match content {
        "F" => d.field,
        "S" => d.component,
        "T" => d.subcomponent,
        "R" => d.repetition,
        "E" => d.escape,
        "P" => d.truncation,
        _ => return None,
    };
    (delimiter != ABSENT).then_some(delimiter)
}

/// `Xhh...`: an even, non-zero number of hex digits.
fn is_hex_sequence(content: &str) -> bool {
    let digits = content.as_bytes().get(1..).unwrap_or_default();
    content.starts_with('X') && !digits.is_empty() && digits.len() % 2 == 0 && digits.iter().all(u8::is_ascii_hexdigit)
}

/// The bytes of a `\Xhh..\` sequence at the start of `text`, and the sequence's length.
fn hex_sequence_at(text: &str, escape: u8) -> Option<(impl Iterator<Item = u8> + '_, usize)> {
    let inner = text.strip_prefix(escape as char)?;
    let length = inner.bytes().position(|b| b == escape)?;
    let content = &inner[..length];
    is_hex_sequence(content).then(|| {
        let digits = &content.as_bytes()[1..];
        let bytes = digits
            .chunks(2)
            .map(|pair| hex_value(pair[0]) << 4 | hex_value(pair[1]));
        (bytes, length + 2)
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// A character that needs an escape sequence in a message that declares no escape character.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unwritable(pub char);

/// Appends `text` to `out` with the delimiters, CR and LF escaped.
pub(crate) fn encode(text: &str, d: &Delimiters, out: &mut String) -> Result<(), Unwritable> {
    let needs_escape = |b: u8| b == b'\r' || b == b'\n' || d.is_special(b);
    if !text.bytes().any(needs_escape) {
        out.push_str(text);
        return Ok(());
    }
    let escape = d.escape;
    let mut rest = text;
    while let Some(at) = rest.bytes().position(needs_escape) {
        out.push_str(&rest[..at]);
        let b = rest.as_bytes()[at];
        if escape == ABSENT {
            return Err(Unwritable(b as char));
        }
        let mut consumed = 1;
        let name = match b {
            b'\r' => "X0D",
            b'\n' => "X0A",
            _ if b == d.field => "F",
            _ if b == d.component => "S",
            _ if b == d.subcomponent => "T",
            _ if b == d.repetition => "R",
            _ if b == d.truncation => "P",
            _ => match formatting_command_at(&rest[at..], d) {
                Some(length) => {
                    consumed = length;
                    ""
                }
                None => "E",
            },
        };
        if name.is_empty() {
            out.push_str(&rest[at..at + consumed]);
        } else {
            out.push(escape as char);
            out.push_str(name);
            out.push(escape as char);
        }
        rest = &rest[at + consumed..];
    }
    out.push_str(rest);
    Ok(())
}

/// The length of the formatting command (`\.br\`, `\H\`, ...) at the start of `text`, if one is.
fn formatting_command_at(text: &str, d: &Delimiters) -> Option<usize> {
    let inner = &text[1..];
    let length = inner.bytes().position(|b| b == d.escape)?;
    let content = &inner[..length];
    if content.bytes().any(|b| d.is_special(b)) {
        return None;
    }
    let bytes = content.as_bytes();
    let hex_run = |from: usize, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&(bytes.len() - from)) && bytes[from..].iter().all(u8::is_ascii_hexdigit)
    };
    let is_command = match bytes.first()? {
        b'H' | b'N' => bytes.len() == 1,
        b'.' => {
            let letters = bytes[1..].iter().take_while(|b| b.is_ascii_lowercase()).count();
            let number = &bytes[1 + letters..];
            let number = number
                .strip_prefix(b"+")
                .or_else(|| number.strip_prefix(b"-"))
                .unwrap_or(number);
            letters > 0 && number.iter().all(u8::is_ascii_digit)
        }
        b'C' => hex_run(1, 4..=4),
        b'M' => hex_run(1, 4..=6),
        b'Z' => bytes.len() > 1 && bytes[1..].iter().all(u8::is_ascii_alphanumeric),
        _ => false,
    };
    is_command.then_some(length + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Delimiters {
        Delimiters::read(b"MSH|^~\\&#|").unwrap()
    }

    fn read(raw: &str) -> String {
        decode(raw, &d(), Charset::UTF_8).into_owned()
    }

    fn write(text: &str) -> String {
        let mut out = String::new();
        encode(text, &d(), &mut out).unwrap();
        out
    }

    #[test]
    fn decodes_delimiters_and_hex() {
        assert_eq!(read(r"a\F\b\S\c\T\d\R\e\E\f\P\g"), "a|b^c&d~e\\f#g");
        assert_eq!(read(r"line 1\X0D\line 2\X0a\"), "line 1\rline 2\n");
        assert_eq!(read(r"\XE4B8AD\\XE6\\X96\\X87\"), "中文");
        assert_eq!(read(r"\X41\"), "A");
    }

    #[test]
    fn keeps_formatting_unknown_and_broken_sequences() {
        for raw in [
            r"a\.br\b",
            r"\H\bold\N\",
            r"\.sp2\",
            r"\C2842\",
            r"\Zfoo\",
            r"\Q\",
            r"a\b",
            r"\X4\",
            r"\XZZ\",
            r"\\",
            r"\",
        ] {
            assert_eq!(read(raw), raw);
        }
        // Bytes that are not UTF-8 stay as their escape.
        assert_eq!(read(r"x\XFF\y"), r"x\XFF\y");
        assert_eq!(decode(r"\XE9\", &d(), Charset::ISO_8859_1), "é");
    }

    #[test]
    fn encodes_delimiters_line_breaks_and_stray_escapes() {
        assert_eq!(write("a|b^c&d~e\\f#g"), r"a\F\b\S\c\T\d\R\e\E\f\P\g");
        assert_eq!(write("1\r\n2"), r"1\X0D\\X0A\2");
        assert_eq!(
            write(r"keep \.br\ and \H\x\N\ but not \Q\ or \"),
            r"keep \.br\ and \H\x\N\ but not \E\Q\E\ or \E\"
        );
        assert_eq!(write("中文"), "中文");
    }

    #[test]
    fn what_is_written_reads_back() {
        for text in [
            "", "plain", "a|b", r"\E\", r"\X41\", r"\.br", r"\H\", "\\\\", "x\r\ny", r"\Zz|\", "#^~&|\\",
        ] {
            assert_eq!(read(&write(text)), text, "{text:?} was written as {:?}", write(text));
        }
    }

    #[test]
    fn without_an_escape_character_delimiters_cannot_be_written() {
        let d = Delimiters::read(b"MSH|^~|").unwrap();
        let mut out = String::new();
        assert_eq!(encode("a^b", &d, &mut out), Err(Unwritable('^')));
        assert_eq!(decode(r"a\F\", &d, Charset::UTF_8), r"a\F\");
    }
}
