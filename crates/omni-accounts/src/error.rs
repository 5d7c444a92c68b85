//! Why an account operation failed.

use std::time::Duration;

use omni_store::StoreError;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// Unknown account, wrong password, disabled account or no password:
    /// one answer for all, so a caller cannot tell which.
    #[error("unknown account or wrong password")]
    BadCredentials,
    /// Too many sign-in attempts for this account or from this address.
    #[error("too many sign-in attempts; try again in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long until the next attempt may succeed.
        retry_after: Duration,
    },
    /// The input breaks a rule (empty id, short password, ...).
    #[error("{0}")]
    Invalid(String),
    /// No account with this id.
    #[error("no account {0}")]
    NotFound(String),
    /// An account with this id exists already.
    #[error("account {0} already exists")]
    Exists(String),
    /// Hashing failed (not expected with valid parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountsError {
    fn from(e: StoreError) -> Self {
        AccountsError::Store(e)
    }
}
