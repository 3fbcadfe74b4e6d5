//! SQL text: identifiers, value literals, INSERT statements and self-contained scripts.

pub mod account;
pub mod charset;
pub mod create;
pub mod grant;
pub mod ident;
pub mod insert;
pub mod literal;
pub mod script;
pub mod shape;
pub mod split;

#[cfg(test)]
mod props;
