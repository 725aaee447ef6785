//! The SCIM filter grammar (RFC 7644 §3.4.2.2) and its AST: a leaf that knows nothing
//! of Roster. The nom parser turns a filter, an attribute path or a PATCH path into
//! an [`ast::Filter`] / [`ast::AttrPath`]; `schema::resolve` gives it meaning.

pub mod ast;
mod parser;

pub use ast::{AttrPath, CompValue, CompareOp, Filter};
pub use parser::{
    FilterError, MAX_DEPTH, PatchPath, parse_attr_path, parse_filter, parse_patch_path,
};
