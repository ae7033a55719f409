//! A parsed message: its text, its segments, and reading, editing and writing them.

use super::charset::Charset;
use super::delimiters::Delimiters;
use super::path::{is_segment_name, Index, Path};
use super::read::{self, Level};
use super::{edit, escape, Hl7Error, ParseOptions};
use std::borrow::Cow;
use std::ops::Range;

/// An HL7 v2 message (or, inside a [`Batch`](super::Batch), a header or trailer segment).
///
/// Segments are kept as their ER7 text; a part is split out only when it is read, and a segment
/// is rewritten only when it is edited, so an unmodified message is written back as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The decoded text of the message as read (segments are ranges of it until edited).
    text: String,
    /// The original bytes, kept when decoding changed them (a character set other than UTF-8),
    /// so that unmodified segments are written back exactly.
    source: Option<Vec<u8>>,
    segments: Vec<Segment>,
    delimiters: Delimiters,
    charset: Charset,
    /// Whether the last segment was followed by a segment terminator.
    terminated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// As read: its range in `text`, and in `source` when there is one.
    Original {
        text: Range<usize>,
        bytes: Range<usize>,
    },
    Edited(String),
}

/// Which segment names a text may start with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Message,
    BatchHeader,
}

impl Message {
    /// Parses a message with the default [`ParseOptions`] (character set from MSH-18, else UTF-8).
    pub fn parse(bytes: &[u8]) -> Result<Message, Hl7Error> {
        Message::parse_with(bytes, &ParseOptions::default())
    }

    /// Parses a message. The character set is `options.charset` if set, else the one MSH-18
    /// names, else `options.default_charset`.
    pub fn parse_with(bytes: &[u8], options: &ParseOptions) -> Result<Message, Hl7Error> {
        Message::parse_at(bytes, options, 0, Start::Message)
    }

    /// Parses `bytes`, found at `offset` of a larger input (for error positions).
    pub(crate) fn parse_at(
        bytes: &[u8],
        options: &ParseOptions,
        offset: usize,
        start: Start,
    ) -> Result<Message, Hl7Error> {
        let shift = |e: Hl7Error| Hl7Error {
            position: e.position.map(|p| p + offset as u64),
            ..e
        };
        if bytes.len() > options.max_bytes {
            let message = format!(
                "the message is {} bytes long; at most {} are accepted",
                bytes.len(),
                options.max_bytes
            );
            return Err(shift(Hl7Error::new(message).at(0)));
        }
        let skipped = leading_noise(bytes);
        let body = &bytes[skipped..];
        let offset = offset + skipped;
        let shift = |e: Hl7Error| Hl7Error {
            position: e.position.map(|p| p + offset as u64),
            ..e
        };
        check_start(body, start).map_err(shift)?;
        let delimiters = Delimiters::read(body).map_err(shift)?;
        let (charset, named) = choose_charset(body, &delimiters, options).map_err(shift)?;
        let text = charset
            .decode(body)
            .map_err(|at| shift(undecodable(charset, named, body, at)))?;
        let source = (!charset.is_utf8()).then(|| body.to_vec());
        Message::build(text.into_owned(), source, delimiters, charset, options, start).map_err(shift)
    }

    /// Reads a message that is already text (say, from a JSON string). `options.charset`, else
    /// MSH-18, else `options.default_charset` is the character set [`to_bytes`](Self::to_bytes)
    /// writes it in.
    pub fn from_text(text: &str, options: &ParseOptions) -> Result<Message, Hl7Error> {
        let skipped = leading_noise(text.as_bytes());
        let body = &text[skipped..];
        let shift = |e: Hl7Error| Hl7Error {
            position: e.position.map(|p| p + skipped as u64),
            ..e
        };
        if body.len() > options.max_bytes {
            let message = format!(
                "the message is {} bytes long; at most {} are accepted",
                body.len(),
                options.max_bytes
            );
            return Err(Hl7Error::new(message).at(0));
        }
        check_start(body.as_bytes(), Start::Message).map_err(shift)?;
        let delimiters = Delimiters::read(body.as_bytes()).map_err(shift)?;
        let (charset, _) = choose_charset(body.as_bytes(), &delimiters, options).map_err(shift)?;
        Message::build(body.to_string(), None, delimiters, charset, options, Start::Message).map_err(shift)
    }

    fn build(
        text: String,
        source: Option<Vec<u8>>,
        delimiters: Delimiters,
        charset: Charset,
        options: &ParseOptions,
        start: Start,
    ) -> Result<Message, Hl7Error> {
        let text_lines = lines(text.as_bytes());
        let byte_lines = match &source {
            Some(source) => lines(source),
            None => text_lines.clone(),
        };
        if text_lines.len() != byte_lines.len() {
            return Err(Hl7Error::new(format!(
                "the segments of the message could not be found in its {} bytes",
                charset.name()
            )));
        }
        if text_lines.len() > options.max_segments {
            let message = format!(
                "the message has {} segments; at most {} are accepted",
                text_lines.len(),
                options.max_segments
            );
            return Err(Hl7Error::new(message).at(byte_lines[options.max_segments].start));
        }
        let mut segments = Vec::with_capacity(text_lines.len());
        for (index, (text_range, byte_range)) in text_lines.into_iter().zip(byte_lines).enumerate() {
            let position = byte_range.start;
            check_segment(&text[text_range.clone()], &delimiters, index, start)
                .map_err(|e| e.at(position).in_segment(index + 1))?;
            segments.push(Segment::Original {
                text: text_range,
                bytes: byte_range,
            });
        }
        let terminated = text.ends_with(['\r', '\n']);
        Ok(Message {
            text,
            source,
            segments,
            delimiters,
            charset,
            terminated,
        })
    }

    /// The delimiters of this message (MSH-1 and MSH-2).
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The character set the message was read in and is written in.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// How many segments the message has.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The ER7 text of segment `index` (from 0; MSH is 0), without its terminator.
    pub fn segment(&self, index: usize) -> Option<&str> {
        self.segments.get(index).map(|segment| self.segment_text(segment))
    }

    /// The ER7 text of every segment, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().map(|segment| self.segment_text(segment))
    }

    /// The names of the segments, in order (`MSH`, `EVN`, `PID`, ...).
    pub fn segment_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments().map(|segment| &segment[..3])
    }

    /// How many segments are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.segment_names().filter(|n| *n == name).count()
    }

    fn segment_text<'a>(&'a self, segment: &'a Segment) -> &'a str {
        match segment {
            Segment::Original { text, .. } => &self.text[text.clone()],
            Segment::Edited(text) => text,
        }
    }

    /// The indexes of the segments a path's segment name and occurrence select.
    fn selected<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = usize> + 'a {
        let occurrence = path.occurrence.unwrap_or(Index::Nth(1));
        self.segment_names()
            .enumerate()
            .filter(move |(_, n)| *n == path.segment)
            .enumerate()
            .filter(move |(k, _)| matches!(occurrence, Index::All) || occurrence == Index::Nth(k + 1))
            .map(|(_, (index, _))| index)
    }

    /// The value at `path`, the first one if the path has `[*]`; `None` if the message does not
    /// have that part.
    ///
    /// A part without separators in it is returned as text, escape sequences decoded. A part that
    /// has parts (a field with repetitions or components, a component with subcomponents) is
    /// returned as its ER7 text, delimiters and escape sequences as written, so that
    /// [`set_er7`](Self::set_er7) can put it back. MSH-1 and MSH-2 are returned as they are.
    pub fn get(&self, path: &Path) -> Option<Cow<'_, str>> {
        let mut first = None;
        for index in self.selected(path) {
            let segment = self.segment_text(&self.segments[index]);
            read::visit(segment, &self.delimiters, path, &mut |raw, level| {
                first = Some((raw, level));
                false
            });
            if first.is_some() {
                break;
            }
        }
        first.map(|(raw, level)| self.text_of(raw, level))
    }

    /// Every value `path` matches, in message order (see [`get`](Self::get) for what a value is).
    pub fn get_all(&self, path: &Path) -> Vec<Cow<'_, str>> {
        let mut all = Vec::new();
        for index in self.selected(path) {
            let segment = self.segment_text(&self.segments[index]);
            read::visit(segment, &self.delimiters, path, &mut |raw, level| {
                all.push((raw, level));
                true
            });
        }
        all.into_iter().map(|(raw, level)| self.text_of(raw, level)).collect()
    }

    fn text_of<'a>(&self, raw: &'a str, level: Level) -> Cow<'a, str> {
        match level == Level::Delimiters || level.has_parts(raw, &self.delimiters) {
            true => Cow::Borrowed(raw),
            false => escape::decode(raw, &self.delimiters, self.charset),
        }
    }

    /// Sets the part at `path` to `value`, escaping the delimiters in it. Missing segments,
    /// fields, repetitions and components are created: a missing segment is added after the last
    /// segment of its name, or at the end. The path must name one part (no `[*]`).
    ///
    /// To write HL7 null, set [`NULL`](super::NULL).
    pub fn set(&mut self, path: &Path, value: &str) -> Result<(), Hl7Error> {
        let mut escaped = String::with_capacity(value.len());
        escape::encode(value, &self.delimiters, &mut escaped).map_err(|e| {
            Hl7Error::new(format!(
                "cannot set {path}: the value holds `{}`, which this message's delimiters cannot escape \
                 (MSH-2 declares no escape character)",
                e.0
            ))
        })?;
        self.set_er7(path, &escaped)
    }

    /// Sets the part at `path` to `er7`, ER7 text written with this message's delimiters: a
    /// field may hold repetitions, components and subcomponents, a component subcomponents.
    /// Escape sequences in it are kept as they are.
    pub fn set_er7(&mut self, path: &Path, er7: &str) -> Result<(), Hl7Error> {
        if path.is_multiple() {
            return Err(Hl7Error::new(format!(
                "cannot set {path}: `[*]` may match several parts; name one"
            )));
        }
        edit::check_er7(path, er7, &self.delimiters)?;
        let index = self.segment_for_edit(path)?;
        let edited = edit::splice(self.segment_text(&self.segments[index]), path, &self.delimiters, er7)?;
        self.segments[index] = Segment::Edited(edited);
        Ok(())
    }

    /// Empties every part `path` matches (`[*]` allowed); creates nothing. Returns how many
    /// parts were emptied.
    pub fn clear(&mut self, path: &Path) -> Result<usize, Hl7Error> {
        let targets: Vec<usize> = self.selected(path).collect();
        let mut cleared = 0;
        for index in targets {
            let segment = self.segment_text(&self.segments[index]);
            let (edited, count) = edit::clear(segment, path, &self.delimiters)?;
            if count > 0 {
                self.segments[index] = Segment::Edited(edited);
                cleared += count;
            }
        }
        Ok(cleared)
    }

    /// The index of the segment `path` names, created if missing.
    fn segment_for_edit(&mut self, path: &Path) -> Result<usize, Hl7Error> {
        let wanted = match path.occurrence {
            None => 1,
            Some(Index::Nth(n)) => n,
            Some(Index::All) => unreachable!("refused by set_er7"),
        };
        let every = Path {
            occurrence: Some(Index::All),
            ..path.clone()
        };
        let existing: Vec<usize> = self.selected(&every).collect();
        if let Some(&index) = existing.get(wanted - 1) {
            return Ok(index);
        }
        if path.segment == "MSH" || self.segments.len() + wanted - existing.len() > super::path::MAX_NUMBER * 10 {
            return Err(Hl7Error::new(format!(
                "cannot set {path}: the message has no such segment to add to"
            )));
        }
        let mut at = existing.last().map_or(self.segments.len(), |last| last + 1);
        for _ in existing.len()..wanted {
            self.segments.insert(at, Segment::Edited(path.segment.clone()));
            at += 1;
        }
        Ok(at - 1)
    }

    /// Removes segment `index` (from 0). MSH cannot be removed. Returns whether there was one.
    pub fn remove_segment(&mut self, index: usize) -> Result<bool, Hl7Error> {
        if index == 0 {
            return Err(Hl7Error::new("the first segment (MSH) cannot be removed"));
        }
        Ok(match index < self.segments.len() {
            true => {
                self.segments.remove(index);
                true
            }
            false => false,
        })
    }

    /// Inserts a segment given as ER7 text (like `ZPD|1|x`) before segment `index`, or at the
    /// end when `index` is the segment count.
    pub fn insert_segment(&mut self, index: usize, er7: &str) -> Result<(), Hl7Error> {
        if index == 0 || index > self.segments.len() {
            return Err(Hl7Error::new(format!(
                "cannot insert a segment at {index}; expected 1 to {} (MSH stays first)",
                self.segments.len()
            )));
        }
        check_segment(er7, &self.delimiters, index, Start::Message)?;
        self.segments.insert(index, Segment::Edited(er7.to_string()));
        Ok(())
    }

    /// The message as ER7 text: segments joined by carriage returns, ending with one when the
    /// message read did (a message built here always does).
    pub fn to_er7(&self) -> String {
        let mut text = String::with_capacity(self.text.len() + 16);
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                text.push('\r');
            }
            text.push_str(self.segment_text(segment));
        }
        if self.terminated {
            text.push('\r');
        }
        text
    }

    /// The message as bytes in its character set, segments ended by carriage returns. Segments
    /// not edited are written exactly as they were read; a character an edited segment holds that
    /// the character set cannot is an error (never a `?`).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Hl7Error> {
        let mut bytes = Vec::with_capacity(self.source.as_ref().map_or(self.text.len(), Vec::len) + 16);
        for (index, segment) in self.segments.iter().enumerate() {
            if index > 0 {
                bytes.push(b'\r');
            }
            match (segment, &self.source) {
                (Segment::Original { bytes: range, .. }, Some(source)) => {
                    bytes.extend_from_slice(&source[range.clone()])
                }
                // US-ASCII shares UTF-8's decoder but not its range: its text is checked below.
                (Segment::Original { text, .. }, None) if self.charset == Charset::UTF_8 => {
                    bytes.extend_from_slice(self.text[text.clone()].as_bytes())
                }
                _ => bytes.extend_from_slice(&self.charset.encode_segment(self.segment_text(segment), index + 1)?),
            }
        }
        if self.terminated {
            bytes.push(b'\r');
        }
        Ok(bytes)
    }

    /// The first component of MSH-12, the HL7 version (`2.5.1`).
    pub fn version(&self) -> Option<Cow<'_, str>> {
        self.header_field(12)
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Option<Cow<'_, str>> {
        self.header_field(10)
    }

    /// The first component of a field of the first segment (MSH), decoded.
    pub(crate) fn header_field(&self, field: usize) -> Option<Cow<'_, str>> {
        let segment = self.segment(0)?;
        let (raw, _) = read::field(segment, &self.delimiters, field)?;
        let repetition = read::piece(raw, self.delimiters.repetition, 1)?;
        let component = read::piece(repetition, self.delimiters.component, 1)?;
        let sub = read::piece(component, self.delimiters.subcomponent, 1)?;
        Some(escape::decode(sub, &self.delimiters, self.charset))
    }

    /// A one-segment message (a batch trailer) that uses the delimiters of the batch it is in.
    pub(crate) fn trailer(text: &str, delimiters: Delimiters, charset: Charset) -> Message {
        Message {
            text: text.to_string(),
            source: None,
            segments: vec![Segment::Edited(text.to_string())],
            delimiters,
            charset,
            terminated: false,
        }
    }

    /// A field of the first segment exactly as written (for copying it into another message).
    pub(crate) fn header_field_er7(&self, field: usize) -> &str {
        self.segment(0)
            .and_then(|segment| read::field(segment, &self.delimiters, field))
            .map_or("", |(raw, _)| raw)
    }
}

/// Line breaks and a UTF-8 byte order mark before the first segment, which are skipped.
fn leading_noise(bytes: &[u8]) -> usize {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    bom + bytes[bom..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count()
}

fn check_start(body: &[u8], start: Start) -> Result<(), Hl7Error> {
    let name = body.get(..3).unwrap_or(body);
    let expected = match start {
        Start::Message => &["MSH"][..],
        Start::BatchHeader => &["FHS", "BHS"][..],
    };
    if expected.iter().any(|e| e.as_bytes() == name) {
        return Ok(());
    }
    let hint = match name {
        b"FHS" | b"BHS" => "; this is a batch: read it with Batch::parse",
        _ => "",
    };
    Err(Hl7Error::new(format!(
        "the message starts with `{}`; expected the MSH segment first{hint}",
        String::from_utf8_lossy(name)
    ))
    .at(0))
}

/// The character set to read the message in, and the MSH-18 name if that is what chose it.
fn choose_charset(body: &[u8], d: &Delimiters, options: &ParseOptions) -> Result<(Charset, Option<String>), Hl7Error> {
    if let Some(charset) = options.charset {
        return Ok((charset, None));
    }
    let Some((name, position)) = declared_charset(body, d) else {
        return Ok((options.default_charset, None));
    };
    match Charset::from_name(&name) {
        Some(charset) => Ok((charset, Some(name))),
        None => Err(Hl7Error::new(format!(
            "unknown character set `{name}` in MSH-18; expected an HL7 name such as UNICODE UTF-8, \
             GB 18030-2000, 8859/1 or ASCII, or set the charset option for this sender"
        ))
        .at(position)),
    }
}

/// MSH-18 (its first repetition's first component, trimmed), read from the bytes of the first
/// segment before the message is decoded, with its position.
fn declared_charset(body: &[u8], d: &Delimiters) -> Option<(String, usize)> {
    if !body.starts_with(b"MSH") {
        return None;
    }
    let header_end = body
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(body.len());
    let mut start = 0;
    for _ in 0..17 {
        start += body[start..header_end].iter().position(|&b| b == d.field)? + 1;
    }
    let field = &body[start..header_end];
    let end = field
        .iter()
        .position(|&b| b == d.field || b == d.repetition || b == d.component)
        .unwrap_or(field.len());
    let name = String::from_utf8_lossy(&field[..end]).trim().to_string();
    (!name.is_empty()).then_some((name, start))
}

fn undecodable(charset: Charset, named: Option<String>, body: &[u8], at: usize) -> Hl7Error {
    let found = body.get(at).map_or(String::new(), |b| format!(" (byte 0x{b:02X})"));
    let why = match named {
        Some(name) => format!("MSH-18 says `{name}`"),
        None => format!("{} is the character set configured for this message", charset.name()),
    };
    Hl7Error::new(format!(
        "the message is not valid {}{found}: {why}; if the sender uses another character set \
         (GBK is common with an empty MSH-18), set the charset option",
        charset.name()
    ))
    .at(at)
}

/// The ranges of the non-empty lines of `bytes`, split at CR, LF or CRLF.
pub(crate) fn lines(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut lines = Vec::with_capacity(bytes.len() / 64 + 1);
    let mut start = 0;
    for at in memchr::memchr2_iter(b'\r', b'\n', bytes) {
        if at > start {
            lines.push(start..at);
        }
        start = at + 1;
    }
    if bytes.len() > start {
        lines.push(start..bytes.len());
    }
    lines
}

/// A segment starts with its name and, unless it is only a name, the field separator; only
/// the first segment of a message is MSH.
fn check_segment(segment: &str, d: &Delimiters, index: usize, start: Start) -> Result<(), Hl7Error> {
    let bytes = segment.as_bytes();
    let name = bytes.get(..3).unwrap_or(bytes);
    if !is_segment_name(name) || bytes.get(3).is_some_and(|&b| b != d.field) {
        let shown: String = segment.chars().take(8).collect();
        return Err(Hl7Error::new(format!(
            "a segment starts with `{shown}`; expected a segment name (three uppercase letters or digits) \
             followed by `{}`",
            d.field as char
        )));
    }
    let first_only = matches!(name, b"MSH" | b"FHS" | b"BHS" | b"BTS" | b"FTS");
    if index > 0 && first_only && start == Start::Message {
        let name = String::from_utf8_lossy(name);
        let hint = match name.as_ref() {
            "MSH" => "two messages back to back are a batch: read them with Batch::parse",
            _ => "batch headers and trailers belong to a batch: read it with Batch::parse",
        };
        return Err(Hl7Error::new(format!(
            "a second header segment `{name}` inside one message; {hint}"
        )));
    }
    Ok(())
}
