//! Reads MySQL/MariaDB option files (`my.cnf`) exactly as the MariaDB clients do.
//!
//! # Files
//!
//! With [`DefaultsSpec::no_defaults`] nothing is read (combined with `--defaults-file` or
//! `--defaults-extra-file` it is [`OptionFileError::Conflict`]). With
//! [`DefaultsSpec::defaults_file`] only that file is read, and it must exist. Otherwise
//! [`SYSTEM_OPTION_FILES`] (`/etc/my.cnf`, `/etc/mysql/my.cnf`), then
//! [`DefaultsSpec::defaults_extra_file`] (must exist), then `~/.my.cnf` are read; missing
//! standard files are skipped silently. Like MariaDB (`mysys/my_default.c`), a world-writable
//! file is ignored with a warning, and a standard or included file that exists but cannot
//! be read is skipped (with a warning; MariaDB is silent). Only regular files are read (a
//! symbolic link to one is fine): a FIFO, device, socket or directory is never read from (a
//! FIFO would hang the reader, `/dev/zero` fill memory); as a standard or included file it is
//! skipped with a warning, as `--defaults-file`/`--defaults-extra-file` it is an error. An
//! option file larger than [`MAX_OPTION_FILE_BYTES`] is an error. Not supported: `MYSQL_HOME`/
//! `MARIADB_HOME` and `--defaults-group-suffix`.
//!
//! # Syntax (as `my_default.c` parses it)
//!
//! - `[group]`: the name runs to the first `]`; trailing whitespace is dropped, leading
//!   whitespace is kept (so `[ client]` is not `client`), text after `]` is ignored. Group
//!   names match case-insensitively (`find_type`). An option before the first group header
//!   of a file is an error.
//! - `key`, `key=value`, `key = value`: a `#` outside single or double quotes starts a
//!   comment anywhere in the line, even without whitespace before it (`password=ab#c` reads
//!   `ab`; quote the value to keep a `#`). The value is trimmed, one pair of matching
//!   surrounding quotes is removed, then `\b \t \n \r \\ \s \" \'` are resolved (other
//!   backslashes stay). Lines starting with `#` or `;` are comments.
//! - Keys as `my_getopt` sees them: `-` and `_` are the same (stored as `-`), `loose-` is
//!   dropped, `skip-`/`disable-`/`enable-` prefixes apply to booleans
//!   ([`OptionValues::flag`]). Unique-prefix abbreviations of option names are not supported.
//! - `!include FILE` and `!includedir DIR` (rest of the line, trimmed; no comment removal):
//!   a relative path is relative to the current directory and `~/` means the home
//!   directory, as MariaDB does. A missing included file is skipped silently (MariaDB
//!   ignores it too); a directory that cannot be listed is an error (as in MariaDB).
//!   `!includedir` reads the `*.cnf` files of the directory (the part after the last dot is
//!   `cnf`), sorted by name bytewise. Includes nest at most [`MAX_INCLUDE_DEPTH`] levels;
//!   deeper directives are skipped with a warning, which also ends include loops.
//!   Deviation: an error inside an included file is an error here, while MariaDB prints it
//!   and carries on with the including file.
//!
//! Only the entries of the requested groups are kept, in reading order; later occurrences
//! win ([`OptionValues::get`]).
//!
//! # Warnings
//!
//! Reading never logs: [`OptionValues::warnings`] lists, as [`OptionWarning`]s, the files
//! ignored or skipped, include directives nested too deep, files holding a `password`
//! that group or others may read, and the options of the read groups that the stock
//! clients do not know (they refuse to start on those, with `unknown variable`; mybak
//! ignores them), with a "did you mean" where one fits ([`Hint`]). Keys of `[mybak]` that
//! are no client option are mybak settings put in the wrong file. The names the stock
//! clients know are listed in `known.rs`; `loose-` options are never warned about.

mod check;
mod known;
mod line;
mod values;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::regular_file::{self, Links, ReadError};

pub use check::{Hint, OptionWarning};
pub use line::SyntaxError;
pub use values::{normalize_key, parse_bool, OptionEntry, OptionValues, Origin};

/// The system-wide option files read on Unix, in order.
pub const SYSTEM_OPTION_FILES: [&str; 2] = ["/etc/my.cnf", "/etc/mysql/my.cnf"];

/// How deep `!include`/`!includedir` may nest (MariaDB's `max_recursion_level`).
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// The largest option file read (1 MiB); a larger one is an error.
pub const MAX_OPTION_FILE_BYTES: u64 = 1 << 20;

/// Which option files to read: the `--no-defaults`, `--defaults-file`,
/// `--defaults-extra-file` command-line options, and the home directory (`$HOME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultsSpec {
    /// Read no option file at all.
    pub no_defaults: bool,
    /// Read only this file (it must exist).
    pub defaults_file: Option<PathBuf>,
    /// Read this file after the system files and before `~/.my.cnf` (it must exist).
    pub defaults_extra_file: Option<PathBuf>,
    /// The home directory holding `.my.cnf`; `None` skips that file.
    pub home: Option<PathBuf>,
}

/// Errors reading option files; each names the file (and line where there is one).
#[derive(Debug, thiserror::Error)]
pub enum OptionFileError {
    /// `--no-defaults` together with an option naming a file to read.
    #[error("--no-defaults cannot be combined with {option}")]
    Conflict {
        /// The other option: `--defaults-file` or `--defaults-extra-file`.
        option: &'static str,
    },
    /// A `--defaults-file` or `--defaults-extra-file` that cannot be read.
    #[error("could not open required option file {}: {source}", path.display())]
    RequiredFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// A `--defaults-file` or `--defaults-extra-file` that is a directory.
    #[error("required option file {} is a directory", path.display())]
    RequiredIsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// A `--defaults-file` or `--defaults-extra-file` that is a FIFO, device or socket.
    #[error("required option file {} is {kind}, not a regular file", path.display())]
    RequiredNotRegular {
        /// The path.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, …
        kind: &'static str,
    },
    /// An option file larger than [`MAX_OPTION_FILE_BYTES`].
    #[error("option file {} is larger than {}; not an option file", path.display(), crate::units::human_bytes(*limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A line that cannot be parsed.
    #[error("{}:{line}: {kind}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        kind: SyntaxError,
    },
    /// An `!includedir` whose directory cannot be listed.
    #[error("{}:{line}: cannot read directory {} of !includedir: {source}", path.display(), dir.display())]
    IncludeDir {
        /// The file holding the directive.
        path: PathBuf,
        /// 1-based line number of the directive.
        line: usize,
        /// The directory named.
        dir: PathBuf,
        /// Why it could not be listed.
        source: io::Error,
    },
}

/// Reads the option files named by `spec` (system files from [`SYSTEM_OPTION_FILES`]) and
/// keeps the options of `groups` (matched case-insensitively), in reading order.
///
/// The caller passes e.g. `["client", "client-server", "client-mariadb", "mysqldump", "mybak"]`.
pub fn read_options(spec: &DefaultsSpec, groups: &[&str]) -> Result<OptionValues, OptionFileError> {
    let system: Vec<&Path> = SYSTEM_OPTION_FILES.iter().map(Path::new).collect();
    read_options_from(spec, groups, &system)
}

/// [`read_options`] with the list of system-wide option files given explicitly.
pub fn read_options_from(
    spec: &DefaultsSpec,
    groups: &[&str],
    system_files: &[&Path],
) -> Result<OptionValues, OptionFileError> {
    check_spec(spec)?;
    let mut reader = Reader {
        groups,
        home: spec.home.as_deref(),
        values: OptionValues::new(),
        password_warned: Vec::new(),
    };
    if spec.no_defaults {
        return Ok(reader.values);
    }
    if let Some(file) = &spec.defaults_file {
        reader.read_file(file, Need::Required, 0)?;
        return Ok(reader.values);
    }
    for file in system_files {
        reader.read_file(file, Need::Optional, 0)?;
    }
    if let Some(file) = &spec.defaults_extra_file {
        reader.read_file(file, Need::Required, 0)?;
    }
    if let Some(home) = &spec.home {
        reader.read_file(&home.join(".my.cnf"), Need::Optional, 0)?;
    }
    Ok(reader.values)
}

/// Refuses contradictory options: `--no-defaults` with a file to read.
fn check_spec(spec: &DefaultsSpec) -> Result<(), OptionFileError> {
    let option = if !spec.no_defaults {
        None
    } else if spec.defaults_file.is_some() {
        Some("--defaults-file")
    } else if spec.defaults_extra_file.is_some() {
        Some("--defaults-extra-file")
    } else {
        None
    };
    match option {
        Some(option) => Err(OptionFileError::Conflict { option }),
        None => Ok(()),
    }
}

/// Whether a file must exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

/// Which group the lines being read belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupState {
    /// No group header seen yet in this file.
    None,
    /// In a selected group, named by the header text.
    Read,
    /// In a group that is not selected.
    Skip,
}

/// The file being parsed: its path and permission bits.
#[derive(Debug, Clone, Copy)]
struct Source<'p> {
    path: &'p Path,
    mode: u32,
}

struct Reader<'a> {
    groups: &'a [&'a str],
    home: Option<&'a Path>,
    values: OptionValues,
    /// Files already reported as holding a password others can read.
    password_warned: Vec<PathBuf>,
}

impl Reader<'_> {
    /// Reads one file; `Optional` files that are missing or unreadable are skipped.
    fn read_file(&mut self, path: &Path, need: Need, depth: usize) -> Result<(), OptionFileError> {
        let Some((bytes, mode)) = self.load(path, need)? else {
            return Ok(());
        };
        self.parse(Source { path, mode }, &bytes, depth)
    }

    fn parse(
        &mut self,
        src: Source<'_>,
        bytes: &[u8],
        depth: usize,
    ) -> Result<(), OptionFileError> {
        let path = src.path;
        let mut state = GroupState::None;
        let mut group = String::new();
        for (idx, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let lineno = idx + 1;
            let syntax = |kind| OptionFileError::Syntax {
                path: path.to_path_buf(),
                line: lineno,
                kind,
            };
            match line::classify(raw).map_err(syntax)? {
                line::Line::Blank | line::Line::OtherDirective => {}
                line::Line::Include(arg) => {
                    if self.depth_ok(path, lineno, depth) {
                        let file = self.include_path(arg).map_err(syntax)?;
                        self.read_file(&file, Need::Optional, depth + 1)?;
                    }
                }
                line::Line::IncludeDir(arg) => {
                    if self.depth_ok(path, lineno, depth) {
                        let dir = self.include_path(arg).map_err(syntax)?;
                        self.read_dir(path, lineno, &dir, depth + 1)?;
                    }
                }
                line::Line::Group(name) => {
                    let selected = self
                        .groups
                        .iter()
                        .any(|g| g.as_bytes().eq_ignore_ascii_case(name));
                    state = if selected {
                        GroupState::Read
                    } else {
                        GroupState::Skip
                    };
                    group = String::from_utf8_lossy(name).into_owned();
                }
                line::Line::Option(text) => match state {
                    GroupState::None => return Err(syntax(SyntaxError::OutsideGroup)),
                    GroupState::Skip => {}
                    GroupState::Read => {
                        let entry = option_entry(text, &group, path, lineno).map_err(syntax)?;
                        self.push_entry(src, entry);
                    }
                },
            }
        }
        Ok(())
    }

    /// Keeps an entry; the first password with a value in a file that group or others
    /// may read gets that file a warning.
    fn push_entry(&mut self, src: Source<'_>, entry: OptionEntry) {
        let password =
            check::is_password_key(entry.key()) && entry.value().is_some_and(|v| !v.is_empty());
        self.values.push(entry);
        if password && src.mode & 0o044 != 0 && !self.password_warned.iter().any(|p| p == src.path)
        {
            self.password_warned.push(src.path.to_path_buf());
            self.values
                .push_warning(OptionWarning::ReadablePasswordFile {
                    path: src.path.to_path_buf(),
                    mode: src.mode,
                });
        }
    }

    /// Whether an include directive at `depth` may be followed; warns when not.
    fn depth_ok(&mut self, path: &Path, line: usize, depth: usize) -> bool {
        if depth < MAX_INCLUDE_DEPTH {
            return true;
        }
        let origin = Origin {
            file: path.to_path_buf(),
            line,
        };
        self.values
            .push_warning(OptionWarning::IncludeTooDeep { origin });
        false
    }

    /// The path named by an include directive: `~` and `~/…` use the home directory.
    fn include_path(&self, arg: &[u8]) -> Result<PathBuf, SyntaxError> {
        let arg = std::str::from_utf8(arg).map_err(|_| SyntaxError::NotUtf8)?;
        Ok(expand_home(arg, self.home))
    }

    /// Loads a file's bytes and permission bits. `Ok(None)` means skip it: an optional file
    /// that is missing, unreadable or not a regular file, or any world-writable file (as
    /// MariaDB does); all but a missing one with a warning. See [`regular_file`] for how a
    /// FIFO or device is kept from being read.
    fn load(&mut self, path: &Path, need: Need) -> Result<Option<(Vec<u8>, u32)>, OptionFileError> {
        let required = need == Need::Required;
        let (bytes, meta) = match regular_file::read(path, Links::Follow, MAX_OPTION_FILE_BYTES) {
            Ok(read) => read,
            Err(e) => return self.not_loaded(path, required, e).map(|()| None),
        };
        if is_world_writable(&meta) {
            self.values.push_warning(OptionWarning::WorldWritable {
                path: path.to_path_buf(),
            });
            return Ok(None);
        }
        Ok(Some((bytes, permission_bits(&meta))))
    }

    /// A file that was not read: an error when `required` or too large, else skipped (with a
    /// warning unless it is missing).
    fn not_loaded(
        &mut self,
        path: &Path,
        required: bool,
        e: ReadError,
    ) -> Result<(), OptionFileError> {
        let path_buf = path.to_path_buf();
        match e {
            ReadError::TooLarge { limit } => Err(OptionFileError::TooLarge {
                path: path_buf,
                limit,
            }),
            ReadError::Io(source) if required => Err(OptionFileError::RequiredFile {
                path: path_buf,
                source,
            }),
            ReadError::NotRegular("a directory") if required => {
                Err(OptionFileError::RequiredIsDirectory { path: path_buf })
            }
            ReadError::NotRegular(kind) if required => Err(OptionFileError::RequiredNotRegular {
                path: path_buf,
                kind,
            }),
            ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            ReadError::Io(e) => {
                self.skipped(path, &e);
                Ok(())
            }
            ReadError::NotRegular(kind) => {
                self.values.push_warning(OptionWarning::NotRegular {
                    path: path_buf,
                    kind,
                });
                Ok(())
            }
            // Links are followed here; a link is what it leads to.
            ReadError::Symlink if required => Err(OptionFileError::RequiredNotRegular {
                path: path_buf,
                kind: "a symbolic link",
            }),
            ReadError::Symlink => Ok(()),
        }
    }

    fn skipped(&mut self, path: &Path, error: &io::Error) {
        self.values.push_warning(OptionWarning::Unreadable {
            path: path.to_path_buf(),
            reason: error.to_string(),
        });
    }

    fn read_dir(
        &mut self,
        path: &Path,
        line: usize,
        dir: &Path,
        depth: usize,
    ) -> Result<(), OptionFileError> {
        let listing = fs::read_dir(dir).and_then(|it| it.collect::<Result<Vec<_>, _>>());
        let entries = listing.map_err(|source| OptionFileError::IncludeDir {
            path: path.to_path_buf(),
            line,
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut names: Vec<_> = entries
            .into_iter()
            .map(|e| e.file_name())
            .filter(|name| has_cnf_extension(name.as_encoded_bytes()))
            .collect();
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        for name in names {
            self.read_file(&dir.join(name), Need::Optional, depth)?;
        }
        Ok(())
    }
}

/// Parses an option line of a read group into an entry (key and value must be UTF-8).
fn option_entry(
    text: &[u8],
    group: &str,
    path: &Path,
    line: usize,
) -> Result<OptionEntry, SyntaxError> {
    let opt = line::parse_option(text)?;
    let key = std::str::from_utf8(opt.key).map_err(|_| SyntaxError::NotUtf8)?;
    let value = match &opt.value {
        Some(v) => Some(std::str::from_utf8(v).map_err(|_| SyntaxError::NotUtf8)?),
        None => None,
    };
    let origin = Origin {
        file: path.to_path_buf(),
        line,
    };
    Ok(OptionEntry::new(key, value, group, origin))
}

/// `~` and `~/rest` become paths in `home` (when known); anything else is taken as is.
fn expand_home(arg: &str, home: Option<&Path>) -> PathBuf {
    match (arg, home) {
        ("~", Some(home)) => home.to_path_buf(),
        (_, Some(home)) if arg.starts_with("~/") => home.join(&arg[2..]),
        _ => PathBuf::from(arg),
    }
}

/// Whether a file name's last extension is `.cnf` (`fn_ext2` + `strcmp` in MariaDB).
fn has_cnf_extension(name: &[u8]) -> bool {
    name.iter()
        .rposition(|&b| b == b'.')
        .is_some_and(|dot| &name[dot..] == b".cnf")
}

#[cfg(unix)]
fn is_world_writable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o002 != 0
}

#[cfg(not(unix))]
fn is_world_writable(_meta: &fs::Metadata) -> bool {
    false
}

/// The permission bits of a file (`0o644`); 0 where there are none.
#[cfg(unix)]
fn permission_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(_meta: &fs::Metadata) -> u32 {
    0
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
