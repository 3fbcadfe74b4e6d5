//! Multi-row INSERT statements no larger than a byte limit (a single larger row stands alone).
//!
//! Rows are written straight into the statement buffer: a row is never copied, so a huge row
//! costs its SQL text once (the buffer shrinks back after it).

/// Accumulates rows into `INSERT INTO … VALUES (…),(…);` statements.
#[derive(Debug)]
pub struct InsertBuilder {
    head: Vec<u8>,
    max_bytes: usize,
    stmt: Vec<u8>,
    rows: u64,
    /// Where the `,\n` before the current row starts.
    sep_start: usize,
    /// Where the current row starts.
    row_start: usize,
}

impl InsertBuilder {
    /// `head` is `INSERT INTO `t` (`a`,`b`) VALUES`; statements stay under `max_bytes` where rows allow.
    pub fn new(head: Vec<u8>, max_bytes: usize) -> InsertBuilder {
        InsertBuilder {
            stmt: Vec::with_capacity(max_bytes.min(16 << 20) + 1024),
            head,
            max_bytes,
            rows: 0,
            sep_start: 0,
            row_start: 0,
        }
    }

    /// The buffer to write the next row tuple `(…)` into (append only).
    pub fn row_buffer(&mut self) -> &mut Vec<u8> {
        self.sep_start = self.stmt.len();
        if self.rows == 0 {
            self.stmt.extend_from_slice(&self.head);
            self.stmt.push(b'\n');
        } else {
            self.stmt.extend_from_slice(b",\n");
        }
        self.row_start = self.stmt.len();
        &mut self.stmt
    }

    /// Whether a row of about `size` bytes can join the pending statement (always, when empty).
    pub fn fits(&self, size: usize) -> bool {
        self.rows == 0 || self.stmt.len() + 2 + size + 2 <= self.max_bytes
    }

    /// The row written since the last [`InsertBuilder::row_buffer`].
    pub fn row(&self) -> &[u8] {
        &self.stmt[self.row_start..]
    }

    /// Completes the row. When the statement would grow past the limit with it, the statement
    /// before it is completed and handed to `emit` (with its row count) first.
    pub fn end_row<E>(
        &mut self,
        emit: &mut impl FnMut(&[u8], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        self.rows += 1;
        if self.rows > 1 && self.stmt.len() + 2 > self.max_bytes {
            // `,\n` before the new row becomes the end of the previous statement.
            self.stmt[self.sep_start] = b';';
            let result = emit(&self.stmt[..self.sep_start + 2], self.rows - 1);
            let body = self.head.len() + 1;
            self.stmt.drain(body..self.row_start);
            self.row_start = body;
            self.rows = 1;
            result?;
        }
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
        // After a huge row, give its memory back.
        if self.stmt.capacity() > 4 * self.max_bytes.max(1 << 20) {
            self.stmt.shrink_to(self.max_bytes.min(16 << 20) + 1024);
        }
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
            b.row_buffer().extend_from_slice(r.as_bytes());
            assert_eq!(b.row(), r.as_bytes());
            b.end_row(&mut emit).unwrap();
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
        assert_eq!(
            out,
            vec![
                ("INSERT INTO `t` VALUES\n(1),\n(2);\n".to_string(), 2),
                ("INSERT INTO `t` VALUES\n(3);\n".to_string(), 1)
            ]
        );
        assert!(out.iter().all(|(s, _)| s.len() <= 34), "{out:?}");
    }

    #[test]
    fn a_row_larger_than_the_limit_stands_alone() {
        let big = format!("('{}')", "x".repeat(100));
        let out = run(&["(1)", &big, "(2)"], 40);
        assert_eq!(
            out,
            vec![
                ("INSERT INTO `t` VALUES\n(1);\n".to_string(), 1),
                (format!("INSERT INTO `t` VALUES\n{big};\n"), 1),
                ("INSERT INTO `t` VALUES\n(2);\n".to_string(), 1)
            ]
        );
    }

    #[test]
    fn no_rows_no_statement() {
        assert!(run(&[], 100).is_empty());
    }

    #[test]
    fn every_row_lands_in_exactly_one_statement() {
        for max in [30, 45, 64, 200] {
            let rows: Vec<String> = (0..50)
                .map(|i| format!("({i},'{}')", "y".repeat(i % 7)))
                .collect();
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            let out = run(&refs, max);
            let joined: String = out.iter().map(|(s, _)| s.as_str()).collect();
            for r in &rows {
                assert_eq!(
                    joined.matches(&format!("\n{r}")).count(),
                    1,
                    "{r} at max {max}"
                );
            }
            assert_eq!(out.iter().map(|(_, n)| n).sum::<u64>(), 50);
        }
    }
}
