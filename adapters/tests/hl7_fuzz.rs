//! Random and mutated input: the HL7 reader never panics, and whatever it accepts is written
//! back to the same bytes and the same structure, through ER7 and through the value tree.

use medbus_adapters::hl7::{value_path, Batch, Charset, Message, ParseOptions, Path};

mod support;
use support::Rng;

/// Pieces that make random bytes look like HL7 often enough to get past MSH.
const PIECES: &[&[u8]] = &[
    b"MSH|^~\\&|",
    b"MSH|^~\\&#|",
    b"|",
    b"^",
    b"~",
    b"&",
    b"\\",
    b"#",
    b"\r",
    b"\n",
    b"\r\n",
    b"PID|",
    b"OBX|",
    b"ZPD|",
    b"BHS|^~\\&|",
    b"BTS|1",
    b"FHS|^~\\&",
    b"\\F\\",
    b"\\X0D\\",
    b"\\XE4B8AD\\",
    b"\\.br\\",
    b"\\H\\",
    b"\\Q",
    b"\"\"",
    b"||||||||||||||||",
    b"UNICODE UTF-8",
    b"GB18030",
    b"GBK",
    b"ASCII",
    b"8859/1",
    "张三".as_bytes(),
    b"\xD5\xC5",
    b"\xFF",
    b"\x81\x30",
    b"\0",
    b"x",
    b"1",
];

const PATHS: &[&str] = &[
    "PID-5",
    "PID-5.1",
    "PID-3[2].1",
    "OBX[*]-5",
    "MSH-9.2",
    "ZPD-1",
    "PID-3[*].1.2",
    "MSH-2",
    "MSH-1",
    "PID[2]-3[*].2",
];

/// Whatever parses must write back exactly (canonical form), survive the value tree, and
/// read the same after a round trip.
fn check(case: usize, bytes: &[u8], options: &ParseOptions) {
    let _ = Batch::parse(bytes, options);
    let Ok(message) = Message::parse_with(bytes, options) else {
        return;
    };
    let shown = String::from_utf8_lossy(bytes);
    let written = message
        .to_bytes()
        .unwrap_or_else(|e| panic!("case {case}: {shown:?} parsed but could not be written: {e}"));
    let again = Message::parse_with(
        &written,
        &ParseOptions {
            charset: Some(message.charset()),
            ..options.clone()
        },
    )
    .unwrap_or_else(|e| panic!("case {case}: {shown:?} was written as {written:?}, which fails: {e}"));
    assert_eq!(again.to_bytes().unwrap(), written, "case {case}: {shown:?}");
    let value = message.to_value();
    assert_eq!(again.to_value(), value, "case {case}: {shown:?}");
    let from_value = Message::from_value(
        &value,
        &ParseOptions {
            charset: Some(message.charset()),
            ..options.clone()
        },
    )
    .unwrap_or_else(|e| panic!("case {case}: {shown:?}: the value tree cannot be written: {e}\n{value:#}"));
    assert_eq!(from_value.to_value(), value, "case {case}: {shown:?}");
    for path in PATHS {
        let path = Path::parse(path).unwrap();
        let from_tree: Vec<_> = value_path::places(&value, &path)
            .into_iter()
            .map(|(at, found)| (at, found.cloned()))
            .collect();
        assert_eq!(
            value_path::places_in_message(&message, &path),
            from_tree,
            "case {case}: {shown:?} {path}"
        );
        assert_eq!(
            message.get_all(&path),
            again.get_all(&path),
            "case {case}: {shown:?} {path}"
        );
        // Set, then read back what was set.
        if !path.is_multiple() && path.field > 2 {
            let mut edited = message.clone();
            if edited.set(&path, "a|b^c\\d\r").is_ok() {
                let value = edited.get(&path).map(|v| v.into_owned());
                assert_eq!(value.as_deref(), Some("a|b^c\\d\r"), "case {case}: {shown:?} {path}");
                let bytes = edited.to_bytes();
                if let Ok(bytes) = bytes {
                    let reread = Message::parse_with(
                        &bytes,
                        &ParseOptions {
                            charset: Some(message.charset()),
                            ..options.clone()
                        },
                    );
                    assert!(reread.is_ok(), "case {case}: {shown:?} {path}: {reread:?}");
                }
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let options = ParseOptions::default();
    let mut parsed = 0;
    for case in 0..20_000 {
        let mut bytes = Vec::new();
        if rng.below(2) == 0 {
            bytes.extend_from_slice(b"MSH|^~\\&|");
        }
        for _ in 0..rng.below(24) {
            match rng.below(4) {
                0 => bytes.push(rng.next() as u8),
                _ => bytes.extend_from_slice(rng.pick(PIECES)),
            }
        }
        parsed += usize::from(Message::parse(&bytes).is_ok());
        check(case, &bytes, &options);
    }
    assert!(parsed > 1000, "only {parsed} random messages parsed");
}

#[test]
fn mutated_messages_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hl7");
    let seeds: Vec<Vec<u8>> = [
        "oru-r01-zsegments.hl7",
        "adt-a01-gb18030.hl7",
        "batch-fhs-bhs.hl7",
        "oml-o21-v27-truncation.hl7",
    ]
    .iter()
    .map(|name| std::fs::read(dir.join(name)).unwrap())
    .collect();
    let gbk = ParseOptions {
        default_charset: Charset::GBK,
        ..ParseOptions::default()
    };
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut accepted = 0;
    for case in 0..6_000 {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        rng.mutate(&mut bytes, PIECES);
        accepted += usize::from(Message::parse(&bytes).is_ok());
        let options = if case % 5 == 0 {
            gbk.clone()
        } else {
            ParseOptions::default()
        };
        check(case, &bytes, &options);
    }
    assert!(accepted > 1000, "only {accepted} mutated messages parsed");
}
