//! What can go wrong in a replay, each naming the binlog file and position of the event concerned.

/// A replay failure. Whatever the variant, nothing of the transaction (event group) that was being
/// applied stays applied on a transactional engine: it is rolled back before the error returns.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The stop point given cannot be understood.
    #[error("stop point {input:?}: {message}")]
    Target { input: String, message: String },
    /// Settings that cannot work together.
    #[error("{0}")]
    Settings(String),
    /// Bytes that are not a well-formed event: truncated, a length that does not add up, garbage.
    #[error("{file}:{pos}: {message}")]
    Malformed {
        file: String,
        pos: u64,
        message: String,
    },
    /// An event whose CRC32 does not match its bytes.
    #[error(
        "{file}:{pos}: {event} event is damaged: it carries checksum {stored:#010x}, \
         its bytes give {computed:#010x}"
    )]
    Checksum {
        file: String,
        pos: u64,
        event: &'static str,
        stored: u32,
        computed: u32,
    },
    /// An event this replay cannot apply.
    #[error("{file}:{pos}: {event} event cannot be replayed: {reason}")]
    Unsupported {
        file: String,
        pos: u64,
        event: &'static str,
        reason: String,
    },
    /// The server refused a statement made from an event.
    #[error("{file}:{pos}: {event} event: {message}\n  in: {statement}")]
    Server {
        file: String,
        pos: u64,
        event: &'static str,
        /// The statement, shortened for the message.
        statement: String,
        /// The server's error as the stock client prints it.
        message: String,
        #[source]
        source: Box<mysql::Error>,
    },
    /// The replay session could not be set up or put back as it was.
    #[error("{context}: {message}")]
    Session {
        context: String,
        message: String,
        #[source]
        source: Box<mysql::Error>,
    },
    /// The events' source failed.
    #[error("reading the binlog: {0}")]
    Input(#[source] Box<dyn std::error::Error + Send + Sync>),
}
