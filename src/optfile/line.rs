//! Pure parsing of single option-file lines, ported from MariaDB's `mysys/my_default.c`.
//!
//! Lines are handled as bytes, exactly like the C code does; only the keys and values of
//! the groups that are read get decoded as UTF-8 (by the caller).

/// A syntax problem on one line; the caller adds the file and line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// An option line before the first `[group]` header of the file.
    #[error("value outside of any [group]")]
    OutsideGroup,
    /// `[group` without the closing bracket.
    #[error("group header without closing ']'")]
    UnterminatedGroup,
    /// `!include` or `!includedir` with nothing after it.
    #[error("'!{0}' directive without a path")]
    EmptyDirective(&'static str),
    /// A line like `=value`.
    #[error("option without a name")]
    EmptyKey,
    /// A key, value or include path that is not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
}

/// What one line of an option file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// Empty, only whitespace, or a `#`/`;` comment line.
    Blank,
    /// `!include FILE`.
    Include(&'a [u8]),
    /// `!includedir DIR`.
    IncludeDir(&'a [u8]),
    /// Any other `!` line; MariaDB ignores those silently.
    OtherDirective,
    /// `[name]`: the name, trailing whitespace removed (leading whitespace kept, as MariaDB does).
    Group(&'a [u8]),
    /// An option line, leading whitespace removed, not parsed yet (see [`parse_option`]).
    Option(&'a [u8]),
}

/// A parsed option line: the raw key and, after `=`, the unquoted and unescaped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawOption<'a> {
    pub key: &'a [u8],
    pub value: Option<Vec<u8>>,
}

/// `my_isspace` for latin1: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    &s[start..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| !is_space(b)).map_or(0, |p| p + 1);
    &s[..end]
}

fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

/// Classifies one line (without its `\n`).
pub(crate) fn classify(raw: &[u8]) -> Result<Line<'_>, SyntaxError> {
    let s = trim_start(raw);
    match s.first() {
        None | Some(b'#') | Some(b';') => Ok(Line::Blank),
        Some(b'!') => Ok(directive(trim_start(&s[1..]))?),
        Some(b'[') => {
            let rest = &s[1..];
            let close = rest
                .iter()
                .position(|&b| b == b']')
                .ok_or(SyntaxError::UnterminatedGroup)?;
            Ok(Line::Group(trim_end(&rest[..close])))
        }
        Some(_) => Ok(Line::Option(s)),
    }
}

/// Parses the text after `!`: the keyword must be followed by whitespace (end of line counts,
/// as the C code sees the `\n` there), the argument is the rest of the line, trimmed.
/// No comment removal happens on directive lines, as in MariaDB.
fn directive(s: &[u8]) -> Result<Line<'_>, SyntaxError> {
    for (keyword, is_dir) in [("includedir", true), ("include", false)] {
        let Some(rest) = s.strip_prefix(keyword.as_bytes()) else {
            continue;
        };
        if rest.first().is_some_and(|&b| !is_space(b)) {
            continue;
        }
        let arg = trim(rest);
        if arg.is_empty() {
            return Err(SyntaxError::EmptyDirective(keyword));
        }
        return Ok(if is_dir {
            Line::IncludeDir(arg)
        } else {
            Line::Include(arg)
        });
    }
    Ok(Line::OtherDirective)
}

/// Cuts the line at the first `#` that is outside single or double quotes
/// (`remove_end_comment` in `my_default.c`: no whitespace is needed before the `#`;
/// a backslash escapes a quote only inside quotes).
pub(crate) fn strip_end_comment(s: &[u8]) -> &[u8] {
    let mut quote: Option<u8> = None;
    let mut escape = false;
    for (i, &c) in s.iter().enumerate() {
        if (c == b'\'' || c == b'"') && !escape {
            match quote {
                None => quote = Some(c),
                Some(q) if q == c => quote = None,
                Some(_) => {}
            }
        }
        if quote.is_none() && c == b'#' {
            return &s[..i];
        }
        escape = quote.is_some() && c == b'\\' && !escape;
    }
    s
}

/// Parses an option line as returned in [`Line::Option`]: `key`, `key=value`, `key = value`.
pub(crate) fn parse_option(s: &[u8]) -> Result<RawOption<'_>, SyntaxError> {
    let s = strip_end_comment(s);
    let (key, value) = match s.iter().position(|&b| b == b'=') {
        Some(eq) => (trim_end(&s[..eq]), Some(decode_value(&s[eq + 1..]))),
        None => (trim_end(s), None),
    };
    if key.is_empty() {
        return Err(SyntaxError::EmptyKey);
    }
    Ok(RawOption { key, value })
}

/// Trims the value, removes one pair of matching surrounding quotes, then resolves the
/// escapes `\b \t \n \r \\ \s \" \'`; any other backslash is kept as is, and so is a
/// backslash at the very end.
pub(crate) fn decode_value(v: &[u8]) -> Vec<u8> {
    let v = trim(v);
    let v = match (v.first(), v.last()) {
        (Some(&first), Some(&last))
            if v.len() > 1 && (first == b'"' || first == b'\'') && first == last =>
        {
            &v[1..v.len() - 1]
        }
        _ => v,
    };
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if c == b'\\' && i + 1 < v.len() {
            i += 1;
            match v[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(0x08),
                b's' => out.push(b' '),
                b'"' => out.push(b'"'),
                b'\'' => out.push(b'\''),
                b'\\' => out.push(b'\\'),
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classify_lines() {
        let cases: &[(&str, Result<Line<'_>, SyntaxError>)] = &[
            ("", Ok(Line::Blank)),
            ("   \t\r", Ok(Line::Blank)),
            ("# comment", Ok(Line::Blank)),
            ("  ; comment", Ok(Line::Blank)),
            ("[client]", Ok(Line::Group(b"client"))),
            ("[client  ] trailing", Ok(Line::Group(b"client"))),
            ("  [Mybak]", Ok(Line::Group(b"Mybak"))),
            ("[ client]", Ok(Line::Group(b" client"))),
            ("[client", Err(SyntaxError::UnterminatedGroup)),
            ("!include /a/b.cnf  ", Ok(Line::Include(b"/a/b.cnf"))),
            ("! include\t/a/b.cnf", Ok(Line::Include(b"/a/b.cnf"))),
            (
                "!includedir /etc/my.cnf.d/",
                Ok(Line::IncludeDir(b"/etc/my.cnf.d/")),
            ),
            ("!include", Err(SyntaxError::EmptyDirective("include"))),
            (
                "!includedir   ",
                Err(SyntaxError::EmptyDirective("includedir")),
            ),
            ("!includex /a", Ok(Line::OtherDirective)),
            ("!something", Ok(Line::OtherDirective)),
            ("  user = x", Ok(Line::Option(b"user = x"))),
        ];
        for (input, want) in cases {
            assert_eq!(&classify(input.as_bytes()), want, "line {input:?}");
        }
    }

    #[test]
    fn end_comments() {
        let cases: &[(&str, &str)] = &[
            ("a=b", "a=b"),
            ("a=b # c", "a=b "),
            ("a=b#c", "a=b"),
            ("a=\"b#c\" # d", "a=\"b#c\" "),
            ("a='b#c'", "a='b#c'"),
            ("a=\"b\\\"#c\"#d", "a=\"b\\\"#c\""),
            ("a=it's#x", "a=it's#x"),
            ("a=\\\"#x", "a=\\\"#x"),
            ("#", ""),
        ];
        for (input, want) in cases {
            assert_eq!(
                strip_end_comment(input.as_bytes()),
                want.as_bytes(),
                "line {input:?}"
            );
        }
    }

    #[test]
    fn options() {
        type Want<'a> = Result<(&'a str, Option<&'a str>), SyntaxError>;
        let cases: &[(&str, Want<'_>)] = &[
            ("user=bob", Ok(("user", Some("bob")))),
            ("user = bob  ", Ok(("user", Some("bob")))),
            ("user\t=\tbob\r", Ok(("user", Some("bob")))),
            ("quick", Ok(("quick", None))),
            ("quick   # comment", Ok(("quick", None))),
            ("password=", Ok(("password", Some("")))),
            ("password = \"\"", Ok(("password", Some("")))),
            ("password=\"a#b\" # comment", Ok(("password", Some("a#b")))),
            ("password='a b c'", Ok(("password", Some("a b c")))),
            ("password=abc#def", Ok(("password", Some("abc")))),
            ("password=a=b", Ok(("password", Some("a=b")))),
            ("password=\"", Ok(("password", Some("\"")))),
            ("password=\"abc'", Ok(("password", Some("\"abc'")))),
            ("x=\"it's\"", Ok(("x", Some("it's")))),
            ("=value", Err(SyntaxError::EmptyKey)),
            ("  = value", Err(SyntaxError::EmptyKey)),
        ];
        for (input, want) in cases {
            let got = classify(input.as_bytes()).and_then(|line| match line {
                Line::Option(s) => parse_option(s).map(|o| {
                    (
                        String::from_utf8(o.key.to_vec()).unwrap(),
                        o.value.map(|v| String::from_utf8(v).unwrap()),
                    )
                }),
                other => panic!("{input:?} classified as {other:?}"),
            });
            let want = want
                .clone()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)));
            assert_eq!(got, want, "line {input:?}");
        }
    }

    #[test]
    fn escapes() {
        let cases: &[(&[u8], &[u8])] = &[
            (br"a\nb", b"a\nb"),
            (br"a\tb\rc\bd", b"a\tb\rc\x08d"),
            (br"a\sb", b"a b"),
            (br"a\\b", br"a\b"),
            (br#"a\"b\'c"#, br#"a"b'c"#),
            (br"a\qb", br"a\qb"),
            (br"abc\", br"abc\"),
            (br#""quoted\"inner""#, br#"quoted"inner"#),
            (br"'\s'", b" "),
            (br"  \s  ", b" "),
            (br#""  spaced  ""#, b"  spaced  "),
        ];
        for (input, want) in cases {
            assert_eq!(
                decode_value(input),
                want.to_vec(),
                "value {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    proptest! {
        #[test]
        fn plain_values_survive(v in "[A-Za-z0-9_./:@%^&*()+-]{1,40}") {
            let line = format!("key = {v}  ");
            let Line::Option(s) = classify(line.as_bytes()).unwrap() else { panic!("not an option") };
            let got = parse_option(s).unwrap();
            prop_assert_eq!(got.key, b"key");
            prop_assert_eq!(got.value, Some(v.into_bytes()));
        }

        #[test]
        fn double_quoted_values_survive(v in "[ -~&&[^\"\\\\]]{0,40}") {
            let line = format!("key=\"{v}\" # trailing comment");
            let Line::Option(s) = classify(line.as_bytes()).unwrap() else { panic!("not an option") };
            let got = parse_option(s).unwrap();
            prop_assert_eq!(got.value, Some(v.into_bytes()));
        }

        #[test]
        fn classify_never_panics(line in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(Line::Option(s)) = classify(&line) {
                let _ = parse_option(s);
            }
        }
    }
}
