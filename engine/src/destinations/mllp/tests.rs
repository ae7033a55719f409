//! The destination against an MLLP receiver written here with the codec, on a real socket.

use super::*;
use crate::steps::support::build_for_test;
use medbus_adapters::hl7::{build_ack, Ack};
use medbus_adapters::mllp::{encode_frame, FrameDecoder, MllpEvent};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the receiver does with a message.
#[derive(Clone)]
enum Answer {
    /// An ACK built by the codec with this code and MSA-3 text.
    Ack(AckCode, &'static str),
    /// An ACK of another control id.
    AckOf(&'static str),
    /// These bytes in a frame.
    Raw(&'static [u8]),
    /// Nothing, the connection kept open.
    Silence,
    /// An AA, then the connection closed.
    AckAndClose,
}

/// An MLLP receiver on a free port; `answer` decides per message.
struct Receiver {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    async fn start(answer: impl Fn(&Message) -> Answer + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::serve(listener, Arc::new(answer))
    }

    fn serve(listener: TcpListener, answer: Arc<dyn Fn(&Message) -> Answer + Send + Sync>) -> Receiver {
        let receiver = Receiver {
            addr: listener.local_addr().unwrap(),
            accepted: Arc::default(),
            received: Arc::default(),
        };
        let (accepted, received) = (receiver.accepted.clone(), receiver.received.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(converse(stream, answer.clone(), received.clone()));
            }
        });
        receiver
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn converse(
    mut stream: TcpStream,
    answer: Arc<dyn Fn(&Message) -> Answer + Send + Sync>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
) {
    let mut decoder = FrameDecoder::default();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        decoder.push(&buffer[..read]);
        while let Some(event) = decoder.next_event() {
            let MllpEvent::Frame(frame) = event else { continue };
            received.lock().unwrap().push(frame.clone());
            // Messages with an empty MSH-18 come in GBK in the test of the charset option.
            let options = ParseOptions {
                default_charset: Charset::GBK,
                ..ParseOptions::default()
            };
            let message = Message::parse_with(&frame, &options).unwrap();
            let ack = |code, control_id: &str, text: &str| {
                let mut ack = build_ack(
                    &message,
                    &Ack {
                        code,
                        control_id: "ACK-1".into(),
                        timestamp: "20240301120000".into(),
                        text: (!text.is_empty()).then(|| text.to_string()),
                        errors: vec![],
                    },
                )
                .unwrap();
                ack.set(&"MSA-2".parse().unwrap(), control_id).unwrap();
                encode_frame(&ack.to_bytes().unwrap())
            };
            let sent = message.control_id().unwrap().into_owned();
            let bytes = match answer(&message) {
                Answer::Ack(code, text) => ack(code, &sent, text),
                Answer::AckOf(other) => ack(AckCode::AA, other, ""),
                Answer::Raw(bytes) => encode_frame(bytes),
                Answer::Silence => continue,
                Answer::AckAndClose => {
                    let _ = stream.write_all(&ack(AckCode::AA, &sent, "")).await;
                    return;
                }
            };
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
        }
    }
}

const ADT: &str = "MSH|^~\\&|MEDBUS|HUB|HIS|H01|20240301120000||ADT^A01^ADT_A01|MSG0001|P|2.5\r\
                   PID|1||P001^^^H01^MR||DOE^JOHN\r";

fn adt(control_id: &str) -> String {
    ADT.replace("MSG0001", control_id)
}

fn endpoint(yaml: &str) -> MllpEndpoint {
    build_for_test(yaml, MllpEndpoint::build).unwrap()
}

fn endpoint_for(receiver: &Receiver, more: &str) -> MllpEndpoint {
    endpoint(&format!("{{ address: '{}'{more} }}", receiver.addr))
}

async fn deliver(endpoint: &MllpEndpoint, payload: &str) -> Attempt {
    let context = json!({});
    let outgoing = Outgoing {
        message_id: "m-1",
        destination: "his",
        payload,
        content_type: "x-application/hl7-v2+er7",
        context: &context,
    };
    endpoint.deliver(&outgoing, &Secrets::default()).await
}

fn failure(attempt: Attempt) -> (Failure, String, Option<Value>) {
    match attempt {
        Attempt::Failed {
            failure,
            error,
            response,
        } => (failure, error, response),
        delivered => panic!("expected a failure, got {delivered:?}"),
    }
}

#[tokio::test]
async fn an_aa_delivers_and_the_ack_is_the_response() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "stored")).await;
    let endpoint = endpoint_for(&receiver, "");
    let attempt = deliver(&endpoint, &adt("MSG0001")).await;
    let Attempt::Delivered {
        response: Some(response),
    } = attempt
    else {
        panic!("{attempt:?}")
    };
    assert_eq!(
        (&response["code"], &response["control_id"], &response["text"]),
        (&json!("AA"), &json!("MSG0001"), &json!("stored"))
    );
    let ack = response["ack"].as_str().unwrap();
    assert!(
        ack.starts_with("MSH|^~\\&|HIS|H01|MEDBUS|HUB|20240301120000||ACK^A01^ACK|ACK-1|"),
        "{ack}"
    );
    assert!(ack.contains("\rMSA|AA|MSG0001|stored"), "{ack}");
    assert_eq!(
        receiver.received(),
        [adt("MSG0001").into_bytes()],
        "sent as written, in a frame"
    );
}

#[tokio::test]
async fn ae_and_ce_are_ack_errors_ar_and_cr_rejections() {
    let receiver = Receiver::start(|message| {
        let code = message.get(&"PID-3.1".parse().unwrap()).unwrap();
        match code.as_ref() {
            "AE" => Answer::Ack(AckCode::AE, "database busy"),
            "CE" => Answer::Ack(AckCode::CE, ""),
            "AR" => Answer::Ack(AckCode::AR, "unknown patient"),
            _ => Answer::Ack(AckCode::CR, "no such receiver"),
        }
    })
    .await;
    let endpoint = endpoint_for(&receiver, "");
    let with_code = |code: &str| adt("M1").replace("P001", code);

    let (kind, error, response) = failure(deliver(&endpoint, &with_code("AE")).await);
    assert_eq!(
        (kind, error.as_str()),
        (
            Failure::AckError,
            "the receiver answered AE (application error): database busy"
        )
    );
    assert_eq!(response.unwrap()["code"], json!("AE"));
    let (kind, error, _) = failure(deliver(&endpoint, &with_code("CE")).await);
    assert_eq!(
        (kind, error.as_str()),
        (Failure::AckError, "the receiver answered CE (commit error)")
    );
    let (kind, error, _) = failure(deliver(&endpoint, &with_code("AR")).await);
    assert_eq!(
        (kind, error.as_str()),
        (
            Failure::AckReject,
            "the receiver answered AR (application reject): unknown patient"
        )
    );
    let (kind, _, _) = failure(deliver(&endpoint, &with_code("CR")).await);
    assert_eq!(kind, Failure::AckReject);
    assert_eq!(
        receiver.accepted(),
        1,
        "a negative ACK leaves the stream in step: the connection is kept"
    );
}

#[tokio::test]
async fn an_ack_of_another_message_is_a_bad_ack_and_closes_the_connection() {
    let receiver = Receiver::start(|message| match message.control_id().unwrap().as_ref() {
        "M1" => Answer::AckOf("M0"),
        _ => Answer::Ack(AckCode::AA, ""),
    })
    .await;
    let endpoint = endpoint_for(&receiver, "");
    let (kind, error, response) = failure(deliver(&endpoint, &adt("M1")).await);
    assert_eq!(kind, Failure::BadAck);
    assert_eq!(
        error,
        "the ACK acknowledges `M0` (MSA-2), not the message sent, `M1` (MSH-10); the connection is closed"
    );
    assert_eq!(response.unwrap()["control_id"], json!("M0"));
    assert!(matches!(
        deliver(&endpoint, &adt("M2")).await,
        Attempt::Delivered { .. }
    ));
    assert_eq!(receiver.accepted(), 2, "the next message went on a new connection");
}

#[tokio::test]
async fn an_answer_that_is_not_an_ack_is_a_bad_ack() {
    let receiver = Receiver::start(|message| match message.control_id().unwrap().as_ref() {
        "M1" => Answer::Raw(b"hello"),
        _ => Answer::Raw(b"MSH|^~\\&|HIS||||20240301||ACK|A1|P|2.5\rMSA|OK|M2\r"),
    })
    .await;
    let endpoint = endpoint_for(&receiver, "");
    let (kind, error, response) = failure(deliver(&endpoint, &adt("M1")).await);
    assert_eq!(kind, Failure::BadAck);
    assert!(error.starts_with("the answer is not an HL7 ACK: "), "{error}");
    assert_eq!(response.unwrap(), json!({"answer": "hello"}));
    let (kind, error, _) = failure(deliver(&endpoint, &adt("M2")).await);
    assert_eq!(kind, Failure::BadAck);
    assert!(error.contains("MSA-1 of the acknowledgement is \"OK\""), "{error}");

    let small = endpoint_for(&receiver, ", max_ack_size: 10");
    let (kind, error, _) = failure(deliver(&small, &adt("M2")).await);
    assert_eq!(kind, Failure::BadAck);
    assert!(error.ends_with("is larger than `max_ack_size` (10 bytes)"), "{error}");
}

#[tokio::test]
async fn silence_is_a_timeout_and_the_connection_is_not_reused() {
    let receiver = Receiver::start(|message| match message.control_id().unwrap().as_ref() {
        "M1" => Answer::Silence,
        _ => Answer::Ack(AckCode::AA, ""),
    })
    .await;
    let endpoint = endpoint_for(&receiver, ", timeout: 200ms");
    let (kind, error, _) = failure(deliver(&endpoint, &adt("M1")).await);
    assert_eq!(kind, Failure::Timeout);
    assert_eq!(
        error,
        format!("no ACK from {} within 200ms; the connection is closed", receiver.addr)
    );
    assert!(matches!(
        deliver(&endpoint, &adt("M2")).await,
        Attempt::Delivered { .. }
    ));
    assert_eq!(receiver.accepted(), 2);
}

#[tokio::test]
async fn deliveries_share_one_open_connection() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = endpoint_for(&receiver, "");
    for n in 1..=3 {
        let attempt = deliver(&endpoint, &adt(&format!("M{n}"))).await;
        assert!(matches!(attempt, Attempt::Delivered { .. }), "{attempt:?}");
    }
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(receiver.accepted(), 1, "one connection carried the three messages");
    assert_eq!(endpoint.pools.idle_count(&receiver.addr.to_string()), 1);
}

#[tokio::test]
async fn a_connection_the_receiver_closed_is_replaced() {
    let receiver = Receiver::start(|_| Answer::AckAndClose).await;
    let endpoint = endpoint_for(&receiver, "");
    for n in 1..=2 {
        let attempt = deliver(&endpoint, &adt(&format!("M{n}"))).await;
        assert!(matches!(attempt, Attempt::Delivered { .. }), "{attempt:?}");
        // Let the receiver's close reach this side before the next checkout.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(receiver.accepted(), 2);
}

#[tokio::test]
async fn idle_connections_are_closed_after_idle_timeout() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = endpoint_for(&receiver, ", idle_timeout: 100ms");
    assert!(matches!(
        deliver(&endpoint, &adt("M1")).await,
        Attempt::Delivered { .. }
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        endpoint.pools.idle_count(&receiver.addr.to_string()),
        0,
        "closed by the reaper"
    );
    assert!(matches!(
        deliver(&endpoint, &adt("M2")).await,
        Attempt::Delivered { .. }
    ));
    assert_eq!(receiver.accepted(), 2);
}

#[tokio::test]
async fn a_receiver_that_is_down_is_retried_after_a_backoff_and_reached_when_it_is_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let endpoint = endpoint(&format!("{{ address: '{addr}' }}"));

    let (kind, error, _) = failure(deliver(&endpoint, &adt("M1")).await);
    assert_eq!(kind, Failure::Connect);
    assert!(error.starts_with(&format!("cannot connect to {addr}: ")), "{error}");
    let (kind, error, _) = failure(deliver(&endpoint, &adt("M1")).await);
    assert_eq!(kind, Failure::Connect);
    assert!(
        error.starts_with(&format!("not connecting to {addr} for another "))
            && error.contains("after 1 failed attempt"),
        "backing off, the attempt fails at once: {error}"
    );

    let listener = TcpListener::bind(addr).await.unwrap();
    let receiver = Receiver::serve(listener, Arc::new(|_: &Message| Answer::Ack(AckCode::AA, "")));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(matches!(
        deliver(&endpoint, &adt("M1")).await,
        Attempt::Delivered { .. }
    ));
    assert_eq!(receiver.accepted(), 1);
}

#[tokio::test]
async fn deliveries_failing_to_connect_together_count_as_one_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let endpoint = Arc::new(endpoint(&format!("{{ address: '{addr}' }}")));
    let mut deliveries = tokio::task::JoinSet::new();
    for n in 1..=8 {
        let endpoint = endpoint.clone();
        deliveries.spawn(async move { deliver(&endpoint, &adt(&format!("M{n}"))).await });
    }
    while let Some(attempt) = deliveries.join_next().await {
        assert_eq!(failure(attempt.unwrap()).0, Failure::Connect);
    }
    let (_, error, _) = failure(deliver(&endpoint, &adt("M9")).await);
    assert!(
        error.contains("after 1 failed attempt "),
        "the first backoff step, not the eighth: {error}"
    );
}

#[tokio::test]
async fn a_gb18030_message_is_sent_as_gb18030_bytes_and_its_ack_read_back() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AE, "患者不存在")).await;
    let endpoint = endpoint_for(&receiver, "");
    let payload = adt("M1")
        .replace("|P|2.5\r", "|P|2.5|||||CHN|GB 18030-2000\r")
        .replace("DOE^JOHN", "张^三𠀀");
    let (kind, error, _) = failure(deliver(&endpoint, &payload).await);
    assert_eq!(kind, Failure::AckError);
    assert_eq!(error, "the receiver answered AE (application error): 患者不存在");
    let (gb18030, _, _) = encoding_rs::GB18030.encode(&payload);
    assert_eq!(receiver.received(), [gb18030.into_owned()]);
}

#[tokio::test]
async fn the_charset_option_writes_a_message_whose_msh18_is_empty() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = endpoint_for(&receiver, ", charset: GBK");
    let payload = adt("M1").replace("DOE^JOHN", "张^三");
    assert!(matches!(deliver(&endpoint, &payload).await, Attempt::Delivered { .. }));
    let (gbk, _, _) = encoding_rs::GBK.encode(&payload);
    assert_eq!(receiver.received(), [gbk.into_owned()]);
}

#[tokio::test]
async fn segments_written_with_line_feeds_go_out_with_carriage_returns() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = endpoint_for(&receiver, "");
    let attempt = deliver(&endpoint, &adt("M1").replace('\r', "\n")).await;
    assert!(matches!(attempt, Attempt::Delivered { .. }), "{attempt:?}");
    assert_eq!(receiver.received(), [adt("M1").into_bytes()]);
}

#[tokio::test]
async fn a_payload_that_is_not_hl7_or_has_no_control_id_is_invalid() {
    let endpoint = endpoint("{ address: '127.0.0.1:9' }");
    let (kind, error, _) = failure(deliver(&endpoint, "{\"name\": \"x\"}").await);
    assert_eq!(kind, Failure::Invalid);
    assert!(error.starts_with("the payload is not an HL7 v2 message: "), "{error}");
    assert!(error.ends_with("; expected ER7 text starting with MSH"), "{error}");
    let (kind, error, _) = failure(deliver(&endpoint, &adt("")).await);
    assert_eq!(kind, Failure::Invalid);
    assert!(error.contains("no control id (MSH-10)"), "{error}");
    let gbk = self::endpoint("{ address: '127.0.0.1:9', charset: GBK }");
    let (kind, error, _) = failure(deliver(&gbk, &adt("M1").replace("DOE", "张😀")).await);
    assert_eq!(kind, Failure::Invalid);
    assert!(
        error.starts_with("the message cannot be written in GBK: the character `😀`"),
        "{error}"
    );
}

#[tokio::test]
async fn the_address_may_be_a_template() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = endpoint("{ address: '{{ vars.his }}' }");
    assert!(endpoint.uses("vars") && !endpoint.uses("body"));
    let context = json!({ "vars": { "his": receiver.addr.to_string() } });
    let outgoing = Outgoing {
        message_id: "m-1",
        destination: "his",
        payload: &adt("M1"),
        content_type: "x-application/hl7-v2+er7",
        context: &context,
    };
    let attempt = endpoint.deliver(&outgoing, &Secrets::default()).await;
    assert!(matches!(attempt, Attempt::Delivered { .. }), "{attempt:?}");
    let context = json!({ "vars": { "his": "http://his.local/" } });
    let outgoing = Outgoing {
        context: &context,
        ..outgoing
    };
    let (kind, error, _) = failure(endpoint.deliver(&outgoing, &Secrets::default()).await);
    assert_eq!(kind, Failure::Invalid);
    assert!(
        error.starts_with("the address renders `http://his.local/` has a scheme"),
        "{error}"
    );
}

#[test]
fn checks_its_config_when_built() {
    let error = |yaml: &str| {
        build_for_test(yaml, MllpEndpoint::build)
            .err()
            .expect("the build should fail")
    };
    assert!(error("{ address: his.local }").contains("`his.local` has no port; expected host:port"));
    assert!(error("{ address: 'mllp://his.local:2575' }").contains("has a scheme"));
    assert!(error("{ address: 'his.local:0' }").contains("has no valid port"));
    assert!(error("{ address: ':2575' }").contains("has no valid host"));
    assert!(error("{ address: '{{ vars.' }").contains("mllp `address` is not a valid template"));
    assert!(error("{ address: 'h:1', timeout: 0s }").contains("mllp `timeout` is 0"));
    assert!(error("{ address: 'h:1', connect_timeout: 0s }").contains("mllp `connect_timeout` is 0"));
    assert!(error("{ address: 'h:1', max_connections: 0 }").contains("`max_connections` is 0"));
    assert!(error("{ address: 'h:1', max_ack_size: 0 }").contains("`max_ack_size` is 0"));
    assert!(error("{ address: 'h:1', charset: EBCDIC }").contains("`charset` `EBCDIC` is not a character set"));
    assert!(error("{ address: 'h:1', url: x }").contains("unknown field `url`"));
    for good in [
        "{ address: 'his.local:2575' }",
        "{ address: '[::1]:2575', charset: 'GB 18030-2000', max_ack_size: 64KiB, max_connections: 2 }",
        "{ address: '10.0.0.1:2575', timeout: 10s, connect_timeout: 1s, idle_timeout: 5m }",
    ] {
        assert!(build_for_test(good, MllpEndpoint::build).is_ok(), "{good}");
    }
}

#[tokio::test]
async fn max_connections_makes_deliveries_wait_for_a_connection() {
    let receiver = Receiver::start(|_| Answer::Ack(AckCode::AA, "")).await;
    let endpoint = Arc::new(endpoint_for(&receiver, ", max_connections: 1"));
    let mut deliveries = tokio::task::JoinSet::new();
    for n in 1..=4 {
        let endpoint = endpoint.clone();
        deliveries.spawn(async move { deliver(&endpoint, &adt(&format!("M{n}"))).await });
    }
    while let Some(attempt) = deliveries.join_next().await {
        assert!(matches!(attempt.unwrap(), Attempt::Delivered { .. }));
    }
    assert_eq!(receiver.accepted(), 1);
}

#[test]
fn the_ack_text_names_each_reason_once() {
    let ack = "MSH|^~\\&|HIS||MEDBUS||20240301||ACK|A1|P|2.5\rMSA|AE|M1|record locked\r\
               ERR|||206^Application record locked^HL70357|E||||record locked\r\
               ERR|||207^Application internal error^HL70357|E\r";
    let reply = AckReply::read(&Message::parse(ack.as_bytes()).unwrap()).unwrap();
    assert_eq!(ack_text(&reply), "record locked; Application internal error");
}

#[test]
fn docs_example_builds() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mllp-destination.md")).unwrap();
    let example = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let route: crate::config::RouteSpec = serde_saphyr::from_str(example).unwrap();
    let crate::config::EndpointSpec::Mllp(config) = &route.destinations[0].to.value else {
        panic!("the example's destination is not mllp")
    };
    let endpoint = build_for_test("{}", |_: &Value, cx| MllpEndpoint::build(config, cx)).unwrap();
    assert_eq!(endpoint.timeout, Duration::from_secs(30));
}
