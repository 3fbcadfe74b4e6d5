use super::*;

/// An event of `kind` with `body`, its header filled in, and a CRC32 when `crc`.
pub(crate) fn event(kind: u8, body: &[u8], crc: bool, log_pos: u32) -> Vec<u8> {
    let size = HEADER_LEN + body.len() + if crc { 4 } else { 0 };
    let mut e = Vec::with_capacity(size);
    e.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    e.push(kind);
    e.extend_from_slice(&7u32.to_le_bytes());
    e.extend_from_slice(&(size as u32).to_le_bytes());
    e.extend_from_slice(&log_pos.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e.extend_from_slice(body);
    if crc {
        let sum = crc32fast::hash(&e);
        e.extend_from_slice(&sum.to_le_bytes());
    }
    e
}

/// A format description body announcing CRC32 (`crc`) or none.
fn fde_body(crc: bool) -> Vec<u8> {
    let mut b = vec![4, 0];
    b.extend_from_slice(&[b'x'; 50]);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(19);
    b.extend_from_slice(&[0u8; 40]);
    b.push(u8::from(crc));
    b
}

fn fde(crc: bool) -> Vec<u8> {
    // The format description carries its checksum only when it announces one.
    let mut e = event(kind::FORMAT_DESCRIPTION, &fde_body(crc), crc, 0);
    if !crc {
        e.extend_from_slice(&[0; 4]);
        let size = e.len() as u32;
        e[9..13].copy_from_slice(&size.to_le_bytes());
    }
    e
}

fn gtid(seq: u64, standalone: bool, crc: bool) -> Vec<u8> {
    let mut b = seq.to_le_bytes().to_vec();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(u8::from(standalone));
    b.extend_from_slice(&[0; 6]);
    event(kind::MARIADB_GTID, &b, crc, 0)
}

fn query(text: &str, crc: bool) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    b.push(1); // db length
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(&[0, 0, 0]); // status vars
    b.extend_from_slice(b"d\0");
    b.extend_from_slice(text.as_bytes());
    event(kind::QUERY, &b, crc, 0)
}

fn rows(crc: bool) -> Vec<u8> {
    event(0x1e, &[1, 2, 3, 4, 5, 6, 7, 8], crc, 0)
}

fn xid(crc: bool) -> Vec<u8> {
    event(kind::XID, &9u64.to_le_bytes(), crc, 0)
}

fn rotate(next: &str, crc: bool) -> Vec<u8> {
    let mut b = 4u64.to_le_bytes().to_vec();
    b.extend_from_slice(next.as_bytes());
    event(kind::ROTATE, &b, crc, 0)
}

fn file(events: &[Vec<u8>]) -> Vec<u8> {
    let mut f = MAGIC.to_vec();
    for e in events {
        f.extend_from_slice(e);
    }
    f
}

#[test]
fn header_fields_and_artificial_events() {
    let e = event(kind::ROTATE, b"abc", false, 120);
    let h = Header::parse(&e).unwrap();
    assert_eq!(
        (h.kind, h.server_id, h.size, h.log_pos, h.timestamp),
        (kind::ROTATE, 7, 22, 120, 1_700_000_000)
    );
    assert!(!h.is_artificial());
    assert!(Header::parse(&e[..18]).is_none());
    // Position 0, the artificial flag, or a heartbeat: made up for the stream.
    let zero = event(kind::ROTATE, b"abc", false, 0);
    assert!(Header::parse(&zero).unwrap().is_artificial());
    let mut flagged = e.clone();
    flagged[FLAGS_OFFSET] |= FLAG_ARTIFICIAL as u8;
    assert!(Header::parse(&flagged).unwrap().is_artificial());
    assert!(Header::parse(&event(kind::HEARTBEAT, b"", false, 9))
        .unwrap()
        .is_artificial());
}

#[test]
fn parse_checks_length_and_checksum() {
    let e = event(kind::XID, &[1; 8], true, 50);
    assert!(Event::parse(&e, true).is_ok());
    assert_eq!(
        Event::parse(&e[..10], true).unwrap_err(),
        EventError::Short(10)
    );
    assert!(matches!(
        Event::parse(&e[..e.len() - 1], true),
        Err(EventError::Length { .. })
    ));
    let mut bad = e.clone();
    bad[20] ^= 1;
    assert_eq!(
        Event::parse(&bad, true).unwrap_err(),
        EventError::Checksum { kind: kind::XID }
    );
    // Without checksums the same bytes pass.
    assert!(Event::parse(&bad, false).is_ok());
}

#[test]
fn the_in_use_flag_is_outside_the_checksum() {
    // The server sets it on the open file after computing the CRC over the event without it.
    let mut open = fde(true);
    open[FLAGS_OFFSET] |= FLAG_BINLOG_IN_USE as u8;
    assert!(Event::parse(&open, true).is_ok());
    // Only for the format description.
    let mut other = xid(true);
    other[FLAGS_OFFSET] |= FLAG_BINLOG_IN_USE as u8;
    assert!(Event::parse(&other, true).is_err());
}

#[test]
fn format_description_tells_the_checksum() {
    assert_eq!(format_checksum(&fde(true)), Some(true));
    assert_eq!(format_checksum(&fde(false)), Some(false));
    assert_eq!(format_checksum(&[0; 3]), None);
}

#[test]
fn rotate_gtid_and_list_bodies() {
    for crc in [false, true] {
        let r = rotate("mariadb-bin.000002", crc);
        let e = Event::parse(&r, crc).unwrap();
        assert_eq!(
            rotate_target(&e, crc),
            Some(("mariadb-bin.000002".to_string(), 4))
        );
        let g = gtid(42, true, crc);
        let e = Event::parse(&g, crc).unwrap();
        let (id, standalone) = gtid_of(&e, crc).unwrap();
        assert_eq!(id.to_string(), "0-7-42");
        assert_eq!(standalone, Some(true));
        let mut body = 2u32.to_le_bytes().to_vec();
        for (d, s, n) in [(0u32, 1u32, 5u64), (3, 2, 9)] {
            body.extend_from_slice(&d.to_le_bytes());
            body.extend_from_slice(&s.to_le_bytes());
            body.extend_from_slice(&n.to_le_bytes());
        }
        let l = event(kind::MARIADB_GTID_LIST, &body, crc, 0);
        let list = gtid_list(&Event::parse(&l, crc).unwrap(), crc).unwrap();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["0-1-5", "3-2-9"]);
    }
    // A list claiming more entries than it holds is refused, not read past its end.
    let l = event(kind::MARIADB_GTID_LIST, &9u32.to_le_bytes(), false, 0);
    assert_eq!(gtid_list(&Event::parse(&l, false).unwrap(), false), None);
    let mysql = {
        let mut b = vec![1u8];
        b.extend_from_slice(&[0xab; 16]);
        b.extend_from_slice(&77u64.to_le_bytes());
        event(kind::MYSQL_GTID, &b, false, 0)
    };
    let (id, standalone) = gtid_of(&Event::parse(&mysql, false).unwrap(), false).unwrap();
    assert_eq!(id.to_string(), "abababab-abab-abab-abab-abababababab:77");
    assert_eq!(standalone, None);
}

#[test]
fn boundaries_follow_transactions() {
    // (events, boundary after each)
    let mysql_gtid = {
        let mut b = vec![1u8];
        b.extend_from_slice(&[1; 16]);
        b.extend_from_slice(&1u64.to_le_bytes());
        event(kind::MYSQL_GTID, &b, false, 0)
    };
    let cases: Vec<(Vec<Vec<u8>>, Vec<bool>)> = vec![
        // MariaDB transaction: GTID, rows, XID.
        (
            vec![gtid(1, false, false), rows(false), xid(false)],
            vec![false, false, true],
        ),
        // MariaDB DDL: a standalone GTID and its one query.
        (
            vec![gtid(2, true, false), query("CREATE TABLE t (a INT)", false)],
            vec![false, true],
        ),
        // Statement-based transaction ending with a COMMIT query.
        (
            vec![
                gtid(3, false, false),
                query("INSERT INTO t VALUES (1)", false),
                query("commit", false),
            ],
            vec![false, false, true],
        ),
        // A word that only starts with COMMIT does not end it.
        (
            vec![gtid(4, false, false), query("COMMITTEE", false)],
            vec![false, false],
        ),
        // MySQL: the first query decides (BEGIN … XID, or a DDL alone).
        (
            vec![
                mysql_gtid.clone(),
                query("BEGIN", false),
                rows(false),
                xid(false),
            ],
            vec![false, false, false, true],
        ),
        (
            vec![mysql_gtid, query("DROP TABLE t", false)],
            vec![false, true],
        ),
        // Events outside transactions are boundaries.
        (
            vec![fde(false), rotate("x.000002", false)],
            vec![true, true],
        ),
    ];
    for (events, want) in cases {
        let mut b = Boundaries::default();
        let got: Vec<bool> = events
            .iter()
            .map(|e| b.after(&Event::parse(e, false).unwrap(), false))
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn scan_trims_a_cut_transaction_and_a_cut_event() {
    for crc in [false, true] {
        let head = file(&[fde(crc), gtid(1, false, crc), rows(crc), xid(crc)]);
        let done = head.len() as u64;
        let tail = [gtid(2, false, crc), rows(crc)].concat();
        // Whole events but an open transaction: cut back to the last commit.
        let open = [head.clone(), tail.clone()].concat();
        let s = scan(&open[..]).unwrap();
        assert_eq!(
            (s.safe_len, s.whole_len, s.checksum),
            (done, open.len() as u64, crc)
        );
        // Half an event at the end: the same.
        let cut = &open[..open.len() - 3];
        let s = scan(cut).unwrap();
        assert_eq!(s.safe_len, done);
        assert_eq!(s.whole_len, (head.len() + gtid(2, false, crc).len()) as u64);
        // A complete file ends with its rotate.
        let closed = [head.clone(), rotate("f.000002", crc)].concat();
        let s = scan(&closed[..]).unwrap();
        assert_eq!(s.safe_len, closed.len() as u64);
        assert_eq!(s.rotated_to.as_deref(), Some("f.000002"));
    }
    assert_eq!(scan(&b""[..]).unwrap().safe_len, 0);
    assert_eq!(scan(&b"\xfebin"[..]).unwrap().safe_len, 4);
    assert_eq!(scan(&b"nope and more"[..]).unwrap_err(), ScanError::NoMagic);
    // A corrupted event in the middle is an error naming its position.
    let mut bad = file(&[fde(true), gtid(1, false, true), xid(true)]);
    let at = bad.len() - 6;
    bad[at] ^= 0xff;
    assert!(matches!(scan(&bad[..]), Err(ScanError::Event { .. })));
    // A header claiming fewer bytes than a header is an error, not a loop.
    let mut tiny = MAGIC.to_vec();
    tiny.extend_from_slice(&event(kind::XID, &[], false, 0));
    tiny[4 + 9..4 + 13].copy_from_slice(&3u32.to_le_bytes());
    assert!(matches!(scan(&tiny[..]), Err(ScanError::Event { .. })));
}

#[test]
fn nothing_panics_on_garbage() {
    let mut seed = 0x1234_5678u32;
    for len in 0..200 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            })
            .collect();
        let _ = scan(&bytes[..]);
        let mut with_magic = MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = scan(&with_magic[..]);
        if let Ok(e) = Event::parse(&bytes, false) {
            let _ = (
                rotate_target(&e, false),
                gtid_of(&e, false),
                gtid_list(&e, false),
                query_text(&e, false),
            );
        }
    }
}
