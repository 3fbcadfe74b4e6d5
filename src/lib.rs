//! mybak: exact, fast, verifiable logical backups of MySQL and MariaDB servers.
//!
//! The data flows through the modules in this order:
//! server ([`conn`]) → snapshot ([`snapshot`]) → schema ([`schema`]) → plan ([`plan`])
//! → rows and SQL literals ([`sql`]) → zstd and hashing file writer ([`sink`])
//! → manifest ([`manifest`]) → dump directory ([`store`]). [`dump`] drives it.

pub mod binlog;
pub mod config;
pub mod conn;
pub mod copy;
pub mod crypt;
pub mod dump;
pub mod error;
pub mod failpoint;
pub mod filter;
pub mod hook;
pub mod manifest;
pub mod metrics;
pub mod optfile;
pub mod plan;
pub mod progress;
#[cfg(test)]
mod proptest_cases;
pub mod prune;
pub mod regular_file;
pub mod restore;
pub mod retention;
pub mod schema;
pub mod sink;
pub mod snapshot;
pub mod sql;
pub mod store;
pub mod summary;
pub mod units;
pub mod verify;

pub use error::{Error, Result};
