//! A huge INSERT (one row, as a dump writes a huge row) is sent as a prepared statement whose big
//! values travel as parameters in pieces (`COM_STMT_SEND_LONG_DATA`): the driver then never
//! copies the whole statement, and the statement's text is freed before anything is sent.

use crate::sql::literal::{decode_hex_in_place, unescape_string_in_place};
use crate::sql::split::insert_rows;

/// A literal at least this long becomes a parameter.
const BIG_VALUE: usize = 1 << 20;

/// A huge INSERT made into a prepared statement.
#[derive(Debug, PartialEq)]
pub struct Prepared {
    /// The statement with `?` where the big values were.
    pub sql: String,
    /// The big values, in order.
    pub params: Vec<mysql::Value>,
}

/// The byte ranges of the top-level literals of a tuple's inside (commas outside strings).
fn literals(inner: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut escaped) = (0usize, None::<u8>, false);
    for (i, &b) in inner.iter().enumerate() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if b == b'\\' => escaped = true,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b',' => {
                out.push(start..i);
                start = i + 1;
            }
            None => {}
        }
    }
    out.push(start..inner.len());
    out
}

/// A big literal that goes as a parameter: where its literal starts (after any introducer), and
/// the character set of a `_charset 0x…` literal other than `_binary`.
#[derive(Debug, PartialEq)]
struct Parameter<'a> {
    skip: usize,
    charset: Option<&'a str>,
}

/// Whether `lit` is a big literal that can go as a parameter: a plain `'…'` string or a hex
/// literal (`_binary` strings too), or a hex literal with another character set's introducer
/// (raw bytes of a lossy character set: the parameter is relabelled with that character set).
/// Strings with another introducer stay text.
fn parameter(lit: &[u8]) -> Option<Parameter<'_>> {
    if lit.len() < BIG_VALUE {
        return None;
    }
    let lead = lit.len() - lit.trim_ascii_start().len();
    let body = lit.get(lead..)?;
    let Some(rest) = body.strip_prefix(b"_") else {
        let plain = matches!(body.first(), Some(b'\'' | b'0' | b'X' | b'x'));
        return plain.then_some(Parameter {
            skip: lead,
            charset: None,
        });
    };
    let name_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let name = std::str::from_utf8(rest.get(..name_len)?).ok()?;
    let after = rest.get(name_len..)?;
    let value = after.trim_ascii_start();
    let skip = lead + 1 + name_len + (after.len() - value.len());
    if name.eq_ignore_ascii_case("binary") {
        let ok = matches!(value.first(), Some(b'\'' | b'0' | b'X' | b'x'));
        return ok.then_some(Parameter {
            skip,
            charset: None,
        });
    }
    let hex = value.starts_with(b"0x") || value.starts_with(b"X'") || value.starts_with(b"x'");
    (hex && !name.is_empty()).then_some(Parameter {
        skip,
        charset: Some(name),
    })
}

/// Decodes literal `buf` (exactly the literal) in place into the bytes it stands for.
fn decode(mut buf: Vec<u8>) -> Option<Vec<u8>> {
    let trailing = buf.len() - buf.trim_ascii_end().len();
    buf.truncate(buf.len() - trailing);
    let ok = if buf.first() == Some(&b'\'') {
        unescape_string_in_place(&mut buf)
    } else {
        decode_hex_in_place(&mut buf)
    };
    ok.then_some(buf)
}

/// `sql`, an `INSERT … VALUES (…)` of one row, with its big literals as parameters, decoded in
/// the statement's own memory where it has one (the text is consumed). `Err` gives the text back
/// when it is not such a statement or has no big literal (it then goes as text).
pub fn prepare(sql: Vec<u8>) -> Result<Prepared, Vec<u8>> {
    let Some(plan) = plan(&sql) else {
        return Err(sql);
    };
    let (text, big) = plan;
    let params = if let [only] = big.as_slice() {
        let mut sql = sql;
        sql.truncate(only.range.end);
        sql.drain(..only.range.start);
        vec![only.take(sql)]
    } else {
        big.iter()
            .map(|b| b.take(sql.get(b.range.clone()).unwrap_or_default().to_vec()))
            .collect()
    };
    let params: Option<Vec<mysql::Value>> = params
        .into_iter()
        .map(|p| p.map(mysql::Value::Bytes))
        .collect();
    match params {
        Some(params) => Ok(Prepared { sql: text, params }),
        None => Err(Vec::new()),
    }
}

/// A big literal of a statement that becomes a parameter.
#[derive(Debug)]
struct Big {
    /// Where the literal is in the statement (after any introducer).
    range: std::ops::Range<usize>,
    /// The parameter is the literal's hex digits (`UNHEX(?)`), not the bytes it stands for.
    digits: bool,
}

impl Big {
    /// The parameter's value from the literal `buf`.
    fn take(&self, buf: Vec<u8>) -> Option<Vec<u8>> {
        if self.digits {
            hex_digits(buf)
        } else {
            decode(buf)
        }
    }
}

/// The digits of hex literal `buf` (`0x…` or `X'…'`), in place, an even number of them (a
/// leading `0` added, as the server reads `0xABC`); `None` when `buf` is no such literal.
fn hex_digits(mut buf: Vec<u8>) -> Option<Vec<u8>> {
    let trailing = buf.len() - buf.trim_ascii_end().len();
    buf.truncate(buf.len() - trailing);
    let quoted = matches!(buf.first(), Some(b'X' | b'x'));
    if quoted {
        if buf.get(1) != Some(&b'\'') || buf.last() != Some(&b'\'') || buf.len() < 3 {
            return None;
        }
        buf.pop();
    } else if !buf.starts_with(b"0x") {
        return None;
    }
    buf.drain(..2);
    if buf.is_empty() || !buf.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    if buf.len() % 2 == 1 {
        if quoted {
            return None;
        }
        buf.insert(0, b'0');
    }
    Some(buf)
}

/// The prepared statement's text and the big literals of `sql`.
fn plan(sql: &[u8]) -> Option<(String, Vec<Big>)> {
    let (_, rows) = insert_rows(sql)?;
    let [row] = rows.as_slice() else {
        return None;
    };
    let inner_start = row.start + 1;
    let inner = sql.get(inner_start..row.end.checked_sub(1)?)?;
    let mut text = std::str::from_utf8(sql.get(..inner_start)?)
        .ok()?
        .to_string();
    let mut big = Vec::new();
    for (i, range) in literals(inner).into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let lit = inner.get(range.clone())?;
        match parameter(lit) {
            Some(p) => {
                // Raw bytes of another character set go as hex digits: the server would take
                // a string parameter as utf8mb4 text and convert it (0x5C 0x27 in sjis becomes
                // 0x815F 0x27), while a binary string converted with CONVERT is only relabelled.
                // UNHEX's result, half the statement's size, stays under max_allowed_packet
                // (the loader refuses larger statements before they get here).
                match p.charset {
                    Some(cs) => text.push_str(&format!("CONVERT(UNHEX(?) USING {cs})")),
                    None => text.push('?'),
                }
                big.push(Big {
                    range: inner_start + range.start + p.skip..inner_start + range.end,
                    digits: p.charset.is_some(),
                });
            }
            None => text.push_str(std::str::from_utf8(lit).ok()?),
        }
    }
    text.push(')');
    (!big.is_empty()).then_some((text, big))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_literals_become_parameters() {
        let big_text = "a'b\\\\c".repeat(BIG_VALUE / 4);
        let escaped = big_text.replace('\\', "\\\\").replace('\'', "\\'");
        let sql = format!(
            "INSERT INTO `t` (`id`,`s`,`b`,`n`) VALUES\n(1,'{escaped}',0x{},NULL)",
            "0A".repeat(BIG_VALUE)
        );
        let p = prepare(sql.into_bytes()).unwrap();
        assert_eq!(
            p.sql,
            "INSERT INTO `t` (`id`,`s`,`b`,`n`) VALUES\n(1,?,?,NULL)"
        );
        assert_eq!(
            p.params,
            vec![
                mysql::Value::Bytes(big_text.into_bytes()),
                mysql::Value::Bytes(vec![0x0A; BIG_VALUE])
            ]
        );
    }

    #[test]
    fn small_or_odd_statements_stay_text() {
        let text = |s: &str| prepare(s.as_bytes().to_vec()).err();
        let small = "INSERT INTO `t` VALUES (1,'x')";
        assert_eq!(text(small).as_deref(), Some(small.as_bytes()));
        let two_rows = format!(
            "INSERT INTO `t` VALUES ('{0}'),('{0}')",
            "x".repeat(BIG_VALUE)
        );
        assert!(text(&two_rows).is_some());
        let latin1 = format!(
            "INSERT INTO `t` VALUES (_latin1 '{}')",
            "e".repeat(BIG_VALUE)
        );
        assert!(text(&latin1).is_some());
        assert!(text("DROP TABLE t").is_some());
        assert!(text("INSERT INTO `t` VALUES (").is_some());
        let binary = format!(
            "INSERT INTO `t` VALUES (2, _binary '{}')",
            "z".repeat(BIG_VALUE)
        );
        let p = prepare(binary.into_bytes()).unwrap();
        assert_eq!(p.sql, "INSERT INTO `t` VALUES (2,?)");
        assert_eq!(p.params, vec![mysql::Value::Bytes(vec![b'z'; BIG_VALUE])]);
    }

    #[test]
    fn big_hex_literals_with_an_introducer_keep_their_charset() {
        let sql = format!(
            "INSERT INTO `t` (`a`,`b`,`c`) VALUES\n(1,_sjis 0x{},_ucs2  X'{}')",
            "835C5C27".repeat(BIG_VALUE / 8),
            "0041".repeat(BIG_VALUE / 4)
        );
        let p = prepare(sql.into_bytes()).unwrap();
        assert_eq!(
            p.sql,
            "INSERT INTO `t` (`a`,`b`,`c`) VALUES\n(1,CONVERT(UNHEX(?) USING sjis),\
             CONVERT(UNHEX(?) USING ucs2))"
        );
        assert_eq!(
            p.params,
            vec![
                mysql::Value::Bytes("835C5C27".repeat(BIG_VALUE / 8).into_bytes()),
                mysql::Value::Bytes("0041".repeat(BIG_VALUE / 4).into_bytes()),
            ]
        );
        let bad = format!(
            "INSERT INTO `t` VALUES (_sjis 0x{}G)",
            "AB".repeat(BIG_VALUE)
        );
        assert_eq!(prepare(bad.into_bytes()).err(), Some(Vec::new()));
        let odd = format!("INSERT INTO `t` VALUES (_ 0x{})", "AB".repeat(BIG_VALUE));
        assert!(prepare(odd.into_bytes()).is_err());
    }

    #[test]
    fn hex_digits_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"0xAB", Some(b"AB")),
            (b"0xABC  ", Some(b"0ABC")),
            (b"X'ab'", Some(b"ab")),
            (b"x'0A0B'", Some(b"0A0B")),
            (b"X'ABC'", None),
            (b"X''", None),
            (b"0x", None),
            (b"0xAG", None),
            (b"X'AB", None),
            (b"'AB'", None),
            (b"", None),
        ];
        for &(lit, want) in cases {
            assert_eq!(hex_digits(lit.to_vec()).as_deref(), want, "{lit:?}");
        }
    }
}
