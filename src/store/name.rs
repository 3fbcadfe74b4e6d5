//! Dump directory names: a strftime format applied to the start time, in local time or UTC.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Local, Utc};

use super::PARTIAL_SUFFIX;
use crate::error::{Error, Result};

/// The `--name` format used when none is given: `2026-11-26T00-00-00` in local time, with a
/// `Z` when the time is UTC.
pub fn default_name_format(utc: bool) -> &'static str {
    if utc {
        "%Y-%m-%dT%H-%M-%SZ"
    } else {
        "%Y-%m-%dT%H-%M-%S"
    }
}

/// Renders a dump name from strftime `format` at `time` (shown in UTC when `utc`, else in the
/// local time zone). `/` in the format makes nested directories (`%Y/%m/%d/%H%M%S`). Rejects
/// formats that are invalid or give unsafe names: empty, absolute, `.`/`..` or empty parts,
/// a part ending in `.partial`, a hidden part, NUL or newline.
pub fn dump_name(format: &str, time: DateTime<Utc>, utc: bool) -> Result<String> {
    let items: Vec<Item> = StrftimeItems::new(format).parse().map_err(|_| {
        Error::Settings(format!("--name {format:?} is not a valid strftime format"))
    })?;
    let name = if utc {
        time.format_with_items(items.into_iter()).to_string()
    } else {
        time.with_timezone(&Local)
            .format_with_items(items.into_iter())
            .to_string()
    };
    let bad_part = |p: &str| {
        p.is_empty() || p == "." || p == ".." || p.starts_with('.') || p.ends_with(PARTIAL_SUFFIX)
    };
    if name.is_empty()
        || name.len() > 1024
        || name.contains(['\0', '\n', '\r'])
        || name.split('/').any(bad_part)
    {
        return Err(Error::Settings(format!(
            "--name {format:?} gives {name:?}, which is not a usable directory name"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_follow_the_format() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let utc = |f: &str| dump_name(f, t, true);
        assert_eq!(
            utc(default_name_format(true)).unwrap(),
            "2026-11-26T00-00-00Z"
        );
        assert_eq!(utc("nightly-%F").unwrap(), "nightly-2026-11-26");
        assert_eq!(utc("%Y/%m/%d/%H%M%S").unwrap(), "2026/11/26/000000");
        for bad in [
            "",
            "%Q",
            "x.partial",
            "..",
            "/abs/%F",
            "%Y//%m",
            "a/../b",
            "%Y/",
            ".hidden",
            "a/.b",
            "x.partial/y",
            "a\nb",
        ] {
            assert!(utc(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn local_time_is_the_default_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 23, 30, 0).unwrap();
        let local = t
            .with_timezone(&Local)
            .format("%Y-%m-%dT%H-%M-%S")
            .to_string();
        assert_eq!(
            dump_name(default_name_format(false), t, false).unwrap(),
            local
        );
    }
}
