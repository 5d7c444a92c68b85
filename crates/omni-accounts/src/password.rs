//! Passwords: Argon2id PHC strings with the `argon2` crate's default
//! parameters (m = 19 MiB, t = 2, p = 1), hashed and checked on tokio's
//! blocking pool so a sign-in never stalls the server's other requests.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::AccountsError;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted, in bytes (bounds the work per attempt).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks the password rules: at least [`MIN_PASSWORD_CHARS`] characters,
/// at most [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_rules(password: &SecretString) -> Result<(), AccountsError> {
    let text = password.expose_secret();
    if text.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountsError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if text.len() > MAX_PASSWORD_BYTES {
        return Err(AccountsError::Invalid(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The PHC string of `password` with a new random salt.
pub async fn hash(password: SecretString) -> Result<String, AccountsError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| AccountsError::Hash(e.to_string()))?
}

/// [`hash`], on the calling thread (for the CLI and the dummy hash).
pub fn hash_now(password: &SecretString) -> Result<String, AccountsError> {
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountsError::Hash(e.to_string()))
}

/// Whether `password` matches `phc`. With no hash (unknown account, or one
/// that signs in only by single sign-on) it checks against a dummy hash and
/// answers `false`, taking about as long as a real check.
pub async fn verify(phc: Option<String>, password: SecretString) -> bool {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match phc {
            Some(p) => (p, true),
            None => (dummy().to_owned(), false),
        };
        let matches = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), phc.as_str())
            .is_ok();
        real && matches
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password with the same parameters as real ones,
/// made once per process.
pub fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        let password = SecretString::from(format!("{random:02x?}"));
        // The default parameters are valid, so hashing cannot fail; if it
        // did, a hash that never verifies still does the dummy's job badly
        // but safely.
        hash_now(&password).unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$invalid".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash(SecretString::from("correct horse battery"))
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify(
                Some(phc.clone()),
                SecretString::from("correct horse battery")
            )
            .await
        );
        assert!(!verify(Some(phc), SecretString::from("wrong horse battery")).await);
        assert!(!verify(None, SecretString::from("correct horse battery")).await);
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_rules(&SecretString::from("short")).is_err());
        assert!(check_rules(&SecretString::from("x".repeat(MAX_PASSWORD_BYTES + 1))).is_err());
        assert!(check_rules(&SecretString::from("long enough pass")).is_ok());
    }
}
