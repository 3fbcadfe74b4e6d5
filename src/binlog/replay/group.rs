//! Where event groups (transactions) begin and end. A group begins at a GTID event (or, without
//! GTIDs, at `BEGIN` or a lone statement) and ends at an XID event, a `COMMIT`/`ROLLBACK` query,
//! an XA_prepare event or `XA COMMIT … ONE PHASE`, or — a standalone group — after its one
//! statement. Pure: events go in as [`Role`]s, steps come out.

use super::decode::{Item, Shape};

/// What an event is to the grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Nothing to apply, in or out of a group.
    Skip,
    /// A GTID event: a group of this shape begins.
    Start(Shape),
    Begin,
    XaStart,
    /// A statement (Query event) that does not end its group by its text.
    Statement,
    /// INTVAR, RAND, USER_VAR: context for the next statement.
    Context,
    /// A table map or a rows event.
    Rows,
    /// XID, `COMMIT`, `ROLLBACK`.
    Commit,
    /// The XA_prepare event.
    XaPrepare,
    /// `XA COMMIT … ONE PHASE`.
    XaOnePhase,
}

/// The role of `item`.
pub(crate) fn role(item: &Item) -> Role {
    match item {
        Item::Skip | Item::Format(_) => Role::Skip,
        Item::Gtid(g) => Role::Start(g.shape),
        Item::Query(q) => query_role(&q.sql),
        Item::InsertId(_) | Item::LastInsertId(_) | Item::Rand(..) | Item::UserVar { .. } => {
            Role::Context
        }
        Item::TableMap { .. } | Item::Rows { .. } => Role::Rows,
        Item::Xid => Role::Commit,
        Item::XaPrepare { .. } => Role::XaPrepare,
    }
}

/// The role of a statement by its text: only the few the server writes to delimit groups count.
pub(crate) fn query_role(sql: &[u8]) -> Role {
    let text = sql.trim_ascii();
    let text = text.strip_suffix(b";").unwrap_or(text).trim_ascii_end();
    let upper = text.to_ascii_uppercase();
    let words: Vec<&[u8]> = upper
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [b"BEGIN"] | [b"START", b"TRANSACTION"] => Role::Begin,
        [b"COMMIT"] | [b"ROLLBACK"] => Role::Commit,
        [b"XA", b"START" | b"BEGIN", ..] => Role::XaStart,
        [b"XA", b"COMMIT", .., b"ONE", b"PHASE"] => Role::XaOnePhase,
        _ => Role::Statement,
    }
}

/// Whether a group is open, and of which shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Idle,
    Open(Shape),
}

/// What to do with one event: `open` a group before it, `take` it into the group, `close` the
/// group after it. All false: the event is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Step {
    pub open: bool,
    pub take: bool,
    pub close: bool,
}

const IGNORE: Step = Step {
    open: false,
    take: false,
    close: false,
};
const OPEN: Step = Step {
    open: true,
    take: true,
    close: false,
};
const TAKE: Step = Step {
    open: false,
    take: true,
    close: false,
};
const CLOSE: Step = Step {
    open: false,
    take: true,
    close: true,
};
const SINGLE: Step = Step {
    open: true,
    take: true,
    close: true,
};

/// The next state and step for an event of `role` in `state`; an error says why the event
/// cannot be where it is.
pub(crate) fn step(state: State, role: Role) -> Result<(State, Step), &'static str> {
    use Shape::{Pending, Standalone, Transaction, XaPrepared};
    use State::*;
    Ok(match (state, role) {
        (_, Role::Skip) => (state, IGNORE),
        (Idle, Role::Start(shape)) => (Open(shape), OPEN),
        (Idle, Role::Begin) => (Open(Transaction), OPEN),
        (Idle, Role::XaStart) => (Open(XaPrepared), OPEN),
        (Idle, Role::Statement | Role::XaOnePhase) => (Idle, SINGLE),
        (Idle, Role::Context) => (Open(Standalone), OPEN),
        (Idle, _) => {
            return Err("it is outside any transaction (did the replay start inside one?)")
        }
        (Open(_), Role::Start(_)) => {
            return Err("a new transaction begins before the open one ended")
        }
        (Open(Pending), Role::Begin) => (Open(Transaction), TAKE),
        (Open(Pending), Role::XaStart) => (Open(XaPrepared), TAKE),
        (Open(_), Role::Begin | Role::XaStart) => {
            return Err("a transaction begins inside another one")
        }
        (Open(Pending | Standalone), Role::Statement | Role::XaOnePhase) => (Idle, CLOSE),
        (Open(Pending), Role::Context) => (Open(Standalone), TAKE),
        (Open(XaPrepared), Role::XaOnePhase) => (Idle, CLOSE),
        (Open(_), Role::Statement | Role::Context | Role::XaOnePhase) => (state, TAKE),
        (Open(Transaction | XaPrepared), Role::Rows) => (state, TAKE),
        (Open(_), Role::Rows) => return Err("row events outside BEGIN … COMMIT"),
        (Open(Transaction), Role::Commit) => (Idle, CLOSE),
        (Open(_), Role::Commit) => return Err("a commit without BEGIN"),
        (Open(XaPrepared), Role::XaPrepare) => (Idle, CLOSE),
        (Open(_), Role::XaPrepare) => return Err("XA PREPARE without XA START"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    /// Runs `roles` through the machine: the groups as (first, last) indexes, the events left in
    /// an open group, or the index and message of the first error.
    /// Closed groups as (first, last) event indexes, and the first event of a group left open.
    type Groups = (Vec<(usize, usize)>, Option<usize>);

    fn groups(roles: &[Role]) -> Result<Groups, (usize, &str)> {
        let mut state = State::Idle;
        let mut out = Vec::new();
        let mut first = None;
        for (i, r) in roles.iter().enumerate() {
            let (next, s) = step(state, *r).map_err(|e| (i, e))?;
            if s.open {
                first = Some(i);
            }
            if s.close {
                out.push((first.take().unwrap(), i));
            }
            state = next;
        }
        Ok((out, first))
    }

    #[test]
    fn group_boundaries() {
        let mdb_trx = Start(Shape::Transaction);
        let mdb_ddl = Start(Shape::Standalone);
        let xa = Start(Shape::XaPrepared);
        let mysql = Start(Shape::Pending);
        type Want = Result<Groups, usize>;
        let cases: Vec<(&str, Vec<Role>, Want)> = vec![
            ("empty", vec![], Ok((vec![], None))),
            ("skips outside", vec![Skip, Skip], Ok((vec![], None))),
            (
                "MariaDB DML then DDL",
                vec![
                    Skip, mdb_trx, Context, Statement, Skip, Rows, Rows, Commit, mdb_ddl, Statement,
                ],
                Ok((vec![(1, 7), (8, 9)], None)),
            ),
            (
                "DDL with context",
                vec![mdb_ddl, Context, Statement],
                Ok((vec![(0, 2)], None)),
            ),
            (
                "MyISAM: COMMIT query",
                vec![mdb_trx, Rows, Commit],
                Ok((vec![(0, 2)], None)),
            ),
            (
                "MariaDB XA prepare then commit",
                vec![xa, Statement, Statement, XaPrepare, mdb_ddl, Statement],
                Ok((vec![(0, 3), (4, 5)], None)),
            ),
            (
                "XA one phase",
                vec![xa, Rows, Statement, XaOnePhase],
                Ok((vec![(0, 3)], None)),
            ),
            (
                "MySQL DML",
                vec![mysql, Begin, Rows, Rows, Commit],
                Ok((vec![(0, 4)], None)),
            ),
            (
                "MySQL DDL",
                vec![mysql, Statement, mysql, Statement],
                Ok((vec![(0, 1), (2, 3)], None)),
            ),
            (
                "MySQL XA",
                vec![mysql, XaStart, Rows, Statement, XaPrepare, mysql, Statement],
                Ok((vec![(0, 4), (5, 6)], None)),
            ),
            (
                "MySQL anonymous DDL with context",
                vec![mysql, Context, Statement],
                Ok((vec![(0, 2)], None)),
            ),
            (
                "no GTIDs",
                vec![Begin, Statement, Commit, Statement, Context, Statement],
                Ok((vec![(0, 2), (3, 3), (4, 5)], None)),
            ),
            (
                "trailing open group",
                vec![mdb_trx, Statement, Rows],
                Ok((vec![], Some(0))),
            ),
            ("rows outside", vec![Rows], Err(0)),
            ("commit outside", vec![mdb_ddl, Statement, Commit], Err(2)),
            ("GTID inside", vec![mdb_trx, Statement, mdb_trx], Err(2)),
            ("BEGIN inside", vec![mdb_trx, Begin], Err(1)),
            ("rows in DDL", vec![mdb_ddl, Rows], Err(1)),
            ("commit in XA", vec![xa, Commit], Err(1)),
            ("prepare in trx", vec![mdb_trx, XaPrepare], Err(1)),
        ];
        for (name, roles, want) in cases {
            let got = groups(&roles).map_err(|(i, _)| i);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn queries_that_delimit() {
        let cases: [(&[u8], Role); 12] = [
            (b"BEGIN", Begin),
            (b"  begin ; ", Begin),
            (b"START TRANSACTION", Begin),
            (b"COMMIT", Commit),
            (b"ROLLBACK", Commit),
            (b"ROLLBACK TO SAVEPOINT a", Statement),
            (b"XA START X'31',X'',1", XaStart),
            (b"XA END X'31',X'',1", Statement),
            (b"XA COMMIT X'31',X'',1", Statement),
            (b"XA COMMIT X'31',X'',1 ONE PHASE", XaOnePhase),
            (b"COMMIT AND CHAIN", Statement),
            (b"\xe9 COMMIT", Statement),
        ];
        for (sql, want) in cases {
            assert_eq!(query_role(sql), want, "{:?}", String::from_utf8_lossy(sql));
        }
    }
}
