//! [`DeadLetterStore`] on Redis: the records in one hash by message id and
//! their order in one sorted set scored by the time the adapter gave up
//! (ties by message id, as the embedded store orders them). One script
//! keeps a record once and trims the oldest beyond the bound.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:dead_letter` | hash | message id → [`omni_store::DeadLetterRecord`] JSON |
//! | `{P}:dead_letters` | sorted set | message ids, scored by the time the adapter gave up |

use std::sync::LazyLock;

use async_trait::async_trait;
use omni_store::{DeadLetterRecord, DeadLetterStore, StoreError};
use redis::Script;

use crate::RedisStore;
use crate::store::{decode, encode};

/// Keeps a record unless its id is kept, then trims the oldest beyond
/// `ARGV[4]`: `1` if the record was new.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end \
         redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) \
         redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) \
         local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4]) \
         if over > 0 then \
           local old = redis.call('ZRANGE', KEYS[2], 0, over - 1) \
           redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1) \
           for _, id in ipairs(old) do redis.call('HDEL', KEYS[1], id) end \
         end \
         return 1",
    )
});

/// Ids read per round trip while filtering by channel.
const PAGE: isize = 200;

#[async_trait]
impl DeadLetterStore for RedisStore {
    async fn put_dead_letter(
        &self,
        record: &DeadLetterRecord,
        keep: u64,
    ) -> Result<bool, StoreError> {
        let (records, order) = (self.index("dead_letter"), self.index("dead_letters"));
        let json = encode(&format!("{records}/{}", record.message_id), record)?;
        let mut invocation = PUT.key(&records);
        invocation
            .key(&order)
            .arg(&record.message_id)
            .arg(json)
            .arg(record.at_ms)
            .arg(keep);
        let new: i64 = self.invoke(&invocation).await?;
        Ok(new == 1)
    }

    async fn delete_dead_letters(&self, conversations: &[String]) -> Result<u64, StoreError> {
        let (records, order) = (self.index("dead_letter"), self.index("dead_letters"));
        let all: Vec<(String, String)> = self.query(redis::cmd("HGETALL").arg(&records)).await?;
        let mut doomed = Vec::new();
        for (id, raw) in all {
            let record: DeadLetterRecord = decode(&format!("{records}/{id}"), &raw)?;
            if conversations.contains(&record.conversation_id) {
                doomed.push(id);
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        self.query::<()>(redis::cmd("ZREM").arg(&order).arg(&doomed))
            .await?;
        let deleted: u64 = self
            .query(redis::cmd("HDEL").arg(&records).arg(&doomed))
            .await?;
        Ok(deleted)
    }

    async fn dead_letters(
        &self,
        channel: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetterRecord>, StoreError> {
        let (records, order) = (self.index("dead_letter"), self.index("dead_letters"));
        let mut out = Vec::new();
        let mut start: isize = 0;
        while out.len() < limit {
            let ids: Vec<String> = self
                .query(
                    redis::cmd("ZREVRANGE")
                        .arg(&order)
                        .arg(start)
                        .arg(start + PAGE - 1),
                )
                .await?;
            if ids.is_empty() {
                break;
            }
            start += PAGE;
            let raw: Vec<Option<String>> = self
                .query(redis::cmd("HMGET").arg(&records).arg(&ids))
                .await?;
            for (id, raw) in ids.iter().zip(raw) {
                // Trimmed between the two reads: gone, not corrupt.
                let Some(raw) = raw else { continue };
                let record: DeadLetterRecord = decode(&format!("{records}/{id}"), &raw)?;
                if out.len() < limit && channel.is_none_or(|c| c == record.channel) {
                    out.push(record);
                }
            }
        }
        Ok(out)
    }
}
