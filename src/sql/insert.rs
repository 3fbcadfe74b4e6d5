//! Multi-row INSERT statements no larger than a byte limit (a single larger row stands alone).

/// Accumulates rows into `INSERT INTO … VALUES (…),(…);` statements.
#[derive(Debug)]
pub struct InsertBuilder {
    head: Vec<u8>,
    max_bytes: usize,
    stmt: Vec<u8>,
    rows: u64,
}

impl InsertBuilder {
    /// `head` is `INSERT INTO `t` (`a`,`b`) VALUES`; statements stay under `max_bytes` where rows allow.
    pub fn new(head: Vec<u8>, max_bytes: usize) -> InsertBuilder {
        InsertBuilder {
            stmt: Vec::with_capacity(max_bytes.min(16 << 20) + 1024),
            head,
            max_bytes,
            rows: 0,
        }
    }

    /// Adds one row tuple `(…)`. When it would not fit, the statement so far is completed and returned
    /// through `emit` first.
    pub fn push<E>(
        &mut self,
        row: &[u8],
        emit: &mut impl FnMut(&[u8], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.rows > 0 && self.stmt.len() + 1 + row.len() + 2 > self.max_bytes {
            self.flush(emit)?;
        }
        if self.rows == 0 {
            self.stmt.extend_from_slice(&self.head);
            self.stmt.push(b'\n');
        } else {
            self.stmt.extend_from_slice(b",\n");
        }
        self.stmt.extend_from_slice(row);
        self.rows += 1;
        Ok(())
    }

    /// Completes the pending statement, if any, and hands it to `emit` with its row count.
    pub fn flush<E>(
        &mut self,
        emit: &mut impl FnMut(&[u8], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.rows == 0 {
            return Ok(());
        }
        self.stmt.extend_from_slice(b";\n");
        let rows = self.rows;
        self.rows = 0;
        let result = emit(&self.stmt, rows);
        self.stmt.clear();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rows: &[&str], max: usize) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut b = InsertBuilder::new(b"INSERT INTO `t` VALUES".to_vec(), max);
        let mut emit = |s: &[u8], n: u64| -> Result<(), ()> {
            out.push((String::from_utf8(s.to_vec()).unwrap(), n));
            Ok(())
        };
        for r in rows {
            b.push(r.as_bytes(), &mut emit).unwrap();
        }
        b.flush(&mut emit).unwrap();
        out
    }

    #[test]
    fn rows_are_grouped_under_the_limit() {
        let out = run(&["(1)", "(2)", "(3)"], 1000);
        assert_eq!(
            out,
            vec![("INSERT INTO `t` VALUES\n(1),\n(2),\n(3);\n".to_string(), 3)]
        );
        let out = run(&["(1)", "(2)", "(3)"], 34);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(s, _)| s.len() <= 34), "{out:?}");
        assert_eq!(out.iter().map(|(_, n)| n).sum::<u64>(), 3);
    }

    #[test]
    fn a_row_larger_than_the_limit_stands_alone() {
        let big = format!("('{}')", "x".repeat(100));
        let out = run(&["(1)", &big, "(2)"], 40);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].0, format!("INSERT INTO `t` VALUES\n{big};\n"));
    }

    #[test]
    fn no_rows_no_statement() {
        assert!(run(&[], 100).is_empty());
    }
}
