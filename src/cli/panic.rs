//! A panic is a bug, and still ends the run like any other error: one line naming what happened and
//! where, the summary, exit 2 — after unwinding has run the cleanups (scratch databases dropped,
//! locks released). No backtrace noise unless `RUST_BACKTRACE` asks for it.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::OnceLock;

/// The first panic of the process, described; worker threads' panics reach the main thread as a
/// generic "a scoped thread panicked", so the hook keeps the original.
static FIRST: OnceLock<String> = OnceLock::new();

/// The error a contained panic becomes.
#[derive(Debug)]
pub(crate) struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "internal error, a bug in mybak (please report it): {}",
            self.0
        )
    }
}

impl std::error::Error for Panicked {}

/// Replaces the default panic output: the panic is remembered and reported as an error line.
pub(crate) fn install_hook() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let _ = FIRST.set(describe(info));
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
    }));
}

/// Runs `f`; a panic inside becomes a [`Panicked`] error.
pub(crate) fn contain<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = FIRST
            .get()
            .cloned()
            .unwrap_or_else(|| payload_text(payload.as_ref()));
        Err(Panicked(what).into())
    })
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let what = payload_text(info.payload());
    let thread = std::thread::current();
    let thread = thread.name().unwrap_or("a worker thread");
    match info.location() {
        Some(l) => format!("{what} (in {thread} at {}:{})", l.file(), l.line()),
        None => format!("{what} (in {thread})"),
    }
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    };
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_an_error_naming_it() {
        let e = contain::<()>(|| panic!("boom {}", 42)).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("internal error"), "{text}");
        // Another test's panic may have been recorded first in this process; the message is either.
        assert!(text.contains("boom 42") || FIRST.get().is_some(), "{text}");
        assert_eq!(contain(|| Ok(7)).unwrap(), 7);
    }

    #[test]
    fn payloads_become_one_line() {
        assert_eq!(payload_text(&"a\nb"), "a b");
        assert_eq!(payload_text(&String::from("s")), "s");
        assert_eq!(payload_text(&5u8), "a panic without a message");
    }
}
