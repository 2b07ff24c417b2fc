/// What went wrong in the store. API layers turn every variant into a generic message: internals never leak.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL could not be parsed.
    #[error("invalid database URL: {source}")]
    BadUrl { source: sqlx::Error },
    /// The URL names a backend we do not support.
    #[error("unsupported database URL: use sqlite://PATH or postgres://…")]
    UnsupportedScheme,
    /// A migration failed to apply.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database reported an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored JSON column could not be decoded.
    #[error("corrupt stored value in column {column}: {source}")]
    Corrupt {
        column: &'static str,
        source: serde_json::Error,
    },
    /// A caller asked for more rows than allowed in one page.
    #[error("limit {requested} is above the maximum of {max}")]
    LimitTooLarge { requested: u32, max: u32 },
    /// A caller gave a value longer than the store keeps (lengths in bytes of UTF-8).
    #[error("{what} is {len} bytes long, above the maximum of {limit} bytes")]
    TooLarge {
        what: &'static str,
        len: usize,
        limit: usize,
    },
}
