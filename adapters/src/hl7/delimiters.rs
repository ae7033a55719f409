//! The delimiters a message declares in MSH-1 and MSH-2 (or FHS/BHS-1 and -2 in a batch).

use super::Hl7Error;

/// Stands for a delimiter the message does not declare: a carriage return ends a segment, so
/// it never occurs inside one, and splitting on it finds nothing.
pub(crate) const ABSENT: u8 = b'\r';

/// A message's delimiters: the field separator (MSH-1) and the encoding characters (MSH-2:
/// component, repetition, escape, subcomponent and, from v2.7, truncation, in that order).
///
/// All are ASCII punctuation and distinct. A message may declare fewer than four encoding
/// characters; the missing ones are `None` and nothing is split on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delimiters {
    pub(crate) field: u8,
    pub(crate) component: u8,
    pub(crate) repetition: u8,
    pub(crate) escape: u8,
    pub(crate) subcomponent: u8,
    pub(crate) truncation: u8,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters nearly every message uses.
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            truncation: ABSENT,
        }
    }
}

impl Delimiters {
    /// Reads the delimiters from the start of a header segment (`MSH|^~\&|...`, `FHS`, `BHS`):
    /// the byte after the segment name is the field separator, and the encoding characters run
    /// up to the next field separator or the end of the segment.
    pub(crate) fn read(header: &[u8]) -> Result<Delimiters, Hl7Error> {
        let Some(&field) = header.get(3) else {
            return Err(
                Hl7Error::new("the header segment ends before its field separator; expected `MSH|^~\\&|`").at(0),
            );
        };
        if !is_delimiter(field) {
            return Err(Hl7Error::new(format!(
                "the field separator (byte 4 of the header) is {}; expected ASCII punctuation such as `|`",
                describe(field)
            ))
            .at(3));
        }
        let rest = &header[4..];
        let end = rest
            .iter()
            .position(|&b| b == field || b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let encoding = &rest[..end];
        if encoding.is_empty() || encoding.len() > 5 {
            return Err(Hl7Error::new(format!(
                "the encoding characters (MSH-2) are {} characters long; expected 4 such as `^~\\&` \
                 (1 to 5 are accepted)",
                encoding.len()
            ))
            .at(4));
        }
        let mut seen = vec![field];
        for (index, &b) in encoding.iter().enumerate() {
            if !is_delimiter(b) {
                return Err(Hl7Error::new(format!(
                    "encoding character {} (MSH-2) is {}; expected ASCII punctuation such as `^~\\&`",
                    index + 1,
                    describe(b)
                ))
                .at(4 + index));
            }
            if seen.contains(&b) {
                return Err(Hl7Error::new(format!(
                    "the delimiter `{}` is declared twice in MSH-1/MSH-2; every delimiter must be distinct",
                    b as char
                ))
                .at(4 + index));
            }
            seen.push(b);
        }
        let nth = |i: usize| encoding.get(i).copied().unwrap_or(ABSENT);
        Ok(Delimiters {
            field,
            component: nth(0),
            repetition: nth(1),
            escape: nth(2),
            subcomponent: nth(3),
            truncation: nth(4),
        })
    }

    /// The field separator, MSH-1.
    pub fn field(&self) -> char {
        self.field as char
    }

    /// The component separator, usually `^`.
    pub fn component(&self) -> Option<char> {
        declared(self.component)
    }

    /// The repetition separator, usually `~`.
    pub fn repetition(&self) -> Option<char> {
        declared(self.repetition)
    }

    /// The escape character, usually `\`.
    pub fn escape(&self) -> Option<char> {
        declared(self.escape)
    }

    /// The subcomponent separator, usually `&`.
    pub fn subcomponent(&self) -> Option<char> {
        declared(self.subcomponent)
    }

    /// The truncation character of v2.7 and later, usually `#`, when MSH-2 declares one.
    pub fn truncation(&self) -> Option<char> {
        declared(self.truncation)
    }

    /// MSH-2 as these delimiters write it: `^~\&`, or `^~\&#` with a truncation character.
    pub fn encoding_characters(&self) -> String {
        [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
            self.truncation,
        ]
        .into_iter()
        .take_while(|&b| b != ABSENT)
        .map(char::from)
        .collect()
    }

    /// Whether `b` separates anything or starts an escape in these delimiters.
    pub(crate) fn is_special(&self, b: u8) -> bool {
        b != ABSENT
            && (b == self.field
                || b == self.component
                || b == self.repetition
                || b == self.escape
                || b == self.subcomponent
                || b == self.truncation)
    }
}

fn declared(b: u8) -> Option<char> {
    (b != ABSENT).then_some(b as char)
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_punctuation()
}

fn describe(b: u8) -> String {
    match b {
        b'\r' => "a carriage return".to_string(),
        b'\n' => "a line feed".to_string(),
        0x21..=0x7e => format!("`{}`", b as char),
        _ => format!("byte 0x{b:02X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_delimiters() {
        let d = Delimiters::read(b"MSH|^~\\&|HIS").unwrap();
        assert_eq!(d, Delimiters::default());
        assert_eq!(d.encoding_characters(), "^~\\&");
        assert_eq!(d.truncation(), None);
    }

    #[test]
    fn reads_a_truncation_character_and_short_declarations() {
        let d = Delimiters::read(b"MSH|^~\\&#|").unwrap();
        assert_eq!(d.truncation(), Some('#'));
        assert_eq!(d.encoding_characters(), "^~\\&#");
        let d = Delimiters::read(b"MSH|^~\\\r").unwrap();
        assert_eq!((d.escape(), d.subcomponent()), (Some('\\'), None));
        let d = Delimiters::read(b"MSH$@%*!").unwrap();
        assert_eq!((d.field(), d.component(), d.repetition()), ('$', Some('@'), Some('%')));
    }

    #[test]
    fn refuses_what_cannot_be_delimiters() {
        for (header, expected) in [
            (&b"MSH"[..], "ends before its field separator"),
            (b"MSHA^~\\&", "field separator (byte 4 of the header) is `A`"),
            (b"MSH||", "0 characters long"),
            (b"MSH|^~\\&#$|", "6 characters long"),
            (b"MSH|^&&^|", "`&` is declared twice"),
            (b"MSH|^~a&|", "encoding character 3 (MSH-2) is `a`"),
            (b"MSH|^\xE4|", "byte 0xE4"),
        ] {
            let error = Delimiters::read(header).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{:?}: {error}",
                String::from_utf8_lossy(header)
            );
        }
    }
}
