//! The cost of the engine's hot path: parse an ADT^A01, read a few fields, build and write its
//! ACK, and the value tree. Run in release mode:
//! `cargo test -p medbus-adapters --release --test hl7_speed -- --ignored --nocapture`

use medbus_adapters::hl7::{build_ack, Ack, AckCode, AckMode, Message, Path};
use std::time::Instant;

const ADT_A01: &str = "MSH|^~\\&|HIS|HOSP|EMPI|PLATFORM|20240131120000+0800||ADT^A01^ADT_A01|MSG00001|P|2.5|||AL|NE|CHN|UNICODE UTF-8\r\
EVN|A01|20240131120000|||1234^王^医生\r\
PID|1||P000123^^^HIS^MR~350203199001011234^^^CHN^ID||张^三^^^^^L||19900101|M|||思明区湖滨南路55号^^厦门市^福建省^361000^CHN^H||^PRN^PH^^^^13800000000|||M||V0001\r\
NK1|1|张^父|FTH|思明区湖滨南路55号^^厦门市^福建省^361000^CHN|^PRN^PH^^^^13900000000\r\
PV1|1|I|内科^301^2^^^N||||1234^王^医生|||MED||||1|||1234^王^医生|IP|V0001|||||||||||||||||||||||||20240131115500\r\
PV2|||^胸痛待查\r\
AL1|1|DA|^青霉素|SV|皮疹\r\
DG1|1||I20.000^不稳定型心绞痛^ICD10||20240131|A\r";

#[test]
#[ignore = "a measurement: run it in release mode"]
fn parse_and_ack_an_adt_a01() {
    let id = Path::parse("PID-3[1].1").unwrap();
    let name = Path::parse("PID-5.1").unwrap();
    let rounds = 200_000;
    let mut bytes_out = 0;
    let started = Instant::now();
    for n in 0..rounds {
        let message = Message::parse(ADT_A01.as_bytes()).unwrap();
        let _mode = AckMode::of(&message);
        bytes_out += message.get(&id).map_or(0, |v| v.len()) + message.get(&name).map_or(0, |v| v.len());
        let ack = Ack {
            code: AckCode::AA,
            control_id: format!("ACK{n}"),
            timestamp: "20240131120001+0800".to_string(),
            text: None,
            errors: Vec::new(),
        };
        bytes_out += build_ack(&message, &ack).unwrap().to_bytes().unwrap().len();
    }
    let each = started.elapsed() / rounds;
    println!(
        "parse + 2 reads + ACK built and written: {each:?} per ADT^A01 ({} bytes)",
        ADT_A01.len()
    );
    assert!(bytes_out > 0);
}

/// The value tree the engine gives routes: built once per message, dropped after.
#[test]
#[ignore = "a measurement: run it in release mode"]
fn the_value_tree_of_an_adt_a01() {
    let message = Message::parse(ADT_A01.as_bytes()).unwrap();
    let rounds = 100_000;
    let mut nodes = 0;
    let started = Instant::now();
    for _ in 0..rounds {
        let value = message.to_value();
        nodes += value["segments"].as_array().map_or(0, Vec::len);
    }
    let each = started.elapsed() / rounds;
    println!("to_value: {each:?} per ADT^A01 ({} bytes)", ADT_A01.len());
    assert_eq!(nodes, 8 * rounds as usize);
}
