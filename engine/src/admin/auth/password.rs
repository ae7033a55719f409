//! Passwords of admin users: kept in the settings only as argon2id PHC
//! strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), made by
//! `medbus passwd`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use std::sync::OnceLock;

/// Shorter passwords are refused by `medbus passwd`.
pub const MIN_LEN: usize = 8;

/// An argon2id PHC string of `password`, with a random salt and the
/// crate's default cost (19 MiB, 2 passes: OWASP's recommendation).
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `text` is a PHC string of an argon2 variant; why not otherwise.
pub fn check_phc(text: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(text).map_err(|e| format!("not a PHC string ({e})"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!("hashed with `{}`, not argon2", parsed.algorithm));
    }
    if parsed.hash.is_none() {
        return Err("the PHC string has no hash".into());
    }
    Ok(())
}

/// Whether `password` is the one `phc` was made from. Takes tens of
/// milliseconds of CPU by design: call it off the async threads.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Costs what [`verify`] costs and is always false: a login with an
/// unknown name takes as long as one with a known name.
pub fn verify_for_unknown_user(password: &str) {
    static DECOY: OnceLock<String> = OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash("a password nobody has").expect("argon2 with default parameters hashes"));
    let _ = verify(password, decoy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(check_phc(&phc).is_ok());
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horse ", &phc));
        assert!(!verify("", &phc));
        assert_ne!(hash("correct horse").unwrap(), phc, "each hash has its own salt");
    }

    #[test]
    fn only_argon2_phc_strings_are_accepted() {
        assert!(check_phc("secret").unwrap_err().contains("not a PHC string"));
        let scrypt = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
        assert!(check_phc(scrypt).unwrap_err().contains("not argon2"));
        assert!(!verify("x", "secret"));
    }
}
