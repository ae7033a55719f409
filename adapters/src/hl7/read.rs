//! Finding the parts of one segment's ER7 text, without copying or decoding anything.

use super::delimiters::{Delimiters, ABSENT};
use super::path::{Index, Path};

/// How deep a part is; what it may hold depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// A whole field, every repetition.
    Field,
    Repetition,
    Component,
    Subcomponent,
    /// MSH-1 or MSH-2: the delimiters themselves, never split or decoded.
    Delimiters,
}

impl Level {
    /// Whether `raw`, a part at this level, holds separators of deeper levels (so it is ER7, not text).
    pub(crate) fn has_parts(self, raw: &str, d: &Delimiters) -> bool {
        let deeper: &[u8] = match self {
            Level::Field => &[d.repetition, d.component, d.subcomponent],
            Level::Repetition => &[d.component, d.subcomponent],
            Level::Component => &[d.subcomponent],
            Level::Subcomponent | Level::Delimiters => &[],
        };
        raw.bytes().any(|b| b != ABSENT && deeper.contains(&b))
    }
}

/// The n-th piece (from 1) of `text` split at `separator`.
pub(crate) fn piece(text: &str, separator: u8, n: usize) -> Option<&str> {
    if separator == ABSENT {
        return (n == 1).then_some(text);
    }
    text.split(separator as char).nth(n.checked_sub(1)?)
}

/// How many pieces `text` has when split at `separator`.
pub(crate) fn piece_count(text: &str, separator: u8) -> usize {
    match separator {
        ABSENT => 1,
        _ => 1 + text.bytes().filter(|&b| b == separator).count(),
    }
}

/// Field `n` of a segment (MSH-1 is the separator, MSH-2 the encoding characters).
pub(crate) fn field<'a>(segment: &'a str, d: &Delimiters, n: usize) -> Option<(&'a str, Level)> {
    if is_header(segment) {
        return match n {
            1 => segment.get(3..4).map(|separator| (separator, Level::Delimiters)),
            2 => piece(segment, d.field, 2).map(|raw| (raw, Level::Delimiters)),
            _ => piece(segment, d.field, n).map(|raw| (raw, Level::Field)),
        };
    }
    piece(segment, d.field, n + 1).map(|raw| (raw, Level::Field))
}

/// Whether a segment's fields are numbered like MSH's: MSH, and the batch headers FHS and BHS.
pub(crate) fn is_header(segment: &str) -> bool {
    matches!(segment.get(..3), Some("MSH" | "FHS" | "BHS"))
}

/// Calls `found` with every part of `segment` that `path` addresses (ignoring the path's
/// segment name and occurrence), in order, until it returns `false`. Returns `false` if stopped.
pub(crate) fn visit<'a>(
    segment: &'a str,
    d: &Delimiters,
    path: &Path,
    found: &mut dyn FnMut(&'a str, Level) -> bool,
) -> bool {
    let Some((field, level)) = field(segment, d, path.field) else {
        return true;
    };
    if level == Level::Delimiters {
        return path.repetition.is_some() || path.component.is_some() || found(field, level);
    }
    let repetitions: Box<dyn Iterator<Item = &str>> = match (path.repetition, path.component) {
        (None, None) => return found(field, Level::Field),
        (None, Some(_)) => Box::new(piece(field, d.repetition, 1).into_iter()),
        (Some(Index::Nth(n)), _) => Box::new(piece(field, d.repetition, n).into_iter()),
        (Some(Index::All), _) => match d.repetition {
            ABSENT => Box::new(std::iter::once(field)),
            separator => Box::new(field.split(separator as char)),
        },
    };
    for repetition in repetitions {
        let part = match path.component {
            None => Some((repetition, Level::Repetition)),
            Some(c) => piece(repetition, d.component, c).and_then(|component| match path.subcomponent {
                None => Some((component, Level::Component)),
                Some(s) => piece(component, d.subcomponent, s).map(|sub| (sub, Level::Subcomponent)),
            }),
        };
        if let Some((raw, level)) = part {
            if !found(raw, level) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(segment: &str, path: &str) -> Vec<(String, Level)> {
        let mut parts = Vec::new();
        visit(
            segment,
            &Delimiters::default(),
            &Path::parse(path).unwrap(),
            &mut |raw, level| {
                parts.push((raw.to_string(), level));
                true
            },
        );
        parts
    }

    fn first(segment: &str, path: &str) -> Option<String> {
        all(segment, path).into_iter().next().map(|(raw, _)| raw)
    }

    #[test]
    fn finds_fields_repetitions_components_and_subcomponents() {
        let pid = "PID|1||123^^^H&1.2&ISO^MR~456^^^B||DOE^JOHN^^^^^L|";
        assert_eq!(first(pid, "PID-1").as_deref(), Some("1"));
        assert_eq!(first(pid, "PID-2").as_deref(), Some(""));
        assert_eq!(first(pid, "PID-3").as_deref(), Some("123^^^H&1.2&ISO^MR~456^^^B"));
        assert_eq!(first(pid, "PID-3[2]").as_deref(), Some("456^^^B"));
        assert_eq!(first(pid, "PID-3.4.2").as_deref(), Some("1.2"));
        assert_eq!(first(pid, "PID-3[2].4.2"), None);
        assert_eq!(first(pid, "PID-5.2").as_deref(), Some("JOHN"));
        assert_eq!(first(pid, "PID-6").as_deref(), Some(""));
        assert_eq!(first(pid, "PID-7"), None);
        let ids: Vec<_> = all(pid, "PID-3[*].1").into_iter().map(|(raw, _)| raw).collect();
        assert_eq!(ids, ["123", "456"]);
    }

    #[test]
    fn numbers_msh_fields_from_the_separator() {
        let msh = "MSH|^~\\&|HIS|H1|LIS||20240101||ADT^A01^ADT_A01|42|P|2.5";
        assert_eq!(all(msh, "MSH-1"), [("|".to_string(), Level::Delimiters)]);
        assert_eq!(all(msh, "MSH-2"), [("^~\\&".to_string(), Level::Delimiters)]);
        assert_eq!(all(msh, "MSH-2.1"), []);
        assert_eq!(first(msh, "MSH-3").as_deref(), Some("HIS"));
        assert_eq!(first(msh, "MSH-9.2").as_deref(), Some("A01"));
        assert_eq!(first(msh, "MSH-12").as_deref(), Some("2.5"));
    }

    #[test]
    fn knows_which_parts_are_er7() {
        let d = Delimiters::default();
        assert!(Level::Field.has_parts("a~b", &d));
        assert!(!Level::Repetition.has_parts("a~b", &d));
        assert!(Level::Component.has_parts("a&b", &d));
        assert!(!Level::Subcomponent.has_parts("a&b", &d));
    }
}
