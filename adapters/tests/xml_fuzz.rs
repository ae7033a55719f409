//! Random and mutated input: the XML reader never panics, and whatever it accepts the
//! writer writes back to the same value.

use medbus_adapters::xml::{self, WriteOptions};
use std::path::Path;

mod support;
use support::Rng;

/// Pieces that make random bytes look like XML often enough to get past the first tag.
const PIECES: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"<a>",
    b"</a>",
    b"<b x='1'>",
    b"</b>",
    b"<s:c/>",
    b"=",
    b"\"",
    b"'",
    b"&",
    b"&amp;",
    b"&lt;",
    b"&#",
    b"&#x4E2D;",
    b";",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b"<?xml version=\"1.0\"?>",
    b"<!DOCTYPE",
    b" ",
    b"\n",
    b"\r",
    b"\t",
    b"x",
    "中文".as_bytes(),
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\x81",
    b"\0",
    b"\x01",
];

/// Whatever parses must survive writing, compact and indented, and parse to the same value.
fn check(case: usize, bytes: &[u8]) {
    let Ok(value) = xml::parse_bytes(bytes) else {
        return;
    };
    let shown = String::from_utf8_lossy(bytes);
    for options in [
        WriteOptions::default(),
        WriteOptions {
            indent: 1,
            ..WriteOptions::default()
        },
    ] {
        let text = xml::write_with(&value, &options)
            .unwrap_or_else(|e| panic!("case {case}: {shown:?} parsed but could not be written: {e}"));
        let again = xml::parse(&text)
            .unwrap_or_else(|e| panic!("case {case}: {shown:?} was written as {text:?}, which fails: {e}"));
        assert_eq!(again, value, "case {case}: {shown:?} was written as {text:?}");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..20_000 {
        let mut bytes = Vec::new();
        for _ in 0..rng.below(24) {
            match rng.below(4) {
                0 => bytes.push(rng.next() as u8),
                _ => bytes.extend_from_slice(rng.pick(PIECES)),
            }
        }
        check(case, &bytes);
    }
}

#[test]
fn mutated_documents_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xml");
    let seeds: Vec<Vec<u8>> = ["soap-push-apply-record.xml", "messy.xml", "his-record-gbk.xml"]
        .iter()
        .map(|name| std::fs::read(dir.join(name)).unwrap())
        .collect();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut accepted = 0;
    for case in 0..6_000 {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        rng.mutate(&mut bytes, PIECES);
        accepted += usize::from(xml::parse_bytes(&bytes).is_ok());
        check(case, &bytes);
    }
    // Some mutations keep a document well-formed; the round trip must have been exercised.
    assert!(accepted > 500, "only {accepted} mutated documents parsed");
}
