//! placeholder until connection settings land
use std::path::PathBuf;
#[derive(Debug, thiserror::Error)]
#[error("connection error: {0}")]
pub struct ConnError(String);
impl From<String> for ConnError {
    fn from(s: String) -> Self {
        ConnError(s)
    }
}
#[derive(Debug, Clone)]
pub struct Password(String);
impl Password {
    pub fn new(s: String) -> Self {
        Password(s)
    }
}
#[derive(Debug, Clone)]
pub enum SslMode {
    Disabled,
}
impl std::str::FromStr for SslMode {
    type Err = String;
    fn from_str(_s: &str) -> Result<Self, String> {
        Ok(SslMode::Disabled)
    }
}
pub struct ConnOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<Password>,
    pub ssl_mode: Option<SslMode>,
    pub ssl_ca: Option<PathBuf>,
    pub ssl_cert: Option<PathBuf>,
    pub ssl_key: Option<PathBuf>,
}
#[derive(Debug, Clone)]
pub struct ConnSettings {
    pub socket: Option<PathBuf>,
    pub user: String,
}
pub fn resolve(
    o: &ConnOverrides,
    _f: &crate::optfile::OptionValues,
    _e: Option<String>,
    _l: Option<String>,
) -> Result<ConnSettings, ConnError> {
    Ok(ConnSettings {
        socket: o.socket.clone(),
        user: o.user.clone().unwrap_or("root".into()),
    })
}
pub fn connect(s: &ConnSettings) -> Result<mysql::Conn, ConnError> {
    let b = mysql::OptsBuilder::new()
        .socket(s.socket.as_ref().map(|p| p.display().to_string()))
        .user(Some(s.user.clone()));
    mysql::Conn::new(b).map_err(|e| ConnError(e.to_string()))
}
