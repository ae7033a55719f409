//! The `parse` step: turns text into the value tree. By default it parses
//! the raw request body into `body`; it can also parse a string found at a
//! path (an XML document carried in a JSON field or a SOAP parameter) and
//! write the result anywhere.
//!
//! ```yaml
//! - parse: { format: json }
//! - parse: { format: xml, charset: gb18030 }
//! - parse: { format: xml, from: body.Envelope.Body.pushApplyRecord.applyData, to: vars.apply }
//! - parse: { format: hl7, charset: gbk }
//! ```

use super::{support, BuildContext, Flow, StepError};
use crate::exchange::{BodyFormat, Exchange};
use crate::value::{Path, Scope, Value};
use encoding_rs::{DecoderResult, Encoding, UTF_8};
use medbus_adapters::hl7::{self, Charset};
use schemars::JsonSchema;
use serde::Deserialize;

/// Parse text as JSON, XML or plain text into the value tree.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseConfig {
    /// What the text is: `json`, `xml`, `hl7` (HL7 v2 ER7, see
    /// docs/value-model-hl7.md) or `text` (kept as one string).
    pub format: Format,
    /// A path holding the text to parse as a string, e.g. `vars.payload` or
    /// `body.Envelope.Body.pushApplyRecord.applyData` for an XML document
    /// sent inside a SOAP parameter. Without it, the raw request body is parsed.
    #[serde(default)]
    pub from: Option<String>,
    /// Where the parsed value is written, e.g. `vars.doc`. Default: `body`,
    /// replacing the message body.
    #[serde(default)]
    pub to: Option<String>,
    /// The character set of the raw body, e.g. `gb18030`, `gbk`, `big5`,
    /// `utf-8`. Without it: the `charset` of the request's Content-Type,
    /// else (for XML) the `encoding` of the XML declaration, else UTF-8. A
    /// byte order mark always wins. Bytes invalid in the charset are
    /// rejected, never replaced. Not used with `from`: that text is decoded already.
    /// For `hl7`: the character set to read the message in whatever its
    /// MSH-18 says (for senders whose MSH-18 is wrong); HL7 names such as
    /// `UNICODE UTF-8`, `GB 18030-2000` and `8859/1` are known too.
    #[serde(default)]
    pub charset: Option<String>,
    /// `hl7` only: the character set of a message whose MSH-18 is empty.
    /// Default UTF-8; many Chinese HIS send GBK without saying so.
    #[serde(default)]
    pub default_charset: Option<String>,
}

/// A text format the engine parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A JSON document; maps one to one onto the value tree.
    Json,
    /// An XML document: elements become keys, repeated elements arrays,
    /// attributes `@name`, text beside attributes or children `#text`.
    Xml,
    /// An HL7 v2 message in ER7, read with its own delimiters and MSH-18
    /// character set into the value tree of docs/value-model-hl7.md.
    Hl7,
    /// Any text, kept as one string.
    Text,
}

impl Format {
    /// How messages name the format: "JSON", "XML", "text".
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Xml => "XML",
            Format::Hl7 => "HL7 v2",
            Format::Text => "text",
        }
    }

    /// The rejection code for malformed input of this format.
    fn invalid_code(self) -> &'static str {
        match self {
            Format::Json => "INVALID_JSON",
            Format::Xml => "INVALID_XML",
            Format::Hl7 => "INVALID_HL7",
            Format::Text => "INVALID_TEXT",
        }
    }
}

pub struct ParseStep {
    format: Format,
    from: Option<Path>,
    to: Path,
    charset: Option<&'static Encoding>,
    hl7: hl7::ParseOptions,
}

impl ParseStep {
    pub fn build(config: &ParseConfig, cx: &mut BuildContext) -> Option<Self> {
        let mut ok = true;
        let from = match config.from.as_deref() {
            None => None,
            Some(text) => match cx.path(text) {
                Some(path) if path.has_wildcard() => {
                    cx.error(format!(
                        "parse `from` `{text}` has `[*]`; expected a path to one string"
                    ));
                    ok = false;
                    None
                }
                Some(path) => Some(path),
                None => {
                    ok = false;
                    None
                }
            },
        };
        let to = support::target_path(cx, "parse `to`", config.to.as_deref().unwrap_or("body"));
        let hl7 = hl7_options(config, cx);
        let charset = match &config.charset {
            None => Some(None),
            Some(_) if config.format == Format::Hl7 => Some(None),
            Some(_) if config.from.is_some() => {
                cx.error("parse `charset` applies to the raw body, and `from` reads text already decoded; remove one of them");
                None
            }
            Some(label) => match Encoding::for_label_no_replacement(label.as_bytes()) {
                Some(encoding) => Some(Some(encoding)),
                None => {
                    cx.error(format!(
                        "parse `charset` `{label}` is not a known character set; expected e.g. `utf-8`, `gb18030`, `gbk`, `big5`"
                    ));
                    None
                }
            },
        };
        if !ok {
            return None;
        }
        Some(ParseStep {
            format: config.format,
            from,
            to: to?,
            charset: charset?,
            hl7: hl7?,
        })
    }

    /// Where the parsed value goes.
    pub fn target(&self) -> &Path {
        &self.to
    }

    pub fn run(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        if self.format == Format::Hl7 {
            return self.run_hl7(ex);
        }
        let (text, source) = match &self.from {
            None => (self.decode_body(ex)?, "the body".to_string()),
            Some(path) => (self.text_at(ex, path)?, format!("`{path}`")),
        };
        if text.trim().is_empty() {
            return Err(StepError::rejected(
                "EMPTY_BODY",
                format!("{source} is empty; expected {}", self.expected()),
            ));
        }
        let value = parse_text(self.format, &text).map_err(|detail| {
            StepError::rejected(
                self.format.invalid_code(),
                format!("{source} is not valid {}: {detail}", self.format.name()),
            )
        })?;
        self.store(ex, value)
    }

    /// An HL7 message is read from the raw bytes (its MSH-18 names their
    /// character set), or from text already decoded.
    fn run_hl7(&self, ex: &mut Exchange) -> Result<Flow, StepError> {
        let (message, source) = match &self.from {
            None => (hl7::Message::parse_with(&ex.raw, &self.hl7), "the body".to_string()),
            Some(path) => {
                let text = self.text_at(ex, path)?;
                (hl7::Message::from_text(&text, &self.hl7), format!("`{path}`"))
            }
        };
        let message = message
            .map_err(|e| StepError::rejected("INVALID_HL7", format!("{source} is not a valid HL7 v2 message: {e}")))?;
        self.store(ex, message.to_value())
    }

    fn store(&self, ex: &mut Exchange, value: Value) -> Result<Flow, StepError> {
        ex.assign(&self.to, value)
            .map_err(|e| StepError::failed("PARSE_FAILED", e))?;
        if self.to.scope == Scope::Body && self.to.segments.is_empty() {
            ex.body_format = match self.format {
                Format::Json => BodyFormat::Json,
                Format::Xml => BodyFormat::Xml,
                Format::Hl7 => BodyFormat::Hl7,
                Format::Text => BodyFormat::Text,
            };
        }
        Ok(Flow::Continue)
    }

    fn expected(&self) -> &'static str {
        match self.format {
            Format::Json => "a JSON document",
            Format::Xml => "an XML document",
            Format::Hl7 => "an HL7 v2 message",
            Format::Text => "text",
        }
    }

    fn text_at(&self, ex: &Exchange, path: &Path) -> Result<String, StepError> {
        match ex.lookup(path) {
            None | Some(Value::Null) => Err(StepError::rejected(
                "MISSING_FIELD",
                format!("`{path}` is missing; expected {} to parse", self.expected()),
            )),
            Some(Value::String(text)) => Ok(text),
            Some(other) => Err(StepError::rejected(
                self.format.invalid_code(),
                format!(
                    "`{path}` holds {}, not text; expected {} as a string",
                    support::a_kind(&other),
                    self.expected()
                ),
            )),
        }
    }

    fn decode_body(&self, ex: &Exchange) -> Result<String, StepError> {
        let encoding = self.body_encoding(ex)?;
        decode(&ex.raw, encoding).map_err(|at| {
            StepError::rejected(
                "INVALID_CHARSET",
                format!(
                    "the body is not valid {name} at byte {at}; expected text in {name} (a route sets the sender's encoding with `charset`)",
                    name = encoding.name()
                ),
            )
        })
    }

    fn body_encoding(&self, ex: &Exchange) -> Result<&'static Encoding, StepError> {
        if let Some(encoding) = self.charset {
            return Ok(encoding);
        }
        let (label, origin) = match ex.content_type.as_deref().and_then(charset_parameter) {
            Some(label) => (label, "the Content-Type"),
            None => match (self.format, xml_declared_encoding(&ex.raw)) {
                (Format::Xml, Some(label)) => (label, "the XML declaration"),
                _ => return Ok(UTF_8),
            },
        };
        Encoding::for_label_no_replacement(label.as_bytes()).ok_or_else(|| {
            StepError::rejected(
                "INVALID_CHARSET",
                format!(
                    "{origin} names the character set `{label}`, which is not known; expected e.g. utf-8, gb18030, gbk"
                ),
            )
        })
    }
}

/// The HL7 reading options of a parse step: its `charset` overrides MSH-18,
/// its `default_charset` stands in for an empty one.
fn hl7_options(config: &ParseConfig, cx: &mut BuildContext) -> Option<hl7::ParseOptions> {
    let mut options = hl7::ParseOptions::default();
    if config.format != Format::Hl7 {
        if config.default_charset.is_some() {
            cx.error("parse `default_charset` is for `format: hl7` (a message whose MSH-18 is empty); remove it");
            return None;
        }
        return Some(options);
    }
    let charset = |key: &str, label: &str, cx: &mut BuildContext| {
        let found = Charset::from_name(label);
        if found.is_none() {
            cx.error(format!(
                "parse `{key}` `{label}` is not a character set HL7 messages can be read in; expected e.g. \
                 `UNICODE UTF-8`, `GB 18030-2000`, `gbk`, `8859/1`"
            ));
        }
        found
    };
    if let Some(label) = &config.charset {
        options.charset = Some(charset("charset", label, cx)?);
    }
    if let Some(label) = &config.default_charset {
        options.default_charset = charset("default_charset", label, cx)?;
    }
    Some(options)
}

/// Parses `text` in `format`; the error says what is wrong and where.
pub fn parse_text(format: Format, text: &str) -> Result<Value, String> {
    match format {
        Format::Hl7 => hl7::Message::from_text(text, &hl7::ParseOptions::default())
            .map(|message| message.to_value())
            .map_err(|e| e.to_string()),
        Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        Format::Xml => medbus_adapters::xml::parse(text).map_err(|e| {
            let (line, column) = line_column(text, e.position as usize);
            format!("{} at line {line}, column {column} (byte {})", e.message, e.position)
        }),
        Format::Text => Ok(Value::String(text.to_string())),
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, byte: usize) -> (usize, usize) {
    let mut end = byte.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Decodes `bytes` without replacing anything: a byte order mark picks the
/// encoding, else `encoding` does. The error is the offset of the first
/// malformed byte.
fn decode(bytes: &[u8], encoding: &'static Encoding) -> Result<String, usize> {
    let (encoding, skip) = Encoding::for_bom(bytes).unwrap_or((encoding, 0));
    let bytes = &bytes[skip..];
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|e| skip + e.valid_up_to());
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len());
    let mut text = String::with_capacity(capacity);
    let mut read = 0;
    loop {
        let (result, consumed) = decoder.decode_to_string_without_replacement(&bytes[read..], &mut text, true);
        read += consumed;
        match result {
            DecoderResult::InputEmpty => return Ok(text),
            DecoderResult::OutputFull => text.reserve(bytes.len() - read + 16),
            DecoderResult::Malformed(bad, after) => return Err(skip + read - bad as usize - after as usize),
        }
    }
}

/// The `charset` parameter of a Content-Type, e.g. `GBK` in
/// `text/xml; charset="GBK"`.
fn charset_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="GBK"?>`),
/// read from the leading bytes, which every encoding we decode keeps ASCII.
fn xml_declared_encoding(raw: &[u8]) -> Option<&str> {
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let head = raw.get(..raw.len().min(200))?;
    let rest = head.strip_prefix(b"<?xml")?;
    let declaration = &rest[..rest.windows(2).position(|w| w == b"?>")?];
    let declaration = std::str::from_utf8(declaration).ok()?;
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::support::build_for_test;
    use bytes::Bytes;
    use encoding_rs::GB18030;
    use serde_json::json;

    fn step(yaml: &str) -> ParseStep {
        build_for_test(yaml, ParseStep::build).unwrap()
    }

    fn build_error(yaml: &str) -> String {
        build_for_test(yaml, ParseStep::build)
            .err()
            .expect("the build should fail")
    }

    fn exchange(raw: impl Into<Bytes>, content_type: Option<&str>) -> Exchange {
        Exchange::new("r", raw.into(), content_type.map(str::to_string), Default::default())
    }

    fn run(yaml: &str, ex: &mut Exchange) -> Result<Flow, StepError> {
        step(yaml).run(ex)
    }

    #[test]
    fn parses_the_raw_body_as_json_into_the_body() {
        let mut ex = exchange(r#"{"patient": {"name": "张三", "age": 42}}"#, None);
        assert_eq!(run("{ format: json }", &mut ex), Ok(Flow::Continue));
        assert_eq!(ex.body, json!({"patient": {"name": "张三", "age": 42}}));
    }

    #[test]
    fn parses_a_string_at_a_path_into_another_path() {
        let mut ex = exchange("", None);
        ex.vars.insert("payload".into(), json!(r#"{"applyNo": "A0001"}"#));
        run("{ format: json, from: vars.payload, to: vars.doc }", &mut ex).unwrap();
        assert_eq!(ex.vars["doc"], json!({"applyNo": "A0001"}));
        assert_eq!(ex.body, json!(""), "the body is left alone");
    }

    #[test]
    fn says_where_json_is_malformed() {
        let mut ex = exchange("{\"a\": 1,\n \"b\" 2}", None);
        let err = run("{ format: json }", &mut ex).unwrap_err();
        assert_eq!(err.code, "INVALID_JSON");
        assert_eq!(err.kind, crate::steps::ErrorKind::Rejected);
        assert!(err.message.contains("the body is not valid JSON"), "{}", err.message);
        assert!(err.message.contains("line 2 column 6"), "{}", err.message);
    }

    #[test]
    fn rejects_empty_input_clearly() {
        for raw in ["", "  \r\n "] {
            let err = run("{ format: json }", &mut exchange(raw, None)).unwrap_err();
            assert_eq!(err.code, "EMPTY_BODY");
            assert_eq!(err.message, "the body is empty; expected a JSON document");
        }
        let mut ex = exchange("", None);
        ex.vars.insert("payload".into(), json!(""));
        let err = run("{ format: xml, from: vars.payload }", &mut ex).unwrap_err();
        assert_eq!(err.message, "`vars.payload` is empty; expected an XML document");
    }

    #[test]
    fn rejects_a_missing_or_non_text_source() {
        let mut ex = exchange("", None);
        let err = run("{ format: json, from: vars.payload }", &mut ex).unwrap_err();
        assert_eq!(err.code, "MISSING_FIELD");
        assert_eq!(
            err.message,
            "`vars.payload` is missing; expected a JSON document to parse"
        );
        ex.vars.insert("payload".into(), json!({"already": "parsed"}));
        let err = run("{ format: json, from: vars.payload }", &mut ex).unwrap_err();
        assert_eq!(err.code, "INVALID_JSON");
        assert!(err.message.contains("holds an object, not text"), "{}", err.message);
    }

    #[test]
    fn keeps_text_as_one_string() {
        let mut ex = exchange("MSH|^~\\&|HIS\r", None);
        run("{ format: text, to: vars.raw }", &mut ex).unwrap();
        assert_eq!(ex.vars["raw"], json!("MSH|^~\\&|HIS\r"));
    }

    #[test]
    fn decodes_gb18030_from_the_config_or_the_content_type() {
        let (bytes, _, _) = GB18030.encode(r#"{"name": "患者张三"}"#);
        let bytes = bytes.into_owned();
        let mut ex = exchange(bytes.clone(), None);
        run("{ format: json, charset: gb18030 }", &mut ex).unwrap();
        assert_eq!(ex.body, json!({"name": "患者张三"}));

        let mut ex = exchange(bytes.clone(), Some("application/json; charset=\"GBK\""));
        run("{ format: json }", &mut ex).unwrap();
        assert_eq!(ex.body, json!({"name": "患者张三"}));

        let err = run("{ format: json }", &mut exchange(bytes, None)).unwrap_err();
        assert_eq!(err.code, "INVALID_CHARSET");
        assert!(err.message.contains("not valid UTF-8 at byte 10"), "{}", err.message);
    }

    #[test]
    fn rejects_bytes_invalid_in_the_charset_with_their_offset() {
        // 0x81 0x20: a GB18030 lead byte followed by a byte that cannot trail it.
        let raw = b"{\"a\": \"\x81\x20\"}".to_vec();
        let err = run("{ format: json, charset: gb18030 }", &mut exchange(raw, None)).unwrap_err();
        assert_eq!(err.code, "INVALID_CHARSET");
        assert!(err.message.contains("not valid gb18030 at byte 7"), "{}", err.message);

        let err = run(
            "{ format: text }",
            &mut exchange("x", Some("text/plain; charset=klingon")),
        )
        .unwrap_err();
        assert_eq!(err.code, "INVALID_CHARSET");
        assert!(
            err.message.contains("Content-Type names the character set `klingon`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let mut ex = exchange(b"\xEF\xBB\xBF{\"a\": 1}".to_vec(), None);
        run("{ format: json, charset: gb18030 }", &mut ex).unwrap();
        assert_eq!(ex.body, json!({"a": 1}));
    }

    #[test]
    fn reads_the_encoding_of_an_xml_declaration() {
        assert_eq!(
            xml_declared_encoding(b"<?xml version=\"1.0\" encoding='GBK' ?><a/>"),
            Some("GBK")
        );
        assert_eq!(xml_declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(xml_declared_encoding(b"<a/>"), None);
        assert_eq!(charset_parameter("text/xml; Charset=gb2312"), Some("gb2312"));
        assert_eq!(charset_parameter("text/xml"), None);
    }

    #[test]
    fn counts_lines_and_columns_in_characters() {
        assert_eq!(line_column("ab\n张三x", 9), (2, 3));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn checks_its_config_when_built() {
        assert!(build_error("{ format: json, charset: klingon }").contains("`klingon` is not a known character set"));
        assert!(build_error("{ format: json, from: vars.x, charset: gbk }").contains("remove one of them"));
        assert!(build_error("{ format: json, from: payload }").contains("not a scope"));
        assert!(build_error("{ format: json, from: 'body.items[*]' }").contains("has `[*]`"));
        assert!(build_error("{ format: json, to: msg.id }").contains("read-only"));
        assert!(build_error("{ format: yaml }").contains("yaml"));
        assert!(build_error("{ format: json, form: body }").contains("unknown field `form`"));
    }

    #[test]
    fn parses_xml_from_the_body_and_from_a_soap_parameter() {
        let mut ex = exchange(r#"<root><a x="1">t</a></root>"#, Some("text/xml"));
        run("{ format: xml }", &mut ex).unwrap();
        assert_eq!(ex.body, json!({"root": {"a": {"@x": "1", "#text": "t"}}}));

        let mut ex = exchange("", None);
        ex.body = json!({"Envelope": {"Body": {"push": {"applyData": "<root><applyNo>A1</applyNo></root>"}}}}).into();
        run(
            "{ format: xml, from: body.Envelope.Body.push.applyData, to: vars.apply }",
            &mut ex,
        )
        .unwrap();
        assert_eq!(ex.vars["apply"], json!({"root": {"applyNo": "A1"}}));
    }

    #[test]
    fn says_where_xml_is_malformed() {
        let err = run("{ format: xml }", &mut exchange("<root>\n  <a>1</b>\n</root>", None)).unwrap_err();
        assert_eq!(err.code, "INVALID_XML");
        assert!(
            err.message.starts_with("the body is not valid XML: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("at line 2, column"), "{}", err.message);
    }

    #[test]
    fn decodes_xml_in_the_encoding_it_declares() {
        let (bytes, _, _) = GB18030.encode("<?xml version=\"1.0\" encoding=\"GBK\"?><root><name>张三</name></root>");
        let mut ex = exchange(bytes.into_owned(), Some("text/xml"));
        run("{ format: xml }", &mut ex).unwrap();
        assert_eq!(ex.body, json!({"root": {"name": "张三"}}));
    }
}
