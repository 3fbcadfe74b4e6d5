//! Row tuples of the INSERT statements a dump holds: counted for progress, located for verify.

use std::ops::Range;

use memchr::{memchr, memchr2};

use super::lex::is_space;

/// The number of row tuples of `INSERT [IGNORE] [INTO] t [(…)] VALUES (…),(…)`, or None when
/// `sql` is not such a statement (comments between the tuples are not expected).
///
/// Strings are read with backslash escapes, as the dump writes them.
pub fn count_insert_rows(sql: &[u8]) -> Option<u64> {
    let mut rows = 0u64;
    parse_insert(sql, |_| rows += 1)?;
    Some(rows)
}

/// The table name as written (`` `t` `` or `` `db`.`t` ``) and the byte range of every row tuple
/// `(…)` of an INSERT that [`count_insert_rows`] reads.
pub fn insert_rows(sql: &[u8]) -> Option<(&[u8], Vec<Range<usize>>)> {
    let mut rows = Vec::new();
    let table = parse_insert(sql, |r| rows.push(r))?;
    Some((&sql[table], rows))
}

fn parse_insert(sql: &[u8], mut each: impl FnMut(Range<usize>)) -> Option<Range<usize>> {
    let mut i = keyword(sql, skip_space(sql, 0), b"INSERT")?;
    for optional in [&b"IGNORE"[..], &b"INTO"[..]] {
        if let Some(j) = keyword(sql, skip_space(sql, i), optional) {
            i = j;
        }
    }
    let table_start = skip_space(sql, i);
    let mut table_end = ident_end(sql, table_start)?;
    if sql.get(table_end) == Some(&b'.') {
        table_end = ident_end(sql, table_end + 1)?;
    }
    i = skip_space(sql, table_end);
    if sql.get(i) == Some(&b'(') {
        i = skip_space(sql, group_end(sql, i)?);
    }
    i = keyword(sql, i, b"VALUES").or_else(|| keyword(sql, i, b"VALUE"))?;
    loop {
        i = skip_space(sql, i);
        if sql.get(i) != Some(&b'(') {
            return None;
        }
        let end = group_end(sql, i)?;
        each(i..end);
        i = skip_space(sql, end);
        match sql.get(i) {
            None => return Some(table_start..table_end),
            Some(b',') => i += 1,
            Some(_) => return None,
        }
    }
}

fn skip_space(sql: &[u8], mut i: usize) -> usize {
    while i < sql.len() && is_space(sql[i]) {
        i += 1;
    }
    i
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The index after `word` (any case) at `i`, when no identifier byte follows it.
fn keyword(sql: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    let found = sql.get(i..end)?.eq_ignore_ascii_case(word);
    (found && !sql.get(end).is_some_and(|&b| is_ident_byte(b))).then_some(end)
}

/// The end of a `` `quoted` `` or bare identifier at `i`.
fn ident_end(sql: &[u8], i: usize) -> Option<usize> {
    if sql.get(i) == Some(&b'`') {
        return quoted_end(sql, i + 1, b'`');
    }
    let len = sql[i..].iter().take_while(|&&b| is_ident_byte(b)).count();
    (len > 0).then_some(i + len)
}

/// The index after the quote that closes a string or identifier whose text starts at `i`.
fn quoted_end(sql: &[u8], mut i: usize, q: u8) -> Option<usize> {
    loop {
        let rest = sql.get(i..)?;
        let k = if q == b'`' {
            memchr(q, rest)?
        } else {
            memchr2(q, b'\\', rest)?
        };
        let j = i + k;
        if sql[j] == b'\\' || sql.get(j + 1) == Some(&q) {
            i = j + 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// Bytes that matter inside a parenthesised group.
const GROUP_SPECIALS: [bool; 256] = {
    let mut t = [false; 256];
    let bytes = *b"()'\"`#-/";
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

/// The index after the `)` that closes the `(` at `start`; None on a comment or no close.
fn group_end(sql: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    loop {
        i += sql
            .get(i..)?
            .iter()
            .position(|&b| GROUP_SPECIALS[b as usize])?;
        match sql[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            q @ (b'\'' | b'"' | b'`') => {
                i = quoted_end(sql, i + 1, q)?;
                continue;
            }
            b'#' => return None,
            b'/' if sql.get(i + 1) == Some(&b'*') => return None,
            b'-' if sql.get(i + 1) == Some(&b'-') && sql.get(i + 2).is_none_or(|&c| c <= b' ') => {
                return None
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_rows_table() {
        let cases: &[(&str, Option<u64>)] = &[
            (
                "INSERT INTO `t` (`a`,`b`) VALUES\n(1,'x'),\n(2,'y')",
                Some(2),
            ),
            ("insert into t values(1)", Some(1)),
            ("INSERT IGNORE INTO `d`.`t` VALUES (1),(2) , (3)", Some(3)),
            (
                "INSERT INTO `a``b` VALUE ('(', ')', \"'\", '\\'', 'it''s', (1+(2)))",
                Some(1),
            ),
            ("INSERT INTO t VALUES (-1, 1-2, 0x00, b'1', 2/3)", Some(1)),
            ("INSERT INTO `g` () VALUES\n(),\n(),\n()", Some(3)),
            ("INSERT INTO `g` () VALUES ()", Some(1)),
            (
                "INSERT INTO `s` (`a`,`b`) VALUES (_sjis 0x835C5C27,_sjis ''),(_ucs2 0x0041,NULL)",
                Some(2),
            ),
            ("INSERT INTO t VALUES (1),", None),
            ("INSERT INTO t VALUES", None),
            ("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a=1", None),
            ("INSERT INTO t VALUES (1 /* ( */)", None),
            ("INSERT INTO t VALUES (1 -- (\n)", None),
            ("INSERT INTO t VALUES ('a)", None),
            ("INSERT INTO t SELECT 1", None),
            ("INSERTINTO t VALUES (1)", None),
            ("REPLACE INTO t VALUES (1)", None),
            ("SELECT 1", None),
            ("", None),
        ];
        for &(sql, want) in cases {
            assert_eq!(count_insert_rows(sql.as_bytes()), want, "{sql}");
        }
        let sql = b"INSERT INTO `d`.`t` (`a`) VALUES (1),('(')";
        let (table, rows) = insert_rows(sql).unwrap();
        assert_eq!(table, b"`d`.`t`");
        let rows: Vec<&[u8]> = rows.into_iter().map(|r| &sql[r]).collect();
        assert_eq!(rows, [&b"(1)"[..], b"('(')"]);
    }
}
