//! SCIM filters (RFC 7644 §3.4.2.2): the nom parser turns text into an [`ast::Filter`];
//! [`resolve`] checks it against a resource type's schemas; then either [`sql`]
//! translates it into one SQL condition with bound parameters, or [`matcher`]
//! evaluates it against a resource's JSON.

pub mod ast;
pub mod matcher;
mod parser;
pub mod resolve;
pub mod sql;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use parser::{
    FilterError, MAX_DEPTH, PatchPath, parse_attr_path, parse_filter, parse_patch_path,
};
pub use resolve::{ResolveError, Resolved, Target, resolve, resolve_path, resolve_sort_path};
