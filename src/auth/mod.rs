//! Credentials: generating and hashing client secrets, bearer tokens and user
//! passwords. Nothing here touches the store.

mod cache;
mod secrets;

pub use cache::TokenCache;

pub use secrets::{generate_secret, hash_password, hash_token, verify_password, verify_token_hash};

/// Who is calling: the tenant and application a bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub app_id: String,
    /// Tokens of the Management Application manage the whole tenant; any other
    /// application's tokens see only the users assigned to it.
    pub is_management: bool,
}
