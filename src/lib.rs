//! Roster: a multi-tenant user-management service that speaks SCIM 2.0.
//!
//! Requests flow one way: [`http`] → [`scim`] (protocol) → [`domain`] → [`store`] →
//! [`schema`], with the leaves [`filter`] (the grammar), [`auth`], [`urn`], [`time`],
//! [`casefold`] and [`text_rules`] below them. A module imports only modules below
//! it (`tests/api/architecture.rs` checks this). [`import`], the `roster import`
//! command, sits beside [`http`], above [`scim`].

// A panic on a request is a dropped connection, not a SCIM error: failures are
// values. Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod casefold;
pub mod config;
pub mod domain;
pub mod filter;
pub mod http;
pub mod import;
pub mod schema;
pub mod scim;
pub mod store;
pub mod text_rules;
pub mod time;
pub mod urn;
