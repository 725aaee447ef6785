//! Integration tests: every behaviour through real HTTP against a real store, on
//! SQLite and on PostgreSQL. One test binary, many modules: linking is the slow part.

mod architecture;
mod support;

mod access_log;
mod apps;
mod audit_log;
mod auth;
mod auth_failures;
mod backups;
mod big_requests;
mod browser_harness;
mod bulk;
mod cli;
mod corrupt;
mod differential;
mod discovery;
mod errors;
mod free_form_sorts;
mod groups;
mod health;
mod hostile;
mod hostile_apps;
mod import;
mod lost_database;
mod metrics;
mod openapi;
mod overload;
mod portal;
mod portal_browser;
mod proxies;
mod queries;
mod request_ids;
mod rfc_rules;
mod route_access;
mod scenarios;
mod streaming;
mod strings;
mod substring_search;
mod tenancy;
mod tls;
mod tokens;
mod users;
mod writes;
