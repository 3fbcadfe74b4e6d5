//! Edits of a `SHOW CREATE TABLE` text that the dump must make for the table to load back.

/// The byte offset where the table options begin: just after the `)` closing the column list
/// (quotes, backticks and nested parentheses skipped). `None` when the text has no column list.
fn options_start(create: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = create.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => {
                // A doubled quote stays inside the quoted text.
                if chars.peek().is_some_and(|&(_, n)| n == q) {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some('\'') | Some('"') if c == '\\' => {
                chars.next();
            }
            Some(_) => {}
            None => match c {
                '`' | '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' if depth == 1 => return Some(i + 1),
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    None
}

/// `create` without its `AUTO_INCREMENT=n` table option (a column's `AUTO_INCREMENT` attribute and
/// any text in comments stay). ARCHIVE refuses an explicit AUTO_INCREMENT value not above its counter,
/// so the counter must start low for the dumped rows to load; it ends after the highest one.
pub fn without_auto_increment_option(create: &str) -> String {
    const OPTION: &str = " AUTO_INCREMENT=";
    let Some(start) = options_start(create) else {
        return create.to_string();
    };
    let options = create.get(start..).unwrap_or_default();
    // Table options come as `ENGINE=… AUTO_INCREMENT=n …`: the option precedes any quoted text.
    let unquoted = options.find(['\'', '"', '`']).unwrap_or(options.len());
    let Some(at) = options.get(..unquoted).and_then(|o| o.find(OPTION)) else {
        return create.to_string();
    };
    let digits = options
        .get(at + OPTION.len()..)
        .unwrap_or_default()
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return create.to_string();
    }
    let cut = start + at;
    let mut out = String::with_capacity(create.len());
    out.push_str(create.get(..cut).unwrap_or_default());
    out.push_str(
        create
            .get(cut + OPTION.len() + digits..)
            .unwrap_or_default(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_table_option_is_removed() {
        let cases: &[(&str, &str)] = &[
            (
                "CREATE TABLE `a` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=ARCHIVE AUTO_INCREMENT=5 DEFAULT CHARSET=latin1",
                "CREATE TABLE `a` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) ENGINE=ARCHIVE DEFAULT CHARSET=latin1",
            ),
            // No option: unchanged.
            (
                "CREATE TABLE `a` (\n  `id` int(11) NOT NULL AUTO_INCREMENT\n) ENGINE=ARCHIVE",
                "CREATE TABLE `a` (\n  `id` int(11) NOT NULL AUTO_INCREMENT\n) ENGINE=ARCHIVE",
            ),
            // Look-alikes in comments, names and defaults stay.
            (
                "CREATE TABLE `x) AUTO_INCREMENT=1` (\n  `c` varchar(9) DEFAULT ') AUTO_INCREMENT=2' COMMENT 'a\n) ENGINE=ARCHIVE AUTO_INCREMENT=3'\n) ENGINE=ARCHIVE AUTO_INCREMENT=44 COMMENT=' AUTO_INCREMENT=5'",
                "CREATE TABLE `x) AUTO_INCREMENT=1` (\n  `c` varchar(9) DEFAULT ') AUTO_INCREMENT=2' COMMENT 'a\n) ENGINE=ARCHIVE AUTO_INCREMENT=3'\n) ENGINE=ARCHIVE COMMENT=' AUTO_INCREMENT=5'",
            ),
            (
                "CREATE TABLE `t` (\n  `c` decimal(10,2) DEFAULT (1 + (2)) COMMENT 'it''s \\' ('\n) ENGINE=ARCHIVE AUTO_INCREMENT=7",
                "CREATE TABLE `t` (\n  `c` decimal(10,2) DEFAULT (1 + (2)) COMMENT 'it''s \\' ('\n) ENGINE=ARCHIVE",
            ),
            ("not a create table", "not a create table"),
            ("CREATE TABLE `ж` (`é` int) ENGINE=ARCHIVE AUTO_INCREMENT=", "CREATE TABLE `ж` (`é` int) ENGINE=ARCHIVE AUTO_INCREMENT="),
        ];
        for (create, want) in cases {
            assert_eq!(&without_auto_increment_option(create), want, "{create}");
        }
    }
}
