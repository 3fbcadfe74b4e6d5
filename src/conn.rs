//! placeholder until connection settings land
#[derive(Debug, thiserror::Error)]
#[error("connection error")]
pub struct ConnError;
#[derive(Debug, Clone)]
pub struct ConnSettings {
    pub socket: Option<std::path::PathBuf>,
}
pub fn connect(s: &ConnSettings) -> Result<mysql::Conn, ConnError> {
    let b = mysql::OptsBuilder::new()
        .socket(s.socket.as_ref().map(|p| p.display().to_string()))
        .user(Some("root"));
    mysql::Conn::new(b).map_err(|_| ConnError)
}
