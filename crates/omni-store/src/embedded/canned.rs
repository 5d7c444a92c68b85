//! [`CannedStore`] for the embedded store: canned responses as JSON records
//! keyed by id.

use async_trait::async_trait;
use redb::TableHandle;

use super::EmbeddedStore;
use super::records::{db_err, get_json, put_json, scan_json};
use super::schema::CANNED;
use crate::StoreError;
use crate::canned::{CannedResponse, CannedStore, visible_to};

#[async_trait]
impl CannedStore for EmbeddedStore {
    async fn put_canned(&self, canned: &CannedResponse) -> Result<(), StoreError> {
        let canned = canned.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(CANNED).map_err(db_err)?;
            put_json(&mut table, CANNED.name(), &canned.id, &canned)
        })
        .await
    }

    async fn canned(&self, id: &str) -> Result<Option<CannedResponse>, StoreError> {
        let id = id.to_owned();
        self.read(move |txn| {
            let table = txn.open_table(CANNED).map_err(db_err)?;
            get_json(&table, CANNED.name(), &id)
        })
        .await
    }

    async fn delete_canned(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(CANNED).map_err(db_err)?;
            let removed = table.remove(id.as_str()).map_err(db_err)?.is_some();
            Ok(removed)
        })
        .await
    }

    async fn canned_for(&self, owner: &str) -> Result<Vec<CannedResponse>, StoreError> {
        let owner = owner.to_owned();
        self.read(move |txn| {
            let table = txn.open_table(CANNED).map_err(db_err)?;
            let all: Vec<CannedResponse> = scan_json(&table, CANNED.name())?;
            Ok(visible_to(all, &owner))
        })
        .await
    }
}
