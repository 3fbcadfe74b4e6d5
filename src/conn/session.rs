//! What the dump asks of a connection, whichever kind it is (the driver's [`mysql::Conn`] or
//! the worker's [`DataConn`]): run a statement, read a few rows.

use mysql::prelude::{FromRow, Queryable};
use mysql::Row;

use super::data::DataConn;

/// A connection that runs statements and returns small results as text rows.
pub trait Session {
    /// Runs `sql`, discarding any rows.
    fn run(&mut self, sql: &str) -> Result<(), mysql::Error>;
    /// Runs `sql` and returns all its rows.
    fn rows(&mut self, sql: &str) -> Result<Vec<Row>, mysql::Error>;
    /// The server's id of this connection.
    fn connection_id(&self) -> u32;
}

impl Session for mysql::Conn {
    fn run(&mut self, sql: &str) -> Result<(), mysql::Error> {
        Queryable::query_drop(self, sql)
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Row>, mysql::Error> {
        Queryable::query(self, sql)
    }

    fn connection_id(&self) -> u32 {
        mysql::Conn::connection_id(self)
    }
}

impl Session for DataConn {
    fn run(&mut self, sql: &str) -> Result<(), mysql::Error> {
        DataConn::query_drop(self, sql)
    }

    fn rows(&mut self, sql: &str) -> Result<Vec<Row>, mysql::Error> {
        DataConn::query_rows(self, sql)
    }

    fn connection_id(&self) -> u32 {
        DataConn::connection_id(self)
    }
}

/// The rows of `sql`, each converted to `T`.
pub fn query<T: FromRow>(conn: &mut dyn Session, sql: &str) -> Result<Vec<T>, mysql::Error> {
    conn.rows(sql)?
        .into_iter()
        .map(|row| mysql::from_row_opt(row).map_err(|e| mysql::Error::FromRowError(e.0)))
        .collect()
}

/// The first row of `sql` converted to `T`, if there is one.
pub fn query_first<T: FromRow>(
    conn: &mut dyn Session,
    sql: &str,
) -> Result<Option<T>, mysql::Error> {
    match conn.rows(sql)?.into_iter().next() {
        Some(row) => mysql::from_row_opt(row)
            .map(Some)
            .map_err(|e| mysql::Error::FromRowError(e.0)),
        None => Ok(None),
    }
}
