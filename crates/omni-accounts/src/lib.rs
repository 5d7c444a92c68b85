//! Omniroute's accounts: who may sign in, how, and what is recorded about
//! it. The desk (sign-in, sessions, account management) and the `omni user`
//! command share this crate, so both apply the same rules.
//!
//! - Passwords are Argon2id PHC strings (the `argon2` crate's default
//!   parameters), hashed and checked on tokio's blocking pool.
//! - A sign-in for an unknown, disabled or password-less account checks the
//!   password against a dummy hash, so it answers the same as a wrong
//!   password and takes about as long.
//! - Sign-in attempts are rate-limited per account and per client address.
//! - A session token is 256 random bits; the store keeps only its SHA-256.
//! - Every sign-in (success and failure) and account change goes to the
//!   audit log.
//!
//! # Layout
//! - [`password`]: hashing and checking passwords, the dummy hash, the
//!   password rules.
//! - [`throttle`]: the per-account and per-address sign-in rate limits.
//! - [`service`]: [`Accounts`]: sign-in, sessions, single sign-on, account
//!   management and the audit log over an [`omni_store::AccountStore`].
//! - [`error`]: why an account operation failed ([`AccountsError`]).
//! - `audit_tests` (tests only): the audit log's bound through the service.

#![forbid(unsafe_code)]

pub mod error;
pub mod password;
pub mod service;
pub mod throttle;

#[cfg(test)]
mod audit_tests;

pub use error::AccountsError;
pub use service::{AccountChange, Accounts, NewAccount, SignedIn};
