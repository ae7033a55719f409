//! API tokens for scripts and other programs (`Authorization: Bearer
//! <token>`), and the random identifiers of login sessions.
//!
//! The settings keep a token's SHA-256, not the token. A fast hash is
//! enough here: a token is 256 random bits, so there is nothing to guess
//! from its hash, unlike a password, which a person chose and argon2 must
//! make costly to try. A fast hash also lets every request be checked
//! without tens of milliseconds of CPU.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Tells a medbus token apart from other credentials (in a secret scanner,
/// a shell history).
pub const PREFIX: &str = "mbt_";

/// A new API token: the prefix and 256 random bits.
pub fn generate() -> String {
    format!("{PREFIX}{}", random_256())
}

/// 256 random bits from the operating system, URL-safe base64.
pub fn random_256() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What the settings keep of `token`: its SHA-256 in hex.
pub fn hash_hex(token: &str) -> String {
    hex::encode(digest(token))
}

/// The digest written as `token_hash` in the settings.
pub fn parse_hash_hex(text: &str) -> Result<[u8; 32], String> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text, &mut digest)
        .map_err(|_| "not a SHA-256 in hex (64 characters 0-9, a-f), as `medbus token` prints it".to_string())?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_their_hash_reads_back() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43, "{a}");
        assert_eq!(parse_hash_hex(&hash_hex(&a)).unwrap(), digest(&a));
        assert_eq!(
            hash_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(parse_hash_hex("abc").is_err());
        assert!(parse_hash_hex(&"g".repeat(64)).is_err());
    }
}
