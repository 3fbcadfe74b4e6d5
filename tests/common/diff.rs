//! Rendering differences for the comparator: line diffs of definitions, multiset diffs of raw rows.

use super::client::RawRow;

/// A `-`/`+` line diff (longest common subsequence) of two texts; empty when equal.
pub fn line_diff(src: &str, dst: &str) -> String {
    let a: Vec<&str> = src.lines().collect();
    let b: Vec<&str> = dst.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("    - {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("    + {}\n", b[j]));
            j += 1;
        }
    }
    if out.is_empty() && src != dst {
        out = format!("    - {src:?}\n    + {dst:?}\n");
    }
    out
}

/// A value for humans: NULL, short printable text quoted, anything else as length + hex prefix.
pub fn show_value(value: &Option<Vec<u8>>) -> String {
    let Some(bytes) = value else {
        return "NULL".into();
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if bytes.len() <= 80 && !text.chars().any(char::is_control) => format!("{text:?}"),
        _ => {
            let hex: String = bytes.iter().take(24).map(|b| format!("{b:02x}")).collect();
            let more = if bytes.len() > 24 { "…" } else { "" };
            format!("<{} bytes 0x{hex}{more}>", bytes.len())
        }
    }
}

/// Where two raw values differ, for humans.
pub fn value_difference(src: &Option<Vec<u8>>, dst: &Option<Vec<u8>>) -> String {
    if let (Some(a), Some(b)) = (src, dst) {
        if a.len() > 80 || b.len() > 80 {
            let at = a
                .iter()
                .zip(b.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            let around =
                |v: &[u8]| show_value(&Some(v[at.min(v.len())..(at + 8).min(v.len())].to_vec()));
            return format!(
                "lengths {} vs {}, first difference at byte {at}: {} vs {}",
                a.len(),
                b.len(),
                around(a),
                around(b)
            );
        }
    }
    format!("{} vs {}", show_value(src), show_value(dst))
}

/// Compares two row multisets; returns one message per problem (at most `limit` rows shown per side).
pub fn row_multiset_diff(
    columns: &[String],
    mut src: Vec<RawRow>,
    mut dst: Vec<RawRow>,
    limit: usize,
) -> Vec<String> {
    src.sort();
    dst.sort();
    let (mut only_src, mut only_dst) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < src.len() || j < dst.len() {
        match (src.get(i), dst.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                only_src.push(a.clone());
                i += 1;
            }
            (Some(_), Some(b)) => {
                only_dst.push(b.clone());
                j += 1;
            }
            (Some(a), None) => {
                only_src.push(a.clone());
                i += 1;
            }
            (None, Some(b)) => {
                only_dst.push(b.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    let mut out = Vec::new();
    if only_src.is_empty() && only_dst.is_empty() {
        return out;
    }
    out.push(format!(
        "{} rows vs {}: {} only in source, {} only in target",
        src.len(),
        dst.len(),
        only_src.len(),
        only_dst.len()
    ));
    if only_src.len() == only_dst.len() {
        for (a, b) in only_src.iter().zip(&only_dst).take(limit) {
            let cols: Vec<String> = columns
                .iter()
                .zip(a.iter().zip(b))
                .filter(|(_, (x, y))| x != y)
                .map(|(name, (x, y))| format!("{name}: {}", value_difference(x, y)))
                .collect();
            out.push(format!(
                "row {}: {}",
                show_row(&columns[..1], &a[..1]),
                cols.join("; ")
            ));
        }
        return out;
    }
    for row in only_src.iter().take(limit) {
        out.push(format!("only in source: {}", show_row(columns, row)));
    }
    for row in only_dst.iter().take(limit) {
        out.push(format!("only in target: {}", show_row(columns, row)));
    }
    out
}

fn show_row(columns: &[String], row: &[Option<Vec<u8>>]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{c}={}", show_value(v)))
        .collect();
    format!("({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[Option<&str>]) -> RawRow {
        values
            .iter()
            .map(|v| v.map(|s| s.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn line_diff_marks_changed_lines_only() {
        let cases = [
            ("a\nb\nc", "a\nb\nc", ""),
            ("a\nb\nc", "a\nx\nc", "    - b\n    + x\n"),
            ("a\nc", "a\nb\nc", "    + b\n"),
            ("a\nb", "a\nb\n", "    - \"a\\nb\"\n    + \"a\\nb\\n\"\n"),
        ];
        for (src, dst, want) in cases {
            assert_eq!(line_diff(src, dst), want, "{src:?} vs {dst:?}");
        }
    }

    #[test]
    fn values_are_shown_readably() {
        let cases: [(Option<&[u8]>, &str); 4] = [
            (None, "NULL"),
            (Some(b"abc"), "\"abc\""),
            (Some(b"a\0b"), "<3 bytes 0x610062>"),
            (Some(&[0xff]), "<1 bytes 0xff>"),
        ];
        for (value, want) in cases {
            assert_eq!(show_value(&value.map(<[u8]>::to_vec)), want);
        }
    }

    #[test]
    fn multiset_diff_pairs_changed_rows_and_ignores_order() {
        let cols = vec!["id".to_string(), "v".to_string()];
        let same = row_multiset_diff(
            &cols,
            vec![row(&[Some("1"), None]), row(&[Some("2"), Some("x")])],
            vec![row(&[Some("2"), Some("x")]), row(&[Some("1"), None])],
            5,
        );
        assert!(same.is_empty(), "{same:?}");
        let changed = row_multiset_diff(
            &cols,
            vec![row(&[Some("1"), Some("a")])],
            vec![row(&[Some("1"), Some("b")])],
            5,
        );
        assert_eq!(changed[1], "row (id=\"1\"): v: \"a\" vs \"b\"");
        let missing = row_multiset_diff(
            &cols,
            vec![row(&[Some("1"), None]), row(&[Some("1"), None])],
            vec![row(&[Some("1"), None])],
            5,
        );
        assert_eq!(
            missing[0],
            "2 rows vs 1: 1 only in source, 0 only in target"
        );
        assert_eq!(missing[1], "only in source: (id=\"1\", v=NULL)");
    }
}
