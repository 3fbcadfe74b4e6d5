//! placeholder: minimal versions until the real module lands
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Numeric,
    Bit,
    Binary,
    Text,
}
impl ValueKind {
    pub fn from_column(col: &mysql::Column) -> ValueKind {
        use mysql::consts::ColumnType::*;
        match col.column_type() {
            MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_YEAR => ValueKind::Numeric,
            MYSQL_TYPE_BIT => ValueKind::Bit,
            _ if col.character_set() == 63
                && !matches!(
                    col.column_type(),
                    MYSQL_TYPE_DATE
                        | MYSQL_TYPE_DATETIME
                        | MYSQL_TYPE_TIMESTAMP
                        | MYSQL_TYPE_TIME
                        | MYSQL_TYPE_NEWDATE
                        | MYSQL_TYPE_DATETIME2
                        | MYSQL_TYPE_TIMESTAMP2
                        | MYSQL_TYPE_TIME2
                ) =>
            {
                ValueKind::Binary
            }
            _ => ValueKind::Text,
        }
    }
}
pub fn push_value(out: &mut Vec<u8>, kind: ValueKind, value: Option<&[u8]>) {
    let Some(v) = value else {
        out.extend_from_slice(b"NULL");
        return;
    };
    match kind {
        ValueKind::Numeric => out.extend_from_slice(v),
        ValueKind::Bit => {
            out.extend_from_slice(b"b'");
            for b in v {
                for i in (0..8).rev() {
                    out.push(if b >> i & 1 == 1 { b'1' } else { b'0' });
                }
            }
            out.push(b'\'');
        }
        ValueKind::Binary => {
            if v.is_empty() {
                out.extend_from_slice(b"''");
                return;
            }
            out.extend_from_slice(b"0x");
            for b in v {
                out.extend_from_slice(format!("{b:02X}").as_bytes());
            }
        }
        ValueKind::Text => {
            out.push(b'\'');
            for &b in v {
                match b {
                    0 => out.extend_from_slice(b"\\0"),
                    b'\'' => out.extend_from_slice(b"\\'"),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    0x1a => out.extend_from_slice(b"\\Z"),
                    b => out.push(b),
                }
            }
            out.push(b'\'');
        }
    }
}
