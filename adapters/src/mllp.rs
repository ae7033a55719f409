//! MLLP framing (HL7's Minimal Lower Layer Protocol): `0x0B` message `0x1C 0x0D`, sans IO.
//!
//! A [`FrameDecoder`] is fed the bytes a connection delivers, in any chunking, and gives back
//! [`MllpEvent`]s: complete frames, bytes found outside any frame, frames over the size limit.
//! Each byte is looked at once, so feeding a frame one byte at a time costs what feeding it
//! whole does.
//!
//! Tolerance, as mature MLLP servers have it:
//! - A frame ends at `0x1C`. The `0x0D` that must follow is consumed when it comes, and a sender
//!   that omits it is not kept waiting: the frame is delivered at once.
//! - Bytes outside a frame (a stray line feed after a frame, a sender that does not frame at
//!   all) are reported as [`MllpEvent::Garbage`], never silently dropped, and skipped up to the
//!   next `0x0B`.
//! - A `0x0B` inside a frame means the sender gave up on that frame and started another: the
//!   unfinished one is reported as garbage and the new one read.
//! - A frame longer than the limit is reported once as [`MllpEvent::TooLarge`] and discarded
//!   up to its end; memory never grows past the limit.

use std::collections::VecDeque;

/// Start of block.
pub const START_BLOCK: u8 = 0x0B;
/// End of block.
pub const END_BLOCK: u8 = 0x1C;
/// The carriage return after the end of block.
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// How many bytes of garbage an event keeps (the rest are only counted).
pub const GARBAGE_KEPT: usize = 1024;

/// The default largest frame: 32 MiB, room for a report with an embedded PDF.
pub const DEFAULT_MAX_FRAME: usize = 32 * 1024 * 1024;

/// Wraps a message in an MLLP frame.
pub fn encode_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(START_BLOCK);
    frame.extend_from_slice(message);
    frame.extend_from_slice(&[END_BLOCK, CARRIAGE_RETURN]);
    frame
}

/// What the decoder found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MllpEvent {
    /// A complete frame's content, without `0x0B` and `0x1C 0x0D`.
    Frame(Vec<u8>),
    /// Bytes outside any frame, or an unfinished frame cut short by a new `0x0B` or by the end
    /// of the stream.
    Garbage {
        /// The first [`GARBAGE_KEPT`] bytes.
        bytes: Vec<u8>,
        /// How many bytes there were in all.
        length: usize,
    },
    /// A frame grew past the limit; it is being discarded up to its end.
    TooLarge {
        /// The limit it went past.
        limit: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between frames, looking for `0x0B`.
    Outside,
    /// Just after a frame's `0x1C`: a `0x0D` here belongs to the frame.
    AfterEnd,
    /// Inside a frame.
    Inside,
    /// Inside a frame that is too large, looking for its end.
    Discarding,
}

/// Turns a stream of bytes into MLLP frames; see the [module docs](self).
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame: usize,
    state: State,
    frame: Vec<u8>,
    garbage: Vec<u8>,
    garbage_length: usize,
    events: VecDeque<MllpEvent>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameDecoder {
    /// A decoder that accepts frames of up to `max_frame` bytes of content.
    pub fn new(max_frame: usize) -> FrameDecoder {
        FrameDecoder {
            max_frame,
            state: State::Outside,
            frame: Vec::new(),
            garbage: Vec::new(),
            garbage_length: 0,
            events: VecDeque::new(),
        }
    }

    /// Feeds the bytes that arrived; the events they complete are then ready for
    /// [`next_event`](Self::next_event).
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::AfterEnd => {
                    self.state = State::Outside;
                    match bytes[0] == CARRIAGE_RETURN {
                        true => &bytes[1..],
                        false => bytes,
                    }
                }
                State::Outside => match bytes.iter().position(|&b| b == START_BLOCK) {
                    Some(at) => {
                        self.add_garbage(&bytes[..at]);
                        self.flush_garbage();
                        self.state = State::Inside;
                        &bytes[at + 1..]
                    }
                    None => {
                        self.add_garbage(bytes);
                        &[]
                    }
                },
                State::Inside => self.read_frame(bytes),
                State::Discarding => match bytes.iter().position(|&b| b == END_BLOCK || b == START_BLOCK) {
                    Some(at) => {
                        self.state = match bytes[at] {
                            END_BLOCK => State::AfterEnd,
                            _ => State::Inside,
                        };
                        &bytes[at + 1..]
                    }
                    None => &[],
                },
            };
        }
        self.flush_garbage();
    }

    fn read_frame<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let found = bytes.iter().position(|&b| b == END_BLOCK || b == START_BLOCK);
        let content = &bytes[..found.unwrap_or(bytes.len())];
        if self.frame.len() + content.len() > self.max_frame {
            self.frame = Vec::new();
            self.events.push_back(MllpEvent::TooLarge { limit: self.max_frame });
            self.state = State::Discarding;
            return &bytes[content.len()..];
        }
        self.frame.extend_from_slice(content);
        let Some(at) = found else {
            return &[];
        };
        let frame = std::mem::take(&mut self.frame);
        match bytes[at] {
            END_BLOCK => {
                self.events.push_back(MllpEvent::Frame(frame));
                self.state = State::AfterEnd;
            }
            _ => {
                // A new frame starts before this one ended: this one is garbage.
                self.add_garbage(&[START_BLOCK]);
                self.add_garbage(&frame);
                self.flush_garbage();
            }
        }
        &bytes[at + 1..]
    }

    /// The next event, in the order the bytes came.
    pub fn next_event(&mut self) -> Option<MllpEvent> {
        self.events.pop_front()
    }

    /// Ends the stream: an unfinished frame is reported as garbage. The decoder is then ready for
    /// a new stream.
    pub fn finish(&mut self) -> Option<MllpEvent> {
        if self.state == State::Inside {
            let frame = std::mem::take(&mut self.frame);
            self.add_garbage(&[START_BLOCK]);
            self.add_garbage(&frame);
            self.flush_garbage();
        }
        self.state = State::Outside;
        self.events.pop_front()
    }

    /// How many bytes of an unfinished frame are held.
    pub fn buffered(&self) -> usize {
        self.frame.len()
    }

    fn add_garbage(&mut self, bytes: &[u8]) {
        let room = GARBAGE_KEPT - self.garbage.len();
        self.garbage.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.garbage_length += bytes.len();
    }

    fn flush_garbage(&mut self) {
        if self.garbage_length > 0 {
            self.events.push_back(MllpEvent::Garbage {
                bytes: std::mem::take(&mut self.garbage),
                length: std::mem::take(&mut self.garbage_length),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(decoder: &mut FrameDecoder) -> Vec<MllpEvent> {
        std::iter::from_fn(|| decoder.next_event()).collect()
    }

    #[test]
    fn frames_round_trip() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&encode_frame(b"MSH|a"));
        decoder.push(&encode_frame(b"MSH|b"));
        assert_eq!(
            events(&mut decoder),
            [MllpEvent::Frame(b"MSH|a".to_vec()), MllpEvent::Frame(b"MSH|b".to_vec())]
        );
        assert_eq!(decoder.finish(), None);
    }

    #[test]
    fn a_missing_carriage_return_is_tolerated() {
        let mut decoder = FrameDecoder::default();
        decoder.push(b"\x0bA\x1c");
        assert_eq!(events(&mut decoder), [MllpEvent::Frame(b"A".to_vec())]);
        decoder.push(b"\x0bB\x1c\r");
        assert_eq!(events(&mut decoder), [MllpEvent::Frame(b"B".to_vec())]);
    }

    #[test]
    fn garbage_is_reported() {
        let mut decoder = FrameDecoder::default();
        decoder.push(b"junk\x0bA\x1c\r\n\x0bB");
        decoder.push(b"\x0bC\x1c\r");
        let garbage = |bytes: &[u8]| MllpEvent::Garbage {
            bytes: bytes.to_vec(),
            length: bytes.len(),
        };
        assert_eq!(
            events(&mut decoder),
            [
                garbage(b"junk"),
                MllpEvent::Frame(b"A".to_vec()),
                garbage(b"\n"),
                garbage(b"\x0bB"),
                MllpEvent::Frame(b"C".to_vec())
            ]
        );
        decoder.push(b"\x0bunfinished");
        assert_eq!(events(&mut decoder), []);
        assert_eq!(decoder.buffered(), 10);
        assert_eq!(decoder.finish(), Some(garbage(b"\x0bunfinished")));
    }

    #[test]
    fn large_frames_are_discarded_once() {
        let mut decoder = FrameDecoder::new(4);
        decoder.push(b"\x0b123");
        decoder.push(b"45");
        decoder.push(b"6789\x1c\r\x0bok\x1c\r");
        assert_eq!(
            events(&mut decoder),
            [MllpEvent::TooLarge { limit: 4 }, MllpEvent::Frame(b"ok".to_vec())]
        );
        decoder.push(b"\x0b1234\x1c\r");
        assert_eq!(events(&mut decoder), [MllpEvent::Frame(b"1234".to_vec())]);
    }

    #[test]
    fn long_garbage_is_counted_not_kept() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&vec![b'x'; 5000]);
        match decoder.next_event() {
            Some(MllpEvent::Garbage { bytes, length }) => assert_eq!((bytes.len(), length), (GARBAGE_KEPT, 5000)),
            other => panic!("{other:?}"),
        }
    }
}
