//! Running statements on one backend: values bound with their JSON type,
//! several statements in one transaction, rows read back as values, and
//! every failure sorted into what the caller can act on.

use super::rows;
use crate::value::{Map, Value};
use futures::TryStreamExt;
use sqlx::encode::IsNull;
use sqlx::error::{BoxDynError, ErrorKind};
use sqlx::mysql::MySql;
use sqlx::postgres::{PgTypeInfo, Postgres};
use sqlx::query::Query;
use sqlx::sqlite::Sqlite;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

/// One statement ready for its backend: the rewritten SQL and the values
/// for its placeholders, in bind order.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub sql: String,
    pub values: Vec<Value>,
}

/// What the last statement's result is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Its rows, at most this many (one more than `one` allows, to see too many).
    Rows(Option<usize>),
    /// The number of rows it changed.
    Affected,
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Rows(Vec<Map<String, Value>>),
    Affected(u64),
}

/// Why statements did not run, sorted by what can be done about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The database cannot be reached (refused, gone, no connection free).
    Unavailable,
    /// A lock wait, a deadlock or a timeout: trying again may succeed.
    Busy,
    /// A unique, foreign key, not null or check constraint refused a row.
    Constraint,
    /// Anything else: bad SQL, a missing table, a type the column refuses.
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DbFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl DbFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        DbFailure {
            kind,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for DbFailure {
    fn from(error: sqlx::Error) -> Self {
        let kind = match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => FailureKind::Unavailable,
            sqlx::Error::Database(e) => database_failure(e.as_ref()),
            _ => FailureKind::Other,
        };
        let message = match &error {
            sqlx::Error::Database(e) => e.message().to_string(),
            sqlx::Error::PoolTimedOut => "no connection could be had in time (the database is down or busy)".into(),
            other => other.to_string(),
        };
        DbFailure { kind, message }
    }
}

fn database_failure(error: &dyn sqlx::error::DatabaseError) -> FailureKind {
    if matches!(
        error.kind(),
        ErrorKind::UniqueViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::CheckViolation
    ) {
        return FailureKind::Constraint;
    }
    let code = error.code().unwrap_or_default().to_string();
    if let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match (mysql.number(), code.as_str()) {
            (1205 | 1213, _) | (_, "40001") => FailureKind::Busy,
            (_, "23000") => FailureKind::Constraint,
            (1044 | 1045 | 1049 | 1040 | 1053, _) => FailureKind::Unavailable,
            _ => FailureKind::Other,
        };
    }
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let primary = code.parse::<i32>().unwrap_or_default() & 0xff;
        return match primary {
            5 | 6 => FailureKind::Busy,
            19 => FailureKind::Constraint,
            _ => FailureKind::Other,
        };
    }
    match code.as_str() {
        c if c.starts_with("23") => FailureKind::Constraint,
        c if c.starts_with("08") => FailureKind::Unavailable,
        "57P01" | "57P02" | "57P03" | "3D000" | "53300" | "28000" | "28P01" => FailureKind::Unavailable,
        "40001" | "40P01" | "55P03" | "57014" => FailureKind::Busy,
        _ => FailureKind::Other,
    }
}

/// What differs between the backends for running statements.
pub trait Driver: Database + sqlx::database::HasStatementCache {
    /// Binds one value with the SQL type its JSON type stands for.
    fn bind_value<'q>(
        query: Query<'q, Self, Self::Arguments<'q>>,
        value: Value,
    ) -> Query<'q, Self, Self::Arguments<'q>>;

    fn read_row(row: &Self::Row) -> Result<Map<String, Value>, String>;

    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Whether prepared statements may be kept per connection by their text.
    const CACHE_STATEMENTS: bool = true;
}

/// Objects and arrays are bound as their JSON text; integers beyond i64 as text.
fn scalar(value: Value) -> Scalar {
    match value {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Scalar::Int(i),
            (None, Some(f)) if n.as_u64().is_none() => Scalar::Float(f),
            _ => Scalar::Text(n.to_string()),
        },
        Value::String(s) => Scalar::Text(s),
        other => Scalar::Text(other.to_string()),
    }
}

enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// SQLite and MariaDB bind a NULL as any text NULL; only the row reader differs.
macro_rules! driver_binding_plain_nulls {
    ($db:ty, $read_row:path) => {
        impl Driver for $db {
            fn bind_value<'q>(
                query: Query<'q, Self, Self::Arguments<'q>>,
                value: Value,
            ) -> Query<'q, Self, Self::Arguments<'q>> {
                match scalar(value) {
                    Scalar::Null => query.bind(None::<String>),
                    Scalar::Bool(b) => query.bind(b),
                    Scalar::Int(i) => query.bind(i),
                    Scalar::Float(f) => query.bind(f),
                    Scalar::Text(s) => query.bind(s),
                }
            }

            fn read_row(row: &Self::Row) -> Result<Map<String, Value>, String> {
                $read_row(row)
            }

            fn rows_affected(result: &Self::QueryResult) -> u64 {
                result.rows_affected()
            }
        }
    };
}

driver_binding_plain_nulls!(Sqlite, rows::sqlite);
driver_binding_plain_nulls!(MySql, rows::mysql);

/// A NULL whose type PostgreSQL infers from where it is used, so that it
/// fits any column (a text-typed NULL would not go into an integer column).
struct UntypedNull;

impl Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _: &mut sqlx::postgres::PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

impl Driver for Postgres {
    fn bind_value<'q>(
        query: Query<'q, Self, Self::Arguments<'q>>,
        value: Value,
    ) -> Query<'q, Self, Self::Arguments<'q>> {
        match scalar(value) {
            Scalar::Null => query.bind(UntypedNull),
            Scalar::Bool(b) => query.bind(b),
            Scalar::Int(i) => query.bind(i),
            Scalar::Float(f) => query.bind(f),
            Scalar::Text(s) => query.bind(s),
        }
    }

    fn read_row(row: &Self::Row) -> Result<Map<String, Value>, String> {
        rows::postgres(row)
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    // sqlx keeps a PostgreSQL statement by its text with the parameter
    // types of its first use; the same text bound with other JSON types
    // (a null, then a number) must be prepared again.
    const CACHE_STATEMENTS: bool = false;
}

/// Runs `statements` in order; all but the last are executed, the last is
/// read as `fetch` says. With `begin`, they run in one transaction started
/// by that statement and committed at the end; on any failure nothing stays.
pub async fn run<DB>(
    pool: &Pool<DB>,
    begin: Option<&'static str>,
    statements: Vec<Prepared>,
    fetch: Fetch,
) -> Result<Outcome, DbFailure>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    match begin {
        None => {
            let mut connection = pool.acquire().await?;
            run_on(&mut *connection, statements, fetch).await
        }
        Some(begin) => {
            let mut transaction = pool.begin_with(begin).await?;
            let outcome = run_on(&mut *transaction, statements, fetch).await?;
            transaction.commit().await?;
            Ok(outcome)
        }
    }
}

async fn run_on<DB>(
    connection: &mut DB::Connection,
    statements: Vec<Prepared>,
    fetch: Fetch,
) -> Result<Outcome, DbFailure>
where
    DB: Driver,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let last = statements.len().saturating_sub(1);
    let mut outcome = Outcome::Affected(0);
    for (index, statement) in statements.into_iter().enumerate() {
        let mut query = sqlx::query::<DB>(&statement.sql).persistent(DB::CACHE_STATEMENTS);
        for value in statement.values {
            query = DB::bind_value(query, value);
        }
        outcome = match (index == last, fetch) {
            (true, Fetch::Rows(limit)) => {
                let mut rows = Vec::new();
                let mut stream = query.fetch(&mut *connection);
                while let Some(row) = stream.try_next().await? {
                    rows.push(DB::read_row(&row).map_err(|e| DbFailure::new(FailureKind::Other, e))?);
                    if limit.is_some_and(|limit| rows.len() >= limit) {
                        break;
                    }
                }
                Outcome::Rows(rows)
            }
            _ => {
                let done = query.execute(&mut *connection).await?;
                Outcome::Affected(DB::rows_affected(&done))
            }
        };
    }
    Ok(outcome)
}
