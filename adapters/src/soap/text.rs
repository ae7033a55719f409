//! Helpers for the XML we write: escaping, the envelope around a body.

use std::fmt::Write;

/// `text` escaped for element content (`attribute`: for a double-quoted attribute value too).
///
/// `\r` is written as `&#13;` so that line-end normalisation does not turn it into `\n`.
/// Characters XML 1.0 cannot hold at all (most C0 controls) become U+FFFD.
pub(super) fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' if attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\t' | '\n' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// A complete envelope document of `version` around `body` (already XML), prefix `soap`.
pub(super) fn envelope(version: super::SoapVersion, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"{}\"><soap:Body>{body}</soap:Body></soap:Envelope>",
        version.envelope_ns()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(
            escape("<a b=\"1\">&\r\n</a>", false),
            "&lt;a b=\"1\"&gt;&amp;&#13;\n&lt;/a&gt;"
        );
        assert_eq!(escape("\"x\"\t", true), "&quot;x&quot;&#9;");
        assert_eq!(escape("a\u{1}b 中文", false), "a\u{FFFD}b 中文");
    }
}
