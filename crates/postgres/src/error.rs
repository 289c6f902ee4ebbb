//! The database's errors in words: what timed out, what refused, what was lost.

use postgres::error::SqlState;

/// A failure of the database, said in words.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DatabaseError {
    message: String,
    #[source]
    source: postgres::Error,
}

impl DatabaseError {
    /// The client's own error.
    pub fn source_error(&self) -> &postgres::Error {
        &self.source
    }
}

/// What the server said (its message, detail and hint), or the client's own words.
fn said(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut said = db.message().to_owned();
            if let Some(detail) = db.detail() {
                said.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                said.push_str(&format!("; hint: {hint}"));
            }
            said
        }
        None => error.to_string(),
    }
}

/// The database's error with what it means for the user.
pub(crate) fn described(error: postgres::Error) -> DatabaseError {
    let what = said(&error);
    let message = match error.code() {
        Some(code) if *code == SqlState::QUERY_CANCELED => format!(
            "a statement ran longer than the store's statement timeout and was cancelled \
             (PostgresOptions::statement_timeout): {what}"
        ),
        Some(code) if *code == SqlState::LOCK_NOT_AVAILABLE => format!(
            "a lock was not granted within the store's lock timeout \
             (PostgresOptions::lock_timeout): {what}"
        ),
        Some(code) if *code == SqlState::DISK_FULL => {
            format!("the database server's disk is full: {what}")
        }
        _ if error.is_closed() => {
            format!("the connection to the database server was lost: {what}")
        }
        _ => format!("the database refused: {what}"),
    };
    DatabaseError {
        message,
        source: error,
    }
}
