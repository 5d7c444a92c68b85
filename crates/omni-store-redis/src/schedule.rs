//! [`ScheduleStore`] on Redis: the items in one hash by id, the pending
//! ones in a sorted set scored by due time, and each conversation's item
//! ids in a set. Changes are read in Rust and written by one
//! compare-and-set script (the item's JSON must still be what was read),
//! so two claims of one item cannot both win; the loser reads again and
//! finds it claimed.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:schedule` | hash | item id → [`omni_store::ScheduledItem`] JSON |
//! | `{P}:schedule_due` | sorted set | pending item ids, scored by due time |
//! | `{P}:schedule_of:<conversation id>` | set | the conversation's item ids |
//! | `{P}:schedule_answered` | sorted set | answered item ids as `<answered at, 20 digits> <id>`, all scored 0, so a period is a lexicographic range |
//! | `{P}:schedule_sent` | sorted set | sent item ids as `<sent at, 20 digits> <id>`, the same way (a survey's response rate) |

use std::sync::LazyLock;

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::time::Millis;
use omni_store::{ScheduleKind, ScheduleState, ScheduleStore, ScheduledItem, StoreError};
use redis::Script;

use crate::RedisStore;
use crate::cas::{ATTEMPTS, backoff, contended};
use crate::store::{decode, encode};

/// Keeps an item unless its id is kept: `1` if new.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end \
         if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end \
         redis.call('SADD', KEYS[3], ARGV[1]) \
         return 1",
    )
});

/// Replaces an item's JSON if it is still `ARGV[2]`, and keeps it in the
/// due set scored `ARGV[4]` (or out of it when empty): `1` if written.
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end \
         redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) \
         if ARGV[4] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) \
         else redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1]) end \
         return 1",
    )
});

/// A time an item is marked at and indexed by.
#[derive(Debug, Clone, Copy)]
enum Mark {
    /// The customer answered it.
    Answered,
    /// It went out.
    Sent,
}

impl Mark {
    fn index(self) -> &'static str {
        match self {
            Mark::Answered => "schedule_answered",
            Mark::Sent => "schedule_sent",
        }
    }

    fn field(self, item: &mut ScheduledItem) -> &mut Option<Millis> {
        match self {
            Mark::Answered => &mut item.answered_at_ms,
            Mark::Sent => &mut item.sent_at_ms,
        }
    }
}

/// The index member of an item marked at `at_ms` (never negative).
fn index_member(at_ms: Millis, id: &str) -> String {
    format!("{:020} {id}", at_ms.max(0))
}

impl RedisStore {
    async fn scheduled_raw(&self, id: &str) -> Result<Option<(String, ScheduledItem)>, StoreError> {
        let items = self.index("schedule");
        let raw: Option<String> = self.query(redis::cmd("HGET").arg(&items).arg(id)).await?;
        raw.map(|raw| {
            let item = decode(&format!("{items}/{id}"), &raw)?;
            Ok((raw, item))
        })
        .transpose()
    }

    /// Writes `new` over `old` if unchanged: whether it was written.
    async fn swap_scheduled(&self, old: &str, new: &ScheduledItem) -> Result<bool, StoreError> {
        let (items, due) = (self.index("schedule"), self.index("schedule_due"));
        let json = encode(&format!("{items}/{}", new.id), new)?;
        let score = match new.state {
            ScheduleState::Pending => new.due_at_ms.to_string(),
            _ => String::new(),
        };
        let mut invocation = SWAP.key(&items);
        invocation
            .key(&due)
            .arg(&new.id)
            .arg(old)
            .arg(json)
            .arg(score);
        let written: i64 = self.invoke(&invocation).await?;
        Ok(written == 1)
    }

    /// Applies `change` to the item until the write wins; `change` answers
    /// `None` when nothing is to be written (and that `None` is returned).
    async fn update_scheduled<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut ScheduledItem) -> Option<T> + Send,
    ) -> Result<Option<T>, StoreError>
    where
        T: Send,
    {
        for attempt in 0..ATTEMPTS {
            let Some((raw, mut item)) = self.scheduled_raw(id).await? else {
                return Ok(None);
            };
            let Some(out) = change(&mut item) else {
                return Ok(None);
            };
            if self.swap_scheduled(&raw, &item).await? {
                return Ok(Some(out));
            }
            backoff(attempt).await;
        }
        Err(contended("scheduled item"))
    }
}

#[async_trait]
impl ScheduleStore for RedisStore {
    async fn put_scheduled(&self, item: &ScheduledItem) -> Result<bool, StoreError> {
        let (items, due) = (self.index("schedule"), self.index("schedule_due"));
        let of = self.key("schedule_of", item.conversation_id.as_str());
        let json = encode(&format!("{items}/{}", item.id), item)?;
        let score = match item.state {
            ScheduleState::Pending => item.due_at_ms.to_string(),
            _ => String::new(),
        };
        let mut invocation = PUT.key(&items);
        invocation
            .key(&due)
            .key(&of)
            .arg(&item.id)
            .arg(json)
            .arg(score);
        let new: i64 = self.invoke(&invocation).await?;
        Ok(new == 1)
    }

    async fn due_scheduled(
        &self,
        now_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        let (items, due) = (self.index("schedule"), self.index("schedule_due"));
        let ids: Vec<String> = self
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&due)
                    .arg("-inf")
                    .arg(now_ms)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit.min(isize::MAX as usize)),
            )
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self
            .query(redis::cmd("HMGET").arg(&items).arg(&ids))
            .await?;
        let mut out = Vec::new();
        for (id, raw) in ids.iter().zip(raw) {
            let Some(raw) = raw else { continue };
            let item: ScheduledItem = decode(&format!("{items}/{id}"), &raw)?;
            if item.state == ScheduleState::Pending && item.claimed_until_ms <= now_ms {
                out.push(item);
            }
        }
        Ok(out)
    }

    async fn claim_scheduled(
        &self,
        id: &str,
        now_ms: Millis,
        lease_ms: Millis,
    ) -> Result<Option<ScheduledItem>, StoreError> {
        self.update_scheduled(id, |item| {
            if item.state != ScheduleState::Pending || item.claimed_until_ms > now_ms {
                return None;
            }
            item.claimed_until_ms = now_ms.saturating_add(lease_ms);
            Some(item.clone())
        })
        .await
    }

    async fn finish_scheduled(
        &self,
        id: &str,
        outcome: &str,
        reschedule: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let done = self
            .update_scheduled(id, |item| {
                if item.state != ScheduleState::Pending {
                    return None;
                }
                item.claimed_until_ms = 0;
                match reschedule {
                    Some(at) => item.due_at_ms = at,
                    None => {
                        item.state = ScheduleState::Done;
                        outcome.clone_into(&mut item.outcome);
                    }
                }
                Some(())
            })
            .await?;
        Ok(done.is_some())
    }

    async fn cancel_scheduled(
        &self,
        conversation_id: &ConversationId,
        kind: ScheduleKind,
        outcome: &str,
    ) -> Result<u64, StoreError> {
        let of = self.key("schedule_of", conversation_id.as_str());
        let ids: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&of)).await?;
        let mut cancelled = 0;
        for id in ids {
            let changed = self
                .update_scheduled(&id, |item| {
                    if item.state != ScheduleState::Pending || item.kind != kind {
                        return None;
                    }
                    item.state = ScheduleState::Cancelled;
                    outcome.clone_into(&mut item.outcome);
                    Some(())
                })
                .await?;
            cancelled += u64::from(changed.is_some());
        }
        Ok(cancelled)
    }

    async fn swap_scheduled_payload(
        &self,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let swapped = self
            .update_scheduled(id, |item| {
                if item.payload != old {
                    return None;
                }
                new.clone_into(&mut item.payload);
                Some(())
            })
            .await?;
        Ok(swapped.is_some())
    }

    async fn delete_scheduled(&self, conversation_id: &ConversationId) -> Result<u64, StoreError> {
        let (items, due) = (self.index("schedule"), self.index("schedule_due"));
        let of = self.key("schedule_of", conversation_id.as_str());
        let ids: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&of)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let (mut answered, mut sent) = (Vec::new(), Vec::new());
        for item in self.scheduled_for(conversation_id).await? {
            if let Some(at) = item.answered_at_ms {
                answered.push(index_member(at, &item.id));
            }
            if let Some(at) = item.sent_at_ms {
                sent.push(index_member(at, &item.id));
            }
        }
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("ZREM").arg(&due).arg(&ids).ignore();
        for (mark, members) in [(Mark::Answered, &answered), (Mark::Sent, &sent)] {
            if !members.is_empty() {
                pipe.cmd("ZREM")
                    .arg(self.index(mark.index()))
                    .arg(members)
                    .ignore();
            }
        }
        pipe.cmd("HDEL")
            .arg(&items)
            .arg(&ids)
            .cmd("DEL")
            .arg(&of)
            .ignore();
        let (deleted,): (u64,) = self.query_pipe(&pipe).await?;
        Ok(deleted)
    }

    async fn scheduled_for(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        let items = self.index("schedule");
        let of = self.key("schedule_of", conversation_id.as_str());
        let ids: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&of)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self
            .query(redis::cmd("HMGET").arg(&items).arg(&ids))
            .await?;
        let mut out = Vec::new();
        for (id, raw) in ids.iter().zip(raw) {
            let Some(raw) = raw else { continue };
            out.push(decode::<ScheduledItem>(&format!("{items}/{id}"), &raw)?);
        }
        out.sort_by(|a, b| (a.due_at_ms, &a.id).cmp(&(b.due_at_ms, &b.id)));
        Ok(out)
    }

    async fn mark_answered(&self, id: &str, at_ms: Millis) -> Result<bool, StoreError> {
        self.mark(Mark::Answered, id, at_ms).await
    }

    async fn answered_between(
        &self,
        from_ms: Millis,
        to_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        self.marked_between(Mark::Answered, from_ms, to_ms, after, limit)
            .await
    }

    async fn mark_sent(&self, id: &str, at_ms: Millis) -> Result<bool, StoreError> {
        self.mark(Mark::Sent, id, at_ms).await
    }

    async fn sent_between(
        &self,
        from_ms: Millis,
        to_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        self.marked_between(Mark::Sent, from_ms, to_ms, after, limit)
            .await
    }
}

impl RedisStore {
    /// Marks the item at `at_ms` (the first time is kept) and indexes it.
    async fn mark(&self, mark: Mark, id: &str, at_ms: Millis) -> Result<bool, StoreError> {
        let at = at_ms.max(0);
        let marked = self
            .update_scheduled(id, |item| {
                let field = mark.field(item);
                if field.is_some() {
                    return None;
                }
                *field = Some(at);
                Some(())
            })
            .await?;
        // Indexed by the kept time, also when marked before: a mark whose
        // index write was lost is completed by the next call.
        let kept = self.scheduled_raw(id).await?;
        if let Some(at) = kept.and_then(|(_, mut item)| *mark.field(&mut item)) {
            let index = self.index(mark.index());
            let _: i64 = self
                .query(
                    redis::cmd("ZADD")
                        .arg(&index)
                        .arg(0)
                        .arg(index_member(at, id)),
                )
                .await?;
        }
        Ok(marked.is_some())
    }

    /// Marked items with `from_ms <= at < to_ms`, after the cursor.
    async fn marked_between(
        &self,
        mark: Mark,
        from_ms: Millis,
        to_ms: Millis,
        after: Option<(Millis, String)>,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        if to_ms <= from_ms || limit == 0 {
            return Ok(Vec::new());
        }
        let (index, items) = (self.index(mark.index()), self.index("schedule"));
        let min = match after {
            Some((at, id)) if at >= from_ms => format!("({}", index_member(at, &id)),
            _ => format!("[{}", index_member(from_ms, "")),
        };
        let max = format!("({}", index_member(to_ms, ""));
        let members: Vec<String> = self
            .query(
                redis::cmd("ZRANGEBYLEX")
                    .arg(&index)
                    .arg(min)
                    .arg(max)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        let ids: Vec<&str> = members
            .iter()
            .filter_map(|m| m.split_once(' ').map(|(_, id)| id))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self
            .query(redis::cmd("HMGET").arg(&items).arg(&ids))
            .await?;
        let mut out = Vec::new();
        for (id, raw) in ids.iter().zip(raw) {
            let Some(raw) = raw else { continue };
            out.push(decode::<ScheduledItem>(&format!("{items}/{id}"), &raw)?);
        }
        Ok(out)
    }
}
