//! Batches: `FHS` (file header), `BHS` (batch header), messages, `BTS` (batch trailer) and `FTS`
//! (file trailer), any of the headers and trailers possibly missing, down to messages simply
//! written one after another.

use super::delimiters::Delimiters;
use super::message::{lines, Message, Start};
use super::path::Path;
use super::{Charset, Hl7Error, ParseOptions};
use std::ops::Range;

/// A batch file split into its batches and messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The FHS segment, as a one-segment message (read `FHS-9` with [`Message::get`]).
    pub file_header: Option<Message>,
    /// The FTS segment.
    pub file_trailer: Option<Message>,
    /// The batches in order; messages outside any BHS ... BTS form a batch without header.
    pub batches: Vec<BatchGroup>,
}

/// One batch: a BHS, messages, a BTS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchGroup {
    /// The BHS segment.
    pub header: Option<Message>,
    /// The BTS segment.
    pub trailer: Option<Message>,
    /// The messages, each read on its own (its own delimiters and MSH-18).
    pub messages: Vec<Message>,
}

impl Batch {
    /// Splits a batch file. Each message is read like [`Message::parse_with`] reads it, so its
    /// own MSH-18 applies unless `options.charset` is set. A BTS-1 (message count) or FTS-1
    /// (batch count) that disagrees with what the file holds is an error while
    /// `options.check_batch_counts` is on; a missing trailer is accepted.
    pub fn parse(bytes: &[u8], options: &ParseOptions) -> Result<Batch, Hl7Error> {
        if bytes.len() > options.max_bytes {
            let message = format!(
                "the batch is {} bytes long; at most {} are accepted",
                bytes.len(),
                options.max_bytes
            );
            return Err(Hl7Error::new(message).at(0));
        }
        let lines = lines(bytes);
        if lines.len() > options.max_segments {
            let message = format!("the batch has more than {} segments", options.max_segments);
            return Err(Hl7Error::new(message).at(lines[options.max_segments].start));
        }
        if lines.is_empty() {
            return Err(Hl7Error::new("the batch is empty; expected FHS, BHS or MSH").at(0));
        }
        let mut reader = Reader {
            bytes,
            lines: &lines,
            options,
            batch: Batch {
                file_header: None,
                file_trailer: None,
                batches: Vec::new(),
            },
            group: None,
            message_start: None,
            delimiters: Delimiters::default(),
        };
        for index in 0..lines.len() {
            reader.segment(index)?;
        }
        reader.finish_message(lines.len())?;
        reader.close_group();
        Ok(reader.batch)
    }

    /// Every message of every batch, in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> + '_ {
        self.batches.iter().flat_map(|group| &group.messages)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    lines: &'a [Range<usize>],
    options: &'a ParseOptions,
    batch: Batch,
    /// The batch being read, with the index of its BHS.
    group: Option<(BatchGroup, Option<usize>)>,
    /// The index of the MSH of the message being read.
    message_start: Option<usize>,
    /// The delimiters of the last header read, for trailers.
    delimiters: Delimiters,
}

impl Reader<'_> {
    fn segment(&mut self, index: usize) -> Result<(), Hl7Error> {
        let line = self.lines[index].clone();
        let at = line.start;
        let name = self
            .bytes
            .get(line.start..line.start + 3)
            .unwrap_or(&self.bytes[line.clone()]);
        let fail = |message: String| Err(Hl7Error::new(message).at(at).in_segment(index + 1));
        if self.batch.file_trailer.is_some() {
            return fail("a segment after the file trailer (FTS); expected the end of the file".to_string());
        }
        match name {
            b"FHS" => {
                if index > 0 {
                    return fail("FHS (file header) must be the first segment of a batch file".to_string());
                }
                self.batch.file_header = Some(self.header(index)?);
            }
            b"BHS" => {
                self.finish_message(index)?;
                if let Some((_, Some(opened))) = &self.group {
                    return fail(format!(
                        "a BHS (batch header) while the batch opened at segment {} has no BTS yet",
                        opened + 1
                    ));
                }
                self.close_group();
                let header = self.header(index)?;
                self.group = Some((group(Some(header)), Some(index)));
            }
            b"MSH" => {
                self.finish_message(index)?;
                self.message_start = Some(index);
                if self.group.is_none() {
                    self.group = Some((group(None), None));
                }
            }
            b"BTS" => {
                self.finish_message(index)?;
                let trailer = self.trailer(index)?;
                let (mut current, _) = self.group.take().unwrap_or((group(None), None));
                self.check_count(&trailer, "BTS-1", current.messages.len(), "messages", index)?;
                current.trailer = Some(trailer);
                self.batch.batches.push(current);
            }
            b"FTS" => {
                self.finish_message(index)?;
                self.close_group();
                let trailer = self.trailer(index)?;
                self.check_count(&trailer, "FTS-1", self.batch.batches.len(), "batches", index)?;
                self.batch.file_trailer = Some(trailer);
            }
            _ if self.message_start.is_none() => {
                let shown = String::from_utf8_lossy(name);
                return fail(format!(
                    "a `{shown}` segment outside any message; expected MSH before it"
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the message that started at `message_start` and ends before segment `end`.
    fn finish_message(&mut self, end: usize) -> Result<(), Hl7Error> {
        let Some(start) = self.message_start.take() else {
            return Ok(());
        };
        let from = self.lines[start].start;
        let last = self.lines[end - 1].end;
        let to = match self.bytes.get(last) {
            Some(b'\r' | b'\n') => last + 1,
            _ => last,
        };
        let message =
            Message::parse_at(&self.bytes[from..to], self.options, from, Start::Message).map_err(|e| Hl7Error {
                segment: e.segment.map(|s| s + start),
                ..e
            })?;
        self.delimiters = *message.delimiters();
        if let Some((group, _)) = &mut self.group {
            group.messages.push(message);
        }
        Ok(())
    }

    fn close_group(&mut self) {
        if let Some((group, _)) = self.group.take() {
            self.batch.batches.push(group);
        }
    }

    fn header(&mut self, index: usize) -> Result<Message, Hl7Error> {
        let line = self.lines[index].clone();
        let header = Message::parse_at(
            &self.bytes[line.clone()],
            &self.header_options(),
            line.start,
            Start::BatchHeader,
        )
        .map_err(|e| e.in_segment(index + 1))?;
        self.delimiters = *header.delimiters();
        Ok(header)
    }

    fn trailer(&self, index: usize) -> Result<Message, Hl7Error> {
        let line = self.lines[index].clone();
        let charset = self.header_options().default_charset;
        let text = charset.decode(&self.bytes[line.clone()]).map_err(|at| {
            Hl7Error::new(format!("the trailer segment is not valid {}", charset.name()))
                .at(line.start + at)
                .in_segment(index + 1)
        })?;
        Ok(Message::trailer(&text, self.delimiters, charset))
    }

    /// Headers and trailers name no character set: they are read in the override or the default.
    fn header_options(&self) -> ParseOptions {
        let charset: Charset = self.options.charset.unwrap_or(self.options.default_charset);
        ParseOptions {
            charset: Some(charset),
            default_charset: charset,
            ..self.options.clone()
        }
    }

    fn check_count(
        &self,
        trailer: &Message,
        field: &str,
        actual: usize,
        what: &str,
        index: usize,
    ) -> Result<(), Hl7Error> {
        let Ok(path) = Path::parse(field) else {
            return Ok(());
        };
        let Some(declared) = trailer.get(&path) else {
            return Ok(());
        };
        let declared = declared.trim();
        if declared.is_empty() || !self.options.check_batch_counts {
            return Ok(());
        }
        match declared.parse::<usize>() {
            Ok(count) if count == actual => Ok(()),
            _ => Err(Hl7Error::new(format!(
                "{field} says {declared:?} but the batch holds {actual} {what}; the file may be truncated"
            ))
            .at(self.lines[index].start)
            .in_segment(index + 1)),
        }
    }
}

fn group(header: Option<Message>) -> BatchGroup {
    BatchGroup {
        header,
        trailer: None,
        messages: Vec::new(),
    }
}
