//! placeholder: minimal versions until the real module lands
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
pub fn push_ident(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(quote_ident(name).as_bytes());
}
pub fn qualified(db: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(db), quote_ident(name))
}
pub fn quote_string(s: &str) -> String {
    let mut o = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '\0' => o.push_str("\\0"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\x1a' => o.push_str("\\Z"),
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}
pub fn file_name(name: &str) -> String {
    let mut o = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
            o.push(c)
        } else {
            o.push_str(&format!("@{:02X}", c as u32))
        }
    }
    o
}
