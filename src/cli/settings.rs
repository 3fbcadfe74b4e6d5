//! The connection settings: command line and config file, then option files, `MYSQL_PWD`, the
//! login name; the password prompt when asked for.

use mybak::config::ConnConfig;
use mybak::conn::{self, ConnOverrides, ConnSettings, Password};
use mybak::optfile::{self, DefaultsSpec};
use mybak::units::Span;

/// Option-file groups read, in this order (later groups win).
pub const GROUPS: [&str; 5] = [
    "client",
    "client-server",
    "client-mariadb",
    "mysqldump",
    "mybak",
];

/// Resolves connection settings: `layer` (command line over config file) > option files >
/// `MYSQL_PWD`; `ask` is a bare `-p` (prompt for the password).
pub fn conn_settings(layer: ConnConfig, ask: bool) -> anyhow::Result<ConnSettings> {
    let spec = DefaultsSpec {
        no_defaults: layer.no_defaults.unwrap_or(false),
        defaults_file: layer.defaults_file,
        defaults_extra_file: layer.defaults_extra_file,
        home: std::env::var_os("HOME").map(Into::into),
    };
    let files = optfile::read_options(&spec, &GROUPS).map_err(mybak::Error::from)?;
    for warning in files.warnings() {
        log::warn!("{warning}");
    }
    let password = match (ask, layer.password) {
        (true, _) => Some(prompt_password()?),
        (false, p) => p.map(Password::new),
    };
    let mut overrides = ConnOverrides {
        host: layer.host,
        port: layer.port,
        socket: layer.socket,
        user: layer.user,
        password,
        ssl_mode: layer.ssl_mode,
        ssl_ca: layer.ssl_ca,
        ssl_cert: layer.ssl_cert,
        ssl_key: layer.ssl_key,
        connect_timeout: layer.connect_timeout.map(Span::duration),
        net_timeout: layer.net_timeout.map(Span::duration),
    };
    if conn::password_prompt_requested(&overrides, &files) {
        overrides.password = Some(prompt_password()?);
    }
    let settings = conn::resolve(
        &overrides,
        &files,
        std::env::var("MYSQL_PWD").ok(),
        conn::login_user(),
    )
    .map_err(mybak::Error::from)?;
    Ok(settings)
}

fn prompt_password() -> anyhow::Result<Password> {
    let p = rpassword::prompt_password("Enter password: ").map_err(|e| {
        mybak::Error::Settings(format!(
            "cannot ask for the password ({e}); use an option file or MYSQL_PWD"
        ))
    })?;
    Ok(Password::new(p))
}
