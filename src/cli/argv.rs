//! A password given on the command line is overwritten in the process's own argv, as the stock
//! clients do, so `ps` shows `-px xxxxx` instead of it; and never echoed in a usage error.
//!
//! The kernel shows `/proc/PID/cmdline` from the process's memory between `arg_start` and
//! `arg_end` (fields 48 and 49 of `/proc/self/stat`); writing there through `/proc/self/mem`
//! changes what `ps` shows. Read the arguments (`std::env::args_os`) before, never after.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;

/// Where the password inside an argument starts: `-pSECRET`, `-p=SECRET`, `--password=SECRET`
/// (`--pass…` abbreviations are not accepted by mybak's parser, so they need no care).
fn password_offset(arg: &[u8]) -> Option<usize> {
    let start = if arg.starts_with(b"--password=") {
        "--password=".len()
    } else if arg.starts_with(b"-p=") {
        3
    } else if arg.starts_with(b"-p") && !arg.starts_with(b"--") {
        2
    } else {
        return None;
    };
    (arg.len() > start).then_some(start)
}

/// The bytes that replace argument `arg` in memory: the password's characters become `x`, the
/// second of them NUL (what MariaDB's clients do: `ps` then shows `-px xxxxx`). Same length.
pub fn masked(arg: &[u8]) -> Option<Vec<u8>> {
    let start = password_offset(arg)?;
    let mut out = arg.to_vec();
    for b in &mut out[start..] {
        *b = b'x';
    }
    if out.len() > start + 1 {
        out[start + 1] = 0;
    }
    Some(out)
}

/// `arg_start` and `arg_end` of this process, from `/proc/self/stat`.
fn arg_area() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3; arg_start is field 48, arg_end field 49.
    let start = fields.get(45)?.parse().ok()?;
    let end = fields.get(46)?.parse().ok()?;
    Some((start, end))
}

/// Overwrites passwords in this process's argv (best effort: nothing happens where `/proc`
/// is not there). `args` are the arguments as read before.
pub fn hide_passwords(args: &[OsString]) {
    if !args.iter().any(|a| password_offset(a.as_bytes()).is_some()) {
        return;
    }
    if let Err(e) = overwrite(args) {
        log::debug!("cannot hide the password in the process list: {e}");
    }
}

fn overwrite(args: &[OsString]) -> std::io::Result<()> {
    let unavailable = || std::io::Error::other("no argument area in /proc/self/stat");
    let (start, end) = arg_area().ok_or_else(unavailable)?;
    let cmdline = std::fs::read("/proc/self/cmdline")?;
    let mut mem = OpenOptions::new().write(true).open("/proc/self/mem")?;
    let mut offset = 0u64;
    for (arg, listed) in args.iter().zip(cmdline.split(|&b| b == 0)) {
        // Only touch memory that still holds exactly the argument we parsed.
        if listed == arg.as_bytes() {
            if let Some(bytes) = masked(listed) {
                let at = start + offset;
                if at + bytes.len() as u64 <= end {
                    mem.seek(SeekFrom::Start(at))?;
                    mem.write_all(&bytes)?;
                }
            }
        }
        offset += listed.len() as u64 + 1;
    }
    Ok(())
}

/// `text` with every argument that follows a bare `-p`/`--password` replaced by `***`: clap
/// rejects `-p SECRET` (the value must be attached) and would quote SECRET in its error.
pub fn redact(text: &str, args: &[OsString]) -> String {
    let mut out = text.to_string();
    for pair in args.windows(2) {
        let flag = pair[0].as_bytes();
        if flag == b"-p" || flag == b"--password" {
            let value = pair[1].to_string_lossy();
            if !value.is_empty() {
                out = out.replace(value.as_ref(), "***");
            }
        }
    }
    for arg in args {
        let bytes = arg.as_bytes();
        if let Some(start) = password_offset(bytes) {
            let value = String::from_utf8_lossy(&bytes[start..]);
            out = out.replace(value.as_ref(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_like_the_stock_clients_do() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("-pSECRET", Some(b"-px\0xxxx")),
            ("-p=SECRET", Some(b"-p=x\0xxxx")),
            ("--password=SECRET", Some(b"--password=x\0xxxx")),
            ("-pS", Some(b"-px")),
            ("-p", None),
            ("--password", None),
            ("--password=", None),
            ("--port=3306", None),
            ("-P3306", None),
            ("--progress", None),
            ("-pжж", Some(b"-px\0xx")),
        ];
        for (arg, want) in cases {
            assert_eq!(masked(arg.as_bytes()).as_deref(), *want, "{arg}");
        }
    }

    #[test]
    fn a_rejected_password_is_not_echoed() {
        let args: Vec<OsString> = ["mybak", "dump", "-p", "hunter2", "--password=xyz9"]
            .iter()
            .map(OsString::from)
            .collect();
        let text = "error: unexpected argument 'hunter2' found; xyz9";
        let out = redact(text, &args);
        assert!(!out.contains("hunter2") && !out.contains("xyz9"), "{out}");
    }

    #[test]
    fn the_argument_area_is_found() {
        let (start, end) = arg_area().unwrap();
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
        assert_eq!(end - start, cmdline.len() as u64);
    }
}
