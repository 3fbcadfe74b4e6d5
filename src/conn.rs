//! placeholder until connection settings land
#[derive(Debug, thiserror::Error)]
#[error("connection error")]
pub struct ConnError;
