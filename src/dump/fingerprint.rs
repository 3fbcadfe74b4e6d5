//! An order-independent fingerprint of a table's rows, computed from the exact SQL literals of each row.
//!
//! Each row's literal tuple `(…)` is hashed with XXH3-128 and the hashes are added modulo 2^128:
//! row order does not matter, duplicate rows count twice, and a single changed byte in any value
//! (a FLOAT digit, a TIMESTAMP shifted by a time zone, a BLOB byte) changes the sum.

/// The running fingerprint of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fingerprint {
    sum: u128,
    rows: u64,
}

/// The prefix naming the algorithm in manifests.
pub const ALGORITHM: &str = "xxh3-128-sum";

impl Fingerprint {
    /// Adds one row, given as the literal tuple written to the dump.
    pub fn add_row(&mut self, row_literal: &[u8]) {
        self.sum = self
            .sum
            .wrapping_add(xxhash_rust::xxh3::xxh3_128(row_literal));
        self.rows += 1;
    }

    /// Adds one row given by the XXH3-128 hash of its literal tuple (a huge row hashed in pieces
    /// with `xxhash_rust::xxh3::Xxh3`).
    pub fn add_hash(&mut self, hash: u128) {
        self.sum = self.sum.wrapping_add(hash);
        self.rows += 1;
    }

    /// Combines two fingerprints of disjoint row sets (e.g. chunks of one table).
    pub fn merge(&mut self, other: &Fingerprint) {
        self.sum = self.sum.wrapping_add(other.sum);
        self.rows += other.rows;
    }

    /// Rows added.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// `xxh3-128-sum:<32 hex digits>`.
    pub fn to_text(&self) -> String {
        format!("{ALGORITHM}:{:032x}", self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(rows: &[&str]) -> Fingerprint {
        let mut f = Fingerprint::default();
        for r in rows {
            f.add_row(r.as_bytes());
        }
        f
    }

    #[test]
    fn order_does_not_matter_but_every_byte_and_duplicate_does() {
        let base = of(&["(1,'a')", "(2,'b')"]);
        assert_eq!(base, of(&["(2,'b')", "(1,'a')"]));
        assert_ne!(base.to_text(), of(&["(1,'a')", "(2,'c')"]).to_text());
        assert_ne!(
            of(&["(1,3.1415927)"]).to_text(),
            of(&["(1,3.14159)"]).to_text()
        );
        assert_ne!(
            of(&["(1,'a')", "(1,'a')"]).to_text(),
            of(&["(1,'a')"]).to_text()
        );
        assert_ne!(of(&["(1,'a')", "(1,'a')"]).to_text(), of(&[]).to_text());
    }

    #[test]
    fn merged_chunks_equal_the_whole() {
        let mut a = of(&["(1)", "(2)"]);
        a.merge(&of(&["(3)"]));
        assert_eq!(a, of(&["(3)", "(1)", "(2)"]));
        assert_eq!(a.rows(), 3);
        assert!(a.to_text().starts_with("xxh3-128-sum:"));
    }
}
