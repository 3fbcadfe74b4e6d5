//! `mybak restore`: loads a verified dump into a server, in parallel, in restore order.

pub mod rewrite;
