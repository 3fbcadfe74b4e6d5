//! Token-aware rewrites of SQL text for a database rename: qualified references `` `old`.x `` and
//! `old.x` point at the new name (never inside strings or comments, always inside executable
//! `/*!… */` comments), and a renamed copy's events are created disabled.

use std::collections::BTreeMap;

use crate::sql::ident::quote_ident;

use super::Rename;

/// Longer than any `SET sql_mode = '…'` a dump writes (every mode named is under 1 KB).
const MAX_SET_STATEMENT: usize = 4096;

/// How the text is read: the `sql_mode` flags that change what a quote means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialect {
    /// `"…"` quotes an identifier, not a string.
    pub ansi_quotes: bool,
    /// A backslash in a string is an ordinary character.
    pub no_backslash_escapes: bool,
}

impl Dialect {
    /// Follows a `SET sql_mode = '…'` statement; any other statement leaves the dialect as is.
    pub fn observe(&mut self, sql: &str) {
        // Only a short `SET [SESSION] sql_mode = '…'` matters: never copy a row's INSERT.
        let sql = sql.trim_start();
        let is_set = sql.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("SET"))
            && sql.as_bytes().get(3).is_some_and(u8::is_ascii_whitespace);
        if !is_set || sql.len() > MAX_SET_STATEMENT {
            return;
        }
        let upper = sql.to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().take(3).collect();
        let setting = match words.as_slice() {
            ["SET", "SESSION", w, ..] | ["SET", w, ..] => w.starts_with("SQL_MODE"),
            _ => false,
        };
        let Some(value) = upper.split('\'').nth(1).filter(|_| setting) else {
            return;
        };
        let modes: Vec<&str> = value.split(',').map(str::trim).collect();
        self.ansi_quotes = modes.iter().any(|m| *m == "ANSI_QUOTES" || *m == "ANSI");
        self.no_backslash_escapes = modes.contains(&"NO_BACKSLASH_ESCAPES");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An unquoted word (keyword, name or number).
    Word,
    /// A quoted identifier; `name` holds it unescaped.
    Quoted,
    /// A string literal.
    Str,
    /// A user or system variable (`@x`, `@@session.x`, `@'x'`).
    Var,
    Dot,
    /// Any other character.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// Byte range in the text; always on character boundaries.
    start: usize,
    end: usize,
    /// For `Word` and `Quoted`: the name.
    name: String,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// A cursor over the characters of a text.
struct Scanner<'a> {
    chars: Vec<(usize, char)>,
    text: &'a str,
    i: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            chars: text.char_indices().collect(),
            text,
            i: 0,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|&(_, c)| c)
    }

    fn pos(&self) -> usize {
        self.chars.get(self.i).map_or(self.text.len(), |&(p, _)| p)
    }

    /// Skips to the end of the line (the line end included).
    fn skip_line(&mut self) {
        while let Some(c) = self.peek(0) {
            self.i += 1;
            if c == '\n' {
                return;
            }
        }
    }

    /// Reads a quoted run opened by `q` at the cursor; returns its unescaped content.
    /// Unterminated: runs to the end.
    fn quoted(&mut self, q: char, backslash: bool) -> String {
        self.i += 1;
        let mut content = String::new();
        while let Some(c) = self.peek(0) {
            self.i += 1;
            if c == q {
                if self.peek(0) == Some(q) {
                    self.i += 1;
                    content.push(q);
                    continue;
                }
                return content;
            }
            if backslash && c == '\\' {
                if let Some(next) = self.peek(0) {
                    self.i += 1;
                    content.push(next);
                }
                continue;
            }
            content.push(c);
        }
        content
    }
}

impl Scanner<'_> {
    /// Skips a comment at the cursor (`#…`, `-- …`, `/* … */`), or only the opener of an
    /// executable comment (`/*!50003`, `/*M!100100`), whose code is read as code. Returns
    /// whether there was one.
    fn skip_comment(&mut self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (Some('#'), _) => self.skip_line(),
            (Some('-'), Some('-'))
                if self
                    .peek(2)
                    .is_none_or(|c| c.is_whitespace() || c.is_control()) =>
            {
                self.skip_line()
            }
            (Some('/'), Some('*')) => {
                let executable = match (self.peek(2), self.peek(3)) {
                    (Some('!'), _) => Some(3),
                    (Some('M'), Some('!')) => Some(4),
                    _ => None,
                };
                if let Some(n) = executable {
                    self.i += n;
                    while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                        self.i += 1;
                    }
                } else {
                    self.i += 2;
                    while let Some(c) = self.peek(0) {
                        self.i += 1;
                        if c == '*' && self.peek(0) == Some('/') {
                            self.i += 1;
                            break;
                        }
                    }
                }
            }
            _ => return false,
        }
        true
    }

    /// Skips a variable at the cursor (`@x`, `@@session.x`, `@'x'`, `` @`x` ``).
    fn variable(&mut self, backslash: bool) {
        self.i += 1;
        if self.peek(0) == Some('@') {
            self.i += 1;
        }
        match self.peek(0) {
            Some(q @ ('`' | '\'' | '"')) => {
                self.quoted(q, q != '`' && backslash);
            }
            _ => {
                while self.peek(0).is_some_and(|c| is_word_char(c) || c == '.') {
                    self.i += 1;
                }
            }
        }
    }
}

/// The significant tokens of `text`: whitespace and comments left out, the code inside executable
/// comments (`/*!50003 … */`, `/*M!100100 … */`) kept.
fn tokens(text: &str, dialect: Dialect) -> Vec<Token> {
    let mut s = Scanner::new(text);
    let mut out = Vec::new();
    let backslash = !dialect.no_backslash_escapes;
    while let Some(c) = s.peek(0) {
        if c.is_whitespace() {
            s.i += 1;
            continue;
        }
        if s.skip_comment() {
            continue;
        }
        let start = s.pos();
        let (kind, name) = match c {
            '`' => (Kind::Quoted, s.quoted('`', false)),
            '"' if dialect.ansi_quotes => (Kind::Quoted, s.quoted('"', false)),
            '\'' | '"' => {
                s.quoted(c, backslash);
                (Kind::Str, String::new())
            }
            '@' => {
                s.variable(backslash);
                (Kind::Var, String::new())
            }
            '.' => {
                s.i += 1;
                (Kind::Dot, String::new())
            }
            c if is_word_char(c) => {
                let mut word = String::new();
                while let Some(c) = s.peek(0).filter(|&c| is_word_char(c)) {
                    word.push(c);
                    s.i += 1;
                }
                (Kind::Word, word)
            }
            _ => {
                s.i += 1;
                (Kind::Other, String::new())
            }
        };
        out.push(Token {
            kind,
            start,
            end: s.pos(),
            name,
        });
    }
    out
}

/// Copies `text` with the byte ranges of `edits` (sorted, not overlapping, on character
/// boundaries) replaced.
fn apply(text: &str, edits: &[(usize, usize, String)]) -> Option<String> {
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 16 * edits.len());
    let mut at = 0;
    for (start, end, with) in edits {
        out.push_str(text.get(at..*start)?);
        out.push_str(with);
        at = *end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Points every qualified reference to a renamed database at its new name: `` `old`.x `` and
/// `old.x` (the name matched exactly, as database names are on Linux) where `old` stands in
/// database position — followed by `.` and not preceded by one (`t.old.x` is a column). Strings,
/// comments and variables are left alone; the code inside executable comments is rewritten.
/// All renames apply in one pass, so `a=b,b=c` never turns `a` into `c`. Returns `None` when
/// nothing changes.
pub fn rewrite_references(sql: &str, renames: &[Rename], dialect: Dialect) -> Option<String> {
    let map: BTreeMap<&str, &str> = renames
        .iter()
        .filter(|r| r.from != r.to)
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    if !map.keys().any(|from| may_occur(sql, from)) {
        return None;
    }
    let toks = tokens(sql, dialect);
    let mut edits = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let candidate = match t.kind {
            Kind::Quoted => true,
            // A number (`1.5`) is no name.
            Kind::Word => !t.name.chars().all(|c| c.is_ascii_digit()),
            _ => false,
        };
        if !candidate {
            continue;
        }
        let Some(to) = map.get(t.name.as_str()) else {
            continue;
        };
        let after_dot = i
            .checked_sub(1)
            .and_then(|p| toks.get(p))
            .is_some_and(|p| p.kind == Kind::Dot);
        let before_dot = toks.get(i + 1).is_some_and(|n| n.kind == Kind::Dot);
        if before_dot && !after_dot {
            edits.push((t.start, t.end, quote_ident(to)));
        }
    }
    apply(sql, &edits)
}

/// Whether `name` may occur in `sql`: as it is, or escaped inside quotes.
pub fn may_occur(sql: &str, name: &str) -> bool {
    !name.is_empty()
        && (sql.contains(name)
            || sql.contains(&name.replace('`', "``"))
            || sql.contains(&name.replace('"', "\"\"")))
}

fn is_word(t: &Token, word: &str) -> bool {
    t.kind == Kind::Word && t.name.eq_ignore_ascii_case(word)
}

/// A `CREATE EVENT` made to create the event disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledEvent {
    pub sql: String,
    /// The event's name.
    pub name: String,
}

/// Rewrites the status of a `CREATE … EVENT` as `SHOW CREATE EVENT` writes it (`ENABLE`,
/// `DISABLE ON SLAVE`, `DISABLE ON REPLICA`, or none) to `DISABLE`. `None` when `sql` is no
/// `CREATE EVENT` or the event is disabled already.
pub fn disable_event(sql: &str, dialect: Dialect) -> Option<DisabledEvent> {
    let toks = tokens(sql, dialect);
    if !toks.first().is_some_and(|t| is_word(t, "CREATE")) {
        return None;
    }
    let at_event = toks.iter().position(|t| is_word(t, "EVENT"))?;
    let name_at = at_event + 1;
    let name = toks
        .get(name_at)
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))?;
    // `db.ev`: the name is the last part.
    let mut last = name_at;
    while toks.get(last + 1).is_some_and(|t| t.kind == Kind::Dot)
        && toks
            .get(last + 2)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
    {
        last += 2;
    }
    let event_name = toks.get(last).map_or(name.name.clone(), |t| t.name.clone());
    let mut i = last + 1;
    let mut edit = None;
    while let Some(t) = toks.get(i) {
        if is_word(t, "DO") {
            edit.get_or_insert((t.start, t.start, "DISABLE ".to_string()));
            break;
        }
        if is_word(t, "ENABLE") {
            edit = Some((t.start, t.end, "DISABLE".to_string()));
        } else if is_word(t, "DISABLE") {
            let on_replica = toks.get(i + 1).is_some_and(|n| is_word(n, "ON"))
                && toks
                    .get(i + 2)
                    .is_some_and(|n| is_word(n, "SLAVE") || is_word(n, "REPLICA"));
            if !on_replica {
                return None;
            }
            let end = toks.get(i + 2).map_or(t.end, |n| n.end);
            edit = Some((t.start, end, "DISABLE".to_string()));
            i += 2;
        }
        i += 1;
    }
    let edit = edit?;
    Some(DisabledEvent {
        sql: apply(sql, &[edit])?,
        name: event_name,
    })
}

#[cfg(test)]
mod tests;
