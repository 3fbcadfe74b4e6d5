//! `verify --restore-test`: restore the dump under temporary names on a scratch server and compare
//! every table's content with the fingerprint recorded at dump time.

use std::path::PathBuf;

use mysql::prelude::Queryable;

use crate::conn::{self, ConnSettings};
use crate::dump::table::table_fingerprint;
use crate::error::{Error, QueryContext, Result};
use crate::filter::{self, Filter, FilterSpec};
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::restore::{self, rewrite::Rename, RestoreSettings};
use crate::schema;
use crate::snapshot::{self, Server};
use crate::sql::ident::{qualified, quote_ident};
use crate::store::S3Settings;
use crate::verify::{problem, Report};

/// Where and how to test-restore.
#[derive(Debug, Clone)]
pub struct RestoreTestSettings {
    pub conn: ConnSettings,
    pub dir: PathBuf,
    /// How object storage is reached, when the dump is there.
    pub s3: S3Settings,
    /// The keys of an encrypted dump.
    pub identities: Option<std::sync::Arc<crate::crypt::Identities>>,
    pub threads: usize,
    /// Leave the temporary databases on the server.
    pub keep: bool,
}

/// A temporary name for `db`: at most 64 characters, ending in `suffix` (which must be ASCII and
/// unique per database: two long names with a common beginning are cut to the same head).
fn temporary_name(db: &str, suffix: &str) -> String {
    let room = 64usize.saturating_sub(suffix.chars().count());
    let head: String = db.chars().take(room).collect();
    format!("{head}{suffix}")
}

/// The temporary databases of a test restore. Dropped when this goes out of scope on every way out
/// — success, error or panic — unless they are to be kept.
struct ScratchDatabases<'a> {
    conn: &'a ConnSettings,
    names: Vec<String>,
    keep: bool,
}

impl Drop for ScratchDatabases<'_> {
    fn drop(&mut self) {
        if !self.keep {
            drop_databases(self.conn, &self.names);
        }
    }
}

/// Restores the dump under temporary names and compares fingerprints; adds what differs to
/// `report`. Returns the temporary database names (dropped already unless `keep`).
pub fn restore_test(
    settings: &RestoreTestSettings,
    manifest: &Manifest,
    report: &mut Report,
    progress: &dyn Progress,
) -> Result<Vec<String>> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let stem = format!("_vt{}_{}", std::process::id(), nanos % 100_000);
    let renames: Vec<Rename> = manifest
        .databases
        .iter()
        .enumerate()
        .map(|(i, d)| Rename {
            from: d.name.clone(),
            to: temporary_name(&d.name, &format!("{stem}_{i}")),
        })
        .collect();
    let names: Vec<String> = renames.iter().map(|r| r.to.clone()).collect();
    refuse_existing(&settings.conn, &names)?;
    let scratch = ScratchDatabases {
        conn: &settings.conn,
        names,
        keep: settings.keep,
    };
    let restore_settings = RestoreSettings {
        conn: settings.conn.clone(),
        dir: settings.dir.clone(),
        s3: settings.s3.clone(),
        identities: settings.identities.clone(),
        filter: Filter::default(),
        renames: renames.clone(),
        threads: settings.threads,
        no_binlog: false,
        // As a plain restore does.
        defer_indexes: RestoreSettings::default().defer_indexes,
        defer_min_bytes: RestoreSettings::default().defer_min_bytes,
        drop_existing: false,
        allow_partial: true,
        users: None,
        // Every database is renamed, so its events are created disabled: they never run on the
        // scratch server.
        keep_events_enabled: false,
    };
    restore::run(&restore_settings, progress).and_then(|outcome| {
        for f in outcome.failures {
            report
                .problems
                .push(problem(&f.path, format!("test restore failed: {f}")));
        }
        compare_fingerprints(settings, manifest, &renames, report)
    })?;
    Ok(scratch.names.clone())
}

/// Refuses to test-restore into a database that exists already: the scratch databases are
/// dropped afterwards, and only those this run created may be.
fn refuse_existing(conn_settings: &ConnSettings, names: &[String]) -> Result<()> {
    let mut conn = conn::connect(conn_settings)?;
    for name in names {
        let found: Option<String> = conn
            .exec_first(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                (name.as_str(),),
            )
            .context(|| format!("checking that database {} is free", quote_ident(name)))?;
        if found.is_some() {
            return Err(Error::Object {
                object: format!("database {}", quote_ident(name)),
                message: "exists already on the scratch server; the test restore needs a free name (run it again)".to_string(),
            });
        }
    }
    Ok(())
}

fn compare_fingerprints(
    settings: &RestoreTestSettings,
    manifest: &Manifest,
    renames: &[Rename],
    report: &mut Report,
) -> Result<()> {
    let mut conn = conn::connect(&settings.conn)?;
    let server = Server::detect(&mut conn)?;
    snapshot::prepare_session(&mut conn, &server)?;
    let filter = Filter::new(&FilterSpec {
        databases: renames.iter().map(|r| filter::literal(&r.to)).collect(),
        ..FilterSpec::default()
    })?;
    let catalog = schema::list(&mut conn, &filter)?;
    // Rows are read back the way the dump read them, on a data connection.
    let mut data = conn::DataConn::connect(&settings.conn)?;
    snapshot::prepare_session(&mut data, &server)?;
    for (db, rename) in manifest.databases.iter().zip(renames) {
        for entry in &db.tables {
            let object = format!("table {}", qualified(&db.name, &entry.name));
            let Some(info) = catalog
                .tables
                .iter()
                .find(|t| t.database == rename.to && t.name == entry.name)
            else {
                report
                    .problems
                    .push(problem(&object, "missing after the test restore"));
                continue;
            };
            match table_fingerprint(&mut data, &server, info) {
                // The connection cannot be used again: the next table's rows could be this one's.
                Err(e) if e.broken_connection().is_some() => return Err(e),
                Err(e) => report.problems.push(problem(&object, format!("cannot be read back: {e}"))),
                Ok(f) if f.rows() != entry.rows || f.to_text() != entry.fingerprint => {
                    report.problems.push(problem(
                        &object,
                        format!(
                            "restored content differs from the dump's fingerprint ({} rows, {}; the dump recorded {} rows, {})",
                            f.rows(),
                            f.to_text(),
                            entry.rows,
                            entry.fingerprint
                        ),
                    ))
                }
                Ok(_) => report.tables_compared += 1,
            }
        }
    }
    Ok(())
}

fn drop_databases(conn_settings: &ConnSettings, names: &[String]) {
    let Ok(mut conn) = conn::connect(conn_settings) else {
        log::warn!(
            "could not reconnect to drop the test databases {}",
            names.join(", ")
        );
        return;
    };
    for name in names {
        if let Err(e) = conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(name))) {
            log::warn!("could not drop test database {name}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_in_64_characters() {
        assert_eq!(temporary_name("shop", "_vt1_2"), "shop_vt1_2");
        let long = "x".repeat(64);
        let t = temporary_name(&long, "_vt123_45678_0");
        assert_eq!(t.chars().count(), 64);
        assert!(t.ends_with("_vt123_45678_0"));
        // Long names alike up to the cut stay apart by their index.
        let (a, b) = (format!("{long}a"), format!("{long}b"));
        assert_ne!(
            temporary_name(&a, "_vt1_2_0"),
            temporary_name(&b, "_vt1_2_1")
        );
        let wide = "é".repeat(64);
        assert_eq!(temporary_name(&wide, "_v").chars().count(), 64);
    }
}
