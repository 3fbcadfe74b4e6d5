//! `mybak config check`: the config file checked, and every effective setting printed as TOML.

use std::path::Path;

use mybak::config::ConfigFile;

use super::super::settings;
use crate::cli::EXIT_OK;

/// Checks the config (and the connection settings it leads to) and prints the effective
/// settings on stdout, the password masked.
pub fn check(config: &ConfigFile) -> anyhow::Result<u8> {
    let effective = config.effective()?;
    let conn = settings::conn_settings(config.connection.clone(), false)?;
    let mut text = String::new();
    match &config.path {
        Some(p) => text.push_str(&format!("# config file: {}\n", p.display())),
        None => text.push_str("# no config file: defaults only\n"),
    }
    text.push_str(&format!(
        "# connection as resolved with option files: {} as user '{}', password {}, ssl-mode {}\n",
        conn.endpoint(),
        conn.user,
        if conn.password.is_some() {
            "set"
        } else {
            "not set"
        },
        conn.ssl.mode
    ));
    text.push_str(&toml::to_string(&effective)?);
    print!("{text}");
    let global = &effective.global;
    for (what, path) in [
        ("log-file", &global.log_file),
        ("metrics-file", &global.metrics_file),
    ] {
        if let Some(problem) = path.as_deref().and_then(unwritable) {
            log::warn!(
                "{what} {}: {problem}",
                path.as_deref().unwrap_or(Path::new("")).display()
            );
        }
    }
    Ok(EXIT_OK)
}

/// Why a file cannot be written at `path`, if it cannot: its directory is missing or not one.
fn unwritable(path: &Path) -> Option<String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(format!("{} is not a directory", dir.display())),
        Err(e) => Some(format!("directory {}: {e}", dir.display())),
    }
}
