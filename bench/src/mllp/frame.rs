//! MLLP frames: `0x0B` + message + `0x1C 0x0D`.

use std::io;
use std::ops::Range;

use tokio::io::{AsyncRead, AsyncReadExt};

pub const START: u8 = 0x0B;
pub const END: [u8; 2] = [0x1C, 0x0D];

const READ_CHUNK: usize = 16 * 1024;
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Reads MLLP frames from a byte stream: a frame may arrive split across
/// reads, and one read may bring several frames. Bytes before a frame's start
/// byte are dropped, as MLLP receivers do.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    consumed: usize,
    searched: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::with_capacity(READ_CHUNK),
            consumed: 0,
            searched: 0,
        }
    }

    /// The next complete frame's message already in the buffer, if any.
    pub fn buffered_frame(&mut self) -> Option<&[u8]> {
        let range = self.find_frame()?;
        Some(&self.buf[range])
    }

    /// Reads more bytes; false at the end of the stream.
    pub async fn fill(&mut self) -> io::Result<bool> {
        self.compact();
        if self.buf.len() > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an MLLP frame longer than {MAX_FRAME} bytes"),
            ));
        }
        self.buf.reserve(READ_CHUNK);
        Ok(self.inner.read_buf(&mut self.buf).await? > 0)
    }

    /// The next frame's message, reading as needed; `None` if the stream ends
    /// between frames.
    pub async fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            if let Some(range) = self.find_frame() {
                return Ok(Some(&self.buf[range]));
            }
            if !self.fill().await? {
                return if self.consumed == self.buf.len() {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    fn find_frame(&mut self) -> Option<Range<usize>> {
        let pending = &self.buf[self.consumed..];
        let Some(skip) = pending.iter().position(|&b| b == START) else {
            self.consumed = self.buf.len();
            return None;
        };
        self.consumed += skip;
        let body = self.consumed + 1;
        let from = self.searched.max(body);
        match find_end(&self.buf[from..]) {
            Some(at) => {
                let end = from + at;
                self.consumed = end + END.len();
                self.searched = self.consumed;
                Some(body..end)
            }
            None => {
                self.searched = self.buf.len().saturating_sub(1).max(body);
                None
            }
        }
    }

    fn compact(&mut self) {
        if self.consumed == 0 {
            return;
        }
        self.buf.copy_within(self.consumed.., 0);
        self.buf.truncate(self.buf.len() - self.consumed);
        self.searched -= self.consumed.min(self.searched);
        self.consumed = 0;
    }
}

fn find_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == END)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::ReadBuf;

    /// A stream whose every read returns exactly the next chunk.
    struct Chunks(VecDeque<&'static [u8]>);

    impl AsyncRead for Chunks {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            if let Some(chunk) = self.0.pop_front() {
                buf.put_slice(chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    async fn frames_of(chunks: &[&'static [u8]]) -> Vec<Vec<u8>> {
        let mut reader = FrameReader::new(Chunks(chunks.iter().copied().collect()));
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().await.unwrap() {
            frames.push(frame.to_vec());
        }
        frames
    }

    #[tokio::test]
    async fn reads_several_frames_from_one_read() {
        let frames = frames_of(&[b"\x0bMSH|a\r\x1c\x0d\x0bMSH|b\r\x1c\x0d"]).await;
        assert_eq!(frames, vec![b"MSH|a\r".to_vec(), b"MSH|b\r".to_vec()]);
    }

    #[tokio::test]
    async fn joins_a_frame_split_across_reads_even_inside_the_end_bytes() {
        let frames = frames_of(&[b"\x0bMS", b"H|a\r\x1c", b"\x0d\x0bMSH|b", b"\r\x1c\x0d"]).await;
        assert_eq!(frames, vec![b"MSH|a\r".to_vec(), b"MSH|b\r".to_vec()]);
    }

    #[tokio::test]
    async fn drops_bytes_before_the_start_byte() {
        let frames = frames_of(&[b"\r\n", b"\x0bMSH|a\r\x1c\x0d"]).await;
        assert_eq!(frames, vec![b"MSH|a\r".to_vec()]);
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_frame_is_an_error() {
        let mut reader = FrameReader::new(Chunks([&b"\x0bMSH|a\r"[..]].into()));
        let err = reader.next_frame().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
