//! placeholder until the option-file reader lands
#[derive(Debug, thiserror::Error)]
#[error("option file error")]
pub struct OptionFileError;
