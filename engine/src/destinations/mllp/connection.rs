//! One MLLP connection to a receiver: send a framed message, read the frame that answers it,
//! and tell whether the connection can carry the next message.

use medbus_adapters::mllp::{encode_frame, FrameDecoder, MllpEvent};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(super) struct Connection {
    stream: TcpStream,
    decoder: FrameDecoder,
    pub(super) idle_since: Instant,
}

/// Why no answer was read.
#[derive(Debug)]
pub(super) enum ExchangeError {
    /// Writing or reading failed, or the receiver closed the connection.
    Broken(String),
    /// The answer grew past this many bytes.
    TooLarge(usize),
}

impl Connection {
    /// Opens a connection to `address` (`host:port`, resolved here) within `connect_timeout`.
    pub async fn open(address: &str, connect_timeout: Duration, max_answer: usize) -> Result<Connection, String> {
        let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(format!("cannot connect to {address}: {e}")),
            Err(_) => {
                return Err(format!(
                    "cannot connect to {address}: no connection within {}",
                    humantime::format_duration(connect_timeout)
                ))
            }
        };
        // One small frame each way per message: do not let Nagle hold the frame back.
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            decoder: FrameDecoder::new(max_answer),
            idle_since: Instant::now(),
        })
    }

    /// Sends `message` in a frame and reads frames until one comes back complete; bytes outside
    /// a frame are skipped. The caller bounds the time it takes.
    pub async fn exchange(&mut self, message: &[u8]) -> Result<Vec<u8>, ExchangeError> {
        self.stream
            .write_all(&encode_frame(message))
            .await
            .map_err(|e| ExchangeError::Broken(format!("cannot send the message: {e}")))?;
        let mut buffer = [0u8; 8192];
        loop {
            while let Some(event) = self.decoder.next_event() {
                match event {
                    MllpEvent::Frame(frame) => return Ok(frame),
                    MllpEvent::TooLarge { limit } => return Err(ExchangeError::TooLarge(limit)),
                    MllpEvent::Garbage { length, .. } => {
                        tracing::debug!(bytes = length, "skipped bytes outside an MLLP frame before the ACK")
                    }
                }
            }
            let read = self
                .stream
                .read(&mut buffer)
                .await
                .map_err(|e| ExchangeError::Broken(format!("cannot read the ACK: {e}")))?;
            if read == 0 {
                return Err(ExchangeError::Broken(
                    "the receiver closed the connection without acknowledging the message".into(),
                ));
            }
            self.decoder.push(&buffer[..read]);
        }
    }

    /// Whether the connection is still open, silent and younger than `idle_timeout`, so that
    /// the next message may go on it. A receiver that closed the connection, or sent something
    /// unasked (a late ACK), makes it unusable: its answers would be out of step.
    pub fn is_reusable(&mut self, idle_timeout: Duration) -> bool {
        if self.idle_since.elapsed() >= idle_timeout || self.has_leftovers() {
            return false;
        }
        let mut buffer = [0u8; 1024];
        loop {
            match self.stream.try_read(&mut buffer) {
                Ok(0) => return false,
                // The CR after an ACK's end of block may come late, alone: the decoder eats it.
                Ok(read) => {
                    self.decoder.push(&buffer[..read]);
                    if self.has_leftovers() {
                        return false;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }

    /// Whether anything was received beyond the last answer.
    fn has_leftovers(&mut self) -> bool {
        self.decoder.buffered() > 0 || self.decoder.next_event().is_some()
    }
}
