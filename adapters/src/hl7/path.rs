//! Paths to the parts of a message: `PID-5.1`, `OBX[2]-5`, `PID-3[*].1`.
//!
//! ```text
//! path         = segment [occurrence] "-" field [repetition] ["." component ["." subcomponent]]
//! segment      = an uppercase letter, then two uppercase letters or digits   (PID, OBX, ZPD, PV1)
//! occurrence   = "[" index "]"          which segment of that name; the first when left out
//! repetition   = "[" index "]"          which repetition of the field
//! index        = number | "*"           a number counts from 1; "*" means every one
//! field, component, subcomponent = number
//! number       = 1 to 9999, no sign, no leading zero
//! ```
//!
//! A path without a repetition addresses the whole field (every repetition) when it ends at
//! the field, and the first repetition when a component follows: `PID-3` is all of PID-3,
//! `PID-3.1` is the first repetition's first component. In MSH, field 1 is the field separator
//! and field 2 the encoding characters, so `MSH-3` is the first field after `MSH|^~\&|`.

use super::Hl7Error;
use std::fmt;
use std::str::FromStr;

/// The largest number a path may hold (a field, component or index).
pub const MAX_NUMBER: usize = 9999;

/// Which one of several: a position counted from 1, or every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    /// The n-th, counted from 1.
    Nth(usize),
    /// Every one, in order.
    All,
}

/// A parsed path; see the [module docs](self) for the grammar.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    /// The segment name, like `PID`.
    pub segment: String,
    /// Which segment of that name; `None` is the first.
    pub occurrence: Option<Index>,
    /// The field number, from 1.
    pub field: usize,
    /// Which repetition; `None` is the whole field, or the first repetition when a component is given.
    pub repetition: Option<Index>,
    /// The component number, from 1.
    pub component: Option<usize>,
    /// The subcomponent number, from 1 (only with a component).
    pub subcomponent: Option<usize>,
}

impl Path {
    /// Parses a path such as `PID-5.1` or `OBX[*]-5`.
    pub fn parse(text: &str) -> Result<Path, Hl7Error> {
        let mut reader = Reader { text, at: 0 };
        let segment = reader.segment_name()?;
        let occurrence = reader.index("a segment occurrence")?;
        reader.expect(b'-', "`-` and a field number after the segment name")?;
        let field = reader.number("a field number")?;
        let repetition = reader.index("a repetition")?;
        let mut component = None;
        let mut subcomponent = None;
        if reader.eat(b'.') {
            component = Some(reader.number("a component number")?);
            if reader.eat(b'.') {
                subcomponent = Some(reader.number("a subcomponent number")?);
            }
        }
        if reader.at < text.len() {
            return Err(reader.error("the end of the path"));
        }
        Ok(Path {
            segment,
            occurrence,
            field,
            repetition,
            component,
            subcomponent,
        })
    }

    /// Whether the path has a `[*]`, so that it may match more than one part.
    pub fn is_multiple(&self) -> bool {
        self.occurrence == Some(Index::All) || self.repetition == Some(Index::All)
    }

    /// This path with its first `[*]` (the segment's, else the repetition's) made `[n]`.
    pub fn nth_of_all(&self, n: usize) -> Path {
        let mut path = self.clone();
        if path.occurrence == Some(Index::All) {
            path.occurrence = Some(Index::Nth(n));
        } else if path.repetition == Some(Index::All) {
            path.repetition = Some(Index::Nth(n));
        }
        path
    }
}

impl FromStr for Path {
    type Err = Hl7Error;

    fn from_str(text: &str) -> Result<Path, Hl7Error> {
        Path::parse(text)
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Index::Nth(n) => write!(f, "[{n}]"),
            Index::All => f.write_str("[*]"),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segment)?;
        if let Some(index) = self.occurrence {
            write!(f, "{index}")?;
        }
        write!(f, "-{}", self.field)?;
        if let Some(index) = self.repetition {
            write!(f, "{index}")?;
        }
        if let Some(component) = self.component {
            write!(f, ".{component}")?;
        }
        if let Some(subcomponent) = self.subcomponent {
            write!(f, ".{subcomponent}")?;
        }
        Ok(())
    }
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, b: u8, expected: &str) -> Result<(), Hl7Error> {
        match self.eat(b) {
            true => Ok(()),
            false => Err(self.error(expected)),
        }
    }

    fn error(&self, expected: &str) -> Hl7Error {
        let found = match self.text[self.at..].chars().next() {
            Some(c) => format!("`{c}`"),
            None => "the end".to_string(),
        };
        Hl7Error::new(format!(
            "bad path `{}`: found {found} where {expected} was expected",
            self.text
        ))
        .at(self.at)
    }

    fn segment_name(&mut self) -> Result<String, Hl7Error> {
        let name = self.text.get(..3).filter(|name| is_segment_name(name.as_bytes()));
        match name {
            Some(name) => {
                self.at = 3;
                Ok(name.to_string())
            }
            None => Err(Hl7Error::new(format!(
                "bad path `{}`: expected a segment name first (three uppercase letters or digits, \
                 starting with a letter, like PID or ZP1)",
                self.text
            ))
            .at(0)),
        }
    }

    fn number(&mut self, expected: &str) -> Result<usize, Hl7Error> {
        let digits = self.text[self.at..].bytes().take_while(u8::is_ascii_digit).count();
        let number = &self.text[self.at..self.at + digits];
        if digits == 0 || number.starts_with('0') || digits > 4 {
            let message = format!("{expected} (1 to {MAX_NUMBER})");
            return Err(self.error(&message));
        }
        self.at += digits;
        Ok(number.parse().unwrap_or(MAX_NUMBER))
    }

    fn index(&mut self, expected: &str) -> Result<Option<Index>, Hl7Error> {
        if !self.eat(b'[') {
            return Ok(None);
        }
        let index = match self.eat(b'*') {
            true => Index::All,
            false => Index::Nth(self.number(&format!("{expected} (a number or `*`)"))?),
        };
        self.expect(b']', "`]`")?;
        Ok(Some(index))
    }
}

/// Three ASCII uppercase letters or digits, the first a letter.
pub(crate) fn is_segment_name(name: &[u8]) -> bool {
    name.len() == 3
        && name[0].is_ascii_uppercase()
        && name[1..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let p = Path::parse("PID-5").unwrap();
        assert_eq!(
            (p.segment.as_str(), p.occurrence, p.field, p.repetition, p.component),
            ("PID", None, 5, None, None)
        );
        let p = Path::parse("OBX[2]-5.1.2").unwrap();
        assert_eq!(p.occurrence, Some(Index::Nth(2)));
        assert_eq!((p.component, p.subcomponent), (Some(1), Some(2)));
        let p = Path::parse("PID-3[*].1").unwrap();
        assert_eq!(p.repetition, Some(Index::All));
        assert!(p.is_multiple());
        assert_eq!(Path::parse("OBX[*]-5").unwrap().occurrence, Some(Index::All));
        for text in [
            "PID-5",
            "PID-5.1",
            "PID-3[2].1",
            "PID-3[*].1",
            "OBX[*]-5",
            "OBX[2]-5.1.2",
            "MSH-9.2",
            "ZPD-1",
            "PV1-3",
        ] {
            assert_eq!(Path::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn says_what_was_expected() {
        for (text, expected) in [
            ("", "expected a segment name first"),
            ("pid-5", "expected a segment name first"),
            ("1AB-5", "expected a segment name first"),
            (
                "PID",
                "found the end where `-` and a field number after the segment name was expected",
            ),
            ("PID.5", "found `.` where `-`"),
            ("PID-", "found the end where a field number (1 to 9999) was expected"),
            ("PID-0", "found `0` where a field number"),
            ("PID-05", "found `0` where a field number"),
            ("PID-10000", "a field number (1 to 9999)"),
            ("PID-5.", "a component number"),
            ("PID-5.1.", "a subcomponent number"),
            ("PID-5.1.2.3", "found `.` where the end of the path was expected"),
            ("PID[x]-5", "a segment occurrence (a number or `*`)"),
            ("PID-3[2", "found the end where `]` was expected"),
            ("PID-3 ", "found ` ` where the end of the path"),
        ] {
            let error = Path::parse(text).unwrap_err();
            assert!(error.message.contains(expected), "{text:?}: {error}");
        }
        assert_eq!(Path::parse("PID-5.x").unwrap_err().position, Some(6));
    }
}
