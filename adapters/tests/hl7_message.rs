//! Reading, editing and writing messages: paths, escapes, the value tree, batches, limits.

use medbus_adapters::hl7::{Batch, Message, ParseOptions, Path, NULL};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hl7")
            .join(name),
    )
    .unwrap()
}

fn path(text: &str) -> Path {
    Path::parse(text).unwrap()
}

fn get(message: &Message, at: &str) -> Option<String> {
    message.get(&path(at)).map(|v| v.into_owned())
}

#[test]
fn an_oru_with_z_segments_reads_by_path() {
    let message = Message::parse(&fixture("oru-r01-zsegments.hl7")).unwrap();
    assert_eq!(message.count("OBX"), 4);
    assert_eq!(message.count("OBR"), 2);
    assert_eq!(get(&message, "OBX[2]-5").as_deref(), Some("118"));
    assert_eq!(get(&message, "OBX[4]-3.2").as_deref(), Some("葡萄糖"));
    let values = message.get_all(&path("OBX[*]-5"));
    assert_eq!(values[..2], ["6.5", "118"]);
    // Escapes: \F\ and \X0D\\X0A\ decoded, \.br\ kept.
    assert_eq!(values[2], "轻度贫血\\.br\\建议复查 | 随访\r\n完");
    assert_eq!(get(&message, "ZOB-2.1").as_deref(), Some("仪器&型号"));
    assert_eq!(get(&message, "ZOB-2").as_deref(), Some("仪器\\T\\型号^XN-1000"));
    // HL7 null and empty stay distinct; a missing part is None.
    assert_eq!(get(&message, "NTE-3").as_deref(), Some(NULL));
    assert_eq!(get(&message, "NTE-2").as_deref(), Some(""));
    assert_eq!(get(&message, "NTE-4"), None);
    assert_eq!(get(&message, "ZLB-1[3]").as_deref(), Some(""));
    assert_eq!(message.get_all(&path("ZLB-1[*]")), ["A", "B", ""]);
    assert_eq!(get(&message, "MSH-1").as_deref(), Some("|"));
    assert_eq!(get(&message, "MSH-2").as_deref(), Some("^~\\&"));
    assert_eq!(get(&message, "MSH-9.3").as_deref(), Some("ORU_R01"));
    assert_eq!(get(&message, "ZXX-1"), None);
}

#[test]
fn set_escapes_and_creates_and_clear_empties() {
    let mut message = Message::parse(&fixture("oru-r01-zsegments.hl7")).unwrap();
    message.set(&path("PID-5.2"), "小|红^&~\\").unwrap();
    assert_eq!(
        message.segment(1).unwrap(),
        "PID|1||P000123^^^HIS^MR||王^小\\F\\红\\S\\\\T\\\\R\\\\E\\||20100505|M"
    );
    assert_eq!(get(&message, "PID-5.2").as_deref(), Some("小|红^&~\\"));
    message.set(&path("PID-13[2].4"), "a@b.cn").unwrap();
    assert_eq!(get(&message, "PID-13").as_deref(), Some("~^^^a@b.cn"));
    // A missing segment is created after the last of its name, or at the end.
    message.set(&path("OBX[5]-5"), "new").unwrap();
    assert_eq!(message.segment_names().collect::<Vec<_>>()[10], "OBX");
    assert_eq!(message.segment(10), Some("OBX|||||new"));
    message.set(&path("ZPI-2"), NULL).unwrap();
    assert_eq!(message.segment(message.segment_count() - 1), Some("ZPI||\"\""));
    assert!(message.set(&path("OBX[*]-5"), "x").is_err());
    assert!(message.set(&path("MSH-2"), "x").is_err());
    // The new OBX has no OBX-8: clearing creates nothing.
    assert_eq!(message.clear(&path("OBX[*]-8")).unwrap(), 4);
    assert_eq!(message.get_all(&path("OBX[*]-8")), ["", "", "", ""]);
    // set_er7 puts structure in; it must fit the level.
    message.set_er7(&path("PV1-3"), "W^1^2").unwrap();
    assert_eq!(get(&message, "PV1-3.2").as_deref(), Some("1"));
    assert!(message.set_er7(&path("PV1-3.1"), "a^b").is_err());
    // The edited message reads back the same.
    let again = Message::parse(&message.to_bytes().unwrap()).unwrap();
    assert_eq!(again.to_value(), message.to_value());
}

#[test]
fn v27_truncation_character_is_kept_and_escaped() {
    let bytes = fixture("oml-o21-v27-truncation.hl7");
    let mut message = Message::parse(&bytes).unwrap();
    assert_eq!(message.delimiters().truncation(), Some('#'));
    assert_eq!(get(&message, "MSH-2").as_deref(), Some("^~\\&#"));
    assert_eq!(get(&message, "OBR-4.2").as_deref(), Some("Test with # and \\"));
    assert_eq!(message.to_bytes().unwrap(), bytes);
    message.set(&path("PID-5.1"), "DOE#").unwrap();
    assert_eq!(get(&message, "PID-5").as_deref(), Some("DOE\\P\\^JOHN"));
}

#[test]
fn line_feeds_and_crlf_are_read_and_cr_is_written() {
    let lf = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\nPID|1||X\n";
    let crlf = b"\r\nMSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r\nPID|1||X\r\n\r\n";
    for bytes in [&lf[..], &crlf[..]] {
        let message = Message::parse(bytes).unwrap();
        assert_eq!(
            message.to_bytes().unwrap(),
            b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||X\r"
        );
    }
    // Without a final terminator, none is added.
    let bare = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||X";
    assert_eq!(Message::parse(bare).unwrap().to_bytes().unwrap(), bare);
}

#[test]
fn unusual_escapes_and_trailing_delimiters_round_trip_exactly() {
    let text = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\r\
                OBX|1|FT|X||a\\X0d\\b\\.br\\c\\x41\\\\Q\\ \\X41\\ end\\|||^^|~~||\r\
                ZZZ|\\Zabc\\|\\H\\bold\\N\\\r";
    let message = Message::parse(text.as_bytes()).unwrap();
    assert_eq!(message.to_bytes().unwrap(), text.as_bytes());
    assert_eq!(
        get(&message, "OBX-5").as_deref(),
        Some("a\rb\\.br\\c\\x41\\\\Q\\ A end\\")
    );
    let value = message.to_value();
    // The OBX would be written differently from its decoded fields, so its text comes along.
    assert_eq!(value["segments"][1]["er7"], json!(message.segment(1).unwrap()));
    assert!(value["segments"][2].get("er7").is_none());
    let again = Message::from_value(&value, &ParseOptions::default()).unwrap();
    assert_eq!(again.to_bytes().unwrap(), text.as_bytes());
    // Once a field changes, the segment is written from its fields.
    let mut changed = value.clone();
    changed["segments"][1]["1"] = json!("2");
    let again = Message::from_value(&changed, &ParseOptions::default()).unwrap();
    assert_eq!(
        again.segment(1).unwrap(),
        "OBX|2|FT|X||a\\X0D\\b\\.br\\c\\E\\x41\\E\\\\E\\Q\\E\\ A end\\E\\|||^^|~~||"
    );
}

#[test]
fn subcomponents_without_components_keep_their_text() {
    // `a&b` alone reads as components, so the writer would give `a^b`: the segment keeps its
    // text. `x^a&b` and `y^z~a&b^c` read back as they are.
    let text = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\r\
                PID|1||x^a&b~a&b\r\
                PV1|1||y^z~a&b^c|q&r^s\r";
    let message = Message::parse(text.as_bytes()).unwrap();
    let value = message.to_value();
    assert_eq!(value["segments"][1]["er7"], json!(message.segment(1).unwrap()));
    assert!(value["segments"][2].get("er7").is_none());
    let again = Message::from_value(&value, &ParseOptions::default()).unwrap();
    assert_eq!(again.to_bytes().unwrap(), text.as_bytes());
}

#[test]
fn the_value_tree_has_the_documented_shape() {
    let message = Message::parse(
        "MSH|^~\\&|HIS|H|LIS|L|20240101||ADT^A01|7|P|2.5\rPID|1||123^^^H^MR~456^^^B||DOE^JOHN&J||\"\"\r".as_bytes(),
    )
    .unwrap();
    let expected = json!({"segments": [
        {"segment": "MSH", "1": "|", "2": "^~\\&", "3": "HIS", "4": "H", "5": "LIS", "6": "L", "7": "20240101",
         "8": "", "9": {"1": "ADT", "2": "A01"}, "10": "7", "11": "P", "12": "2.5"},
        {"segment": "PID", "1": "1", "2": "",
         "3": [{"1": "123", "2": "", "3": "", "4": "H", "5": "MR"}, {"1": "456", "2": "", "3": "", "4": "B"}],
         "4": "", "5": {"1": "DOE", "2": {"1": "JOHN", "2": "J"}}, "6": "", "7": "\"\""}
    ]});
    assert_eq!(message.to_value(), expected);
    let again = Message::from_value(&expected, &ParseOptions::default()).unwrap();
    assert_eq!(again.to_er7(), message.to_er7());
}

#[test]
fn values_written_by_hand_are_accepted() {
    let value = json!({"segments": [
        {"segment": "MSH", "1": "|", "2": "^~\\&", "3": "MEDBUS", "9": {"1": "ADT", "2": "A08"}, "10": 42, "12": "2.5"},
        {"segment": "PID", "3": [{"1": "1"}, {"1": "2", "4": "H"}], "5": {"1": "O'Brien|x", "2": null}, "8": true},
        {"segment": "ZPD", "2": {"3": {"2": "deep"}}}
    ]});
    let message = Message::from_value(&value, &ParseOptions::default()).unwrap();
    assert_eq!(
        message.to_er7(),
        "MSH|^~\\&|MEDBUS||||||ADT^A08|42||2.5\rPID|||1~2^^^H||O'Brien\\F\\x^|||true\rZPD||^^&deep\r"
    );
    for (bad, expected) in [
        (json!({"segments": []}), "`segments` is empty"),
        (json!([]), "expected an object with one key, `segments`"),
        (
            json!({"segments": [{"segment": "PID"}]}),
            "`segments[0]` must be the MSH segment",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "pid"}]}),
            "`segments[1].segment` is \"pid\"",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "PID", "x": "1"}]}),
            "the key \"x\" is not a number",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "PID", "0": "1"}]}),
            "the key \"0\"",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "PID", "1": [[1]]}]}),
            "an array inside",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "PID", "1": {"1": {"1": {"1": "x"}}}}]}),
            "nested below a subcomponent",
        ),
        (
            json!({"segments": [{"segment": "MSH", "1": "|", "2": "^~\\&"}, {"segment": "MSH", "1": "|", "2": "^~\\&"}]}),
            "a second header segment",
        ),
    ] {
        let error = Message::from_value(&bad, &ParseOptions::default()).unwrap_err();
        assert!(error.message.contains(expected), "{bad}: {error}");
    }
}

#[test]
fn our_batch_splits_with_counts_checked() {
    let bytes = fixture("batch-fhs-bhs.hl7");
    let batch = Batch::parse(&bytes, &ParseOptions::default()).unwrap();
    assert_eq!(batch.batches.len(), 2);
    assert_eq!(batch.messages().count(), 3);
    let names: Vec<_> = batch.messages().map(|m| get(m, "PID-5").unwrap()).collect();
    assert_eq!(names, ["测试^1号", "测试^2号", "测试^3号"]);
    assert_eq!(
        get(batch.file_header.as_ref().unwrap(), "FHS-9").as_deref(),
        Some("file-1.hl7")
    );
    assert_eq!(
        get(batch.batches[1].header.as_ref().unwrap(), "BHS-11").as_deref(),
        Some("batch-2")
    );
    assert_eq!(
        get(batch.batches[0].trailer.as_ref().unwrap(), "BTS-1").as_deref(),
        Some("2")
    );

    let text = String::from_utf8(bytes).unwrap();
    let wrong = text.replace("BTS|2", "BTS|3");
    let error = Batch::parse(wrong.as_bytes(), &ParseOptions::default()).unwrap_err();
    assert!(
        error
            .message
            .contains("BTS-1 says \"3\" but the batch holds 2 messages"),
        "{error}"
    );
    assert_eq!(error.segment, Some(9));
    let lenient = ParseOptions {
        check_batch_counts: false,
        ..ParseOptions::default()
    };
    assert!(Batch::parse(wrong.as_bytes(), &lenient).is_ok());
    let error = Batch::parse(text.replace("FTS|2", "FTS|1").as_bytes(), &ParseOptions::default()).unwrap_err();
    assert!(
        error.message.contains("FTS-1 says \"1\" but the batch holds 2 batches"),
        "{error}"
    );
    // A message with a broken segment says which segment of the file.
    let error = Batch::parse(text.replace("EVN|A08", "evn|A08").as_bytes(), &ParseOptions::default()).unwrap_err();
    assert_eq!(error.segment, Some(4), "{error}");
}

#[test]
fn bad_messages_say_what_and_where() {
    for (bytes, expected, position) in [
        (
            &b""[..],
            "the message starts with ``; expected the MSH segment first",
            Some(0),
        ),
        (b"PID|1", "starts with `PID`", Some(0)),
        (
            b"BHS|^~\\&\rMSH|^~\\&",
            "this is a batch: read it with Batch::parse",
            Some(0),
        ),
        (
            b"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B",
            "two messages back to back are a batch",
            Some(17),
        ),
        (b"MSH|^~\\&|A\rPI|1", "a segment starts with `PI|1`", Some(11)),
        (b"MSH|^~\\&|A\rPIDX", "a segment starts with `PIDX`", Some(11)),
        (b"MSH|^~\\&|A\rPID|\xff", "not valid UTF-8 (byte 0xFF)", Some(15)),
        (
            b"\r\nMSH|\r",
            "the encoding characters (MSH-2) are 0 characters long",
            Some(6),
        ),
    ] {
        let error = Message::parse(bytes).unwrap_err();
        assert!(
            error.message.contains(expected),
            "{:?}: {error}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(
            error.position,
            position,
            "{:?}: {error}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn limits_are_enforced() {
    let small = ParseOptions {
        max_bytes: 20,
        max_segments: 2,
        ..ParseOptions::default()
    };
    let error = Message::parse_with(b"MSH|^~\\&|A|B|C|D|20240101", &small).unwrap_err();
    assert!(error.message.contains("at most 20 are accepted"), "{error}");
    let error = Message::parse_with(b"MSH|^~\\&\rA01\rA02", &small).unwrap_err();
    assert!(
        error.message.contains("the message has 3 segments; at most 2"),
        "{error}"
    );
    assert_eq!(error.position, Some(13));
}
