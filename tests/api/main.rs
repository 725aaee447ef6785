//! Integration tests: every behaviour through real HTTP against a real store, on
//! SQLite and on PostgreSQL. One test binary, many modules: linking is the slow part.

mod support;

mod apps;
mod auth;
mod big_requests;
mod cli;
mod differential;
mod discovery;
mod errors;
mod groups;
mod health;
mod queries;
mod scenarios;
mod tenancy;
mod users;
mod writes;
