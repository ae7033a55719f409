//! Route files: typed specs parsed with serde-saphyr (unknown keys
//! rejected, every error with its position), loaded from a folder tree and
//! checked as a whole.

mod diagnostic;
mod duration;
mod load;
mod located;
mod route;
mod size;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use duration::DurationText;
pub use load::{load_route_files, RouteFile};
pub use located::{Located, Position};
pub use route::{DestinationSpec, EndpointSpec, ErrorPolicy, RouteSpec, SourceSpec};
pub use size::ByteSize;

/// A serde-saphyr error as `file:line:column: message`.
pub fn yaml_error(file: &std::path::Path, error: &serde_saphyr::Error) -> Diagnostic {
    let at = error
        .location()
        .map(|l| Position {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Position { line: 1, column: 1 });
    Diagnostic::new(file, at, yaml_message(error))
}

/// The error's message without the snippet and position serde-saphyr adds,
/// since ours are printed in front.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = strip_position_prefix(first);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// `line 5 column 28: unknown field` -> `unknown field`.
fn strip_position_prefix(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("line ") else {
        return text;
    };
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let rest = &rest[digits(rest)..];
    let Some(rest) = rest.strip_prefix(" column ") else {
        return text;
    };
    let rest = &rest[digits(rest)..];
    rest.strip_prefix(": ").unwrap_or(text)
}
