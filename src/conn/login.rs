//! The login user, the default user name when none is configured, found as libmariadb's
//! `read_user_name` does: from the effective uid first, the environment last, so that it
//! works under systemd and `env -i`, where `$USER` and `$LOGNAME` are unset.

use std::fs;

use nix::unistd::{geteuid, Uid, User};

/// The default user name, as libmariadb's `read_user_name` finds it:
///
/// 1. effective uid 0: `root`;
/// 2. the passwd name of the effective uid (`getpwuid(geteuid())`);
/// 3. `getlogin()`: as glibc does it on Linux, the passwd name of the audit login uid
///    (`/proc/self/loginuid`; the utmp lookup glibc falls back to is not done);
/// 4. `$USER`, `$LOGNAME`, `$LOGIN`.
///
/// Empty names are skipped. `None` when nothing gives a name (libmariadb then says
/// `UNKNOWN_USER`).
pub fn login_user() -> Option<String> {
    let euid = geteuid();
    let env = |name: &str| std::env::var(name).ok();
    choose(
        euid.is_root(),
        || passwd_name(euid),
        || loginuid().and_then(passwd_name),
        env,
    )
}

/// The rules of [`login_user`], with the sources given; the later ones are only asked
/// when the earlier ones give nothing.
fn choose(
    is_root: bool,
    passwd: impl FnOnce() -> Option<String>,
    getlogin: impl FnOnce() -> Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if is_root {
        return Some("root".to_string());
    }
    let non_empty = |name: &String| !name.is_empty();
    passwd()
        .filter(non_empty)
        .or_else(|| getlogin().filter(non_empty))
        .or_else(|| {
            ["USER", "LOGNAME", "LOGIN"]
                .into_iter()
                .find_map(|var| env(var).filter(non_empty))
        })
}

/// The passwd name of `uid`, if it has an entry.
fn passwd_name(uid: Uid) -> Option<String> {
    User::from_uid(uid).ok().flatten().map(|user| user.name)
}

/// The audit login uid of this process, if one is set (`(uid_t)-1` means unset).
fn loginuid() -> Option<Uid> {
    let text = fs::read_to_string("/proc/self/loginuid").ok()?;
    let uid: u32 = text.trim().parse().ok()?;
    (uid != u32::MAX).then(|| Uid::from_raw(uid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_passwd_name_of_the_effective_uid() {
        let euid = geteuid();
        let want = if euid.is_root() {
            Some("root".to_string())
        } else {
            User::from_uid(euid).unwrap().map(|user| user.name)
        };
        let got = login_user();
        match want {
            Some(want) => {
                assert!(!want.is_empty());
                assert_eq!(got, Some(want));
            }
            // A uid without a passwd entry (some containers): the later sources decide.
            None => assert!(got.is_none_or(|name| !name.is_empty())),
        }
    }

    #[test]
    fn sources_in_order() {
        let some = |s: &str| Some(s.to_string());
        type Case<'a> = (
            bool,
            Option<&'a str>,
            Option<&'a str>,
            &'a [(&'a str, &'a str)],
            Option<&'a str>,
        );
        let cases: &[Case<'_>] = &[
            (
                true,
                Some("alice"),
                Some("bob"),
                &[("USER", "carol")],
                Some("root"),
            ),
            (
                false,
                Some("alice"),
                Some("bob"),
                &[("USER", "carol")],
                Some("alice"),
            ),
            (false, None, Some("bob"), &[("USER", "carol")], Some("bob")),
            (false, Some(""), Some("bob"), &[], Some("bob")),
            (
                false,
                None,
                None,
                &[("USER", "carol"), ("LOGNAME", "dave")],
                Some("carol"),
            ),
            (
                false,
                None,
                None,
                &[("USER", ""), ("LOGNAME", "dave")],
                Some("dave"),
            ),
            (false, None, None, &[("LOGIN", "erin")], Some("erin")),
            (false, None, None, &[("HOME", "/x")], None),
            (false, None, None, &[], None),
        ];
        for (root, passwd, getlogin, env, want) in cases {
            let got = choose(
                *root,
                || passwd.and_then(some),
                || getlogin.and_then(some),
                |name| {
                    env.iter()
                        .find(|(k, _)| *k == name)
                        .and_then(|(_, v)| some(v))
                },
            );
            assert_eq!(
                got.as_deref(),
                *want,
                "{root} {passwd:?} {getlogin:?} {env:?}"
            );
        }
    }

    #[test]
    fn later_sources_are_not_asked() {
        let got = choose(
            false,
            || Some("alice".to_string()),
            || panic!("getlogin asked"),
            |_| panic!("environment asked"),
        );
        assert_eq!(got.as_deref(), Some("alice"));
    }
}
