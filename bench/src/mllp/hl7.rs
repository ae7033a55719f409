//! HL7 v2 by byte scan: segments end with CR, fields are split by the
//! separator MSH-1 declares.

use std::ops::Range;

const SEGMENT_END: u8 = b'\r';

/// The message with its segments ended by CR, whatever line ends the text
/// used, and blank lines dropped.
pub fn normalise_segments(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 1);
    for segment in text.split(|&b| b == b'\r' || b == b'\n') {
        if !segment.is_empty() {
            out.extend_from_slice(segment);
            out.push(SEGMENT_END);
        }
    }
    out
}

/// Where field `number` of the first `name` segment lies in the message,
/// numbered as HL7 does: MSH-1 is the field separator itself, so MSH-10 is the
/// control id and MSA-2 the control id acknowledged.
pub fn field_range(message: &[u8], name: &[u8; 3], number: usize) -> Option<Range<usize>> {
    let separator = field_separator(message);
    let segment = segment_range(message, name, separator)?;
    let index = match (name, number) {
        (b"MSH", 1) => return Some(segment.start + 3..segment.start + 4),
        (b"MSH", number) => number.checked_sub(1)?,
        (_, number) => number,
    };
    let mut start = segment.start;
    for (at, value) in message[segment].split(|&b| b == separator).enumerate() {
        if at == index {
            return Some(start..start + value.len());
        }
        start += value.len() + 1;
    }
    None
}

pub fn field<'a>(message: &'a [u8], name: &[u8; 3], number: usize) -> Option<&'a [u8]> {
    field_range(message, name, number).map(|range| &message[range])
}

fn field_separator(message: &[u8]) -> u8 {
    match message {
        [b'M', b'S', b'H', separator, ..] => *separator,
        _ => b'|',
    }
}

fn segment_range(message: &[u8], name: &[u8; 3], separator: u8) -> Option<Range<usize>> {
    let mut start = 0;
    for segment in message.split(|&b| b == SEGMENT_END) {
        let end = start + segment.len();
        if segment.starts_with(name) && segment.get(3).is_none_or(|&b| b == separator) {
            return Some(start..end);
        }
        start = end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &[u8] = b"MSH|^~\\&|HIS|H1|ESB|H1|20250101||ADT^A01^ADT_A01|C123|P|2.4\rEVN|A01|20250101\rMSA|AA|C9\r";

    #[test]
    fn msh_fields_count_the_separator_as_field_one() {
        assert_eq!(field(ADT, b"MSH", 1), Some(&b"|"[..]));
        assert_eq!(field(ADT, b"MSH", 2), Some(&b"^~\\&"[..]));
        assert_eq!(field(ADT, b"MSH", 9), Some(&b"ADT^A01^ADT_A01"[..]));
        assert_eq!(field(ADT, b"MSH", 10), Some(&b"C123"[..]));
        assert_eq!(field(ADT, b"MSH", 12), Some(&b"2.4"[..]));
        assert_eq!(field(ADT, b"MSH", 13), None);
    }

    #[test]
    fn other_segments_count_from_the_name() {
        assert_eq!(field(ADT, b"MSA", 1), Some(&b"AA"[..]));
        assert_eq!(field(ADT, b"MSA", 2), Some(&b"C9"[..]));
        assert_eq!(field(ADT, b"EVN", 2), Some(&b"20250101"[..]));
        assert_eq!(field(ADT, b"PID", 3), None);
    }

    #[test]
    fn an_empty_field_is_found_empty() {
        assert_eq!(field(ADT, b"MSH", 8), Some(&b""[..]));
    }

    #[test]
    fn segments_end_with_cr_whatever_the_file_used() {
        assert_eq!(normalise_segments(b"MSH|a\r\nPID|b\n\nPV1|c"), b"MSH|a\rPID|b\rPV1|c\r");
    }
}
