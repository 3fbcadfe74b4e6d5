//! The library's error type.

/// Errors of the mybak library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Other(String),
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
