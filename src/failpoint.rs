//! Fault injection for tests, in debug builds only: `MYBAK_FAILPOINT=<name>` makes the point of that name
//! panic, so a test can show that a panic is contained (scratch databases dropped, one error line, exit 2).

/// Panics when `MYBAK_FAILPOINT` names `name` (debug builds); nothing in release builds.
#[cfg(debug_assertions)]
pub fn panic_point(name: &str) {
    if std::env::var_os("MYBAK_FAILPOINT").is_some_and(|v| v == name) {
        panic!("failpoint {name} reached");
    }
}

/// Panics when `MYBAK_FAILPOINT` names `name` (debug builds); nothing in release builds.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn panic_point(_name: &str) {}
