//! The byte-level rules of the `mariadb` client's statement splitting, as pure functions.

use memchr::memchr;

/// The client command that changes the delimiter.
pub(super) const DELIMITER_WORD: &[u8] = b"delimiter";

/// The byte at some distance ahead, if the buffer holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ahead {
    Byte(u8),
    /// The script ends before it.
    End,
    /// Not read yet.
    Wait,
}

/// What the byte at the scan position means outside strings and comments.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Statement text of this many bytes.
    Skip(usize),
    /// The decision needs bytes not read yet.
    Wait,
    /// The delimiter starts here.
    Delimiter,
    /// A `#` or `-- ` comment whose opener is this many bytes long.
    LineComment(usize),
    /// A `/*` comment (opener 2 bytes).
    BlockComment(usize),
    /// A string or identifier opens.
    Quote(u8),
}

/// ASCII whitespace as the client's `my_isspace` sees it.
#[inline]
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

pub(super) fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

/// The bytes that can start something in statement text: quotes, escapes, comments, delimiter.
pub(super) fn code_specials(delimiter: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    for b in [b'\'', b'"', b'`', b'\\', b'#', b'-', b'/'] {
        t[b as usize] = true;
    }
    if let Some(&d) = delimiter.first() {
        t[d as usize] = true;
    }
    t
}

#[inline]
pub(super) fn ahead(buf: &[u8], i: usize, eof: bool) -> Ahead {
    match buf.get(i) {
        Some(&b) => Ahead::Byte(b),
        None if eof => Ahead::End,
        None => Ahead::Wait,
    }
}

/// Whether a `DELIMITER` command starts at `i`: `Byte` yes, `End` no, `Wait` cannot tell yet.
pub(super) fn delimiter_command(buf: &[u8], i: usize, eof: bool) -> Ahead {
    let have = &buf[i..];
    let n = have.len().min(DELIMITER_WORD.len());
    if !have[..n].eq_ignore_ascii_case(&DELIMITER_WORD[..n]) {
        Ahead::End
    } else if n == DELIMITER_WORD.len() {
        // The command is the whole line: wait for its end.
        match memchr(b'\n', have) {
            Some(_) => Ahead::Byte(b'\n'),
            None if eof => Ahead::Byte(b'\n'),
            None => Ahead::Wait,
        }
    } else if eof {
        Ahead::End
    } else {
        Ahead::Wait
    }
}

/// What the byte at `i` means in statement text; `fresh`: no statement is in progress yet.
/// The order of the checks is the client's: backslash, delimiter, comments, quotes.
pub(super) fn code_step(buf: &[u8], i: usize, eof: bool, delimiter: &[u8], fresh: bool) -> Step {
    let b = buf[i];
    let next = |k: usize| ahead(buf, i + k, eof);
    if b == b'\\' {
        return match next(1) {
            Ahead::Wait => Step::Wait,
            Ahead::End => Step::Skip(1),
            Ahead::Byte(_) => Step::Skip(2),
        };
    }
    if delimiter.first() == Some(&b) {
        let have = &buf[i..];
        if have.starts_with(delimiter) {
            return Step::Delimiter;
        }
        if !eof && have.len() < delimiter.len() && delimiter.starts_with(have) {
            return Step::Wait;
        }
    }
    match b {
        b'#' => Step::LineComment(1),
        b'-' => match (next(1), next(2)) {
            (Ahead::Wait, _) => Step::Wait,
            (Ahead::Byte(b'-'), _) if fresh => Step::LineComment(2),
            (Ahead::Byte(b'-'), Ahead::Wait) => Step::Wait,
            (Ahead::Byte(b'-'), Ahead::End) => Step::LineComment(2),
            (Ahead::Byte(b'-'), Ahead::Byte(c)) if is_space(c) || c == 0 => Step::LineComment(2),
            _ => Step::Skip(1),
        },
        b'/' => match (next(1), next(2), next(3)) {
            (Ahead::Wait, _, _) | (Ahead::Byte(b'*'), Ahead::Wait, _) => Step::Wait,
            (Ahead::Byte(b'*'), Ahead::Byte(b'!'), _) => Step::Skip(3),
            (Ahead::Byte(b'*'), Ahead::Byte(b'M'), Ahead::Wait) => Step::Wait,
            (Ahead::Byte(b'*'), Ahead::Byte(b'M'), Ahead::Byte(b'!')) => Step::Skip(4),
            (Ahead::Byte(b'*'), _, _) => Step::BlockComment(2),
            _ => Step::Skip(1),
        },
        b'\'' | b'"' | b'`' => Step::Quote(b),
        _ => Step::Skip(1),
    }
}

/// The argument of a `DELIMITER` command as the client's `get_arg` reads it: the word after the
/// command, or a quoted string; a backslash escapes the next byte. None when there is none.
pub(super) fn delimiter_arg(line: &[u8]) -> Option<Vec<u8>> {
    let line = &line[..memchr(0, line).unwrap_or(line.len())];
    let mut p = line.iter().position(|&b| is_space(b))?;
    while p < line.len() && is_space(line[p]) {
        p += 1;
    }
    let quote = match line.get(p) {
        Some(&q @ (b'\'' | b'"' | b'`')) => {
            p += 1;
            Some(q)
        }
        _ => None,
    };
    let mut arg = Vec::new();
    while p < line.len() {
        let c = line[p];
        let escaped = c == b'\\' && p + 1 < line.len() && quote != Some(b'`');
        let doubled = quote == Some(c) && line.get(p + 1) == Some(&c);
        if escaped || doubled {
            arg.push(line[p + 1]);
            p += 2;
            continue;
        }
        if quote == Some(c) || (quote.is_none() && matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
            break;
        }
        arg.push(c);
        p += 1;
    }
    (!arg.is_empty()).then_some(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_arguments() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"DELIMITER ;;", Some(b";;")),
            (b"delimiter   $$  rest", Some(b"$$")),
            (b"DELIMITER\t//\r", Some(b"//")),
            (b"DELIMITER 'a b'", Some(b"a b")),
            (b"DELIMITER 'a''b'", Some(b"a'b")),
            (b"DELIMITER `a\\b`", Some(b"a\\b")),
            (b"DELIMITER a\\;", Some(b"a;")),
            (b"DELIMITER \\\\", Some(b"\\")),
            (b"DELIMITER", None),
            (b"DELIMITER ", None),
            (b"DELIMITER;", None),
            (b"DELIMITER ''", None),
        ];
        for &(line, want) in cases {
            assert_eq!(
                delimiter_arg(line).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// Bytes from the scan position, end of script, no statement yet, delimiter, step.
    type StepCase<'a> = (&'a [u8], bool, bool, &'a [u8], Step);

    #[test]
    fn code_steps() {
        use Step::*;
        let cases: &[StepCase] = &[
            (b"a", false, false, b";", Skip(1)),
            (b"\\;", false, false, b";", Skip(2)),
            (b"\\", false, false, b";", Wait),
            (b"\\", true, false, b";", Skip(1)),
            (b";", false, false, b";", Delimiter),
            (b"$$", false, false, b"$$", Delimiter),
            (b"$", false, false, b"$$", Wait),
            (b"$", true, false, b"$$", Skip(1)),
            (b"$x", false, false, b"$$", Skip(1)),
            (b"//", false, false, b"//", Delimiter),
            (b"/* ", false, false, b"//", BlockComment(2)),
            (b"#", false, false, b";", LineComment(1)),
            (b"-- ", false, false, b";", LineComment(2)),
            (b"--\n", false, false, b";", LineComment(2)),
            (b"--\0", false, false, b";", LineComment(2)),
            (b"--", true, false, b";", LineComment(2)),
            (b"--", false, false, b";", Wait),
            (b"-", false, false, b";", Wait),
            (b"--x", false, false, b";", Skip(1)),
            (b"--x", false, true, b";", LineComment(2)),
            (b"-1", false, false, b";", Skip(1)),
            (b"/", false, false, b";", Wait),
            (b"/*", false, false, b";", Wait),
            (b"/*", true, false, b";", BlockComment(2)),
            (b"/*!", false, false, b";", Skip(3)),
            (b"/*M", false, false, b";", Wait),
            (b"/*M!", false, false, b";", Skip(4)),
            (b"/*Mx", false, false, b";", BlockComment(2)),
            (b"/x", false, false, b";", Skip(1)),
            (b"'", false, false, b";", Quote(b'\'')),
            (b"`", false, false, b";", Quote(b'`')),
            (b"\"", false, false, b";", Quote(b'"')),
            (b"'", false, false, b"'", Delimiter),
        ];
        for (bytes, eof, fresh, delimiter, want) in cases {
            let got = code_step(bytes, 0, *eof, delimiter, *fresh);
            assert_eq!(
                &got,
                want,
                "{:?} eof {eof} fresh {fresh}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn delimiter_command_needs_the_whole_line() {
        let cases: &[(&[u8], bool, Ahead)] = &[
            (b"DELIMITER $$\n", false, Ahead::Byte(b'\n')),
            (b"delimiter $$", false, Ahead::Wait),
            (b"delimiter $$", true, Ahead::Byte(b'\n')),
            (b"delim", false, Ahead::Wait),
            (b"delim", true, Ahead::End),
            (b"DELETE FROM t", false, Ahead::End),
        ];
        for &(bytes, eof, want) in cases {
            assert_eq!(delimiter_command(bytes, 0, eof), want, "{bytes:?} {eof}");
        }
    }
}
