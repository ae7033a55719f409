//! MLLP framing: however the bytes are chunked, the decoder finds the same frames.

use medbus_adapters::mllp::{encode_frame, FrameDecoder, MllpEvent};

mod support;
use support::Rng;

/// Feeds `stream` in the given chunk sizes and collects the events, merging adjacent garbage
/// (how garbage is split into events depends on the chunking; what it holds does not).
fn decode(stream: &[u8], chunks: &mut dyn FnMut() -> usize, max_frame: usize) -> Vec<MllpEvent> {
    let mut decoder = FrameDecoder::new(max_frame);
    let mut events = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = chunks().clamp(1, rest.len());
        decoder.push(&rest[..n]);
        rest = &rest[n..];
        events.extend(std::iter::from_fn(|| decoder.next_event()));
    }
    events.extend(decoder.finish());
    let mut merged: Vec<MllpEvent> = Vec::new();
    for event in events {
        match (merged.last_mut(), event) {
            (
                Some(MllpEvent::Garbage { bytes, length }),
                MllpEvent::Garbage {
                    bytes: more,
                    length: more_length,
                },
            ) => {
                bytes.extend(more);
                *length += more_length;
            }
            (_, event) => merged.push(event),
        }
    }
    merged
}

#[test]
fn any_chunking_gives_the_same_frames() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for case in 0..2_000 {
        let mut stream = Vec::new();
        for _ in 0..rng.below(6) {
            match rng.below(6) {
                0 => stream.extend((0..rng.below(20)).map(|_| rng.next() as u8)),
                1 => stream.extend_from_slice(b"\x0bhalf a frame"),
                2 => stream.extend_from_slice(b"\x0bno carriage return\x1c"),
                _ => {
                    let body: Vec<u8> = (0..rng.below(300)).map(|_| b'A' + (rng.next() % 26) as u8).collect();
                    stream.extend(encode_frame(&body));
                }
            }
        }
        let max = 64 + rng.below(256);
        let whole = decode(&stream, &mut || usize::MAX, max);
        let mut seed = Rng(case as u64 + 1);
        let ones = decode(&stream, &mut || 1, max);
        let random = decode(&stream, &mut || 1 + seed.below(70), max);
        assert_eq!(ones, whole, "case {case}: one byte at a time");
        assert_eq!(random, whole, "case {case}: random chunks");
    }
}

#[test]
fn frames_are_found_in_64k_chunks_without_rescanning() {
    let message = b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\r".repeat(20_000);
    let mut stream = encode_frame(&message);
    stream.extend(encode_frame(b"MSH|second"));
    let started = std::time::Instant::now();
    let events = decode(&stream, &mut || 1, usize::MAX);
    let one_byte = started.elapsed();
    assert_eq!(
        events,
        [
            MllpEvent::Frame(message.clone()),
            MllpEvent::Frame(b"MSH|second".to_vec())
        ]
    );
    let events = decode(&stream, &mut || 65_536, usize::MAX);
    assert_eq!(events.len(), 2);
    // ~900 KB one byte at a time: linear work takes milliseconds; a rescan per byte would take minutes.
    assert!(one_byte.as_secs() < 20, "{one_byte:?}");
}
