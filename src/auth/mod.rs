//! Credentials: generating and hashing client secrets, bearer tokens and user
//! passwords. Nothing here touches the store.

use std::sync::Arc;

mod cache;
mod secrets;

pub use cache::TokenCache;

pub use secrets::{
    generate_secret, hash_password, hash_token, stored_hash, token_digest, verify_password,
    verify_token_hash,
};

/// Who is calling: the tenant and application a bearer token belongs to. Every
/// request clones it (into the store call's closure), so the ids are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: Arc<str>,
    pub app_id: Arc<str>,
    /// Tokens of the Management Application manage the whole tenant; any other
    /// application's tokens see only the users assigned to it.
    pub is_management: bool,
}
