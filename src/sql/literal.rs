//! SQL value literals: turns the server's text-protocol bytes into exact SQL literals, and back.
//!
//! The dump reads rows over the text protocol on a connection with `SET NAMES utf8mb4`, so every
//! value arrives as the server's own bytes. Which literal to write is decided once per column
//! from the result-set metadata ([`ValueKind::from_column`]), never from the bytes themselves.
//!
//! The literals written here are exact only when the script is replayed with `SET NAMES utf8mb4`
//! (utf8mb4 is ASCII-transparent, so no multibyte sequence can contain a byte that is escaped
//! here; in big5/sjis/gbk a `\` can be the second byte of a character) and without
//! `NO_BACKSLASH_ESCAPES` in `sql_mode` (the escapes use backslashes). Text in a character set
//! that does not survive utf8mb4 byte for byte is read raw and written `_charset 0x…`
//! ([`ValueKind::Introduced`]).
//!
//! This is the hot path of the dump: everything appends to a reusable `&mut Vec<u8>`, allocates
//! nothing per value, uses lookup tables for hex and bits, and scans text eight bytes at a time
//! for the common case of nothing to escape.

use mysql::consts::{ColumnFlags, ColumnType};

/// The collation id the server reports for binary strings (`binary`, id 63).
pub const BINARY_CHARSET: u16 = 63;

/// How the values of one result-set column are written as SQL literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Integers, DECIMAL, FLOAT, DOUBLE, YEAR: the server's own text, unquoted.
    Numeric,
    /// BIT: a `b'…'` literal with every bit of the bytes the server sent.
    Bit,
    /// Binary strings (charset 63): `0x…` uppercase hex, `''` when empty.
    Binary,
    /// Everything else: a single-quoted, backslash-escaped string.
    Text,
    /// Text in a character set that does not survive utf8mb4 byte for byte, read as its raw
    /// bytes: `_charset 0x…` (`_charset ''` when empty), which the server takes as exactly those
    /// bytes in that character set.
    Introduced(Introducer),
}

/// A character set name fit for a `_charset` introducer (ASCII letters, digits and `_`, at most
/// 32 bytes, as every character set name is), held inline so [`ValueKind`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Introducer {
    name: [u8; 32],
    len: u8,
}

impl Introducer {
    /// The introducer for `charset`, or `None` when the name could not be one.
    pub fn new(charset: &str) -> Option<Introducer> {
        let bytes = charset.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 32
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return None;
        }
        let mut name = [0u8; 32];
        name[..bytes.len()].copy_from_slice(bytes);
        Some(Introducer {
            name,
            len: bytes.len() as u8,
        })
    }

    /// The character set name.
    pub fn name(&self) -> &[u8] {
        &self.name[..usize::from(self.len)]
    }

    /// `_name 0x` — what a non-empty value's literal starts with.
    fn hex_open(&self) -> Vec<u8> {
        let mut open = Vec::with_capacity(36);
        open.push(b'_');
        open.extend_from_slice(self.name());
        open.extend_from_slice(b" 0x");
        open
    }
}

impl std::fmt::Debug for Introducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "_{}", String::from_utf8_lossy(self.name()))
    }
}

impl ValueKind {
    /// The kind of a result-set column, from its metadata.
    pub fn from_column(col: &mysql::Column) -> ValueKind {
        ValueKind::from_parts(col.column_type(), col.flags(), col.character_set())
    }

    /// The kind for a column type and collation id (the pure part of [`ValueKind::from_column`]).
    ///
    /// `_flags` is not needed today: `BINARY_FLAG` is also set for `_bin` collations of text and
    /// for dates and times, so only the collation id 63 marks binary data. JSON is always
    /// [`ValueKind::Text`], even when MySQL reports it with the binary collation, because the
    /// server refuses to build a JSON value from a binary string such as `0x…`.
    pub fn from_parts(column_type: ColumnType, _flags: ColumnFlags, charset: u16) -> ValueKind {
        use ColumnType::*;
        match column_type {
            MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
            | MYSQL_TYPE_YEAR => ValueKind::Numeric,
            MYSQL_TYPE_BIT => ValueKind::Bit,
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_VECTOR
                if charset == BINARY_CHARSET =>
            {
                ValueKind::Binary
            }
            _ => ValueKind::Text,
        }
    }
}

/// Appends the SQL literal for one value: `NULL` for `None`, otherwise the literal of `kind`.
///
/// A [`ValueKind::Numeric`] value that is not a plain decimal number (which a server never
/// sends) is written as a quoted string instead, so the statement stays well-formed.
#[inline]
pub fn push_value(out: &mut Vec<u8>, kind: ValueKind, value: Option<&[u8]>) {
    let Some(bytes) = value else {
        out.extend_from_slice(b"NULL");
        return;
    };
    match kind {
        ValueKind::Numeric if is_plain_number(bytes) => out.extend_from_slice(bytes),
        ValueKind::Numeric | ValueKind::Text => push_text(out, bytes),
        ValueKind::Bit => push_bits(out, bytes),
        ValueKind::Binary => push_hex(out, bytes),
        ValueKind::Introduced(cs) => {
            out.push(b'_');
            out.extend_from_slice(cs.name());
            out.push(b' ');
            push_hex(out, bytes);
        }
    }
}

/// The letter after the backslash that escapes `byte` in a text literal, if it needs one.
///
/// NUL→`\0`, `'`→`\'`, `\`→`\\`, LF→`\n`, CR→`\r`, ctrl-Z→`\Z`, like `mysql_real_escape_string`
/// except that `"` stays as it is.
#[inline]
pub const fn text_escape(byte: u8) -> Option<u8> {
    match ESCAPES[byte as usize] {
        0 => None,
        letter => Some(letter),
    }
}

/// Escape letter per byte, 0 for bytes written as they are.
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0x00] = b'0';
    t[b'\'' as usize] = b'\'';
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0x1A] = b'Z';
    t
};

/// Uppercase hex digits per byte.
const HEX: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    t
};

/// Eight `0`/`1` digits per byte, most significant bit first.
const BITS: [[u8; 8]; 256] = {
    let mut t = [[0u8; 8]; 256];
    let mut i = 0;
    while i < 256 {
        let mut j = 0;
        while j < 8 {
            t[i][j] = if (i >> (7 - j)) & 1 == 1 { b'1' } else { b'0' };
            j += 1;
        }
        i += 1;
    }
    t
};

/// Whether `b` is `-?digits(.digits)?([eE][+-]?digits)?` with at least one mantissa digit,
/// i.e. safe to write unquoted.
fn is_plain_number(b: &[u8]) -> bool {
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// Appends `'…'` with the bytes escaped byte-wise (see [`text_escape`]).
fn push_text(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'\'');
    push_text_body(out, bytes);
    out.push(b'\'');
}

/// The inside of a text literal: the bytes, escaped byte-wise (so any split of them escapes to
/// the same text piece by piece).
fn push_text_body(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut run_start = 0;
    let mut from = 0;
    while let Some(pos) = find_special(bytes, from) {
        out.extend_from_slice(&bytes[run_start..pos]);
        out.push(b'\\');
        out.push(ESCAPES[bytes[pos] as usize]);
        run_start = pos + 1;
        from = pos + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
}

/// Formats part of a literal's inside.
type Body = fn(&mut Vec<u8>, &[u8]);

/// Hands the literal [`push_value`] appends to `emit` in pieces, formatting about `piece` bytes
/// of the value at a time into `scratch`: a huge value is never held as text whole. The pieces
/// joined are exactly what [`push_value`] writes.
pub fn value_pieces<E>(
    kind: ValueKind,
    value: Option<&[u8]>,
    piece: usize,
    scratch: &mut Vec<u8>,
    emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let piece = piece.max(1);
    let introduced;
    let (open, close, body): (&[u8], &[u8], Body) = match (kind, value) {
        (ValueKind::Introduced(cs), Some(b)) if !b.is_empty() => {
            introduced = cs.hex_open();
            (&introduced, b"", push_hex_body)
        }
        (ValueKind::Text, Some(_)) => (b"'", b"'", push_text_body),
        (ValueKind::Numeric, Some(b)) if !is_plain_number(b) => (b"'", b"'", push_text_body),
        (ValueKind::Binary, Some(b)) if !b.is_empty() => (b"0x", b"", push_hex_body),
        (ValueKind::Bit, Some(_)) => (b"b'", b"'", push_bits_body),
        _ => {
            scratch.clear();
            push_value(scratch, kind, value);
            return emit(scratch);
        }
    };
    emit(open)?;
    for part in value.unwrap_or_default().chunks(piece) {
        scratch.clear();
        body(scratch, part);
        emit(scratch)?;
    }
    emit(close)
}

/// 0x01 in every byte of a word.
const LO: u64 = u64::from_le_bytes([0x01; 8]);
/// 0x80 in every byte of a word.
const HI: u64 = u64::from_le_bytes([0x80; 8]);

/// High bit set in some byte of the result iff some byte of `word` is below `n` (`n` <= 0x80).
#[inline]
const fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(LO * n as u64) & !word & HI
}

/// Whether some byte of `word` may need escaping: a byte below 0x20, a `'` or a `\`.
/// Exact for `'` and `\`; the control-byte test also fires for TAB and the other controls.
#[inline]
const fn may_need_escape(word: u64) -> bool {
    let quote = word ^ (LO * b'\'' as u64);
    let backslash = word ^ (LO * b'\\' as u64);
    bytes_below(word, 0x20) | bytes_below(quote, 1) | bytes_below(backslash, 1) != 0
}

/// Position of the first byte at or after `from` that needs escaping.
#[inline]
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if may_need_escape(u64::from_le_bytes(word)) {
            if let Some(i) = chunk.iter().position(|&b| ESCAPES[b as usize] != 0) {
                return Some(offset + i);
            }
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| ESCAPES[b as usize] != 0)
        .map(|i| offset + i)
}

/// Appends `0x` and two uppercase hex digits per byte, or `''` for no bytes.
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        out.extend_from_slice(b"''");
        return;
    }
    out.reserve(2 + 2 * bytes.len());
    out.extend_from_slice(b"0x");
    push_hex_body(out, bytes);
}

/// Two uppercase hex digits per byte.
fn push_hex_body(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    for (dst, &b) in out[start..].chunks_exact_mut(2).zip(bytes) {
        dst.copy_from_slice(&HEX[b as usize]);
    }
}

/// Appends `b'…'` with eight digits per byte (`b''` for no bytes).
fn push_bits(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(3 + 8 * bytes.len());
    out.extend_from_slice(b"b'");
    push_bits_body(out, bytes);
    out.push(b'\'');
}

/// Eight binary digits per byte.
fn push_bits_body(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&BITS[b as usize]);
    }
}

/// The bytes a `'…'` literal stands for, as the MariaDB/MySQL parser reads it with backslash
/// escapes on; `None` if `lit` is not exactly one such literal.
///
/// `\0 \' \" \b \n \r \t \Z \\` are the usual control bytes, `''` is one quote, `\%` and `\_` keep
/// their backslash (as the server does, for `LIKE` patterns) and any other `\x` is `x`.
pub fn unescape_string_literal(lit: &[u8]) -> Option<Vec<u8>> {
    let body = lit.strip_prefix(b"'")?.strip_suffix(b"'")?;
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        match b {
            b'\\' => {
                let next = *body.get(i + 1)?;
                match next {
                    b'0' => out.push(0),
                    b'b' => out.push(0x08),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'Z' => out.push(0x1A),
                    b'%' | b'_' => out.extend_from_slice(&[b'\\', next]),
                    other => out.push(other),
                }
                i += 2;
            }
            b'\'' => {
                if body.get(i + 1) != Some(&b'\'') {
                    return None;
                }
                out.push(b'\'');
                i += 2;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// [`unescape_string_literal`] done in `buf` itself (which holds exactly the literal): the
/// bytes never take more room than their escaped text, so a huge value is never held twice.
/// `false` (and `buf` unspecified) if it is not one such literal.
pub fn unescape_string_in_place(buf: &mut Vec<u8>) -> bool {
    if buf.len() < 2 || buf.first() != Some(&b'\'') || buf.last() != Some(&b'\'') {
        return false;
    }
    let end = buf.len() - 1;
    let (mut r, mut w) = (1, 0);
    while r < end {
        let b = buf[r];
        let (bytes, step): ([u8; 2], usize) = match b {
            b'\\' => {
                let Some(&next) = buf.get(r + 1).filter(|_| r + 1 < end) else {
                    return false;
                };
                match next {
                    b'0' => ([0, 0], 1),
                    b'b' => ([0x08, 0], 1),
                    b'n' => ([b'\n', 0], 1),
                    b'r' => ([b'\r', 0], 1),
                    b't' => ([b'\t', 0], 1),
                    b'Z' => ([0x1A, 0], 1),
                    b'%' | b'_' => ([b'\\', next], 2),
                    other => ([other, 0], 1),
                }
            }
            b'\'' => {
                if buf.get(r + 1) != Some(&b'\'') || r + 1 >= end {
                    return false;
                }
                ([b'\'', 0], 1)
            }
            _ => ([b, 0], 1),
        };
        let consumed = if matches!(b, b'\\' | b'\'') { 2 } else { 1 };
        buf[w..w + step].copy_from_slice(&bytes[..step]);
        w += step;
        r += consumed;
    }
    buf.truncate(w);
    buf.shrink_to_fit();
    true
}

/// [`decode_hex_literal`] done in `buf` itself (which holds exactly the literal; `0x…` or
/// `X'…'`): the bytes take half the room of their digits. `false` if it is not one.
pub fn decode_hex_in_place(buf: &mut Vec<u8>) -> bool {
    let (start, end) = if buf.starts_with(b"0x") {
        (2, buf.len())
    } else if (buf.starts_with(b"X'") || buf.starts_with(b"x'"))
        && buf.len() >= 3
        && buf.ends_with(b"'")
    {
        (2, buf.len() - 1)
    } else {
        return false;
    };
    let digits = end - start;
    if digits == 0 || (start == 2 && buf[0] != b'0' && digits % 2 != 0) {
        return false;
    }
    let mut w = 0;
    let mut r = start;
    if digits % 2 == 1 {
        let Some(d) = hex_digit(buf[r]) else {
            return false;
        };
        buf[w] = d;
        w += 1;
        r += 1;
    }
    while r < end {
        let (Some(hi), Some(lo)) = (hex_digit(buf[r]), hex_digit(buf[r + 1])) else {
            return false;
        };
        buf[w] = hi << 4 | lo;
        w += 1;
        r += 2;
    }
    buf.truncate(w);
    buf.shrink_to_fit();
    true
}

/// The value of one hex digit.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The bytes of a hex literal: `0x…` (at least one digit; an odd count gets a leading zero
/// nibble, as the server does), `X'…'`/`x'…'` (an even count), or `''`, which [`push_value`]
/// writes for an empty binary value. `None` for anything else.
pub fn decode_hex_literal(lit: &[u8]) -> Option<Vec<u8>> {
    if lit == b"''" {
        return Some(Vec::new());
    }
    let digits = if let Some(d) = lit.strip_prefix(b"0x") {
        if d.is_empty() {
            return None;
        }
        d
    } else {
        let d = lit
            .strip_prefix(b"X'")
            .or_else(|| lit.strip_prefix(b"x'"))?
            .strip_suffix(b"'")?;
        if d.len() % 2 != 0 {
            return None;
        }
        d
    };
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let (head, pairs) = digits.split_at(digits.len() % 2);
    if let Some(&d) = head.first() {
        out.push(hex_digit(d)?);
    }
    for pair in pairs.chunks_exact(2) {
        out.push(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?);
    }
    Some(out)
}

/// The bytes of a bit literal: `b'…'`/`B'…'` (any number of digits) or `0b…` (at least one),
/// right-aligned in `ceil(digits / 8)` bytes as the server does (`b'101'` is `[5]`,
/// `b'0000000000000101'` is `[0, 5]`, `b''` is empty). `None` for anything else.
pub fn decode_bit_literal(lit: &[u8]) -> Option<Vec<u8>> {
    let digits = if let Some(d) = lit.strip_prefix(b"0b") {
        if d.is_empty() {
            return None;
        }
        d
    } else {
        lit.strip_prefix(b"b'")
            .or_else(|| lit.strip_prefix(b"B'"))?
            .strip_suffix(b"'")?
    };
    let mut out = Vec::with_capacity(digits.len().div_ceil(8));
    let (head, octets) = digits.split_at(digits.len() % 8);
    for group in [head]
        .into_iter()
        .filter(|h| !h.is_empty())
        .chain(octets.chunks_exact(8))
    {
        let mut byte = 0u8;
        for &d in group {
            byte = byte << 1
                | match d {
                    b'0' => 0,
                    b'1' => 1,
                    _ => return None,
                };
        }
        out.push(byte);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_decoding_agrees_with_decoding() {
        let cases: &[&[u8]] = &[
            b"''",
            b"'plain'",
            b"'it\\'s'",
            b"'a''b'",
            b"'\\0\\b\\n\\r\\t\\Z\\\\\\%\\_\\q'",
            b"'unterminated",
            b"'bad\\'",
            b"'x'y'",
            b"0x00FF5c",
            b"0xABC",
            b"X'0a0B'",
            b"x'0'",
            b"0x",
            b"0xZZ",
            b"'",
        ];
        for &lit in cases {
            let mut buf = lit.to_vec();
            let ok = unescape_string_in_place(&mut buf);
            assert_eq!(ok.then_some(buf), unescape_string_literal(lit), "{lit:?}");
            let mut buf = lit.to_vec();
            let ok = decode_hex_in_place(&mut buf);
            let want = decode_hex_literal(lit).filter(|_| lit != b"''");
            assert_eq!(ok.then_some(buf), want, "{lit:?}");
        }
    }

    #[test]
    fn introduced_literals_carry_the_charset_and_the_raw_bytes() {
        let sjis = ValueKind::Introduced(Introducer::new("sjis").unwrap());
        assert_eq!(
            literal(sjis, Some(&[0x83, 0x5C, 0x5C, 0x27])),
            b"_sjis 0x835C5C27"
        );
        assert_eq!(literal(sjis, Some(b"")), b"_sjis ''");
        assert_eq!(literal(sjis, None), b"NULL");
        let utf32 = ValueKind::Introduced(Introducer::new("utf32").unwrap());
        assert_eq!(
            literal(utf32, Some(&[0, 1, 0xF6, 0]),),
            b"_utf32 0x0001F600"
        );
        assert_eq!(format!("{sjis:?}"), "Introduced(_sjis)");
        let longest = "a".repeat(32);
        assert_eq!(
            Introducer::new(&longest).map(|i| i.name().to_vec()),
            Some(longest.into_bytes())
        );
        for bad in ["", "s jis", "sjis'", "x;DROP", "ü", &"a".repeat(33)] {
            assert!(Introducer::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn pieces_join_to_the_whole_literal() {
        let values: Vec<Option<Vec<u8>>> = vec![
            None,
            Some(vec![]),
            Some(b"plain".to_vec()),
            Some(b"it's a \\ back\nslash\0\x1a\r".to_vec()),
            Some("жжж €".as_bytes().to_vec()),
            Some((0..=255u8).collect()),
            Some(b"12.5".to_vec()),
            Some(b"1,5".to_vec()),
        ];
        let kinds = [
            ValueKind::Text,
            ValueKind::Binary,
            ValueKind::Bit,
            ValueKind::Numeric,
            ValueKind::Introduced(Introducer::new("sjis").unwrap()),
        ];
        for kind in kinds {
            for v in &values {
                let mut whole = Vec::new();
                push_value(&mut whole, kind, v.as_deref());
                for piece in [1, 2, 3, 7, 1000] {
                    let mut joined = Vec::new();
                    let mut scratch = Vec::new();
                    value_pieces::<()>(kind, v.as_deref(), piece, &mut scratch, &mut |p| {
                        joined.extend_from_slice(p);
                        Ok(())
                    })
                    .unwrap();
                    assert_eq!(joined, whole, "{kind:?} {v:?} in pieces of {piece}");
                }
            }
        }
    }
    use proptest::prelude::*;

    fn literal(kind: ValueKind, value: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        push_value(&mut out, kind, value);
        out
    }

    #[test]
    fn kinds_from_parts() {
        use ColumnType::*;
        let none = ColumnFlags::empty();
        let bin = ColumnFlags::BINARY_FLAG;
        let cases: &[(ColumnType, ColumnFlags, u16, ValueKind)] = &[
            (MYSQL_TYPE_TINY, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_SHORT, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_INT24, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_LONG, none, 63, ValueKind::Numeric),
            (
                MYSQL_TYPE_LONGLONG,
                ColumnFlags::UNSIGNED_FLAG,
                63,
                ValueKind::Numeric,
            ),
            (MYSQL_TYPE_DECIMAL, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_NEWDECIMAL, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_FLOAT, none, 63, ValueKind::Numeric),
            (MYSQL_TYPE_DOUBLE, none, 63, ValueKind::Numeric),
            (
                MYSQL_TYPE_YEAR,
                ColumnFlags::ZEROFILL_FLAG,
                63,
                ValueKind::Numeric,
            ),
            (
                MYSQL_TYPE_BIT,
                ColumnFlags::UNSIGNED_FLAG,
                63,
                ValueKind::Bit,
            ),
            (MYSQL_TYPE_STRING, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_VAR_STRING, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_VARCHAR, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_BLOB, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_TINY_BLOB, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_MEDIUM_BLOB, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_LONG_BLOB, bin, 63, ValueKind::Binary),
            (MYSQL_TYPE_GEOMETRY, bin, 63, ValueKind::Binary),
            (
                MYSQL_TYPE_STRING,
                ColumnFlags::ENUM_FLAG | bin,
                63,
                ValueKind::Binary,
            ),
            // `_bin` collations of text carry BINARY_FLAG but are text.
            (MYSQL_TYPE_VAR_STRING, bin, 45, ValueKind::Text),
            (MYSQL_TYPE_STRING, none, 45, ValueKind::Text),
            (
                MYSQL_TYPE_BLOB,
                ColumnFlags::BLOB_FLAG,
                224,
                ValueKind::Text,
            ),
            (
                MYSQL_TYPE_STRING,
                ColumnFlags::ENUM_FLAG,
                45,
                ValueKind::Text,
            ),
            (
                MYSQL_TYPE_STRING,
                ColumnFlags::SET_FLAG,
                45,
                ValueKind::Text,
            ),
            // MariaDB INET6/UUID/INET4 arrive as STRING in the connection charset.
            (
                MYSQL_TYPE_STRING,
                ColumnFlags::UNSIGNED_FLAG | bin,
                45,
                ValueKind::Text,
            ),
            (MYSQL_TYPE_JSON, none, 63, ValueKind::Text),
            (MYSQL_TYPE_JSON, none, 45, ValueKind::Text),
            // Dates and times report the binary collation but are text.
            (MYSQL_TYPE_DATE, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_NEWDATE, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_TIME, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_TIME2, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_DATETIME, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_DATETIME2, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_TIMESTAMP, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_TIMESTAMP2, bin, 63, ValueKind::Text),
            (MYSQL_TYPE_NULL, none, 63, ValueKind::Text),
        ];
        for &(ty, flags, charset, want) in cases {
            assert_eq!(
                ValueKind::from_parts(ty, flags, charset),
                want,
                "{ty:?} {charset}"
            );
        }
    }

    #[test]
    fn kind_from_column() {
        let col = mysql::Column::new(ColumnType::MYSQL_TYPE_BLOB)
            .with_flags(ColumnFlags::BLOB_FLAG | ColumnFlags::BINARY_FLAG)
            .with_character_set(63);
        assert_eq!(ValueKind::from_column(&col), ValueKind::Binary);
        let col = col.with_character_set(45);
        assert_eq!(ValueKind::from_column(&col), ValueKind::Text);
        let col = mysql::Column::new(ColumnType::MYSQL_TYPE_LONGLONG).with_character_set(63);
        assert_eq!(ValueKind::from_column(&col), ValueKind::Numeric);
    }

    /// A kind, a value and the literal written for it.
    type LiteralCase<'a> = (ValueKind, Option<&'a [u8]>, &'a [u8]);

    #[test]
    fn literals_per_kind() {
        use ValueKind::*;
        let cases: &[LiteralCase] = &[
            (Numeric, None, b"NULL"),
            (Bit, None, b"NULL"),
            (Binary, None, b"NULL"),
            (Text, None, b"NULL"),
            (Numeric, Some(b"42"), b"42"),
            (Numeric, Some(b"-7"), b"-7"),
            (
                Numeric,
                Some(b"18446744073709551615"),
                b"18446744073709551615",
            ),
            (Numeric, Some(b"1.50"), b"1.50"),
            (Numeric, Some(b"-0.001"), b"-0.001"),
            (Numeric, Some(b"1e308"), b"1e308"),
            (Numeric, Some(b"-1.5E-7"), b"-1.5E-7"),
            (Numeric, Some(b"3.40282e+38"), b"3.40282e+38"),
            (Numeric, Some(b"0007"), b"0007"),
            (Numeric, Some(b".5"), b".5"),
            // Never sent by a server; quoted so the statement stays well-formed.
            (Numeric, Some(b""), b"''"),
            (Numeric, Some(b"1,2"), b"'1,2'"),
            (Numeric, Some(b"1'"), b"'1\\''"),
            (Numeric, Some(b"inf"), b"'inf'"),
            (Numeric, Some(b"-"), b"'-'"),
            (Numeric, Some(b"1e"), b"'1e'"),
            (Numeric, Some(b"--1"), b"'--1'"),
            (Bit, Some(b""), b"b''"),
            (Bit, Some(&[5]), b"b'00000101'"),
            (Bit, Some(&[1, 44]), b"b'0000000100101100'"),
            (Bit, Some(&[0xFF]), b"b'11111111'"),
            (Binary, Some(b""), b"''"),
            (Binary, Some(&[0]), b"0x00"),
            (
                Binary,
                Some(&[0x00, 0xFF, 0x5C, 0x27, 0xAB]),
                b"0x00FF5C27AB",
            ),
            (Text, Some(b""), b"''"),
            (Text, Some(b"plain"), b"'plain'"),
            (
                Text,
                Some("h\u{e9}llo \u{1F600}".as_bytes()),
                "'h\u{e9}llo \u{1F600}'".as_bytes(),
            ),
            (Text, Some(b"say \"hi\"\t%_"), b"'say \"hi\"\t%_'"),
        ];
        for &(kind, value, want) in cases {
            assert_eq!(
                literal(kind, value),
                want,
                "{kind:?} {:?}",
                value.map(String::from_utf8_lossy)
            );
        }
    }

    #[test]
    fn every_text_escape() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"\0", b"'\\0'"),
            (b"'", b"'\\''"),
            (b"\\", b"'\\\\'"),
            (b"\n", b"'\\n'"),
            (b"\r", b"'\\r'"),
            (b"\x1A", b"'\\Z'"),
            (b"a'b\\c\0d\ne\rf\x1Ag", b"'a\\'b\\\\c\\0d\\ne\\rf\\Zg'"),
            (b"0123456789abcdef'", b"'0123456789abcdef\\''"),
            (b"'''''''''", b"'\\'\\'\\'\\'\\'\\'\\'\\'\\''"),
            (b"\t\t\t\t\t\t\t\t\x01\x1F", b"'\t\t\t\t\t\t\t\t\x01\x1F'"),
            (
                &[0xC3, 0xA9, 0x5C, 0xFF],
                &[b'\'', 0xC3, 0xA9, b'\\', b'\\', 0xFF, b'\''],
            ),
        ];
        for &(value, want) in cases {
            assert_eq!(literal(ValueKind::Text, Some(value)), want, "{value:?}");
        }
        for b in 0..=255u8 {
            let want = matches!(b, 0 | b'\'' | b'\\' | b'\n' | b'\r' | 0x1A);
            assert_eq!(text_escape(b).is_some(), want, "byte {b:#04x}");
        }
    }

    #[test]
    fn word_scan_flags_exactly_controls_quote_and_backslash() {
        for filler in [b'a', 0xFF, 0x80, 0x20, 0x5D, 0x26] {
            for b in 0..=255u8 {
                for pos in 0..8 {
                    let mut word = [filler; 8];
                    word[pos] = b;
                    let want = b < 0x20 || b == b'\'' || b == b'\\';
                    let got = may_need_escape(u64::from_le_bytes(word));
                    assert_eq!(got, want, "byte {b:#04x} at {pos} in {filler:#04x}");
                }
            }
        }
    }

    #[test]
    fn appends_to_existing_buffer() {
        let mut out = b"INSERT INTO t VALUES (".to_vec();
        push_value(&mut out, ValueKind::Numeric, Some(b"1"));
        out.push(b',');
        push_value(&mut out, ValueKind::Text, Some(b"it's"));
        out.push(b',');
        push_value(&mut out, ValueKind::Binary, Some(&[0xCA, 0xFE]));
        out.push(b',');
        push_value(&mut out, ValueKind::Bit, None);
        out.push(b')');
        assert_eq!(out, b"INSERT INTO t VALUES (1,'it\\'s',0xCAFE,NULL)");
    }

    #[test]
    fn unescape_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"''", Some(b"")),
            (b"'abc'", Some(b"abc")),
            (
                b"'\\0\\'\\\"\\b\\n\\r\\t\\Z\\\\'",
                Some(b"\0'\"\x08\n\r\t\x1A\\"),
            ),
            (b"'\\%\\_'", Some(b"\\%\\_")),
            (b"'\\x\\q\\z\\N\\B'", Some(b"xqzNB")),
            (b"'it''s'", Some(b"it's")),
            (b"''''", Some(b"'")),
            (b"'\"'", Some(b"\"")),
            (&[b'\'', b'\\', 0xC3, 0xA9, b'\''], Some(&[0xC3, 0xA9])),
            (b"", None),
            (b"'", None),
            (b"abc", None),
            (b"'abc", None),
            (b"abc'", None),
            (b"'a'b'", None),
            (b"'a\\'", None),
            (b"'''", None),
            (b"\"abc\"", None),
        ];
        for &(lit, want) in cases {
            assert_eq!(
                unescape_string_literal(lit).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(lit)
            );
        }
    }

    #[test]
    fn decode_hex_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"''", Some(b"")),
            (b"0x00", Some(&[0])),
            (b"0xCAFE", Some(&[0xCA, 0xFE])),
            (b"0xcafe", Some(&[0xCA, 0xFE])),
            (b"0xABC", Some(&[0x0A, 0xBC])),
            (b"0x1", Some(&[1])),
            (b"X''", Some(b"")),
            (b"X'0aFF'", Some(&[0x0A, 0xFF])),
            (b"x'00'", Some(&[0])),
            (b"0x", None),
            (b"0X00", None),
            (b"0xG0", None),
            (b"X'ABC'", None),
            (b"X'AB", None),
            (b"'AB'", None),
            (b"", None),
        ];
        for &(lit, want) in cases {
            assert_eq!(
                decode_hex_literal(lit).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(lit)
            );
        }
    }

    #[test]
    fn decode_bit_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (b"b''", Some(b"")),
            (b"b'101'", Some(&[5])),
            (b"B'101'", Some(&[5])),
            (b"0b101", Some(&[5])),
            (b"b'00000101'", Some(&[5])),
            (b"b'0000000000000101'", Some(&[0, 5])),
            (b"b'100101100'", Some(&[1, 0x2C])),
            (b"b'11111111'", Some(&[0xFF])),
            (b"0b", None),
            (b"0B1", None),
            (b"b'102'", None),
            (b"b'1", None),
            (b"'1'", None),
        ];
        for &(lit, want) in cases {
            assert_eq!(
                decode_bit_literal(lit).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(lit)
            );
        }
    }

    /// Whether a text literal's body has a `'` not escaped or a raw NUL, LF, CR or ctrl-Z.
    fn has_unescaped_special(lit: &[u8]) -> bool {
        let body = &lit[1..lit.len() - 1];
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => i += 2,
                b'\'' | 0 | b'\n' | b'\r' | 0x1A => return true,
                _ => i += 1,
            }
        }
        i != body.len()
    }

    /// Bytes biased towards the ones that matter for escaping.
    fn tricky_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            any::<u8>(),
            prop::sample::select(vec![
                0u8, b'\'', b'\\', b'\n', b'\r', 0x1A, b'\t', b'"', b'%'
            ]),
            Just(b'a'),
        ];
        prop::collection::vec(byte, 0..80)
    }

    proptest! {
        #[test]
        fn text_round_trips(bytes in tricky_bytes()) {
            let lit = literal(ValueKind::Text, Some(&bytes));
            prop_assert!(!has_unescaped_special(&lit));
            prop_assert_eq!(unescape_string_literal(&lit), Some(bytes));
        }

        #[test]
        fn binary_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let lit = literal(ValueKind::Binary, Some(&bytes));
            prop_assert_eq!(decode_hex_literal(&lit), Some(bytes));
        }

        #[test]
        fn bit_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..9)) {
            let lit = literal(ValueKind::Bit, Some(&bytes));
            prop_assert_eq!(decode_bit_literal(&lit), Some(bytes));
        }

        #[test]
        fn numeric_is_raw_or_a_quoted_round_trip(bytes in tricky_bytes()) {
            let lit = literal(ValueKind::Numeric, Some(&bytes));
            if lit != bytes {
                prop_assert_eq!(unescape_string_literal(&lit), Some(bytes));
            }
        }

        #[test]
        fn fast_scan_matches_naive(bytes in tricky_bytes(), from in 0usize..90) {
            let naive = bytes
                .iter()
                .enumerate()
                .skip(from)
                .find(|&(_, &b)| text_escape(b).is_some())
                .map(|(i, _)| i);
            prop_assert_eq!(find_special(&bytes, from), naive);
        }

        #[test]
        fn printed_numbers_stay_raw(n in any::<i64>(), f in any::<f64>()) {
            let int = n.to_string().into_bytes();
            prop_assert_eq!(literal(ValueKind::Numeric, Some(&int)), int);
            if f.is_finite() {
                let float = format!("{f:e}").into_bytes();
                prop_assert_eq!(literal(ValueKind::Numeric, Some(&float)), float);
            }
        }
    }
}
