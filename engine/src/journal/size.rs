//! How much room the journal takes, for the console's dashboard.

use super::store::Store;
use super::{Journal, JournalError};

/// The pages of the database file (free pages included: they stay the file's
/// until a VACUUM), without the WAL, which checkpoints keep small.
const SQLITE_SIZE: &str = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

/// The journal's tables in its schema, with their indexes and TOAST.
const POSTGRES_SIZE: &str = "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind = 'r'";

impl Journal {
    /// The journal's size in bytes.
    pub async fn size_bytes(&self) -> Result<u64, JournalError> {
        let bytes: i64 = match &self.inner.store {
            Store::Sqlite(s) => sqlx::query_scalar(SQLITE_SIZE).fetch_one(&s.reader).await?,
            Store::Postgres(s) => sqlx::query_scalar(POSTGRES_SIZE).fetch_one(&s.reader).await?,
        };
        Ok(bytes.max(0) as u64)
    }
}
