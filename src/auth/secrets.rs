use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random secret: `prefix` followed by 256 bits of randomness, URL-safe.
pub fn generate_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a generated secret or token. These carry 256 random bits, so a
/// fast hash is enough (a slow one protects guessable passwords, not random keys), and
/// look-ups by hash stay cheap on every request.
pub fn hash_token(token: &str) -> String {
    stored_hash(&token_digest(token))
}

/// The SHA-256 digest of a token; [`stored_hash`] is its stored form.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The stored form of a token's digest: what [`hash_token`] returns.
pub fn stored_hash(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// Compares a presented secret against a stored hash in constant time.
pub fn verify_token_hash(presented: &str, stored_hash: &str) -> bool {
    let presented_hash = hash_token(presented);
    presented_hash
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Hashes a user's password with Argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the stored Argon2 `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_prefixed() {
        let a = generate_secret("rst_");
        let b = generate_secret("rst_");
        assert!(a.starts_with("rst_") && a.len() > 40);
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_verifies_only_the_original() {
        let token = generate_secret("t_");
        let stored = hash_token(&token);
        assert_ne!(stored, token);
        assert!(verify_token_hash(&token, &stored));
        assert!(!verify_token_hash("t_wrong", &stored));
    }

    #[test]
    fn password_hash_is_argon2_and_verifies() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
    }
}
