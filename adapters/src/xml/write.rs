//! Value tree -> XML text.

use super::{first_illegal_char, illegal_char_message, is_name, XmlError, MAX_DEPTH};
use serde_json::{Map, Value};
use std::borrow::Cow;

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// How [`write_with`] lays a document out. The default writes one line without a declaration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Put each child element on its own line, indented by this many spaces per level;
    /// 0 writes everything on one line. Elements that hold text stay on one line, so
    /// that their text is written unchanged.
    pub indent: usize,
    /// Begin with `<?xml version="1.0" encoding="UTF-8"?>`.
    pub declaration: bool,
    /// Write an element without content as `<a></a>` instead of `<a/>`, for peers that
    /// insist on it.
    pub expand_empty_elements: bool,
}

/// Writes a value tree as XML on one line, without an XML declaration.
///
/// See [`write_with`] for what the value may hold.
pub fn write(value: &Value) -> Result<String, XmlError> {
    write_with(value, &WriteOptions::default())
}

/// Writes a value tree as a document: `<?xml version="1.0" encoding="UTF-8"?>`, then the
/// root element on the same line.
pub fn write_document(value: &Value) -> Result<String, XmlError> {
    write_with(
        value,
        &WriteOptions {
            declaration: true,
            ..WriteOptions::default()
        },
    )
}

/// Writes a value tree as XML, laid out as `options` say.
///
/// The value is what [`parse`](super::parse) returns: an object with one key, the root
/// element's name. Below it, a key is an element, `@name` an attribute, `#text` text and
/// `#cdata` text written as a CDATA section. An array writes one element per item; a
/// string, number or boolean is text; null, `""` and `{}` are an empty element. Errors,
/// naming the path of the value at fault: a top level of another shape, an array in an
/// array, an object or array as an attribute or text, a key that is not an XML name, an
/// unknown `#` key, a character XML cannot hold, nesting deeper than [`MAX_DEPTH`].
pub fn write_with(value: &Value, options: &WriteOptions) -> Result<String, XmlError> {
    let mut writer = Writer {
        out: String::new(),
        options,
    };
    if options.declaration {
        writer.out.push_str(DECLARATION);
        if options.indent > 0 {
            writer.out.push('\n');
        }
    }
    let root = value
        .as_object()
        .filter(|map| map.len() == 1)
        .and_then(|map| map.iter().next());
    let Some((name, root)) = root else {
        let message = format!(
            "cannot write {} as XML; expected an object with one key, the root element's name",
            describe(value)
        );
        return Err(XmlError::new(message, 0));
    };
    let written = match root {
        Value::Array(_) => Err(Fault::new(
            "the root element cannot repeat; a document has one root, not an array",
        )),
        root => writer.element(name, root, 1),
    };
    written.map_err(|fault| {
        let fault = fault.under(name);
        XmlError::new(
            format!("cannot write `{}`: {}", fault.path, fault.message),
            writer.out.len() as u64,
        )
    })?;
    Ok(writer.out)
}

struct Writer<'o> {
    out: String,
    options: &'o WriteOptions,
}

impl Writer<'_> {
    /// Writes one element; `value` is not an array. `depth` is 1 for the root.
    fn element(&mut self, name: &str, value: &Value, depth: usize) -> Result<(), Fault> {
        if !is_name(name) {
            return Err(Fault::new(format!("`{name}` is not a valid XML element name")));
        }
        if depth > MAX_DEPTH {
            return Err(Fault::new(format!("elements nest deeper than {MAX_DEPTH} levels")));
        }
        self.out.push('<');
        self.out.push_str(name);
        match value {
            Value::Object(map) => {
                self.attributes(map)?;
                if !has_content(map) {
                    self.end_empty(name);
                    return Ok(());
                }
                self.out.push('>');
                self.content(map, depth)?;
            }
            Value::Array(_) => return Err(Fault::new("an array inside an array has no XML form")),
            scalar => {
                let text = scalar_text(scalar, "an element")?;
                if text.is_empty() {
                    self.end_empty(name);
                    return Ok(());
                }
                self.out.push('>');
                escape_into(&mut self.out, &text, false)?;
            }
        }
        self.end_tag(name);
        Ok(())
    }

    /// Ends the start tag of an element that has no content.
    fn end_empty(&mut self, name: &str) {
        match self.options.expand_empty_elements {
            true => {
                self.out.push('>');
                self.end_tag(name);
            }
            false => self.out.push_str("/>"),
        }
    }

    fn end_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn attributes(&mut self, map: &Map<String, Value>) -> Result<(), Fault> {
        for (key, value) in map {
            let Some(name) = key.strip_prefix('@') else {
                continue;
            };
            let write = |out: &mut String| {
                if !is_name(name) {
                    return Err(Fault::new(format!("`{name}` is not a valid XML attribute name")));
                }
                let text = scalar_text(value, "an attribute")?;
                out.push(' ');
                out.push_str(name);
                out.push_str("=\"");
                escape_into(out, &text, true)?;
                out.push('"');
                Ok(())
            };
            write(&mut self.out).map_err(|fault| fault.under(key))?;
        }
        Ok(())
    }

    /// Writes what follows the start tag of an element held by `map`, in key order.
    fn content(&mut self, map: &Map<String, Value>, depth: usize) -> Result<(), Fault> {
        // Indenting beside text would change the text.
        let pretty = self.options.indent > 0 && !map.keys().any(|key| key == "#text" || key == "#cdata");
        let mut children = 0;
        for (key, value) in map {
            match key.as_str() {
                key if key.starts_with('@') => {}
                "#text" => {
                    let text = scalar_text(value, "`#text`").map_err(|f| f.under(key))?;
                    escape_into(&mut self.out, &text, false).map_err(|f| f.under(key))?;
                }
                "#cdata" => {
                    let text = scalar_text(value, "`#cdata`").map_err(|f| f.under(key))?;
                    self.cdata(&text).map_err(|f| f.under(key))?;
                }
                key if key.starts_with('#') => {
                    let message =
                        format!("unknown key `{key}`; the keys that are not names are `@name`, `#text` and `#cdata`");
                    return Err(Fault::new(message));
                }
                name => {
                    let (items, repeated) = match value {
                        Value::Array(items) => (items.as_slice(), true),
                        single => (std::slice::from_ref(single), false),
                    };
                    for (index, item) in items.iter().enumerate() {
                        if pretty {
                            self.newline(depth);
                        }
                        self.element(name, item, depth + 1).map_err(|fault| match repeated {
                            true => fault.at_index(index).under(name),
                            false => fault.under(name),
                        })?;
                        children += 1;
                    }
                }
            }
        }
        if pretty && children > 0 {
            self.newline(depth - 1);
        }
        Ok(())
    }

    fn cdata(&mut self, text: &str) -> Result<(), Fault> {
        if let Some((_, c)) = first_illegal_char(text) {
            return Err(Fault::new(illegal_char_message(c)));
        }
        // `]]>` cannot stand inside a section: end it after `]]` and start another for `>`.
        self.out.push_str("<![CDATA[");
        self.out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
        self.out.push_str("]]>");
        Ok(())
    }

    fn newline(&mut self, level: usize) {
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', level * self.options.indent));
    }
}

/// Whether an element held by `map` writes anything between its tags.
fn has_content(map: &Map<String, Value>) -> bool {
    map.iter().any(|(key, value)| match (key.as_str(), value) {
        (key, _) if key.starts_with('@') => false,
        ("#text", Value::Null) => false,
        ("#text", Value::String(text)) => !text.is_empty(),
        (_, Value::Array(items)) => !items.is_empty(),
        _ => true,
    })
}

/// The text a scalar stands for; `what` names the place for the error.
fn scalar_text<'v>(value: &'v Value, what: &str) -> Result<Cow<'v, str>, Fault> {
    match value {
        Value::String(text) => Ok(Cow::Borrowed(text)),
        Value::Number(number) => Ok(Cow::Owned(number.to_string())),
        Value::Bool(flag) => Ok(Cow::Owned(flag.to_string())),
        Value::Null => Ok(Cow::Borrowed("")),
        other => Err(Fault::new(format!(
            "{what} must be text, a number, a boolean or null, not {}",
            describe(other)
        ))),
    }
}

/// Escapes text for an element or for a double-quoted attribute.
fn escape_into(out: &mut String, text: &str, in_attribute: bool) -> Result<(), Fault> {
    if let Some((_, c)) = first_illegal_char(text) {
        return Err(Fault::new(illegal_char_message(c)));
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            // As references these survive a receiving parser's line-end and attribute
            // normalisation, so the receiver reads exactly the characters the value holds.
            '\r' => out.push_str("&#13;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    Ok(())
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(items) => format!("an array of {}", items.len()),
        Value::Object(map) => format!("an object with {} keys", map.len()),
    }
}

/// What went wrong while writing, and where in the value, as a path like the engine's
/// (`soap:Envelope.soap:Body.item[2].@id`).
struct Fault {
    path: String,
    message: String,
}

impl Fault {
    fn new(message: impl Into<String>) -> Self {
        Fault {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The fault as seen from the object that holds `key`.
    fn under(self, key: &str) -> Self {
        let bare = !key.is_empty() && !key.contains(|c: char| matches!(c, '.' | '[' | ']') || c.is_whitespace());
        match bare {
            true => self.prefixed(key.to_owned()),
            false => self.prefixed(format!("[{key:?}]")),
        }
    }

    /// The fault as seen from the array that holds it at `index`.
    fn at_index(self, index: usize) -> Self {
        self.prefixed(format!("[{index}]"))
    }

    fn prefixed(mut self, segment: String) -> Self {
        self.path = match self.path.is_empty() || self.path.starts_with('[') {
            true => segment + &self.path,
            false => format!("{segment}.{}", self.path),
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(value: Value) -> String {
        write(&value).expect_err("should fail").message
    }

    #[test]
    fn scalars_are_text() {
        let value = json!({"a": {"s": "x", "n": 1.5, "i": -2, "t": true, "f": false}});
        assert_eq!(
            write(&value).unwrap(),
            "<a><s>x</s><n>1.5</n><i>-2</i><t>true</t><f>false</f></a>"
        );
    }

    #[test]
    fn empty_values_are_empty_elements() {
        let value = json!({"a": {"s": "", "n": null, "o": {}, "x": {"@k": "v", "#text": ""}, "l": []}});
        assert_eq!(write(&value).unwrap(), r#"<a><s/><n/><o/><x k="v"/></a>"#);
        let options = WriteOptions {
            expand_empty_elements: true,
            ..WriteOptions::default()
        };
        assert_eq!(
            write_with(&json!({"a": {"b": null}}), &options).unwrap(),
            "<a><b></b></a>"
        );
        assert_eq!(write(&json!({"a": {"l": []}})).unwrap(), "<a/>");
    }

    #[test]
    fn attributes_come_first_whatever_their_place() {
        let value = json!({"a": {"b": "1", "@id": 7, "#text": "t", "@ok": true, "@n": null}});
        assert_eq!(write(&value).unwrap(), r#"<a id="7" ok="true" n=""><b>1</b>t</a>"#);
    }

    #[test]
    fn arrays_are_repeated_elements() {
        let value = json!({"a": {"b": ["1", {"@k": "v"}, ""], "c": "2"}});
        assert_eq!(write(&value).unwrap(), r#"<a><b>1</b><b k="v"/><b/><c>2</c></a>"#);
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let value = json!({"a": {"@q": "\"<&>'\t\n\r", "#text": "<&>'\"\t\n\r中文"}});
        assert_eq!(
            write(&value).unwrap(),
            "<a q=\"&quot;&lt;&amp;&gt;'&#9;&#10;&#13;\">&lt;&amp;&gt;'\"\t\n&#13;中文</a>"
        );
    }

    #[test]
    fn cdata_is_written_on_request_and_cannot_be_broken_out_of() {
        let value = json!({"a": {"#cdata": "<x>]]>&</x>"}});
        assert_eq!(write(&value).unwrap(), "<a><![CDATA[<x>]]]]><![CDATA[>&</x>]]></a>");
        assert_eq!(
            super::super::parse(&write(&value).unwrap()).unwrap(),
            json!({"a": "<x>]]>&</x>"})
        );
    }

    #[test]
    fn declaration_and_indentation() {
        let value = json!({"r": {"@v": "1", "a": {"b": ["1", "2"], "c": {}}, "m": {"#text": "t", "i": "x"}}});
        assert_eq!(
            write_document(&value).unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><r v="1"><a><b>1</b><b>2</b><c/></a><m>t<i>x</i></m></r>"#
        );
        let options = WriteOptions {
            indent: 2,
            declaration: true,
            ..WriteOptions::default()
        };
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<r v="1">
  <a>
    <b>1</b>
    <b>2</b>
    <c/>
  </a>
  <m>t<i>x</i></m>
</r>"#;
        assert_eq!(write_with(&value, &options).unwrap(), expected);
    }

    #[test]
    fn the_top_level_must_be_one_element() {
        for (value, found) in [
            (json!("x"), "a string"),
            (json!([]), "an array of 0"),
            (json!({}), "an object with 0 keys"),
            (json!({"a": 1, "b": 2}), "an object with 2 keys"),
        ] {
            let message = error(value);
            assert!(
                message.starts_with(&format!("cannot write {found} as XML; expected an object with one key")),
                "{message}"
            );
        }
        assert!(error(json!({"a": ["1", "2"]})).contains("`a`: the root element cannot repeat"));
    }

    #[test]
    fn errors_name_the_path() {
        let cases = [
            (json!({"a": {"b": [{"c": 1}, [1]]}}), "cannot write `a.b[1]`: an array inside an array has no XML form"),
            (json!({"a": {"b": [{"c": [1, {"@x": {}}]}]}}), "cannot write `a.b[0].c[1].@x`: an attribute must be text, a number, a boolean or null, not an object with 0 keys"),
            (json!({"a": {"#text": [1]}}), "cannot write `a.#text`: `#text` must be text"),
            (json!({"a": {"first name": "x"}}), r#"cannot write `a["first name"]`: `first name` is not a valid XML element name"#),
            (json!({"1a": "x"}), "cannot write `1a`: `1a` is not a valid XML element name"),
            (json!({"a": {"@x y": "1"}}), r#"cannot write `a["@x y"]`: `x y` is not a valid XML attribute name"#),
            (json!({"a": {"#comment": "x"}}), "cannot write `a`: unknown key `#comment`"),
            (json!({"a": {"b": "x\u{1}"}}), "cannot write `a.b`: character U+0001 is not allowed in XML 1.0"),
            (json!({"a": {"@b": "\u{FFFF}"}}), "cannot write `a.@b`: character U+FFFF"),
        ];
        for (value, expected) in cases {
            let message = error(value);
            assert!(message.starts_with(expected), "{message}");
        }
    }

    #[test]
    fn nesting_is_capped() {
        let nest = |levels: usize| (0..levels).fold(json!("x"), |inner, _| json!({ "a": inner }));
        assert!(write(&nest(MAX_DEPTH)).is_ok());
        let message = error(nest(MAX_DEPTH + 1));
        assert!(message.ends_with("elements nest deeper than 256 levels"), "{message}");
    }
}
