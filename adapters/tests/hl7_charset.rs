//! Character sets: MSH-18 chooses, the caller's override wins, and messages are written back in
//! their own character set, byte for byte.

use medbus_adapters::hl7::{Charset, Message, ParseOptions, Path};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hl7")
            .join(name),
    )
    .unwrap()
}

fn get(message: &Message, path: &str) -> String {
    message
        .get(&Path::parse(path).unwrap())
        .unwrap_or_default()
        .into_owned()
}

fn with_charset(charset: Option<Charset>, default_charset: Charset) -> ParseOptions {
    ParseOptions {
        charset,
        default_charset,
        ..ParseOptions::default()
    }
}

#[test]
fn gb18030_is_read_by_msh_18_and_written_back_exactly() {
    let bytes = fixture("adt-a01-gb18030.hl7");
    let message = Message::parse(&bytes).unwrap();
    assert_eq!(message.charset(), Charset::GB18030);
    assert_eq!(get(&message, "PID-5.1"), "张");
    assert_eq!(get(&message, "PID-5[1]"), "张^三^^^^^L");
    assert_eq!(get(&message, "PID-11.3"), "厦门市");
    assert_eq!(get(&message, "MSH-4"), "厦门第一医院");
    // A four-byte GB 18030 character, outside GBK.
    assert_eq!(get(&message, "NK1-2.2"), "𠮷");
    assert_eq!(message.to_bytes().unwrap(), bytes);
    // Edited segments are encoded in GB 18030 too; the others stay as they were.
    let mut edited = message.clone();
    edited.set(&Path::parse("PID-5.2").unwrap(), "四").unwrap();
    let written = edited.to_bytes().unwrap();
    let expected_text = message.to_er7().replace("张^三^", "张^四^");
    let (expected, _, _) = encoding_rs::GB18030.encode(&expected_text);
    assert_eq!(written, expected.into_owned());
    let again = Message::parse(&written).unwrap();
    assert_eq!(get(&again, "PID-5.2"), "四");
}

#[test]
fn gbk_with_an_empty_msh_18_needs_the_override_or_a_default() {
    let bytes = fixture("adt-a01-gbk-no-msh18.hl7");
    let error = Message::parse(&bytes).unwrap_err();
    assert!(error.message.contains("not valid UTF-8"), "{error}");
    assert!(error.message.contains("set the charset option"), "{error}");
    assert_eq!(error.position, Some(15), "{error}");

    for options in [
        with_charset(Some(Charset::GBK), Charset::UTF_8),
        with_charset(None, Charset::GBK),
    ] {
        let message = Message::parse_with(&bytes, &options).unwrap();
        assert_eq!(message.charset(), Charset::GBK);
        assert_eq!(get(&message, "PID-5"), "李^四");
        assert_eq!(get(&message, "MSH-4"), "某县医院");
        assert_eq!(message.to_bytes().unwrap(), bytes);
    }
}

#[test]
fn the_override_wins_over_what_msh_18_says() {
    // A sender that declares UTF-8 but sends GBK.
    let text = "MSH|^~\\&|HIS|H|R|F|20240101||ADT^A01|1|P|2.5|||||CHN|UNICODE UTF-8\rPID|1||1||王^五\r";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let error = Message::parse(&gbk).unwrap_err();
    assert!(error.message.contains("MSH-18 says `UNICODE UTF-8`"), "{error}");
    let message = Message::parse_with(&gbk, &with_charset(Some(Charset::GBK), Charset::UTF_8)).unwrap();
    assert_eq!(get(&message, "PID-5.1"), "王");
    assert_eq!(message.to_bytes().unwrap(), gbk.into_owned());
}

#[test]
fn msh_18_spellings_and_unknown_names() {
    for (name, expected) in [
        ("UNICODE UTF-8", Charset::UTF_8),
        ("UTF-8", Charset::UTF_8),
        ("UNICODE", Charset::UTF_8),
        ("GB18030", Charset::GB18030),
        ("GBK", Charset::GBK),
        ("8859/1", Charset::ISO_8859_1),
        ("ASCII", Charset::ASCII),
        ("BIG-5", Charset::BIG5),
        ("GB 18030-2000~UNICODE UTF-8", Charset::GB18030),
    ] {
        let text = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||||CHN|{name}\r");
        let message = Message::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(message.charset(), expected, "{name}");
    }
    let error = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||||CHN|EBCDIC-X\r").unwrap_err();
    assert!(
        error.message.contains("unknown character set `EBCDIC-X` in MSH-18"),
        "{error}"
    );
    assert_eq!(error.position, Some(51));
}

#[test]
fn latin_1_and_hex_escapes_in_the_message_charset() {
    let text = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.3|||||DEU|8859/1\rPID|1||1||M\\XFC\\ller^J\u{fc}rgen\r";
    let bytes: Vec<u8> = text.chars().map(|c| c as u8).collect();
    let message = Message::parse(&bytes).unwrap();
    assert_eq!(get(&message, "PID-5.1"), "Müller");
    assert_eq!(get(&message, "PID-5.2"), "Jürgen");
    assert_eq!(message.to_bytes().unwrap(), bytes);
}

#[test]
fn characters_the_charset_cannot_hold_are_an_error_not_a_question_mark() {
    let bytes = fixture("adt-a01-gbk-no-msh18.hl7");
    let mut message = Message::parse_with(&bytes, &with_charset(Some(Charset::GBK), Charset::UTF_8)).unwrap();
    message.set(&Path::parse("PID-5.2").unwrap(), "𠮷").unwrap();
    let error = message.to_bytes().unwrap_err();
    assert!(
        error.message.contains("`𠮷` (U+20BB7) cannot be written in GBK"),
        "{error}"
    );
    assert_eq!(error.segment, Some(3));
    let mut ascii = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||||USA|ASCII\rPID|1\r").unwrap();
    ascii.set(&Path::parse("PID-5").unwrap(), "José").unwrap();
    assert!(ascii
        .to_bytes()
        .unwrap_err()
        .message
        .contains("cannot be written in US-ASCII"));
    // Text given as text (an answer, a rendered payload) is checked the same.
    let options = ParseOptions {
        charset: Some(Charset::ASCII),
        ..ParseOptions::default()
    };
    let text = Message::from_text("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||||José\r", &options).unwrap();
    assert!(text
        .to_bytes()
        .unwrap_err()
        .message
        .contains("cannot be written in US-ASCII"));
}
