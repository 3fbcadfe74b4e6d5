//! Connection options, as the stock clients take them (`[connection]` in the config file).

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Args;

use mybak::config::ConnConfig;
use mybak::conn::SslMode;
use mybak::units::Span;

use super::flag;

/// How to reach the server.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnArgs {
    /// Server host name or IP; `localhost` (the default) means the unix socket.
    #[arg(short = 'h', long = "host", help_heading = "Connection")]
    pub host: Option<String>,
    /// TCP port (default 3306).
    #[arg(short = 'P', long = "port", help_heading = "Connection")]
    pub port: Option<u16>,
    /// Unix socket path.
    #[arg(short = 'S', long = "socket", help_heading = "Connection")]
    pub socket: Option<PathBuf>,
    /// User name (default: the login name).
    #[arg(short = 'u', long = "user", help_heading = "Connection")]
    pub user: Option<String>,
    /// Password; with no value, asks on the terminal. Prefer an option file or MYSQL_PWD.
    #[arg(
        short = 'p',
        long = "password",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        help_heading = "Connection"
    )]
    pub password: Option<String>,
    /// Read options from this file only.
    #[arg(long = "defaults-file", help_heading = "Connection")]
    pub defaults_file: Option<PathBuf>,
    /// Read this file after the global option files.
    #[arg(long = "defaults-extra-file", help_heading = "Connection")]
    pub defaults_extra_file: Option<PathBuf>,
    /// Read no option files.
    #[arg(long = "no-defaults", help_heading = "Connection")]
    pub no_defaults: bool,
    /// TLS: DISABLED, PREFERRED (the default), REQUIRED, VERIFY_CA or VERIFY_IDENTITY.
    #[arg(long = "ssl-mode", ignore_case = true, value_parser = ssl_mode(), help_heading = "Connection")]
    pub ssl_mode: Option<SslMode>,
    /// CA certificate file (PEM).
    #[arg(long = "ssl-ca", help_heading = "Connection")]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate file (PEM).
    #[arg(long = "ssl-cert", help_heading = "Connection")]
    pub ssl_cert: Option<PathBuf>,
    /// Client private key file (PEM).
    #[arg(long = "ssl-key", help_heading = "Connection")]
    pub ssl_key: Option<PathBuf>,
    /// Give up connecting (connect, TLS, login) after this long (default 10s; 0: never).
    #[arg(
        long = "connect-timeout",
        value_name = "SPAN",
        help_heading = "Connection"
    )]
    pub connect_timeout: Option<Span>,
    /// Give up when the server sends or takes nothing for this long (default 10min; 0: never).
    #[arg(long = "net-timeout", value_name = "SPAN", help_heading = "Connection")]
    pub net_timeout: Option<Span>,
}

fn ssl_mode() -> impl TypedValueParser<Value = SslMode> {
    PossibleValuesParser::new([
        PossibleValue::new("DISABLED"),
        PossibleValue::new("PREFERRED"),
        PossibleValue::new("REQUIRED"),
        PossibleValue::new("VERIFY_CA").alias("VERIFY-CA"),
        PossibleValue::new("VERIFY_IDENTITY").alias("VERIFY-IDENTITY"),
    ])
    .try_map(|s| s.parse::<SslMode>())
}

impl ConnArgs {
    /// The settings given on the command line. An empty `-p` (ask) is not a value: the prompt
    /// comes later, and only when no other source has a password.
    pub fn layer(&self) -> ConnConfig {
        ConnConfig {
            host: self.host.clone(),
            port: self.port,
            socket: self.socket.clone(),
            user: self.user.clone(),
            password: self.password.clone().filter(|p| !p.is_empty()),
            defaults_file: self.defaults_file.clone(),
            defaults_extra_file: self.defaults_extra_file.clone(),
            no_defaults: flag(self.no_defaults),
            ssl_mode: self.ssl_mode,
            ssl_ca: self.ssl_ca.clone(),
            ssl_cert: self.ssl_cert.clone(),
            ssl_key: self.ssl_key.clone(),
            connect_timeout: self.connect_timeout,
            net_timeout: self.net_timeout,
        }
    }

    /// Whether `-p` was given without a value: ask on the terminal.
    pub fn ask_password(&self) -> bool {
        self.password.as_deref() == Some("")
    }
}
