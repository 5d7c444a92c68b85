//! Canned responses: reply texts agents insert while typing, either shared
//! by the whole desk (managed by supervisors and admins) or personal to one
//! account. Kept beside the accounts (every [`crate::AccountStore`] is a
//! [`CannedStore`]) because a personal one belongs to an account.

use async_trait::async_trait;
use omni_core::time::Millis;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// One canned response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// Its id.
    pub id: String,
    /// The account it belongs to; `None` for a shared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What the agent types to find it (e.g. `refund`).
    pub shortcut: String,
    /// A short title for the list.
    pub title: String,
    /// The text, with placeholders such as `{customer.name}`.
    pub text: String,
    /// Who changed it last.
    pub updated_by: String,
    /// When it was changed last.
    pub updated_at_ms: Millis,
}

/// Where canned responses are kept.
#[async_trait]
pub trait CannedStore: Send + Sync + 'static {
    /// Inserts or replaces the canned response with `canned.id`.
    async fn put_canned(&self, canned: &CannedResponse) -> Result<(), StoreError>;
    /// The canned response with this id, if any.
    async fn canned(&self, id: &str) -> Result<Option<CannedResponse>, StoreError>;
    /// Deletes it; `false` when there was none.
    async fn delete_canned(&self, id: &str) -> Result<bool, StoreError>;
    /// Every shared canned response and `owner`'s personal ones, by
    /// shortcut then id.
    async fn canned_for(&self, owner: &str) -> Result<Vec<CannedResponse>, StoreError>;
}

/// Keeps the canned responses `owner` sees, sorted as
/// [`CannedStore::canned_for`] returns them.
pub fn visible_to(all: Vec<CannedResponse>, owner: &str) -> Vec<CannedResponse> {
    let mut out: Vec<CannedResponse> = all
        .into_iter()
        .filter(|c| c.owner.as_deref().is_none_or(|o| o == owner))
        .collect();
    out.sort_by(|a, b| a.shortcut.cmp(&b.shortcut).then_with(|| a.id.cmp(&b.id)));
    out
}
