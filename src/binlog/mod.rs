//! The binary log: archiving a server's binlog and replaying it for point-in-time recovery.

pub mod replay;
