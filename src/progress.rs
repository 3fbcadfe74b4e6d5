//! Progress reporting: the library tells a [`Progress`] what it does; the CLI draws bars or stays silent.

/// What a dump tells about its progress. Implementations must be cheap: `rows` is called for every batch.
pub trait Progress: Send + Sync {
    /// The dump's files are being written into `dir` (an unfinished `.partial` directory).
    fn writing_to(&self, _dir: &std::path::Path) {}
    /// Before [`start`](Progress::start), once for each table the dump will read: its id (as
    /// `table_started` and `advance` will name it) and information_schema's estimates of its rows
    /// and data bytes. Lets an ETA weigh a row of each table by its size.
    fn planned(&self, _id: &str, _estimated_rows: u64, _estimated_bytes: u64) {}
    /// The dump is about to read tables totalling (estimated) `rows` rows and `bytes` bytes.
    fn start(&self, _rows: u64, _bytes: u64) {}
    /// A table (or chunk) is being read; `estimated_rows` comes from information_schema.
    fn table_started(&self, _id: &str, _estimated_rows: u64) {}
    /// `rows` more rows, `bytes` more bytes of SQL text of table `id` were written.
    fn advance(&self, _id: &str, _rows: u64, _bytes: u64) {}
    /// The table (or chunk) is done.
    fn table_finished(&self, _id: &str) {}
    /// The dump is done.
    fn finish(&self) {}
}

/// Reports nothing: for cron and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
