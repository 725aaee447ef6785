//! Roster: a multi-tenant user-management service that speaks SCIM 2.0.
//!
//! Requests flow one way: [`http`] → [`scim`] (protocol) → [`domain`] → [`store`].

pub mod auth;
pub mod casefold;
pub mod config;
pub mod domain;
pub mod filter;
pub mod http;
pub mod scim;
pub mod store;
pub mod text_rules;
