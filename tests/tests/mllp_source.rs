//! The `mllp` source against senders: python-hl7's `mllp_send` (nobody
//! here wrote it; installed by .ci/run from tests/hl7/requirements.txt) for
//! the ordinary exchange, and a raw socket for what a sender tool will not
//! do on purpose (garbage between frames, enhanced mode, GB 18030 bytes, a
//! crash under load).

use medbus_tests::hl7::mllp_send;
use medbus_tests::{free_port, written_files, Medbus, Setup};
use sqlx::{Connection, Row};
use std::collections::HashSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADT_A01: &str =
    "MSH|^~\\&|HIS|XMZSYY|EMPI|PLATFORM|20261122093000||ADT^A01^ADT_A01|MSG00001|P|2.5|||||CHN|UNICODE UTF-8\r\
EVN|A01|20261122093000\r\
PID|1||P0001^^^XMZSYY^PI~350203198001010011^^^&2.16.156.10011.1.3&ISO^PN||张^三||19800101|M\r\
PV1|1|I|0301^0307^12^XMZSYY\r";

/// A route on its own MLLP port that validates and writes each message out as ER7.
fn setup() -> (Setup, u16) {
    let port = free_port();
    let setup = Setup::empty();
    setup.write(
        "routes/adt.yaml",
        &format!(
            "id: t.adt\n\
             source:\n  mllp: {{ listen: 127.0.0.1:{port}, messages: [ADT^A01, ADT^A04], versions: ['2.4', '2.5'] }}\n\
             steps:\n\
             \x20 - validate: {{ required: [PID-3.1, PID-5.1] }}\n\
             \x20 - set: {{ vars.patientId: {{ expr: 'hl7(body, \"PID-3.1\")' }} }}\n\
             \x20 - script: {{ inline: 'hl7_set(body, \"PID-8\", if hl7(body, \"PID-8\") == \"M\" {{ \"1\" }} else {{ \"2\" }})' }}\n\
             destinations:\n\
             \x20 - name: out\n\
             \x20   to: {{ file: {{ dir: out, name: '{{{{ vars.patientId }}}}-{{{{ msg.id }}}}.hl7' }} }}\n"
        ),
    );
    (setup, port)
}

fn lf(message: &str) -> String {
    message.replace('\r', "\n")
}

async fn journal(medbus: &Medbus) -> Vec<(String, String, Option<String>, Option<String>)> {
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", medbus.journal_file().display()))
        .await
        .unwrap();
    sqlx::query(
        "SELECT status, route, json_extract(error, '$.code') AS code, json_extract(source, '$.control_id') AS control \
         FROM messages ORDER BY received_at_us",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .into_iter()
    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_gets_aa_once_the_message_is_journaled_and_it_is_delivered_as_er7() {
    let (setup, port) = setup();
    let medbus = setup.start().await;
    let acks = mllp_send(port, lf(ADT_A01).as_bytes(), &medbus.config_dir);
    assert!(acks.contains("MSA|AA|MSG00001"), "{acks}");
    assert!(
        acks.contains("MSH|^~\\&|EMPI|PLATFORM|HIS|XMZSYY|"),
        "sender and receiver swapped: {acks}"
    );
    assert!(acks.contains("|ACK^A01^ACK|"), "{acks}");
    assert_eq!(
        journal(&medbus).await,
        [("processed".into(), "t.adt".into(), None, Some("MSG00001".into()))]
    );
    let out = medbus.data_dir.join("out");
    let mut written = Vec::new();
    for _ in 0..50 {
        written = written_files(&out);
        if !written.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(written.len(), 1, "one delivery");
    let name = written[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("P0001-"), "{name}");
    let er7 = std::fs::read_to_string(written[0].path()).unwrap();
    assert_eq!(
        er7,
        ADT_A01.replace("||19800101|M\r", "||19800101|1\r"),
        "the message written back byte for byte but for the field the script changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_get_ar_with_err_and_are_journaled_as_rejected() {
    let (setup, port) = setup();
    let medbus = setup.start().await;
    let oru = ADT_A01.replace("ADT^A01^ADT_A01|MSG00001", "ORU^R01^ORU_R01|MSG00002");
    let a08 = ADT_A01.replace("ADT^A01^ADT_A01|MSG00001", "ADT^A08^ADT_A01|MSG00003");
    let old = ADT_A01.replace("|MSG00001|P|2.5|", "|MSG00004|P|2.3|");
    let no_id = ADT_A01
        .replace("|MSG00001|", "|MSG00005|")
        .replace("P0001^^^XMZSYY^PI~350203198001010011^^^&2.16.156.10011.1.3&ISO^PN", "");
    let text = [oru, a08, old, no_id].map(|m| lf(&m)).concat();
    let acks = mllp_send(port, text.as_bytes(), &medbus.config_dir);
    // v2.5 answers in ERR-3 (and ERR-8); v2.3 in ERR-1, as its version defines.
    for (id, err) in [
        ("MSG00002", "ERR|||200^Unsupported message type^HL70357|E|"),
        ("MSG00003", "ERR|||201^Unsupported event code^HL70357|E|"),
        ("MSG00004", "ERR|^^^203&Unsupported version id&HL70357"),
        ("MSG00005", "ERR||PID^1^3^1^1|101^Required field missing^HL70357|E|"),
    ] {
        let ack = acks
            .split("MSH|")
            .find(|a| a.contains(&format!("MSA|AR|{id}")))
            .unwrap_or_else(|| panic!("no AR for {id}: {acks}"));
        assert!(ack.contains(err), "{id}: {ack}");
    }
    let codes: Vec<_> = journal(&medbus)
        .await
        .into_iter()
        .map(|(status, route, code, _)| (status, route, code.unwrap_or_default()))
        .collect();
    assert_eq!(
        codes,
        [
            ("rejected".into(), "t.adt".into(), "UNSUPPORTED_MESSAGE_TYPE".into()),
            ("rejected".into(), "t.adt".into(), "UNSUPPORTED_EVENT".into()),
            ("rejected".into(), "t.adt".into(), "UNSUPPORTED_VERSION".into()),
            ("rejected".into(), "t.adt".into(), "MISSING_FIELD".into()),
        ]
    );
}

/// One framed message on a raw connection, and the frames that come back within `wait`.
async fn exchange_frames(stream: &mut TcpStream, bytes: &[u8], frames: usize) -> Vec<Vec<u8>> {
    stream.write_all(bytes).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = Vec::new();
    while received.len() < frames {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "the connection closed");
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(end) = buffer.windows(2).position(|w| w == [0x1c, 0x0d]) {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            let start = frame.iter().position(|&b| b == 0x0b).expect("a start byte");
            received.push(frame[start + 1..frame.len() - 2].to_vec());
        }
    }
    received
}

fn framed(message: &[u8]) -> Vec<u8> {
    [&[0x0b][..], message, &[0x1c, 0x0d]].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_malformed_frames_enhanced_mode_and_gb18030() {
    let (setup, port) = setup();
    let medbus = setup.start().await;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();

    // Bytes outside a frame are skipped; the frame after them is answered.
    let bytes = [b"noise\r\n".as_slice(), &framed(ADT_A01.as_bytes())].concat();
    let ack = exchange_frames(&mut stream, &bytes, 1).await;
    assert!(String::from_utf8_lossy(&ack[0]).contains("MSA|AA|MSG00001"));

    // A frame that is no HL7 message: AR, journaled.
    let ack = exchange_frames(&mut stream, &framed(b"hello"), 1).await;
    let ack = String::from_utf8_lossy(&ack[0]).into_owned();
    assert!(ack.contains("MSA|AR|") && ack.contains("102^Data type error"), "{ack}");

    // Enhanced mode: MSH-15 AL and MSH-16 AL ask for a commit ACK, then the application ACK.
    let enhanced = ADT_A01.replace("|MSG00001|P|2.5|||||CHN|", "|MSG00006|P|2.5|||AL|AL|CHN|");
    let acks = exchange_frames(&mut stream, &framed(enhanced.as_bytes()), 2).await;
    let acks: Vec<String> = acks.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    assert!(acks[0].contains("MSA|CA|MSG00006"), "{acks:?}");
    assert!(acks[1].contains("MSA|AA|MSG00006"), "{acks:?}");
    // MSH-16 ER: only errors get an application ACK.
    let errors_only = ADT_A01.replace("|MSG00001|P|2.5|||||CHN|", "|MSG00007|P|2.5|||AL|ER|CHN|");
    let acks = exchange_frames(&mut stream, &framed(errors_only.as_bytes()), 1).await;
    assert!(String::from_utf8_lossy(&acks[0]).contains("MSA|CA|MSG00007"));

    // GB 18030: read by MSH-18, answered in GB 18030.
    let gb = ADT_A01
        .replace("MSG00001", "MSG00008")
        .replace("UNICODE UTF-8", "GB 18030-2000");
    let (bytes, _, _) = encoding_rs::GB18030.encode(&gb);
    let ack = exchange_frames(&mut stream, &framed(&bytes), 1).await;
    assert!(String::from_utf8_lossy(&ack[0]).contains("MSA|AA|MSG00008"));
    drop(stream);

    let statuses: Vec<_> = journal(&medbus)
        .await
        .into_iter()
        .map(|(status, _, code, control)| (status, code, control))
        .collect();
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert_eq!(statuses[1], ("rejected".into(), Some("INVALID_HL7".into()), None));
    // The ER7 written out for the GB 18030 message holds the name decoded.
    for _ in 0..50 {
        let files = written_files(&medbus.data_dir.join("out"));
        if files.len() == 4 {
            let texts: Vec<String> = files
                .iter()
                .map(|f| std::fs::read_to_string(f.path()).unwrap())
                .collect();
            assert!(
                texts.iter().any(|t| t.contains("MSG00008") && t.contains("||张^三||")),
                "{texts:?}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected four deliveries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message() {
    let (setup, port) = setup();
    let mut medbus = setup.start().await;
    let mut acknowledged = HashSet::new();
    for round in 0..2 {
        let senders: Vec<_> = (0..4)
            .map(|sender| {
                tokio::spawn(async move {
                    let mut acked = Vec::new();
                    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
                        return acked;
                    };
                    for n in 0.. {
                        let id = format!("R{round}S{sender}N{n}");
                        let message = ADT_A01.replace("MSG00001", &id);
                        if stream.write_all(&framed(message.as_bytes())).await.is_err() {
                            break;
                        }
                        let mut answer = Vec::new();
                        let mut chunk = [0u8; 2048];
                        while !answer.ends_with(&[0x1c, 0x0d]) {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return acked,
                                Ok(n) => answer.extend_from_slice(&chunk[..n]),
                            }
                        }
                        if String::from_utf8_lossy(&answer).contains(&format!("MSA|AA|{id}")) {
                            acked.push(id);
                        }
                    }
                    acked
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        medbus.kill();
        for sender in senders {
            acknowledged.extend(sender.await.unwrap());
        }
        medbus.restart().await;
    }
    let journaled: HashSet<String> = journal(&medbus)
        .await
        .into_iter()
        .filter_map(|(_, _, _, c)| c)
        .collect();
    let lost: Vec<_> = acknowledged.difference(&journaled).collect();
    println!("{} acknowledged, {} journaled", acknowledged.len(), journaled.len());
    assert!(acknowledged.len() > 50, "the load produced few acknowledgements");
    assert!(lost.is_empty(), "acknowledged but not journaled: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_opens_and_closes_mllp_listeners() {
    let (setup, port) = setup();
    let medbus = setup.start().await;
    let other = free_port();
    let route =
        |id: &str, port: u16| format!("id: {id}\nsource:\n  mllp: {{ listen: 127.0.0.1:{port}, messages: ['*'] }}\n");
    std::fs::write(medbus.config_dir.join("routes/lab.yaml"), route("t.lab", other)).unwrap();
    std::fs::remove_file(medbus.config_dir.join("routes/adt.yaml")).unwrap();
    let reload = reqwest::Client::new()
        .post(medbus.admin_url("/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status().as_u16(), 200, "{}", reload.text().await.unwrap());
    let oru = ADT_A01.replace("ADT^A01^ADT_A01|MSG00001", "ORU^R01^ORU_R01|LAB1");
    let mut stream = TcpStream::connect(("127.0.0.1", other)).await.unwrap();
    let ack = exchange_frames(&mut stream, &framed(oru.as_bytes()), 1).await;
    assert!(String::from_utf8_lossy(&ack[0]).contains("MSA|AA|LAB1"));
    for _ in 0..50 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the listener of the removed route still accepts connections");
}
