//! MLLP listeners: one per address shared by its routes. Each connection
//! reads frames one after the other; each message is processed, journaled
//! and answered before the next frame is read, so a sender's messages keep
//! their order. The route is chosen per message by MSH-9, in the snapshot
//! current when the message arrived.

use super::route_states::paused_answer;
use super::Engine;
use crate::exchange::Reply;
use crate::sources::mllp::{self, Acknowledger, MllpService, Peer, Refusal};
use crate::sources::ErrorAnswer;
use crate::steps::StepError;
use medbus_adapters::hl7::{AckCode, AckMode, Charset, Message, ParseOptions};
use medbus_adapters::mllp::{encode_frame, FrameDecoder, MllpEvent};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Binds every MLLP address the snapshot needs; fails if any is taken.
pub async fn bind_all(engine: &Arc<Engine>) -> anyhow::Result<Vec<(SocketAddr, TcpListener)>> {
    super::listeners::bind(&engine.snapshot().mllp_addrs())
        .await
        .map_err(|(addr, e)| anyhow::anyhow!("cannot listen on {addr} (MLLP): {e}"))
}

/// Accepts connections on a bound listener until medbus stops or the
/// listener is closed; connections open then finish their message and close.
pub fn serve(engine: &Arc<Engine>, addr: SocketAddr, listener: TcpListener) {
    let closer = engine.mllp_listeners.register(addr);
    let engine = engine.clone();
    let tasks = engine.tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        let _ = stream.set_nodelay(true);
                        let connection = connection(engine.clone(), addr, stream, remote, closer.clone());
                        engine.tasks.spawn(connection);
                    }
                    Err(e) => {
                        tracing::warn!(%addr, "MLLP accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                },
                _ = closer.cancelled() => break,
                _ = engine.stopping() => break,
            }
        }
        tracing::info!(%addr, "MLLP listener closed");
    });
    tracing::info!(%addr, "MLLP listener up");
}

async fn connection(
    engine: Arc<Engine>,
    addr: SocketAddr,
    mut stream: TcpStream,
    remote: SocketAddr,
    closer: CancellationToken,
) {
    let Some(service) = engine.snapshot().mllp_service(addr).cloned() else {
        return;
    };
    let peer = Peer { remote, listener: addr };
    let mut decoder = FrameDecoder::new(service.max_message);
    let mut buffer = vec![0u8; 64 * 1024];
    metrics::gauge!("medbus_mllp_connections", "listener" => addr.to_string()).increment(1.0);
    'connection: loop {
        while let Some(event) = decoder.next_event() {
            let answer = match event {
                MllpEvent::Frame(frame) => answer_frame(&engine, &peer, frame).await,
                MllpEvent::TooLarge { limit } => answer_too_large(&engine, &peer, limit).await,
                MllpEvent::Garbage { bytes, length } => {
                    metrics::counter!("medbus_mllp_garbage_bytes_total", "listener" => addr.to_string())
                        .increment(length as u64);
                    tracing::warn!(
                        listener = %addr, %remote, length,
                        start = %String::from_utf8_lossy(&bytes[..bytes.len().min(64)]),
                        "bytes outside an MLLP frame (expected 0x0B ... 0x1C 0x0D); skipped"
                    );
                    continue;
                }
            };
            if let Err(e) = stream.write_all(&answer).await {
                tracing::info!(listener = %addr, %remote, "MLLP connection lost while answering: {e}");
                break 'connection;
            }
        }
        let read = tokio::select! {
            read = tokio::time::timeout(service.idle_timeout, stream.read(&mut buffer)) => read,
            _ = closer.cancelled() => break,
            _ = engine.stopping() => break,
        };
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => decoder.push(&buffer[..n]),
            Ok(Err(e)) => {
                tracing::info!(listener = %addr, %remote, "MLLP connection failed: {e}");
                break;
            }
            Err(_) => {
                tracing::info!(listener = %addr, %remote, timeout = ?service.idle_timeout, "MLLP connection idle; closed");
                break;
            }
        }
    }
    if decoder.buffered() > 0 {
        tracing::warn!(listener = %addr, %remote, bytes = decoder.buffered(), "MLLP connection closed inside a frame; the partial message was not answered and is dropped");
    }
    metrics::gauge!("medbus_mllp_connections", "listener" => addr.to_string()).decrement(1.0);
}

/// Processes one message and returns its answer, framed: the ACK (or the
/// route's own reply), and in enhanced mode the commit ACK first.
async fn answer_frame(engine: &Arc<Engine>, peer: &Peer, frame: Vec<u8>) -> Vec<u8> {
    let Some(service) = engine.snapshot().mllp_service(peer.listener).cloned() else {
        return bare_nak(
            engine,
            "UNSUPPORTED_MESSAGE_TYPE",
            "no route takes messages on this listener any more",
        );
    };
    let frame = bytes::Bytes::from(frame);
    let (route, read) = choose_route(&service, &frame);
    let timezone = engine.settings().timezone;
    let (reply, message, refused_before) = match read {
        Ok(message) if engine.route_states.is_paused(&route.id) => {
            // AE, or CE in enhanced mode: the sender keeps the message and sends it again.
            let message = Arc::new(message);
            let acknowledger = Acknowledger::for_message(Some(message.clone()), timezone);
            (
                paused_answer(&ErrorAnswer::Mllp(acknowledger), &route.id),
                Some(message),
                None,
            )
        }
        Ok(message) => {
            let message = Arc::new(message);
            let ex = mllp::exchange(&route, frame, &message, peer);
            (engine.handle(&route, ex, None).await, Some(message), None)
        }
        Err(refusal) => {
            let code = refusal.code;
            let ex = mllp::refused_exchange(&route, frame, peer);
            (engine.reject(&route, ex, refusal.into_error()).await, None, Some(code))
        }
    };
    let mode = message.as_deref().map(AckMode::of).filter(AckMode::is_enhanced);
    let charset = message.as_deref().map_or(Charset::UTF_8, Message::charset);
    let Some(mode) = mode else {
        return encode_frame(&encode(&reply.body, charset));
    };
    let acknowledger = Acknowledger::for_message(message, timezone);
    enhanced_answers(&acknowledger, &mode, &reply, refused_before.is_some(), charset)
}

/// The route a frame goes to, and the frame read with that route's options;
/// or, for what no route takes, the listener's first route (which journals
/// the refusal) and why.
fn choose_route(
    service: &MllpService,
    frame: &[u8],
) -> (Arc<crate::runtime::snapshot::Route>, Result<Message, Refusal>) {
    let Some((kind, event)) = mllp::scan_message_type(frame) else {
        let refusal = match Message::parse_with(frame, &ParseOptions::default()) {
            Err(e) => format!("not a valid HL7 v2 message: {e}"),
            Ok(_) => "MSH-9 (message type) is missing".into(),
        };
        return (
            service.fallback().clone(),
            Err(Refusal {
                code: "INVALID_HL7",
                message: refusal,
            }),
        );
    };
    match service.dispatch(&kind, &event) {
        Ok(route) => (route.clone(), mllp::read(route, frame)),
        Err(refusal) => (service.fallback().clone(), Err(refusal)),
    }
}

/// Enhanced mode (MSH-15/MSH-16 set): the commit ACK says whether the
/// message is safely kept (CA), could not be (CE: send it again) or is
/// refused as such (CR); then the application ACK, as MSH-16 asks.
fn enhanced_answers(
    acknowledger: &Acknowledger,
    mode: &AckMode,
    reply: &Reply,
    refused_before: bool,
    charset: Charset,
) -> Vec<u8> {
    let journaled = reply.status != 503;
    let commit = match (journaled, refused_before) {
        (false, _) => AckCode::CE,
        (true, true) => AckCode::CR,
        (true, false) => AckCode::CA,
    };
    let mut out = Vec::new();
    if mode.wants_commit_ack(commit == AckCode::CA) {
        let error = (commit != AckCode::CA).then(|| error_of(reply));
        let error = error
            .as_ref()
            .map(|(code, message)| (code.as_str(), message.as_str(), None));
        let id = uuid::Uuid::now_v7().to_string();
        let ack = acknowledger.ack(commit, &id, error);
        out.extend(encode_frame(&encode(&ack.body, charset)));
    }
    if commit == AckCode::CA && mode.wants_application_ack(reply.status < 400) {
        out.extend(encode_frame(&encode(&reply.body, charset)));
    }
    out
}

/// The error code and text of a NAK we built (ERR-8 reads `CODE: message`).
fn error_of(reply: &Reply) -> (String, String) {
    let text = Message::from_text(&reply.body, &ParseOptions::default())
        .ok()
        .and_then(|ack| {
            let path = medbus_adapters::hl7::Path::parse("MSA-3").ok()?;
            ack.get(&path).map(|t| t.into_owned())
        })
        .unwrap_or_default();
    match text.split_once(": ") {
        Some((code, message)) => (code.to_string(), message.to_string()),
        None => ("JOURNAL_UNAVAILABLE".into(), text),
    }
}

/// A frame larger than the listener takes: journaled without its content
/// on the listener's first route, answered AR.
async fn answer_too_large(engine: &Arc<Engine>, peer: &Peer, limit: usize) -> Vec<u8> {
    let Some(service) = engine.snapshot().mllp_service(peer.listener).cloned() else {
        return bare_nak(engine, "PAYLOAD_TOO_LARGE", "the message is too large");
    };
    let route = service.fallback().clone();
    let ex = mllp::refused_exchange(&route, bytes::Bytes::new(), peer);
    let error = StepError::rejected(
        "PAYLOAD_TOO_LARGE",
        format!("the message is larger than the {limit} bytes this listener takes; its content was not kept"),
    );
    let reply = engine.reject(&route, ex, error).await;
    encode_frame(reply.body.as_bytes())
}

/// An AR from a bare MSH, for a frame no route is left to journal.
fn bare_nak(engine: &Arc<Engine>, code: &str, message: &str) -> Vec<u8> {
    let acknowledger = Acknowledger::for_message(None, engine.settings().timezone);
    let id = uuid::Uuid::now_v7().to_string();
    encode_frame(acknowledger.nak(400, code, message, None, &id).body.as_bytes())
}

/// An answer's text in the message's character set (a route's own reply
/// that is not HL7 goes as UTF-8).
fn encode(text: &str, charset: Charset) -> Vec<u8> {
    if charset == Charset::UTF_8 {
        return text.as_bytes().to_vec();
    }
    let options = ParseOptions {
        charset: Some(charset),
        ..ParseOptions::default()
    };
    Message::from_text(text, &options)
        .and_then(|message| message.to_bytes())
        .unwrap_or_else(|_| text.as_bytes().to_vec())
}
