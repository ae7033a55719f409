//! XML text -> value tree.

use super::{first_illegal_char, illegal_char_message, is_name, XmlError, MAX_DEPTH};
use quick_xml::encoding::Decoder;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map, Value};

/// `<![CDATA[`, which comes before the content of a CDATA section.
const CDATA_OPEN_LEN: u64 = 9;

/// Parses an XML document into the value tree (see the [module docs](super) for the shape).
///
/// The input is already text, so an `encoding` in its declaration is ignored: use
/// [`parse_bytes`](super::parse_bytes) for bytes. Error positions are byte offsets in `xml`.
pub fn parse(xml: &str) -> Result<Value, XmlError> {
    // quick-xml skips a byte order mark without counting it in positions: skip it here.
    match xml.strip_prefix('\u{FEFF}') {
        Some(rest) => parse_text(rest).map_err(|e| XmlError {
            position: e.position + 3,
            ..e
        }),
        None => parse_text(xml),
    }
}

fn parse_text(xml: &str) -> Result<Value, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut tree = Tree::default();
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| XmlError::new(format!("malformed XML: {e}"), reader.error_position()))?;
        match event {
            Event::Start(tag) => tree.open(&tag, reader.decoder(), at)?,
            Event::Empty(tag) => {
                tree.open(&tag, reader.decoder(), at)?;
                tree.close(at)?;
            }
            Event::End(_) => tree.close(at)?,
            Event::Text(text) => tree.text(&text.decode().map_err(|e| encoding_error(e, at))?, at)?,
            Event::CData(cdata) => {
                let text = cdata.decode().map_err(|e| encoding_error(e, at))?;
                tree.text(&text, at + CDATA_OPEN_LEN)?;
            }
            Event::GeneralRef(reference) => tree.text(resolve(&reference, at)?.encode_utf8(&mut [0; 4]), at)?,
            Event::DocType(_) => {
                return Err(XmlError::new(
                    "a DOCTYPE declaration is not accepted (DTDs and their entities are refused); \
                     expected the root element",
                    at,
                ))
            }
            Event::Decl(_) if at != 0 => {
                return Err(XmlError::new(
                    "an XML declaration `<?xml ...?>` may only stand at the very start of the document",
                    at,
                ))
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => return tree.finish(at),
        }
    }
}

/// The document read so far.
#[derive(Default)]
struct Tree {
    /// The elements not yet closed, outermost first.
    open: Vec<Element>,
    /// The root element's name and value, once it is closed.
    root: Option<(String, Value)>,
}

/// An element whose end tag has not been read yet.
struct Element {
    name: String,
    at: u64,
    /// Attributes (`@name`), then child elements in document order.
    content: Map<String, Value>,
    has_children: bool,
    /// All text directly inside the element, CDATA and references included.
    text: String,
    /// How many entries `content` had when the first text that is not whitespace came,
    /// so that `#text` in mixed content stands where the text began.
    text_index: Option<usize>,
}

impl Tree {
    fn open(&mut self, tag: &BytesStart, decoder: Decoder, at: u64) -> Result<(), XmlError> {
        let name = name_of(tag.name().as_ref(), "element", at)?;
        if self.open.is_empty() && self.root.is_some() {
            return Err(XmlError::new(
                format!("a second root element `<{name}>`; a document has exactly one root"),
                at,
            ));
        }
        if self.open.len() == MAX_DEPTH {
            return Err(XmlError::new(
                format!("elements nest deeper than {MAX_DEPTH} levels"),
                at,
            ));
        }
        let mut content = Map::new();
        for attribute in tag.attributes() {
            let attribute = attribute.map_err(|e| attribute_error(e, &name, at))?;
            let key = name_of(attribute.key.as_ref(), "attribute", at)?;
            let value = attribute
                .decode_and_unescape_value(decoder)
                .map_err(|e| XmlError::new(format!("attribute `{key}` of `<{name}>`: {e}"), at))?;
            if let Some((_, c)) = first_illegal_char(&value) {
                let message = illegal_char_message(c);
                return Err(XmlError::new(format!("attribute `{key}` of `<{name}>`: {message}"), at));
            }
            content.insert(format!("@{key}"), Value::String(value.into_owned()));
        }
        self.open.push(Element {
            name,
            at,
            content,
            has_children: false,
            text: String::new(),
            text_index: None,
        });
        Ok(())
    }

    fn text(&mut self, text: &str, at: u64) -> Result<(), XmlError> {
        if let Some((index, c)) = first_illegal_char(text) {
            return Err(XmlError::new(illegal_char_message(c), at + index as u64));
        }
        match self.open.last_mut() {
            Some(element) => {
                if element.text_index.is_none() && !is_whitespace(text) {
                    element.text_index = Some(element.content.len());
                }
                element.text.push_str(text);
            }
            None if is_whitespace(text) => {}
            None => {
                let message = "text outside the root element; expected only whitespace, comments \
                               or processing instructions there";
                return Err(XmlError::new(message, at));
            }
        }
        Ok(())
    }

    fn close(&mut self, at: u64) -> Result<(), XmlError> {
        // quick-xml has already matched the end tag to the open element.
        let Some(element) = self.open.pop() else {
            return Err(XmlError::new("an end tag without a start tag", at));
        };
        let (name, value) = element.finish();
        match self.open.last_mut() {
            Some(parent) => parent.add_child(name, value),
            None => self.root = Some((name, value)),
        }
        Ok(())
    }

    fn finish(self, at: u64) -> Result<Value, XmlError> {
        if let Some(element) = self.open.last() {
            let (name, opened) = (&element.name, element.at);
            return Err(XmlError::new(
                format!("the document ends inside `<{name}>` (opened at byte {opened}); expected `</{name}>`"),
                at,
            ));
        }
        match self.root {
            Some((name, value)) => Ok(Value::Object(Map::from_iter([(name, value)]))),
            None => Err(XmlError::new("no root element; the document is empty", at)),
        }
    }
}

impl Element {
    fn add_child(&mut self, name: String, value: Value) {
        self.has_children = true;
        match self.content.get_mut(&name) {
            // An element's own value is never an array: an array here holds its earlier namesakes.
            Some(Value::Array(namesakes)) => namesakes.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                self.content.insert(name, value);
            }
        }
    }

    fn finish(self) -> (String, Value) {
        let Element {
            name,
            mut content,
            has_children,
            text,
            text_index,
            ..
        } = self;
        if has_children {
            // Text between child elements is mostly indentation; what is left is mixed content.
            let text = text.trim_matches(XML_WHITESPACE);
            if !text.is_empty() {
                let index = text_index.unwrap_or(content.len());
                content.shift_insert(index, "#text".to_owned(), Value::String(text.to_owned()));
            }
        } else if content.is_empty() {
            return (name, Value::String(text));
        } else if !text.is_empty() {
            content.insert("#text".to_owned(), Value::String(text));
        }
        (name, Value::Object(content))
    }
}

/// XML's whitespace: narrower than Unicode's, so an ideographic space (U+3000) is text.
const XML_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

fn is_whitespace(text: &str) -> bool {
    text.chars().all(|c| XML_WHITESPACE.contains(&c))
}

fn attribute_error(error: AttrError, element: &str, at: u64) -> XmlError {
    // quick-xml counts from the byte after the tag's `<`.
    let position = |offset: usize| at + 1 + offset as u64;
    let (offset, what) = match error {
        AttrError::ExpectedEq(offset) => (offset, "expected `=` after the attribute name".to_owned()),
        AttrError::ExpectedValue(offset) => (offset, "expected a value after `=`".to_owned()),
        AttrError::UnquotedValue(offset) => (offset, "expected the value in quotes".to_owned()),
        AttrError::ExpectedQuote(offset, quote) => (offset, format!("expected a closing `{}`", quote as char)),
        AttrError::Duplicated(offset, first) => (
            offset,
            format!("an attribute given twice (first at byte {})", position(first)),
        ),
    };
    XmlError::new(
        format!("malformed attribute in `<{element}>`: {what}"),
        position(offset),
    )
}

fn name_of(bytes: &[u8], what: &str, at: u64) -> Result<String, XmlError> {
    match std::str::from_utf8(bytes) {
        Ok(name) if is_name(name) => Ok(name.to_owned()),
        _ => {
            let name = String::from_utf8_lossy(bytes);
            Err(XmlError::new(format!("`{name}` is not a valid XML {what} name"), at))
        }
    }
}

/// The character a reference stands for: one of the five predefined entities or a
/// character reference. Any other entity would need a DTD, which is refused.
fn resolve(reference: &BytesRef, at: u64) -> Result<char, XmlError> {
    let name = reference.decode().map_err(|e| encoding_error(e, at))?;
    let c = match &*name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => match reference.resolve_char_ref() {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(XmlError::new(
                    format!(
                        "unknown entity `&{name};`; expected &lt; &gt; &amp; &apos; &quot; \
                         or a character reference such as &#20013;"
                    ),
                    at,
                ))
            }
            Err(e) => return Err(XmlError::new(format!("bad character reference `&{name};`: {e}"), at)),
        },
    };
    Ok(c)
}

fn encoding_error(error: quick_xml::encoding::EncodingError, at: u64) -> XmlError {
    XmlError::new(format!("malformed text: {error}"), at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(xml: &str) -> XmlError {
        parse(xml).expect_err(xml)
    }

    #[test]
    fn an_element_with_only_text_is_a_string() {
        assert_eq!(parse("<a>x</a>").unwrap(), json!({"a": "x"}));
        assert_eq!(
            parse("<a><b>1</b><c>true</c></a>").unwrap(),
            json!({"a": {"b": "1", "c": "true"}})
        );
    }

    #[test]
    fn empty_elements_are_empty_strings() {
        assert_eq!(parse("<a><b/><c></c></a>").unwrap(), json!({"a": {"b": "", "c": ""}}));
    }

    #[test]
    fn attributes_come_first_then_children_and_text() {
        let value = parse(r#"<a id="1" type="x">t</a>"#).unwrap();
        assert_eq!(value, json!({"a": {"@id": "1", "@type": "x", "#text": "t"}}));
        let keys: Vec<_> = value["a"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["@id", "@type", "#text"]);
        assert_eq!(parse(r#"<a id="1"/>"#).unwrap(), json!({"a": {"@id": "1"}}));
        assert_eq!(
            parse(r#"<a id="1"><b/></a>"#).unwrap(),
            json!({"a": {"@id": "1", "b": ""}})
        );
    }

    #[test]
    fn namesakes_become_an_array_in_document_order() {
        let value = parse("<a><b>1</b><c/><b>2</b><b>3</b></a>").unwrap();
        assert_eq!(value, json!({"a": {"b": ["1", "2", "3"], "c": ""}}));
        let value = parse("<a><b><c>1</c></b><b><c>2</c><c>3</c></b></a>").unwrap();
        assert_eq!(value, json!({"a": {"b": [{"c": "1"}, {"c": ["2", "3"]}]}}));
    }

    #[test]
    fn whitespace_between_elements_is_dropped_but_text_is_kept_exactly() {
        let value = parse("<a>\n  <b> x \n</b>\n  <c>\u{3000}</c>\n</a>\n").unwrap();
        assert_eq!(value, json!({"a": {"b": " x \n", "c": "\u{3000}"}}));
        assert_eq!(parse("<a>  </a>").unwrap(), json!({"a": "  "}));
        assert_eq!(
            parse(r#"<a k="v"> </a>"#).unwrap(),
            json!({"a": {"@k": "v", "#text": " "}})
        );
    }

    #[test]
    fn carriage_returns_are_kept() {
        assert_eq!(
            parse("<a>MSH|1\r\nPID|2\r</a>").unwrap(),
            json!({"a": "MSH|1\r\nPID|2\r"})
        );
    }

    #[test]
    fn mixed_content_keeps_trimmed_text_where_it_began() {
        let value = parse("<p k=\"v\">\n Hello <b>big</b> world\n</p>").unwrap();
        assert_eq!(value, json!({"p": {"@k": "v", "#text": "Hello  world", "b": "big"}}));
        let keys: Vec<_> = value["p"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["@k", "#text", "b"]);
        let value = parse("<p><b>big</b> tail</p>").unwrap();
        let keys: Vec<_> = value["p"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["b", "#text"]);
    }

    #[test]
    fn cdata_is_text() {
        let value = parse("<a>x<![CDATA[<b>&amp;</b>]]>y</a>").unwrap();
        assert_eq!(value, json!({"a": "x<b>&amp;</b>y"}));
    }

    #[test]
    fn references_are_decoded() {
        let value = parse(r#"<a q="&quot;&lt;&#x4E2D;">&lt;&gt;&amp;&apos;&quot;&#20013;&#x6587;</a>"#).unwrap();
        assert_eq!(value, json!({"a": {"@q": "\"<中", "#text": "<>&'\"中文"}}));
    }

    #[test]
    fn comments_processing_instructions_and_the_declaration_are_dropped() {
        let xml = "<?xml version=\"1.0\"?><!-- c --><?pi x?><a><!-- c -->x<?pi?>y</a><!-- c -->";
        assert_eq!(parse(xml).unwrap(), json!({"a": "xy"}));
    }

    #[test]
    fn names_keep_their_prefixes() {
        let value = parse(r#"<s:E xmlns:s="urn:s" xmlns="urn:d"><s:B s:id="1"/></s:E>"#).unwrap();
        assert_eq!(
            value,
            json!({"s:E": {"@xmlns:s": "urn:s", "@xmlns": "urn:d", "s:B": {"@s:id": "1"}}})
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_counted() {
        assert_eq!(parse("\u{FEFF}<?xml version=\"1.0\"?><a/>").unwrap(), json!({"a": ""}));
        assert_eq!(error("\u{FEFF}<a></b>").position, 6);
    }

    #[test]
    fn doctype_is_refused() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"boom\">]><a>&x;</a>";
        let e = error(xml);
        assert!(e.message.contains("DOCTYPE"), "{e}");
        assert_eq!(e.position, 22);
    }

    #[test]
    fn entities_other_than_the_predefined_ones_are_refused() {
        let e = error("<a>ab&nbsp;</a>");
        assert!(e.message.contains("unknown entity `&nbsp;`"), "{e}");
        assert_eq!(e.position, 5);
        assert!(error(r#"<a b="&x;"/>"#).message.contains("attribute `b`"));
    }

    #[test]
    fn characters_xml_cannot_hold_are_refused() {
        let e = error("<a>ab\u{1}</a>");
        assert_eq!(
            (e.message.as_str(), e.position),
            ("character U+0001 is not allowed in XML 1.0", 5)
        );
        assert_eq!(error("<a>x&#1;</a>").position, 4);
        assert_eq!(error("<a>x&#0;</a>").position, 4);
        assert_eq!(error("<a><![CDATA[ab\u{2}]]></a>").position, 14);
        assert!(error("<a b=\"&#x1;\"/>").message.contains("U+0001"));
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(error("<1a/>").message.contains("`1a` is not a valid XML element name"));
        assert!(error(r#"<a 1b="x"/>"#)
            .message
            .contains("`1b` is not a valid XML attribute name"));
    }

    #[test]
    fn nesting_is_capped() {
        let deep = |n: usize| "<a>".repeat(n) + &"</a>".repeat(n);
        assert!(parse(&deep(MAX_DEPTH)).is_ok());
        let e = error(&deep(MAX_DEPTH + 1));
        assert_eq!(e.position, 3 * MAX_DEPTH as u64);
        assert!(e.message.contains("nest deeper than 256"), "{e}");
        // Far deeper than any stack would survive if the reader recursed.
        assert!(error(&deep(1_000_000)).message.contains("nest deeper"));
    }

    #[test]
    fn malformed_documents_say_where() {
        let cases = [
            ("<a><b></a>", 6, "expected `</b>`"),
            ("<a>x</a><b/>", 8, "a second root element `<b>`"),
            ("x<a/>", 0, "text outside the root element"),
            ("<a/>y", 4, "text outside the root element"),
            ("<a><b>", 6, "the document ends inside `<b>` (opened at byte 3)"),
            ("", 0, "no root element"),
            ("  <!-- only -->", 15, "no root element"),
            ("<a", 0, "malformed XML"),
            ("<a>&amp</a>", 3, "malformed XML"),
            ("<a>x & y</a>", 5, "malformed XML"),
            ("</a>", 0, "malformed XML"),
            (r#"<a b="1" b="2"/>"#, 9, "an attribute given twice (first at byte 3)"),
            ("<a b=1/>", 5, "expected the value in quotes"),
            ("<x><a b/></x>", 7, "expected `=` after the attribute name"),
            ("<a/><?xml version=\"1.0\"?>", 4, "may only stand at the very start"),
        ];
        for (xml, position, message) in cases {
            let e = error(xml);
            assert!(e.message.contains(message), "{xml:?}: {e}");
            assert_eq!(e.position, position, "{xml:?}: {e}");
        }
    }
}
