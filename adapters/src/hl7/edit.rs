//! Editing one segment's ER7 text: the part a path addresses is replaced, everything else is
//! kept byte for byte.

use super::delimiters::{Delimiters, ABSENT};
use super::path::{Index, Path};
use super::read;
use super::Hl7Error;
use std::ops::Range;

/// Checks that `er7` fits where `path` points: no segment terminator, and no separator of the
/// level the path addresses or above (a component may hold subcomponents, not components).
pub(crate) fn check_er7(path: &Path, er7: &str, d: &Delimiters) -> Result<(), Hl7Error> {
    if read::is_header(&path.segment) && path.field <= 2 {
        return Err(Hl7Error::new(format!(
            "cannot set {path}: {}-1 and {}-2 are the message's delimiters and stay as they are",
            path.segment, path.segment
        )));
    }
    let mut forbidden = vec![b'\r', b'\n', d.field];
    if path.repetition.is_some() || path.component.is_some() {
        forbidden.push(d.repetition);
    }
    if path.component.is_some() {
        forbidden.push(d.component);
    }
    if path.subcomponent.is_some() {
        forbidden.push(d.subcomponent);
    }
    match er7.bytes().find(|b| forbidden.contains(b)) {
        None => Ok(()),
        Some(b) => Err(Hl7Error::new(format!(
            "cannot set {path} to {er7:?}: {} cannot stand in that part; escape it or set a higher level",
            match b {
                b'\r' => "a carriage return".to_string(),
                b'\n' => "a line feed".to_string(),
                _ => format!("the delimiter `{}`", b as char),
            }
        ))),
    }
}

/// `segment` with the part at `path` replaced by `er7`, creating the missing parts.
pub(crate) fn splice(segment: &str, path: &Path, d: &Delimiters, er7: &str) -> Result<String, Hl7Error> {
    let mut text = segment.to_string();
    let range = locate(&mut text, path, d, true)?.unwrap_or(0..0);
    text.replace_range(range, er7);
    Ok(text)
}

/// `segment` with every existing part `path` matches emptied, and how many there were.
pub(crate) fn clear(segment: &str, path: &Path, d: &Delimiters) -> Result<(String, usize), Hl7Error> {
    let mut text = segment.to_string();
    let repetitions = match path.repetition {
        Some(Index::All) => {
            let field = read::field(segment, d, path.field).map_or("", |(raw, _)| raw);
            (1..=read::piece_count(field, d.repetition)).map(Some).collect()
        }
        Some(Index::Nth(n)) => vec![Some(n)],
        None => vec![None],
    };
    let mut cleared = 0;
    for repetition in repetitions {
        let one = Path {
            repetition: repetition.map(Index::Nth),
            ..path.clone()
        };
        if let Some(range) = locate(&mut text, &one, d, false)? {
            text.replace_range(range, "");
            cleared += 1;
        }
    }
    Ok((text, cleared))
}

/// The range of the part `path` addresses in `text`; with `create`, missing parts are added
/// (as separators at the end of their parent), otherwise a missing part is `None`.
fn locate(text: &mut String, path: &Path, d: &Delimiters, create: bool) -> Result<Option<Range<usize>>, Hl7Error> {
    if read::is_header(text) && path.field <= 2 {
        return Err(Hl7Error::new(format!(
            "cannot change {path}: it holds the message's delimiters"
        )));
    }
    let piece = match read::is_header(text) {
        true => path.field,
        false => path.field + 1,
    };
    let whole = 0..text.len();
    let Some(mut range) = nth(text, whole, d.field, piece, create) else {
        return Ok(None);
    };
    let repetition = match (path.repetition, path.component) {
        (None, None) => return Ok(Some(range)),
        (Some(Index::Nth(n)), _) => n,
        (None, Some(_)) => 1,
        (Some(Index::All), _) => return Err(Hl7Error::new(format!("`[*]` in {path} names no single part"))),
    };
    let steps = [
        (Some(repetition), d.repetition, "repetition"),
        (path.component, d.component, "component"),
        (path.subcomponent, d.subcomponent, "subcomponent"),
    ];
    for (n, separator, what) in steps {
        let Some(n) = n else { break };
        if separator == ABSENT && n > 1 {
            return Err(Hl7Error::new(format!(
                "cannot reach {path}: the message declares no {what} separator in MSH-2"
            )));
        }
        match nth(text, range, separator, n, create) {
            Some(found) => range = found,
            None => return Ok(None),
        }
    }
    Ok(Some(range))
}

/// The range of piece `n` (from 1) of `text[within]` split at `separator`. A missing piece is
/// created at the end of `within` when `create` is set.
fn nth(text: &mut String, within: Range<usize>, separator: u8, n: usize, create: bool) -> Option<Range<usize>> {
    let mut start = within.start;
    let mut index = 1;
    loop {
        let end = match separator {
            ABSENT => within.end,
            _ => text[start..within.end]
                .bytes()
                .position(|b| b == separator)
                .map_or(within.end, |at| start + at),
        };
        if index == n {
            return Some(start..end);
        }
        if end == within.end {
            if !create {
                return None;
            }
            let missing = n - index;
            let separators = (separator as char).to_string().repeat(missing);
            text.insert_str(within.end, &separators);
            let end = within.end + missing;
            return Some(end..end);
        }
        start = end + 1;
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(segment: &str, path: &str, er7: &str) -> String {
        splice(segment, &Path::parse(path).unwrap(), &Delimiters::default(), er7).unwrap()
    }

    #[test]
    fn replaces_only_the_part_named() {
        let pid = r"PID|1||123^^^H\T\1~456||DOE^JOHN|";
        assert_eq!(set(pid, "PID-5.2", "JANE"), r"PID|1||123^^^H\T\1~456||DOE^JANE|");
        assert_eq!(set(pid, "PID-3[2]", "789"), r"PID|1||123^^^H\T\1~789||DOE^JOHN|");
        assert_eq!(set(pid, "PID-3", "x"), "PID|1||x||DOE^JOHN|");
        assert_eq!(set(pid, "PID-1", ""), r"PID|||123^^^H\T\1~456||DOE^JOHN|");
    }

    #[test]
    fn creates_what_is_missing() {
        assert_eq!(set("PID", "PID-3", "x"), "PID|||x");
        assert_eq!(set("PID|1", "PID-3[3].2.2", "x"), "PID|1||~~^&x");
        assert_eq!(set("PID|1||a", "PID-3.4", "b"), "PID|1||a^^^b");
        assert_eq!(set("PID|1||a~b|c", "PID-3[2].2", "z"), "PID|1||a~b^z|c");
        assert_eq!(set("MSH|^~\\&|A", "MSH-5", "B"), "MSH|^~\\&|A||B");
        assert_eq!(set("MSH|^~\\&", "MSH-3", "A"), "MSH|^~\\&|A");
    }

    #[test]
    fn clears_existing_parts_only() {
        let d = Delimiters::default();
        let cleared = |segment: &str, path: &str| clear(segment, &Path::parse(path).unwrap(), &d).unwrap();
        assert_eq!(
            cleared("PID|1||a^1~b^2~c^3", "PID-3[*].1"),
            ("PID|1||^1~^2~^3".to_string(), 3)
        );
        assert_eq!(cleared("PID|1", "PID-9"), ("PID|1".to_string(), 0));
        assert_eq!(cleared("PID|1|x", "PID-2"), ("PID|1|".to_string(), 1));
    }

    #[test]
    fn refuses_er7_that_would_change_the_structure() {
        let d = Delimiters::default();
        let check = |path: &str, er7: &str| check_er7(&Path::parse(path).unwrap(), er7, &d);
        assert!(check("PID-5", "A^B~C&D").is_ok());
        assert!(check("PID-5.1", "A&B").is_ok());
        assert!(check("PID-5", "a|b").unwrap_err().message.contains("the delimiter `|`"));
        assert!(check("PID-5.1", "a^b").is_err());
        assert!(check("PID-5[1]", "a~b").is_err());
        assert!(check("PID-5.1.1", "a&b").is_err());
        assert!(check("PID-5", "a\rb").unwrap_err().message.contains("carriage return"));
        assert!(check("MSH-2", "^~").unwrap_err().message.contains("delimiters"));
    }
}
