//! placeholder until the option-file reader lands
use std::path::PathBuf;
#[derive(Debug, thiserror::Error)]
#[error("option file error")]
pub struct OptionFileError;
pub struct DefaultsSpec {
    pub no_defaults: bool,
    pub defaults_file: Option<PathBuf>,
    pub defaults_extra_file: Option<PathBuf>,
    pub home: Option<PathBuf>,
}
#[derive(Debug, Default)]
pub struct OptionValues;
pub fn read_options(_s: &DefaultsSpec, _g: &[&str]) -> Result<OptionValues, OptionFileError> {
    Ok(OptionValues)
}
