//! The baseline of the MLLP benchmark: a bare tokio server that reads MLLP
//! frames and answers each with a fixed ACK^A01, echoing the request's MSH-10
//! in MSA-2 (found by a byte scan), nothing else. Frames that arrive together
//! are answered with one write.
//! Usage: bare-mllp 127.0.0.1:2575

use std::io;

use medbus_bench::mllp::frame::{FrameReader, END, START};
use medbus_bench::mllp::hl7;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const ACK_MSH: &[u8] =
    b"MSH|^~\\&|BARE|BENCH|HIS|HOSPITAL|20250101000000||ACK^A01^ACK|BARE0001|P|2.4||||||UNICODE UTF-8\r";

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:2575".into());
    let listener = TcpListener::bind(&addr).await.expect("bind the baseline's address");
    loop {
        let (stream, _) = listener.accept().await.expect("accept a connection");
        tokio::spawn(async move {
            if let Err(err) = answer_frames(stream).await {
                if err.kind() != io::ErrorKind::ConnectionReset {
                    eprintln!("bare-mllp: connection closed: {err}");
                }
            }
        });
    }
}

async fn answer_frames(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.split();
    let mut reader = FrameReader::new(read);
    let mut replies = Vec::with_capacity(4096);
    loop {
        while let Some(request) = reader.buffered_frame() {
            push_ack(request, &mut replies);
        }
        if !replies.is_empty() {
            write.write_all(&replies).await?;
            replies.clear();
        }
        if !reader.fill().await? {
            return Ok(());
        }
    }
}

fn push_ack(request: &[u8], out: &mut Vec<u8>) {
    let (code, control_id): (&[u8], &[u8]) = match hl7::field(request, b"MSH", 10) {
        Some(id) => (b"AA", id),
        None => (b"AR", b""),
    };
    out.push(START);
    out.extend_from_slice(ACK_MSH);
    out.extend_from_slice(b"MSA|");
    out.extend_from_slice(code);
    out.push(b'|');
    out.extend_from_slice(control_id);
    out.push(b'\r');
    out.extend_from_slice(&END);
}
