//! ACKs for v2.3 and v2.5 originals, every code, every field; ack modes; reading ACKs.

use medbus_adapters::hl7::{
    build_ack, Ack, AckCode, AckCondition, AckError, AckMode, AckReply, Charset, ErrorCode, ErrorLocation, Message,
    Path, Severity,
};

const V23: &str = "MSH|^~\\&|HIS|HOSP|LIS|LAB|20240131120000||ADT^A01|CTRL-23|P|2.3\rPID|1||X\r";
const V25: &str =
    "MSH|^~\\&|HIS|HOSP^1.2.3&x^ISO|LIS|LAB|20240131120000||ADT^A01^ADT_A01|CTRL-25|P^T|2.5^CHN|||AL|NE\rPID|1||X\r";

fn get(message: &Message, at: &str) -> String {
    message.get(&Path::parse(at).unwrap()).unwrap_or_default().into_owned()
}

fn ack(code: AckCode, errors: Vec<AckError>) -> Ack {
    Ack {
        code,
        control_id: "ACK-1".to_string(),
        timestamp: "20240131120001+0800".to_string(),
        text: None,
        errors,
    }
}

fn required_pid_3() -> AckError {
    AckError {
        code: ErrorCode::RequiredFieldMissing,
        severity: Severity::Error,
        location: Some(ErrorLocation::from_path(&Path::parse("PID-3").unwrap())),
        message: "PID-3 is required | patient id".to_string(),
    }
}

#[test]
fn every_code_for_v23_and_v25() {
    for (text, version) in [(V23, "2.3"), (V25, "2.5")] {
        let original = Message::parse(text.as_bytes()).unwrap();
        for code in [
            AckCode::AA,
            AckCode::AE,
            AckCode::AR,
            AckCode::CA,
            AckCode::CE,
            AckCode::CR,
        ] {
            let errors = match code.is_accept() {
                true => vec![],
                false => vec![required_pid_3()],
            };
            let reply = build_ack(&original, &ack(code, errors)).unwrap();
            let at = format!("{version} {code:?}");
            assert_eq!(get(&reply, "MSH-1"), "|", "{at}");
            assert_eq!(get(&reply, "MSH-2"), "^~\\&", "{at}");
            assert_eq!(get(&reply, "MSH-3"), "LIS", "{at}");
            assert_eq!(get(&reply, "MSH-4"), "LAB", "{at}");
            assert_eq!(get(&reply, "MSH-5"), "HIS", "{at}");
            assert_eq!(get(&reply, "MSH-6"), get(&original, "MSH-4"), "{at}");
            assert_eq!(get(&reply, "MSH-7"), "20240131120001+0800", "{at}");
            assert_eq!(get(&reply, "MSH-10"), "ACK-1", "{at}");
            assert_eq!(get(&reply, "MSH-11"), get(&original, "MSH-11"), "{at}");
            assert_eq!(get(&reply, "MSH-12"), get(&original, "MSH-12"), "{at}");
            assert_eq!(get(&reply, "MSH-15"), "", "{at}");
            assert_eq!(get(&reply, "MSA-1"), code.as_str(), "{at}");
            assert_eq!(get(&reply, "MSA-2"), get(&original, "MSH-10"), "{at}");
            match version {
                "2.3" => assert_eq!(get(&reply, "MSH-9"), "ACK^A01", "{at}"),
                _ => assert_eq!(get(&reply, "MSH-9"), "ACK^A01^ACK", "{at}"),
            }
            if code.is_accept() {
                assert_eq!(reply.count("ERR"), 0, "{at}");
                assert_eq!(reply.segment_count(), 2, "{at}");
                continue;
            }
            assert_eq!(get(&reply, "MSA-3"), "PID-3 is required | patient id", "{at}");
            assert_eq!(reply.count("ERR"), 1, "{at}");
            match version {
                "2.3" => {
                    assert_eq!(
                        reply.segment(2).unwrap(),
                        "ERR|PID^1^3^101&Required field missing&HL70357",
                        "{at}"
                    );
                }
                _ => {
                    assert_eq!(get(&reply, "ERR-1"), "", "{at}");
                    assert_eq!(get(&reply, "ERR-2"), "PID^1^3", "{at}");
                    assert_eq!(get(&reply, "ERR-3"), "101^Required field missing^HL70357", "{at}");
                    assert_eq!(get(&reply, "ERR-4"), "E", "{at}");
                    assert_eq!(get(&reply, "ERR-8"), "PID-3 is required | patient id", "{at}");
                    let err = "ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 is required \\F\\ patient id";
                    assert_eq!(reply.segment(2).unwrap(), err, "{at}");
                }
            }
            // The reply reads back as the sender will read it.
            let read = AckReply::read(&Message::parse(&reply.to_bytes().unwrap()).unwrap()).unwrap();
            assert_eq!(read.code, code);
            assert_eq!(read.control_id, get(&original, "MSH-10"));
            let expected_error = match version {
                "2.3" => "Required field missing",
                _ => "PID-3 is required | patient id",
            };
            assert_eq!(read.errors, [expected_error], "{at}");
        }
    }
}

#[test]
fn msh_9_follows_the_version() {
    for (version, expected) in [
        ("2.1", "ACK"),
        ("2.2", "ACK"),
        ("2.3", "ACK^A04"),
        ("2.3.1", "ACK^A04^ACK"),
        ("2.4", "ACK^A04^ACK"),
        ("2.5.1", "ACK^A04^ACK"),
        ("2.6", "ACK^A04^ACK"),
        ("", "ACK^A04^ACK"),
    ] {
        let text = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|9|P|{version}\r");
        let original = Message::parse(text.as_bytes()).unwrap();
        let reply = build_ack(&original, &ack(AckCode::AA, vec![])).unwrap();
        assert_eq!(get(&reply, "MSH-9"), expected, "{version}");
    }
}

#[test]
fn v25_error_locations_severities_and_v27_msa_3() {
    let original = Message::parse(V25.as_bytes()).unwrap();
    let errors = vec![
        AckError {
            code: ErrorCode::DataType,
            severity: Severity::Warning,
            location: Some(ErrorLocation::from_path(&Path::parse("OBX[2]-5[1].2.1").unwrap())),
            message: "bad".to_string(),
        },
        AckError {
            code: ErrorCode::ApplicationInternalError,
            severity: Severity::Information,
            location: None,
            message: "journal busy".to_string(),
        },
    ];
    let reply = build_ack(
        &original,
        &Ack {
            text: Some("see ERR".into()),
            ..ack(AckCode::AE, errors.clone())
        },
    )
    .unwrap();
    assert_eq!(get(&reply, "MSA-3"), "see ERR");
    assert_eq!(get(&reply, "ERR[1]-2"), "OBX^2^5^1^2^1");
    assert_eq!(get(&reply, "ERR[1]-4"), "W");
    assert_eq!(get(&reply, "ERR[2]-2"), "");
    assert_eq!(get(&reply, "ERR[2]-3.1"), "207");
    assert_eq!(get(&reply, "ERR[2]-4"), "I");
    let read = AckReply::read(&reply).unwrap();
    assert_eq!(read.message(), "see ERR; bad; journal busy");

    let v27 = Message::parse(V25.replace("|2.5^CHN|", "|2.7|").as_bytes()).unwrap();
    let reply = build_ack(&v27, &ack(AckCode::AR, errors)).unwrap();
    assert_eq!(reply.get(&Path::parse("MSA-3").unwrap()), None);
    assert_eq!(get(&reply, "ERR-8"), "bad");
}

#[test]
fn the_ack_keeps_delimiters_and_charset() {
    let text = "MSH$@%*!$HIS$医院$LIS$LAB$20240101$$ADT@A01$7$P$2.5$$$$$CHN$GB18030\rPID$1\r";
    let (bytes, _, _) = encoding_rs::GB18030.encode(text);
    let original = Message::parse(&bytes).unwrap();
    let reply = build_ack(&original, &ack(AckCode::AA, vec![])).unwrap();
    assert_eq!(reply.charset(), Charset::GB18030);
    let written = reply.to_bytes().unwrap();
    let expected = "MSH$@%*!$LIS$LAB$HIS$医院$20240131120001+0800$$ACK@A01@ACK$ACK-1$P$2.5$$$$$$GB18030\rMSA$AA$7\r";
    assert_eq!(written, encoding_rs::GB18030.encode(expected).0.into_owned());
}

#[test]
fn ack_modes() {
    let mode = |fields: &str| {
        let text = format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||{fields}\r");
        AckMode::of(&Message::parse(text.as_bytes()).unwrap())
    };
    let original = mode("");
    assert!(!original.is_enhanced());
    assert!(!original.wants_commit_ack(true));
    assert!(original.wants_application_ack(true) && original.wants_application_ack(false));

    let enhanced = mode("AL|ER");
    assert_eq!(
        (enhanced.accept, enhanced.application),
        (Some(AckCondition::Always), Some(AckCondition::ErrorOnly))
    );
    assert!(enhanced.is_enhanced());
    assert!(enhanced.wants_commit_ack(true));
    assert!(!enhanced.wants_application_ack(true) && enhanced.wants_application_ack(false));

    let never = mode("NE|SU");
    assert!(!never.wants_commit_ack(true) && !never.wants_commit_ack(false));
    assert!(never.wants_application_ack(true) && !never.wants_application_ack(false));

    let only_application = mode("|AL");
    assert!(only_application.is_enhanced());
    assert_eq!(only_application.accept, None);
    assert!(only_application.wants_commit_ack(true));
}

#[test]
fn acks_that_came_back_are_read() {
    let read = |text: &str| AckReply::read(&Message::parse(text.as_bytes()).unwrap());
    let ok = read("MSH|^~\\&|B|B|A|A|20240101||ACK^A01^ACK|9|P|2.5\rMSA|AA|CTRL-1\r").unwrap();
    assert_eq!(
        (ok.code, ok.control_id.as_str(), ok.text.as_deref()),
        (AckCode::AA, "CTRL-1", None)
    );
    assert!(ok.code.is_accept() && ok.errors.is_empty());
    let old = read(
        "MSH|^~\\&|B|B|A|A|20240101||ACK|9|P|2.2\rMSA|AE|CTRL-2|Bad \\T\\ worse\rERR|PID^1^3^101&Missing&HL70357\r",
    )
    .unwrap();
    assert_eq!(old.text.as_deref(), Some("Bad & worse"));
    assert_eq!(old.errors, ["Missing"]);
    let commit = read(
        "MSH|^~\\&|B|B|A|A|20240101||ACK|9|P|2.5\rMSA|CR|CTRL-3\rERR||PID^1^3|101^Required field missing^HL70357|E\r",
    )
    .unwrap();
    assert_eq!(commit.code, AckCode::CR);
    assert_eq!(commit.errors, ["Required field missing"]);
    assert!(read("MSH|^~\\&|B|B|A|A|20240101||ACK|9|P|2.5\rMSA|XX|1\r")
        .unwrap_err()
        .message
        .contains("MSA-1"));
    assert!(read("MSH|^~\\&|B|B|A|A|20240101||ACK|9|P|2.5\r")
        .unwrap_err()
        .message
        .contains("no MSA segment"));
}
