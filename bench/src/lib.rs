//! Pieces the benchmark binaries share.

pub mod mllp;
