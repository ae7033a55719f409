//! Sample messages from the test data of public HL7 libraries nobody here wrote (fetched by
//! tests/hl7/fetch-samples.sh, never committed): each is read, written back byte for byte,
//! converted to the value tree and back, and read by path.

use medbus_adapters::hl7::{value_path, Batch, Message, ParseOptions, Path};
use std::path::PathBuf;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hl7-public")
}

/// Every sample file, as (origin, bytes), origin being `package@version/path[#n]`.
fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = samples_dir();
    assert!(
        dir.join(".stamp").is_file(),
        "the public HL7 samples are missing from {}: run tests/hl7/fetch-samples.sh first",
        dir.display()
    );
    let mut found = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|name| name != ".stamp") {
                let origin = path.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                found.push((origin, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    assert!(found.len() > 100, "only {} samples in {}", found.len(), dir.display());
    found
}

/// Samples that are not valid messages, with the error we give. Most are invalid on purpose
/// (the library's own tests expect an error); the others were mangled in the package.
const INVALID: &[(&str, &str)] = &[
    // python-hl7's bad batches and files: its tests expect these errors too.
    (
        "hl7@0.4.5/tests/samples.py#L104",
        "a `EVN` segment outside any message; expected MSH before it",
    ),
    (
        "hl7@0.4.5/tests/samples.py#L117",
        "a BHS (batch header) while the batch opened at segment 1 has no BTS yet",
    ),
    ("hl7@0.4.5/tests/samples.py#L259", "a `EVN` segment outside any message"),
    (
        "hl7@0.4.5/tests/samples.py#L274",
        "a BHS (batch header) while the batch opened at segment 2 has no BTS yet",
    ),
    (
        "hl7@0.4.5/tests/samples.py#L291",
        "FHS (file header) must be the first segment",
    ),
    ("hl7@0.4.5/tests/samples.py#L308", "a `EVN` segment outside any message"),
    // hl7apy's tests of bad encoding characters.
    (
        "hl7apy@1.3.5/tests/test_parser.py#L215",
        "the delimiter `&` is declared twice",
    ),
    (
        "hl7apy@1.3.5/tests/test_parser.py#L218",
        "the encoding characters (MSH-2) are 6 characters long",
    ),
    // hl7types' test of a truncated message (`MSH|`).
    (
        "hl7types@0.9.5/tests/codecs/test_pipe_parser.py#L40",
        "the encoding characters (MSH-2) are 0 characters long",
    ),
    // hl7types' Z-segment with a four-letter name, which HL7 does not allow.
    (
        "hl7types@0.9.5/tests/codecs/test_er7_hybrid.py#L68",
        "a segment starts with `ZWCC|WPA`",
    ),
    (
        "hl7types@0.9.5/tests/test_registry.py#L20",
        "a segment starts with `ZWCC|WPA`",
    ),
    // Files whose backslash became a space, or whose long lines were wrapped.
    (
        "hl7-standard@1.0.4/examples/data/input.hl7",
        "encoding character 3 (MSH-2) is byte 0x20",
    ),
    (
        "hl7@1.1.1/test/fixtures/sample5.txt",
        "a segment starts with `CULTURE^`",
    ),
    (
        "hl7@1.1.1/test/fixtures/sample6.txt",
        "a segment starts with ` test|Se`",
    ),
];

/// What writing a message gives: segments as read, each ended by CR (input may use LF or CRLF),
/// blank lines and leading line breaks dropped, the final terminator kept if there was one.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = lines.join(&b'\r');
    if bytes.ends_with(b"\r") || bytes.ends_with(b"\n") {
        out.push(b'\r');
    }
    out
}

fn is_batch(bytes: &[u8]) -> bool {
    let lines = || bytes.split(|&b| b == b'\r' || b == b'\n');
    let batch_segment = |l: &[u8]| {
        [&b"FHS"[..], b"BHS", b"BTS", b"FTS"]
            .iter()
            .any(|name| l.starts_with(name))
    };
    lines().filter(|l| l.starts_with(b"MSH")).count() > 1 || lines().any(batch_segment)
}

fn check_message(message: &Message, expected: &[u8]) -> Result<(), String> {
    let written = message.to_bytes().map_err(|e| format!("cannot be written: {e}"))?;
    if written != expected {
        return Err(format!(
            "not written back as read:\n{:?}\n{:?}",
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(expected)
        ));
    }
    let value = message.to_value();
    let again = Message::from_value(&value, &ParseOptions::default())
        .map_err(|e| format!("the value tree cannot be written: {e}\n{value:#}"))?;
    if again.to_bytes().unwrap() != canonical_terminated(expected) || again.to_value() != value {
        return Err(format!("value tree round trip gives {:?}", again.to_er7()));
    }
    let encoding = message.get(&Path::parse("MSH-2").unwrap()).unwrap_or_default();
    if encoding != message.delimiters().encoding_characters() {
        return Err(format!("MSH-2 reads {encoding:?}"));
    }
    // Every segment's field 1 reads as the value tree holds it.
    let segments = value["segments"].as_array().unwrap();
    for (index, name) in message.segment_names().enumerate() {
        let occurrence = message.segment_names().take(index + 1).filter(|n| *n == name).count();
        let path = Path::parse(&format!("{name}[{occurrence}]-3")).unwrap();
        let read = message.get(&path);
        let held = &segments[index]["3"];
        let agrees = match (&read, held) {
            (None, serde_json::Value::Null) => true,
            (Some(text), serde_json::Value::String(held)) => text == held,
            (Some(_), _) => true, // a field with parts reads as ER7
            (None, _) => false,
        };
        if !agrees {
            return Err(format!("{path} reads {read:?}, the value tree holds {held}"));
        }
    }
    reads_by_path_as_its_tree(message, &value)
}

/// Every part of every segment, and a part past each end, reads the same from the message as
/// from its value tree (`value_path::places_in_message` against `value_path::places`).
fn reads_by_path_as_its_tree(message: &Message, value: &serde_json::Value) -> Result<(), String> {
    let count = |text: &str, separator: Option<char>| separator.map_or(0, |c| text.matches(c).count());
    let d = message.delimiters();
    for (index, segment) in message.segments().enumerate() {
        let name = &segment[..3];
        let occurrence = message.segment_names().take(index + 1).filter(|n| *n == name).count();
        let components = count(segment, d.component()).min(12) + 2;
        let repetitions = count(segment, d.repetition()).min(3) + 2;
        for field in 1..=count(segment, Some(d.field())) + 1 {
            let mut paths = vec![format!("{name}[{occurrence}]-{field}"), format!("{name}[*]-{field}[*]")];
            for repetition in 1..=repetitions {
                paths.push(format!("{name}[{occurrence}]-{field}[{repetition}]"));
            }
            for component in 1..=components {
                paths.push(format!("{name}[{occurrence}]-{field}.{component}"));
                paths.push(format!("{name}-{field}[*].{component}.1"));
                paths.push(format!("{name}[{occurrence}]-{field}[2].{component}.2"));
            }
            for path in paths {
                let path = Path::parse(&path).map_err(|e| format!("{path}: {e}"))?;
                let from_tree: Vec<_> = value_path::places(value, &path)
                    .into_iter()
                    .map(|(at, found)| (at, found.cloned()))
                    .collect();
                let from_message = value_path::places_in_message(message, &path);
                if from_message != from_tree {
                    return Err(format!(
                        "{path} reads {from_message:?} from the message, {from_tree:?} from its tree"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A message from the value tree always ends with a terminator.
fn canonical_terminated(expected: &[u8]) -> Vec<u8> {
    let mut bytes = expected.to_vec();
    if !bytes.ends_with(b"\r") {
        bytes.push(b'\r');
    }
    bytes
}

#[test]
fn public_samples_round_trip() {
    let mut messages = 0;
    let mut batches = 0;
    let mut failures = Vec::new();
    for (origin, bytes) in samples() {
        let invalid = INVALID.iter().find(|(o, _)| *o == origin).map(|(_, e)| *e);
        let result = if is_batch(&bytes) {
            Batch::parse(&bytes, &ParseOptions::default()).map(|batch| {
                batches += 1;
                batch.messages().try_for_each(|message| {
                    messages += 1;
                    check_message(message, &canonical(message.to_er7().as_bytes()))
                })
            })
        } else {
            Message::parse(&bytes).map(|message| {
                messages += 1;
                check_message(&message, &canonical(&bytes))
            })
        };
        let result = match result {
            Ok(Err(e)) => {
                failures.push(format!("{origin}: {e}"));
                continue;
            }
            Ok(Ok(())) => Ok(()),
            Err(e) => Err(e),
        };
        match (result, invalid) {
            (Ok(()), None) => {}
            (Err(e), Some(expected)) if e.to_string().contains(expected) => {}
            (Err(e), _) => failures.push(format!("{origin}: {e}")),
            (Ok(()), Some(expected)) => {
                failures.push(format!("{origin}: parsed, but expected an error with {expected:?}"))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} samples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        messages > 140 && batches >= 13,
        "{messages} messages, {batches} batches"
    );
}

fn sample(origin: &str) -> Message {
    let bytes = std::fs::read(samples_dir().join(origin))
        .unwrap_or_else(|e| panic!("{origin}: {e}; run tests/hl7/fetch-samples.sh"));
    Message::parse(&bytes).unwrap_or_else(|e| panic!("{origin}: {e}"))
}

fn get(message: &Message, path: &str) -> Option<String> {
    message.get(&Path::parse(path).unwrap()).map(|v| v.into_owned())
}

#[test]
fn public_samples_read_by_path() {
    // python-hl7's ORU from the HL7 normative edition.
    let oru = sample("hl7@0.4.5/tests/samples.py#L5");
    assert_eq!(get(&oru, "MSH-3").as_deref(), Some("GHH LAB"));
    assert_eq!(get(&oru, "MSH-9.2").as_deref(), Some("R01"));
    assert_eq!(get(&oru, "PID-5.1").as_deref(), Some("EVERYWOMAN"));
    assert_eq!(get(&oru, "PID-5").as_deref(), Some("EVERYWOMAN^EVE^E^^^^L"));
    assert_eq!(get(&oru, "OBX[2]-5.2").as_deref(), Some("182"));
    let all = oru.get_all(&Path::parse("OBX[*]-2").unwrap());
    assert_eq!(all, ["SN", "FN"]);
    assert_eq!(oru.count("OBX"), 2);
    assert_eq!(oru.version().as_deref(), Some("2.4"));

    // Its repetitions, components and subcomponents.
    let rep = sample("hl7@0.4.5/tests/samples.py#L16");
    assert_eq!(get(&rep, "PID-1").as_deref(), Some("Field1"));
    assert_eq!(get(&rep, "PID-3.2.2").as_deref(), Some("Sub-Component2"));
    assert_eq!(get(&rep, "PID-3.2").as_deref(), Some("Sub-Component1&Sub-Component2"));
    assert_eq!(get(&rep, "PID-4[2]").as_deref(), Some("Repeat2"));
    assert_eq!(rep.get_all(&Path::parse("PID-4[*]").unwrap()), ["Repeat1", "Repeat2"]);
    assert_eq!(get(&rep, "PID-4[3]"), None);

    // hl7types' escape samples: \T\ decoded, formatting commands kept.
    let address = sample("hl7types@0.9.5/tests/codecs/test_pipe_parser.py#L100");
    assert_eq!(get(&address, "PID-11.2").as_deref(), Some("MARIO & LUIGI BROS PLACE"));
    let report = sample("hl7types@0.9.5/tests/codecs/test_escape.py#L19");
    let text = get(&report, "OBX-5").unwrap();
    assert!(
        text.starts_with(r"Biochemistry (Whole Blood Sample) - Type Venous\.br\\.br\ Analysis"),
        "{text}"
    );
    assert!(text.ends_with(r"\H\ 117\N\ mmHg (35-45) (37 ^o C)"), "{text}");

    // python-hl7's ADT with HL7 nulls.
    let adt = sample("hl7@0.4.5/tests/samples.py#L321");
    assert_eq!(get(&adt, "PV1-9").as_deref(), Some(medbus_adapters::hl7::NULL));
    assert_eq!(get(&adt, "IN1[2]-4").as_deref(), Some("MEDICAID"));
    assert_eq!(get(&adt, "PID-3[2].4").as_deref(), Some("MSH_EMPI"));
}

#[test]
fn public_batches_split() {
    let read = |origin: &str| {
        let bytes = std::fs::read(samples_dir().join(origin)).unwrap();
        Batch::parse(&bytes, &ParseOptions::default()).unwrap_or_else(|e| panic!("{origin}: {e}"))
    };
    // FHS, two batches of 2 and 1 messages, FTS|2.
    let file = read("hl7@0.4.5/tests/samples.py#L149");
    assert!(file.file_header.is_some() && file.file_trailer.is_some());
    let sizes: Vec<_> = file.batches.iter().map(|b| b.messages.len()).collect();
    assert_eq!(sizes, [2, 1]);
    let header = file.batches[0].header.as_ref().unwrap();
    assert_eq!(get(header, "BHS-11").as_deref(), Some("abchs20070101123401-1"));
    assert_eq!(get(file.file_trailer.as_ref().unwrap(), "FTS-1").as_deref(), Some("2"));
    // Messages back to back, no headers at all.
    let plain = read("hl7@0.4.5/tests/samples.py#L59");
    assert_eq!(plain.messages().count(), 2);
    assert!(plain.batches[0].header.is_none() && plain.file_header.is_none());
    let ids: Vec<_> = plain.messages().map(|m| m.control_id().unwrap().into_owned()).collect();
    assert_eq!(ids, ["12334456778890", "12334456778891"]);
}
