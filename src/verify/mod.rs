//! `mybak verify`: proves a dump is whole and readable offline, and restorable on a scratch server.

pub mod files;
