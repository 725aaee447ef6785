//! The schema layer: the SCIM schemas Roster serves (compiled from `schemas/`), and
//! filters checked against them. [`resolve`] gives a parsed filter the canonical names
//! and types of its attributes; the store turns the result into SQL and [`matcher`]
//! evaluates it against a resource's JSON.

pub mod matcher;
mod registry;
pub mod resolve;

pub use registry::*;
pub use resolve::{ResolveError, Resolved, Target, resolve, resolve_path, resolve_sort_path};
