//! MariaDB's compressed events (`log_bin_compress`): the statement of a Query_compressed event,
//! and rows events turned back into the plain ones a `BINLOG` statement accepts (the server
//! refuses compressed ones there, as `mariadb-binlog` knows).

use std::io::Read;

use super::frame::{self, HEADER_LEN};

/// Uncompresses MariaDB's compressed data: one byte `0x80 | algorithm << 4 | n` (algorithm 0:
/// zlib), the uncompressed length in `n` big-endian bytes, then the compressed bytes.
pub(crate) fn uncompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let first = *data.first().ok_or("empty compressed data")?;
    let n = usize::from(first & 0x07);
    if first & 0xf0 != 0x80 || !(1..=4).contains(&n) {
        return Err(format!("unknown compression header {first:#04x}"));
    }
    let len_bytes = data.get(1..1 + n).ok_or("truncated compression header")?;
    let len = len_bytes
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&data[1 + n..])
        .take(len + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot uncompress: {e}"))?;
    if out.len() as u64 != len {
        return Err(format!(
            "uncompressed to {} bytes where {len} were announced",
            out.len()
        ));
    }
    Ok(out)
}

/// A length-encoded integer at `at`: its value and its size.
fn packed_int(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let wide = |n: usize| {
        let bytes = b.get(at + 1..at + 1 + n)?;
        let v = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        Some((v, n + 1))
    };
    match first {
        0..=250 => Some((u64::from(first), 1)),
        252 => wide(2),
        253 => wide(3),
        254 => wide(8),
        _ => None,
    }
}

/// The plain rows event for compressed rows event `bytes` (types 0xa6–0xab): its head (header,
/// post-header, extra data, column count and bitmaps) kept, its rows uncompressed, its type,
/// length and checksum set as the server sets them.
pub(crate) fn uncompress_rows(
    bytes: &[u8],
    post_header_len: usize,
    checksummed: bool,
) -> Result<Vec<u8>, String> {
    let code = *bytes.get(4).ok_or("truncated")?;
    let (plain, v2) = match code {
        0xa6..=0xa8 => (code - 0xa6 + 0x17, false),
        0xa9..=0xab => (code - 0xa9 + 0x1e, true),
        _ => return Err(format!("not a compressed rows event ({code:#04x})")),
    };
    let end = bytes.len() - if checksummed { frame::CHECKSUM_LEN } else { 0 };
    let mut at = HEADER_LEN + post_header_len.min(8);
    if v2 {
        let extra = bytes.get(at..at + 2).ok_or("truncated extra data")?;
        at += usize::from(u16::from_le_bytes([extra[0], extra[1]]));
    }
    let (width, size) = packed_int(bytes, at).ok_or("bad column count")?;
    let bitmap = usize::try_from(width.div_ceil(8)).map_err(|_| "bad column count")?;
    let bitmaps = if matches!(plain, 0x18 | 0x1f) { 2 } else { 1 };
    at = bitmap
        .checked_mul(bitmaps)
        .and_then(|b| b.checked_add(at + size))
        .ok_or("bad column count")?;
    let compressed = bytes
        .get(at..end)
        .filter(|c| !c.is_empty())
        .ok_or("no rows")?;
    let rows = uncompress(compressed)?;
    let mut out = Vec::with_capacity(at + rows.len() + frame::CHECKSUM_LEN);
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(&rows);
    if checksummed {
        out.extend_from_slice(&[0; frame::CHECKSUM_LEN]);
    }
    out[4] = plain;
    frame::reseal(&mut out, checksummed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// MariaDB's framing of `data`: header byte, big-endian length, zlib.
    pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
        let len = (data.len() as u32).to_be_bytes();
        let n = len.iter().position(|b| *b != 0).unwrap_or(3);
        let mut out = vec![0x80 | (4 - n) as u8];
        out.extend_from_slice(&len[n..]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        out.extend_from_slice(&z.finish().unwrap());
        out
    }

    #[test]
    fn compressed_data() {
        let long = b"INSERT INTO t VALUES ('a long statement')".repeat(300);
        for text in [&b"x"[..], b"SELECT 1", &long] {
            assert_eq!(uncompress(&compress(text)).unwrap(), text);
        }
        let good = compress(b"SELECT 1");
        let mut wrong_len = good.clone();
        wrong_len[1] = 9;
        let mut bad_alg = good.clone();
        bad_alg[0] |= 0x10;
        let cases: [&[u8]; 5] = [
            &[],
            &[0x01, 8],
            &bad_alg,
            &good[..good.len() - 2],
            &wrong_len,
        ];
        for bad in cases {
            assert!(uncompress(bad).is_err(), "{bad:?}");
        }
    }

    fn rows_event(code: u8, head: &[u8], rows: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[4] = code;
        b.extend_from_slice(&[9, 0, 0, 0, 0, 0, 1, 0]);
        if matches!(code, 0xa9..=0xab | 0x1e..=0x20) {
            b.extend_from_slice(&[2, 0]);
        }
        b.extend_from_slice(head);
        b.extend_from_slice(rows);
        b.extend_from_slice(&[0; 4]);
        frame::reseal(&mut b, true);
        b
    }

    #[test]
    fn rows_events_uncompress_to_plain_ones() {
        let rows = [0xfc, 1, 0, 0, 0, 3, b'a', b'b', b'c'].repeat(20);
        // (compressed type, plain type, post-header length, head: column count and bitmaps)
        let cases: [(u8, u8, usize, &[u8]); 4] = [
            (0xa9, 0x1e, 10, &[3, 0x07]),
            (0xaa, 0x1f, 10, &[3, 0x07, 0x07]),
            (0xa8, 0x19, 8, &[9, 0xff, 0x01]),
            (0xa7, 0x18, 8, &[2, 0x03, 0x03]),
        ];
        for (code, plain, post, head) in cases {
            let compressed = rows_event(code, head, &compress(&rows));
            let got = uncompress_rows(&compressed, post, true).unwrap();
            assert_eq!(got, rows_event(plain, head, &rows), "{code:#x}");
            let (stored, computed) = frame::checksums(&got);
            assert_eq!(stored, computed);
        }
        let plain = rows_event(0x1e, &[3, 7], &rows);
        assert!(uncompress_rows(&plain, 10, true).is_err());
        let cut = rows_event(0xa9, &[3, 7], &compress(&rows)[..10]);
        assert!(uncompress_rows(&cut, 10, true).is_err());
        let no_rows = rows_event(0xa9, &[3], &[]);
        assert!(uncompress_rows(&no_rows, 10, true).is_err());
    }
}
