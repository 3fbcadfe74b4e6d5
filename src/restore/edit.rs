//! What a restore changes in a statement before it is sent: the database renames (the statements
//! naming the database, and every qualified reference in table, view, routine, trigger and event
//! definitions), a renamed copy's events created disabled, and a warning for a definition that
//! still names an old database (dynamic SQL in a string, say).

use crate::manifest::{FileKind, ManifestFile};
use crate::sql::ident::quote_ident;

use super::rewrite::{
    disable_event, names_database, rename_statement, rewrite_references, Dialect, Rename,
};

/// The edits of one file's statements.
pub(super) struct Editor<'a> {
    file: &'a ManifestFile,
    /// This file's database under its new name, if renamed.
    rename: Option<Rename>,
    /// Every database this restore renames.
    renames: &'a [Rename],
    keep_events_enabled: bool,
    dialect: Dialect,
    /// Warnings so far.
    pub warnings: Vec<String>,
    warned: bool,
    /// Events created disabled.
    pub disabled_events: Vec<String>,
}

fn rewrites_references(kind: FileKind) -> bool {
    matches!(kind, FileKind::TableSchema) || is_object_definition(kind)
}

/// Files of views, routines, triggers and events.
pub(super) fn is_object_definition(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::View | FileKind::Routines | FileKind::Triggers | FileKind::Events
    )
}

fn is_create(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
}

impl<'a> Editor<'a> {
    pub(super) fn new(
        file: &'a ManifestFile,
        rename: Option<Rename>,
        renames: &'a [Rename],
        keep_events_enabled: bool,
    ) -> Self {
        Editor {
            file,
            rename,
            renames,
            keep_events_enabled,
            dialect: Dialect::default(),
            warnings: Vec::new(),
            warned: false,
            disabled_events: Vec::new(),
        }
    }

    /// The statement to send instead of `sql`; `None`: `sql` as it is.
    pub(super) fn edit(&mut self, sql: &str) -> Option<String> {
        self.dialect.observe(sql);
        let mut out = self.rename.as_ref().and_then(|r| rename_statement(sql, r));
        if !self.renames.is_empty() && rewrites_references(self.file.kind) && is_create(sql) {
            let now = out.as_deref().unwrap_or(sql);
            if let Some(x) = rewrite_references(now, self.renames, self.dialect) {
                out = Some(x);
            }
        }
        if self.file.kind == FileKind::Events && self.rename.is_some() && !self.keep_events_enabled
        {
            if let Some(d) = disable_event(out.as_deref().unwrap_or(sql), self.dialect) {
                self.disabled_events.push(d.name);
                out = Some(d.sql);
            }
        }
        self.warn_if_old_names(out.as_deref().unwrap_or(sql));
        out
    }

    fn warn_if_old_names(&mut self, body: &str) {
        if self.warned || !is_object_definition(self.file.kind) {
            return;
        }
        let Some(old) = self.renames.iter().find(|r| names_database(body, &r.from)) else {
            return;
        };
        self.warned = true;
        let into = self
            .file
            .database
            .as_deref()
            .map(|db| {
                let target = self.rename.as_ref().map_or(db, |r| r.to.as_str());
                format!(" restored into {}", quote_ident(target))
            })
            .unwrap_or_default();
        self.warnings.push(format!(
            "{}: a definition{into} still names the old database {} (in a string or comment, \
             or in a form not rewritten); check it",
            self.file.path,
            quote_ident(&old.from)
        ));
    }

    /// The warning about events created disabled, if any were.
    pub(super) fn events_warning(&self) -> Option<String> {
        if self.disabled_events.is_empty() {
            return None;
        }
        let target = self.rename.as_ref().map_or("", |r| r.to.as_str());
        let names: Vec<String> = self
            .disabled_events
            .iter()
            .map(|n| quote_ident(n))
            .collect();
        Some(format!(
            "{}: events of the renamed copy {} restored DISABLED, so that a scheduled job does not \
             run twice: {} (--keep-events-enabled keeps them as dumped; ALTER EVENT … ENABLE turns one on)",
            self.file.path,
            quote_ident(target),
            names.join(", ")
        ))
    }
}
