//! The Prometheus text exposition format: reads a textfile into metric families, tolerating odd
//! lines, and writes it back grouped by family, families sorted by name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::iter::Peekable;
use std::path::Path;
use std::str::Chars;

/// A sorted label set: `(name, value)` pairs, values unescaped.
pub(super) type Labels = Vec<(String, String)>;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub name: String,
    pub labels: Labels,
    /// The value as written (or as we format it).
    pub value: String,
    /// A client-side timestamp, as written; we never write one ourselves.
    pub timestamp: Option<String>,
}

/// A metric family: its `# HELP` (escaped text as written), `# TYPE` and samples.
#[derive(Debug, Default)]
struct Family {
    help: Option<String>,
    kind: Option<String>,
    lines: Vec<Line>,
}

/// The metric families of a textfile, by family name.
#[derive(Debug, Default)]
pub(super) struct Document {
    families: BTreeMap<String, Family>,
}

/// What one line of a textfile is.
enum Item {
    Help(String, String),
    Type(String, String),
    Sample(Line),
    Nothing,
}

const KINDS: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

impl Document {
    /// Reads `bytes`; a line that does not parse is dropped with a warning naming `origin`.
    pub fn parse(bytes: &[u8], origin: &Path) -> Document {
        let mut items = Vec::new();
        for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let parsed = match std::str::from_utf8(raw) {
                Ok(text) => parse_line(text.trim_end()).map_err(|why| (why, shorten(text))),
                Err(_) => Err(("not UTF-8", String::new())),
            };
            match parsed {
                Ok(item) => items.push(item),
                Err((why, text)) => log::warn!(
                    "{}: line {}: {why}; dropped {text:?}",
                    origin.display(),
                    n + 1
                ),
            }
        }
        Document::from_items(items, origin)
    }

    fn from_items(items: Vec<Item>, origin: &Path) -> Document {
        let mut types = HashMap::new();
        for item in &items {
            if let Item::Type(name, kind) = item {
                types.entry(name.clone()).or_insert_with(|| kind.clone());
            }
        }
        let mut doc = Document::default();
        let mut seen = HashSet::new();
        for item in items {
            match item {
                Item::Help(name, text) => {
                    let family = doc.families.entry(name).or_default();
                    family.help.get_or_insert(text);
                }
                Item::Type(name, kind) => {
                    let family = doc.families.entry(name).or_default();
                    family.kind.get_or_insert(kind);
                }
                Item::Sample(line) => {
                    if !seen.insert((line.name.clone(), line.labels.clone())) {
                        log::warn!(
                            "{}: {} appears twice with the same labels; keeping the first",
                            origin.display(),
                            line.name
                        );
                        continue;
                    }
                    let family = family_of(&line.name, &types);
                    doc.families.entry(family).or_default().lines.push(line);
                }
                Item::Nothing => {}
            }
        }
        doc
    }

    /// Keeps only the samples for which `keep` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(&Line) -> bool) {
        for family in self.families.values_mut() {
            family.lines.retain(&mut keep);
        }
    }

    /// Puts `line` into the gauge family of its name with `help` (unescaped), replacing a sample
    /// with the same name and labels.
    pub fn put_gauge(&mut self, line: Line, help: &str) {
        let family = self.families.entry(line.name.clone()).or_default();
        family.help = Some(escape_help(help));
        family.kind = Some("gauge".to_string());
        family
            .lines
            .retain(|l| !(l.name == line.name && l.labels == line.labels));
        family.lines.push(line);
    }

    /// The textfile: `# HELP` and `# TYPE` once per family, families sorted by name, samples by
    /// name and labels (histograms and summaries keep their order).
    pub fn render(mut self) -> String {
        let mut out = String::new();
        for (name, family) in &mut self.families {
            if family.lines.is_empty() {
                continue;
            }
            if let Some(help) = &family.help {
                push_line(&mut out, &["# HELP ", name, " ", help]);
            }
            if let Some(kind) = &family.kind {
                push_line(&mut out, &["# TYPE ", name, " ", kind]);
            }
            if !matches!(family.kind.as_deref(), Some("histogram" | "summary")) {
                family
                    .lines
                    .sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
            }
            for line in &family.lines {
                render_sample(&mut out, line);
            }
        }
        out
    }
}

fn push_line(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
    out.push('\n');
}

fn render_sample(out: &mut String, line: &Line) {
    out.push_str(&line.name);
    if !line.labels.is_empty() {
        out.push('{');
        for (i, (name, value)) in line.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(&escape_label_value(value));
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&line.value);
    if let Some(ts) = &line.timestamp {
        out.push(' ');
        out.push_str(ts);
    }
    out.push('\n');
}

/// The family a sample belongs to: its own name, or for `_bucket`, `_sum` and `_count` samples
/// the histogram or summary they are part of.
fn family_of(name: &str, types: &HashMap<String, String>) -> String {
    if types.contains_key(name) {
        return name.to_string();
    }
    for (suffix, kinds) in [
        ("_bucket", &["histogram"][..]),
        ("_sum", &["histogram", "summary"][..]),
        ("_count", &["histogram", "summary"][..]),
    ] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|k| kinds.contains(&k.as_str())) {
                return base.to_string();
            }
        }
    }
    name.to_string()
}

/// A label value as the text format writes it: `\`, `"` and newline escaped.
pub(super) fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A `# HELP` text as the text format writes it: `\` and newline escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The first 100 characters of a line, for a warning.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(100).collect();
    if text.chars().nth(100).is_some() {
        out.push('…');
    }
    out
}

fn parse_line(text: &str) -> Result<Item, &'static str> {
    let text = text.trim_start();
    if text.is_empty() {
        return Ok(Item::Nothing);
    }
    match text.strip_prefix('#') {
        Some(comment) => parse_comment(comment),
        None => parse_sample(text).map(Item::Sample),
    }
}

/// Splits `s` at its first whitespace: the word before and the rest from there on.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    }
}

fn parse_comment(comment: &str) -> Result<Item, &'static str> {
    let (keyword, rest) = split_word(comment.trim_start());
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(Item::Nothing);
    }
    let (name, rest) = split_word(rest.trim_start());
    if !is_metric_name(name) {
        return Err("bad metric name");
    }
    let rest = rest.trim_start();
    if keyword == "HELP" {
        if !help_escapes_valid(rest) {
            return Err("bad escape in HELP text");
        }
        return Ok(Item::Help(name.to_string(), rest.to_string()));
    }
    if !KINDS.contains(&rest) {
        return Err("unknown metric type");
    }
    Ok(Item::Type(name.to_string(), rest.to_string()))
}

fn help_escapes_valid(text: &str) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return false;
        }
    }
    true
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    !name.contains(':') && is_metric_name(name)
}

fn take_while(chars: &mut Peekable<Chars>, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next_if(|c| keep(*c)) {
        out.push(c);
    }
    out
}

fn skip_blank(chars: &mut Peekable<Chars>) {
    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
}

fn parse_sample(text: &str) -> Result<Line, &'static str> {
    let mut chars = text.chars().peekable();
    let name = take_while(&mut chars, |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == ':'
    });
    if !is_metric_name(&name) {
        return Err("bad metric name");
    }
    skip_blank(&mut chars);
    let mut labels = if chars.next_if_eq(&'{').is_some() {
        parse_labels(&mut chars)?
    } else {
        Vec::new()
    };
    labels.sort();
    let rest: String = chars.collect();
    let mut tokens = rest.split_whitespace();
    let value = tokens.next().ok_or("no value")?;
    if value.parse::<f64>().is_err() {
        return Err("bad value");
    }
    let timestamp = tokens.next();
    if timestamp.is_some_and(|t| t.parse::<i64>().is_err()) {
        return Err("bad timestamp");
    }
    if tokens.next().is_some() {
        return Err("text after the timestamp");
    }
    Ok(Line {
        name,
        labels,
        value: value.to_string(),
        timestamp: timestamp.map(str::to_string),
    })
}

/// Reads `name="value", …}` after the opening brace.
fn parse_labels(chars: &mut Peekable<Chars>) -> Result<Labels, &'static str> {
    let mut labels: Labels = Vec::new();
    loop {
        skip_blank(chars);
        if chars.next_if_eq(&'}').is_some() {
            return Ok(labels);
        }
        let name = take_while(chars, |c| c.is_ascii_alphanumeric() || c == '_');
        if !is_label_name(&name) {
            return Err("bad label name");
        }
        skip_blank(chars);
        if chars.next() != Some('=') {
            return Err("expected = after a label name");
        }
        skip_blank(chars);
        if chars.next() != Some('"') {
            return Err("expected a quoted label value");
        }
        let value = parse_label_value(chars)?;
        if labels.iter().any(|(n, _)| *n == name) {
            return Err("a label appears twice");
        }
        labels.push((name, value));
        skip_blank(chars);
        match chars.next() {
            Some(',') => {}
            Some('}') => return Ok(labels),
            _ => return Err("expected , or } after a label"),
        }
    }
}

/// Reads a label value after its opening quote, through the closing quote.
fn parse_label_value(chars: &mut Peekable<Chars>) -> Result<String, &'static str> {
    let mut value = String::new();
    loop {
        match chars.next() {
            Some('"') => return Ok(value),
            Some('\\') => match chars.next() {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some('n') => value.push('\n'),
                _ => return Err("bad escape in a label value"),
            },
            Some(c) => value.push(c),
            None => return Err("unclosed label value"),
        }
    }
}
