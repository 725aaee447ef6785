//! Credentials: generating and hashing client secrets, bearer tokens and user
//! passwords, and the cache of verified tokens.

mod cache;
mod secrets;

pub use cache::{TOKEN_CACHE_TTL, TOKEN_USE_RECORD_INTERVAL_SECS, TokenCache, VerifiedToken};

pub use secrets::{
    generate_secret, hash_password, hash_token, stored_hash, token_digest, verify_password,
    verify_token_hash,
};
