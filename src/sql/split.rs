//! Splits SQL scripts into statements the way the `mariadb` client does in batch `--binary-mode`.
//!
//! The rules are those of the client's `add_line` (client/mysql.cc):
//! - `DELIMITER x` on a line of its own while no statement is in progress (or a statement that
//!   starts with the word) is a client command: it changes the delimiter and is not yielded.
//! - The delimiter ends a statement outside `'…'`/`"…"` strings (backslash escapes, doubled
//!   quotes), `` `…` `` identifiers (doubled backticks), `#` and `-- ` comments to the end of the
//!   line, and `/* … */` comments. `--` followed by anything starts a comment before a statement.
//! - A backslash outside strings takes the next byte with it (`\;` does not end a statement).
//! - `/*!…*/` and `/*M!…*/` are executable comments: plain statement text, in which the delimiter
//!   still ends the statement (as in the client).
//! - Bytes are bytes: NUL, CR, 0x1A and invalid UTF-8 are statement text. Multibyte characters are
//!   assumed to be in an ASCII-transparent character set (utf8mb4, latin1, …).
//!
//! Deliberate differences: comments before a statement are dropped and comments inside it are kept
//! (the server ignores both); a `DELIMITER` argument ends at a CR too (CRLF scripts); a
//! `DELIMITER` without a usable argument is an error rather than a warning; an unterminated string
//! or comment at the end of the script is an error rather than a statement the server rejects.
//! Whether `\` escapes inside strings depends on the session's sql_mode; the caller tells the
//! splitter after each statement with [`Splitter::set_quoting`], as the client reads it from the
//! server status.
//!
//! The scan keeps its state across reads, finds the next interesting byte with `memchr` inside
//! strings and a lookup table elsewhere, and never looks at a byte of a statement twice.

use std::io::{self, Read};

use memchr::{memchr, memchr2, memmem};

use lex::{
    ahead, code_specials, code_step, delimiter_arg, delimiter_command, is_space,
    starts_with_ignore_case, Ahead, Step, DELIMITER_WORD,
};
pub use rows::{count_insert_rows, insert_rows};

mod lex;
mod rows;
#[cfg(test)]
mod tests;

/// The default largest statement: the server's largest packet (1 GiB) and a little room.
pub const DEFAULT_MAX_STATEMENT: usize = (1 << 30) + 1024;
/// Bytes asked of the reader at a time (at least).
const CHUNK: usize = 1 << 20;
/// The client keeps this many bytes of a `DELIMITER` argument.
const MAX_DELIMITER: usize = 15;
/// Statements at least this large take the read buffer with them instead of being copied.
const HAND_OVER: usize = 64 << 20;

/// One statement of a script, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The text without its delimiter and surrounding whitespace (comments before it dropped).
    pub sql: Vec<u8>,
    /// Byte offset of its first byte in the stream.
    pub offset: u64,
    /// 1-based line of its first byte.
    pub line: u64,
}

/// Why a script could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The reader failed.
    #[error("reading the script at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// A statement (from its first byte to its delimiter) is longer than the limit.
    #[error("line {line}: statement longer than {limit} bytes (it starts at byte {offset})")]
    TooLarge {
        line: u64,
        offset: u64,
        limit: usize,
    },
    /// The script ends inside a `"string"`, `"identifier"` or `"comment"` that starts here.
    #[error(
        "line {line}: unterminated {what} at the end of the script (it starts at byte {offset})"
    )]
    Unterminated {
        what: &'static str,
        line: u64,
        offset: u64,
    },
    /// `DELIMITER` without an argument, or with a backslash in it.
    #[error("line {line}: DELIMITER needs a delimiter without backslashes (byte {offset})")]
    BadDelimiter { line: u64, offset: u64 },
}

/// How the session's sql_mode quotes: it decides whether `\` escapes inside strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quoting {
    /// `NO_BACKSLASH_ESCAPES`: `\` is an ordinary byte inside strings and identifiers.
    pub no_backslash_escapes: bool,
    /// `ANSI_QUOTES`: `"…"` is an identifier, in which `\` is an ordinary byte.
    pub ansi_quotes: bool,
}

impl Quoting {
    /// From the server status flags of the last OK packet (`SERVER_STATUS_NO_BACKSLASH_ESCAPES`
    /// 0x0200; MariaDB's `SERVER_STATUS_ANSI_QUOTES` 0x8000), as the client reads them.
    pub const fn from_status_flags(flags: u16) -> Quoting {
        Quoting {
            no_backslash_escapes: flags & 0x0200 != 0,
            ansi_quotes: flags & 0x8000 != 0,
        }
    }
}

/// Where the scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Statement text, or between statements when none is in progress.
    Code,
    /// Inside a string or identifier opened by this quote.
    Quoted(u8),
    /// Inside `#` or `-- ` up to the end of the line.
    LineComment,
    /// Inside `/* … */`.
    BlockComment,
}

/// A string, identifier or comment still open: where it starts, for [`SplitError::Unterminated`].
#[derive(Debug, Clone, Copy)]
struct Open {
    offset: u64,
    line: Option<u64>,
}

/// What one scan step found.
#[derive(Debug)]
enum Flow {
    /// The state changed; scan on.
    Continue,
    /// All buffered bytes are scanned (or the next decision needs more of them).
    More,
    /// The delimiter at this index ends the statement in progress.
    End(usize),
    /// A statement starts at this index.
    Start(usize),
    /// A `DELIMITER` command line from `start` to `end` (its LF or the end of the script).
    Command { start: usize, end: usize },
}

/// Reads a script and yields its statements.
pub struct Splitter<R> {
    reader: R,
    /// Read buffer: `buf[..filled]` holds bytes from stream offset `base` on.
    buf: Vec<u8>,
    filled: usize,
    base: u64,
    /// Scan position in `buf`.
    pos: usize,
    eof: bool,
    done: bool,
    bom_checked: bool,
    state: State,
    /// Start in `buf` of the statement in progress.
    stmt: Option<usize>,
    stmt_line: u64,
    open: Option<Open>,
    /// Only whitespace since the last LF (outside any statement).
    line_clean: bool,
    delimiter: Vec<u8>,
    /// Bytes the code scan stops at.
    special: [bool; 256],
    quoting: Quoting,
    max_statement: usize,
    /// The largest statement expected (from the manifest): a buffer that must grow for a big
    /// statement grows to this at once instead of by halves (no slack of half its size).
    expected_statement: usize,
    /// Line number at stream offset `line_mark` (LFs before it are counted).
    line_mark: u64,
    line_no: u64,
}

impl<R: Read> Splitter<R> {
    /// A splitter with the default delimiter `;`, backslash escapes and a 1 GiB + 1 KiB limit.
    pub fn new(reader: R) -> Self {
        Splitter {
            reader,
            buf: Vec::new(),
            filled: 0,
            base: 0,
            pos: 0,
            eof: false,
            done: false,
            bom_checked: false,
            state: State::Code,
            stmt: None,
            stmt_line: 1,
            open: None,
            line_clean: true,
            delimiter: b";".to_vec(),
            special: code_specials(b";"),
            quoting: Quoting::default(),
            max_statement: DEFAULT_MAX_STATEMENT,
            expected_statement: 0,
            line_mark: 0,
            line_no: 1,
        }
    }

    /// Refuses statements longer than `bytes` (from the first byte to the delimiter).
    pub fn with_max_statement(mut self, bytes: usize) -> Self {
        self.max_statement = bytes;
        self
    }

    /// The largest statement the script is known to hold (a hint for growing the buffer).
    pub fn with_expected_statement(mut self, bytes: usize) -> Self {
        self.expected_statement = bytes;
        self
    }

    /// How strings are quoted from the next statement on (call it after running a statement).
    pub fn set_quoting(&mut self, quoting: Quoting) {
        self.quoting = quoting;
    }

    /// How strings are quoted now.
    pub fn quoting(&self) -> Quoting {
        self.quoting
    }

    /// The current delimiter.
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// The reader, with whatever the splitter has not read of it yet.
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn next_statement(&mut self) -> Result<Option<Statement>, SplitError> {
        self.skip_bom()?;
        loop {
            match self.scan() {
                Flow::Continue => {}
                Flow::Start(i) => {
                    self.stmt = Some(i);
                    self.stmt_line = self.line_at(self.base + i as u64);
                    self.line_clean = false;
                    self.pos = i;
                }
                Flow::Command { start, end } => {
                    let offset = self.base + start as u64;
                    let line = self.line_at(offset);
                    self.set_delimiter(start, end, line, offset)?;
                    self.pos = (end + 1).min(self.filled);
                    self.line_clean = true;
                }
                Flow::End(end) => {
                    if let Some(statement) = self.completed(end)? {
                        return Ok(Some(statement));
                    }
                }
                Flow::More => {
                    self.check_pending()?;
                    if self.eof {
                        return self.finish();
                    }
                    self.fill()?;
                }
            }
        }
    }

    fn scan(&mut self) -> Flow {
        match self.state {
            State::Code if self.stmt.is_none() => self.scan_gap(),
            State::Code => self.scan_code(),
            State::Quoted(q) => self.scan_quoted(q),
            State::LineComment => self.scan_line_comment(),
            State::BlockComment => self.scan_block_comment(),
        }
    }

    /// Between statements: whitespace, comments, empty statements, `DELIMITER` lines.
    fn scan_gap(&mut self) -> Flow {
        let buf = &self.buf[..self.filled];
        let mut i = self.pos;
        while i < buf.len() {
            let b = buf[i];
            if is_space(b) {
                self.line_clean |= b == b'\n';
                i += 1;
                continue;
            }
            if self.line_clean && b | 0x20 == b'd' {
                match delimiter_command(buf, i, self.eof) {
                    Ahead::Wait => break,
                    Ahead::Byte(_) => {
                        let end = memchr(b'\n', &buf[i..]).map_or(buf.len(), |k| i + k);
                        return Flow::Command { start: i, end };
                    }
                    Ahead::End => {}
                }
            }
            match code_step(buf, i, self.eof, &self.delimiter, true) {
                Step::Wait => break,
                Step::Delimiter => {
                    i += self.delimiter.len();
                    self.line_clean = false;
                }
                Step::LineComment(n) => {
                    self.enter(State::LineComment, i);
                    self.pos = i + n;
                    return Flow::Continue;
                }
                Step::BlockComment(n) => {
                    self.line_clean = false;
                    self.enter(State::BlockComment, i);
                    self.pos = i + n;
                    return Flow::Continue;
                }
                Step::Skip(_) | Step::Quote(_) => return Flow::Start(i),
            }
        }
        self.pos = i;
        Flow::More
    }

    /// Statement text outside strings and comments: stops at the bytes in `special`.
    fn scan_code(&mut self) -> Flow {
        let buf = &self.buf[..self.filled];
        let mut i = self.pos;
        loop {
            while i < buf.len() && !self.special[buf[i] as usize] {
                i += 1;
            }
            if i >= buf.len() {
                self.pos = i;
                return Flow::More;
            }
            match code_step(buf, i, self.eof, &self.delimiter, false) {
                Step::Skip(n) => i += n,
                Step::Wait => {
                    self.pos = i;
                    return Flow::More;
                }
                Step::Delimiter => {
                    self.pos = i + self.delimiter.len();
                    return Flow::End(i);
                }
                Step::LineComment(n) => {
                    self.enter(State::LineComment, i);
                    self.pos = i + n;
                    return Flow::Continue;
                }
                Step::BlockComment(n) => {
                    self.enter(State::BlockComment, i);
                    self.pos = i + n;
                    return Flow::Continue;
                }
                Step::Quote(q) => {
                    self.enter(State::Quoted(q), i);
                    self.pos = i + 1;
                    return Flow::Continue;
                }
            }
        }
    }

    fn scan_quoted(&mut self, q: u8) -> Flow {
        let buf = &self.buf[..self.filled];
        let escapes = q != b'`'
            && !self.quoting.no_backslash_escapes
            && !(q == b'"' && self.quoting.ansi_quotes);
        // A doubled quote stays inside; the client closes and reopens, which is the same unless
        // the delimiter starts with the quote.
        let doubled = self.delimiter.first() != Some(&q);
        let mut i = self.pos;
        loop {
            let rest = &buf[i..];
            let hit = if escapes {
                memchr2(q, b'\\', rest)
            } else {
                memchr(q, rest)
            };
            let Some(k) = hit else {
                self.pos = buf.len();
                return Flow::More;
            };
            let j = i + k;
            match (buf[j] == q, ahead(buf, j + 1, self.eof)) {
                (_, Ahead::Wait) => {
                    self.pos = j;
                    return Flow::More;
                }
                (false, Ahead::Byte(_)) => i = j + 2,
                (false, Ahead::End) => {
                    self.pos = buf.len();
                    return Flow::More;
                }
                (true, Ahead::Byte(c)) if c == q && doubled => i = j + 2,
                (true, _) => {
                    self.state = State::Code;
                    self.open = None;
                    self.pos = j + 1;
                    return Flow::Continue;
                }
            }
        }
    }

    fn scan_line_comment(&mut self) -> Flow {
        match memchr(b'\n', &self.buf[self.pos..self.filled]) {
            Some(k) => {
                self.pos += k + 1;
                self.state = State::Code;
                self.line_clean |= self.stmt.is_none();
                Flow::Continue
            }
            None => {
                self.pos = self.filled;
                Flow::More
            }
        }
    }

    fn scan_block_comment(&mut self) -> Flow {
        match memmem::find(&self.buf[self.pos..self.filled], b"*/") {
            Some(k) => {
                self.pos += k + 2;
                self.state = State::Code;
                self.open = None;
                Flow::Continue
            }
            None => {
                // Keep a last `*`: its `/` may come with the next read.
                self.pos = self.filled.saturating_sub(1).max(self.pos);
                Flow::More
            }
        }
    }

    fn enter(&mut self, state: State, i: usize) {
        self.state = state;
        if state != State::LineComment {
            self.open = Some(Open {
                offset: self.base + i as u64,
                line: None,
            });
        }
    }

    /// The statement in progress ends at `end` (its delimiter): yields it, or runs it as a
    /// `DELIMITER` command when it starts with that word (as the client does).
    fn completed(&mut self, end: usize) -> Result<Option<Statement>, SplitError> {
        let Some(start) = self.stmt.take() else {
            return Ok(None);
        };
        self.check_len(start, end)?;
        if starts_with_ignore_case(&self.buf[start..end], DELIMITER_WORD) {
            let offset = self.base + start as u64;
            self.set_delimiter(start, end, self.stmt_line, offset)?;
            return Ok(None);
        }
        Ok(Some(self.emit(start, end)))
    }

    /// At the end of the script: the last statement, or the string or comment left open.
    fn finish(&mut self) -> Result<Option<Statement>, SplitError> {
        let what = match self.state {
            State::Quoted(b'`') => "identifier",
            State::Quoted(b'"') if self.quoting.ansi_quotes => "identifier",
            State::Quoted(_) => "string",
            State::BlockComment => "comment",
            State::Code | State::LineComment => "",
        };
        if !what.is_empty() {
            let open = self.open.unwrap_or(Open {
                offset: self.base + self.pos as u64,
                line: None,
            });
            let line = open.line.unwrap_or_else(|| self.line_at(open.offset));
            return Err(SplitError::Unterminated {
                what,
                line,
                offset: open.offset,
            });
        }
        self.state = State::Code;
        let Some(start) = self.stmt.take() else {
            return Ok(None);
        };
        self.pos = self.filled;
        self.check_len(start, self.filled)?;
        Ok(Some(self.emit(start, self.filled)))
    }

    fn check_len(&self, start: usize, end: usize) -> Result<(), SplitError> {
        if end - start > self.max_statement {
            return Err(self.too_large(start, self.stmt_line));
        }
        Ok(())
    }

    /// Refuses to buffer more than the limit of one statement (or of one `DELIMITER` line).
    fn check_pending(&mut self) -> Result<(), SplitError> {
        match self.stmt {
            Some(start) if self.pos - start > self.max_statement => {
                Err(self.too_large(start, self.stmt_line))
            }
            None if self.filled - self.pos > self.max_statement => {
                let line = self.line_at(self.base + self.pos as u64);
                Err(self.too_large(self.pos, line))
            }
            _ => Ok(()),
        }
    }

    fn too_large(&self, start: usize, line: u64) -> SplitError {
        SplitError::TooLarge {
            line,
            offset: self.base + start as u64,
            limit: self.max_statement,
        }
    }

    /// Runs the `DELIMITER` command in `buf[start..end]`.
    fn set_delimiter(
        &mut self,
        start: usize,
        end: usize,
        line: u64,
        offset: u64,
    ) -> Result<(), SplitError> {
        // A command line longer than the limit is refused however it was read (in pieces, the
        // pending bytes would be refused before the line end is seen).
        if end - start > self.max_statement {
            return Err(SplitError::TooLarge {
                line,
                offset,
                limit: self.max_statement,
            });
        }
        match delimiter_arg(&self.buf[start..end]) {
            Some(mut arg) if !arg.contains(&b'\\') => {
                arg.truncate(MAX_DELIMITER);
                self.special = code_specials(&arg);
                self.delimiter = arg;
                Ok(())
            }
            _ => Err(SplitError::BadDelimiter { line, offset }),
        }
    }

    /// The statement `buf[start..end]` with trailing whitespace trimmed.
    fn emit(&mut self, start: usize, end: usize) -> Statement {
        let mut stop = end;
        while stop > start && is_space(self.buf[stop - 1]) {
            stop -= 1;
        }
        let offset = self.base + start as u64;
        let sql = if stop - start >= HAND_OVER {
            self.hand_over(start, stop)
        } else {
            self.buf[start..stop].to_vec()
        };
        Statement {
            sql,
            offset,
            line: self.stmt_line,
        }
    }

    /// Gives the read buffer away as the text of a huge statement, so it is never held twice;
    /// the bytes after the scan position move to a new buffer.
    fn hand_over(&mut self, start: usize, stop: usize) -> Vec<u8> {
        self.line_at(self.base + self.pos as u64);
        let rest = &self.buf[self.pos..self.filled];
        let mut fresh = Vec::with_capacity(CHUNK.max(rest.len()));
        fresh.extend_from_slice(rest);
        fresh.resize(fresh.capacity(), 0);
        self.filled = rest.len();
        self.base += self.pos as u64;
        self.pos = 0;
        let mut sql = std::mem::replace(&mut self.buf, fresh);
        sql.truncate(stop);
        sql.drain(..start);
        sql.shrink_to_fit();
        sql
    }

    /// The 1-based line of stream offset `offset`, which must not be before one asked earlier
    /// nor dropped from the buffer.
    fn line_at(&mut self, offset: u64) -> u64 {
        if offset > self.line_mark {
            let from = (self.line_mark - self.base) as usize;
            let to = (offset - self.base) as usize;
            self.line_no += count_lf(&self.buf[from..to]);
            self.line_mark = offset;
        }
        self.line_no
    }

    /// Skips a UTF-8 byte order mark at the start of the script, as the client does.
    fn skip_bom(&mut self) -> Result<(), SplitError> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        while !self.bom_checked {
            let have = &self.buf[..self.filled];
            if have.len() >= BOM.len() || self.eof || !BOM.starts_with(have) {
                self.bom_checked = true;
                if have.starts_with(BOM) {
                    self.pos = BOM.len();
                }
            } else {
                self.fill()?;
            }
        }
        Ok(())
    }

    /// Reads more: drops what is no longer needed, grows the buffer when a statement needs it.
    fn fill(&mut self) -> Result<(), SplitError> {
        if self.buf.len() - self.filled < CHUNK {
            self.make_room();
        }
        loop {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(SplitError::Io {
                        offset: self.base + self.filled as u64,
                        source,
                    })
                }
            }
        }
    }

    fn make_room(&mut self) {
        let keep = self.stmt.unwrap_or(self.pos);
        // Move the kept bytes to the front when they are at most half of the buffer.
        if keep > 0 && keep >= self.filled - keep {
            let keep_at = self.base + keep as u64;
            if let Some(open) = self.open.filter(|o| o.line.is_none() && o.offset < keep_at) {
                let line = self.line_at(open.offset);
                self.open = Some(Open {
                    line: Some(line),
                    ..open
                });
            }
            self.line_at(keep_at);
            self.buf.copy_within(keep..self.filled, 0);
            self.filled -= keep;
            self.pos -= keep;
            self.base = keep_at;
            self.stmt = self.stmt.map(|s| s - keep);
        }
        if self.buf.len() - self.filled < CHUNK {
            let mut grow = CHUNK.max(self.filled / 2);
            // A statement in progress past the read size: grow once to the size it can reach.
            if self.stmt.is_some() && self.filled >= CHUNK {
                let room = (self.expected_statement.min(self.max_statement) + 2 * CHUNK)
                    .saturating_sub(self.filled);
                if room >= CHUNK {
                    grow = room;
                }
            }
            self.buf.resize(self.filled + grow, 0);
        }
    }
}

impl<R: Read> Iterator for Splitter<R> {
    type Item = Result<Statement, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_statement() {
            Ok(Some(statement)) => Some(Ok(statement)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<R: Read> std::iter::FusedIterator for Splitter<R> {}

fn count_lf(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}
