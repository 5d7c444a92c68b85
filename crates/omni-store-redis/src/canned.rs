//! [`omni_store::CannedStore`] on Redis: every canned response in one hash.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:canned` | hash | canned response id → [`omni_store::CannedResponse`] JSON |

use async_trait::async_trait;
use omni_store::canned::visible_to;
use omni_store::{CannedResponse, CannedStore, StoreError};

use crate::RedisStore;
use crate::store::{decode, encode};

impl RedisStore {
    fn canned_key(&self) -> String {
        self.index("canned")
    }
}

#[async_trait]
impl CannedStore for RedisStore {
    async fn put_canned(&self, canned: &CannedResponse) -> Result<(), StoreError> {
        let key = self.canned_key();
        let json = encode(&format!("{key}/{}", canned.id), canned)?;
        let _: i64 = self
            .query(redis::cmd("HSET").arg(&key).arg(&canned.id).arg(json))
            .await?;
        Ok(())
    }

    async fn canned(&self, id: &str) -> Result<Option<CannedResponse>, StoreError> {
        let key = self.canned_key();
        let raw: Option<String> = self.query(redis::cmd("HGET").arg(&key).arg(id)).await?;
        raw.map(|raw| decode(&format!("{key}/{id}"), &raw))
            .transpose()
    }

    async fn delete_canned(&self, id: &str) -> Result<bool, StoreError> {
        let removed: i64 = self
            .query(redis::cmd("HDEL").arg(self.canned_key()).arg(id))
            .await?;
        Ok(removed == 1)
    }

    async fn canned_for(&self, owner: &str) -> Result<Vec<CannedResponse>, StoreError> {
        let all: Vec<CannedResponse> = self.hash_values(&self.canned_key()).await?;
        Ok(visible_to(all, owner))
    }
}
