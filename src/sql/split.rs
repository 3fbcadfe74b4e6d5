//! placeholder until the splitter lands
pub struct Splitter<R>(R);
pub struct Statement {
    pub sql: Vec<u8>,
    pub offset: u64,
    pub line: u64,
}
impl<R: std::io::Read> Splitter<R> {
    pub fn new(r: R) -> Self {
        Splitter(r)
    }
}
impl<R: std::io::Read> Iterator for Splitter<R> {
    type Item = Result<Statement, std::io::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}
pub fn count_insert_rows(_s: &[u8]) -> Option<u64> {
    None
}
