//! What the fuzz and chunking tests share. Each test file takes what it needs.
#![allow(dead_code)]

/// xorshift64*: deterministic, so a failure reproduces from its case number.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }

    /// One to three random edits of `bytes`: a cut, an inserted piece, a changed byte, a
    /// repeated run.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>, pieces: &[&[u8]]) {
        for _ in 0..1 + self.below(3) {
            let at = self.below(bytes.len() + 1);
            match self.below(4) {
                0 => {
                    let end = (at + self.below(8)).min(bytes.len());
                    bytes.drain(at..end);
                }
                1 => {
                    let piece = self.pick(pieces);
                    bytes.splice(at..at, piece.iter().copied());
                }
                2 if at < bytes.len() => bytes[at] = self.next() as u8,
                _ => {
                    let end = (at + self.below(32)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(at..at, copy);
                }
            }
        }
    }
}
