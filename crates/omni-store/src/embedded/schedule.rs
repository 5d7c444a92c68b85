//! [`ScheduleStore`] for the embedded store: items by id, pending items
//! indexed by (due, id) so that due ones are a range scan, and items by
//! conversation. A claim is a read-modify-write in one write transaction,
//! which redb runs one at a time: two claims of one item cannot both win.
//! Answered items are indexed by (answered at, id) for the survey export,
//! sent ones by (sent at, id) for the response rate ([`Mark`]).

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::time::Millis;
use redb::ReadableTable;

use super::EmbeddedStore;
use super::records::{db_err, get_json, put_json};
use super::schema::{
    SCHEDULE, SCHEDULE_ANSWERED, SCHEDULE_BY_CONVERSATION, SCHEDULE_DUE, SCHEDULE_SENT,
};
use crate::StoreError;
use crate::schedule::{ScheduleKind, ScheduleState, ScheduleStore, ScheduledItem};

const TABLE: &str = "schedule";

/// A time an item is marked at and indexed by.
#[derive(Debug, Clone, Copy)]
enum Mark {
    /// The customer answered it.
    Answered,
    /// It went out.
    Sent,
}

impl Mark {
    fn table(self) -> redb::TableDefinition<'static, (i64, &'static str), ()> {
        match self {
            Mark::Answered => SCHEDULE_ANSWERED,
            Mark::Sent => SCHEDULE_SENT,
        }
    }

    fn field(self, item: &mut ScheduledItem) -> &mut Option<Millis> {
        match self {
            Mark::Answered => &mut item.answered_at_ms,
            Mark::Sent => &mut item.sent_at_ms,
        }
    }
}

#[async_trait]
impl ScheduleStore for EmbeddedStore {
    async fn put_scheduled(&self, item: &ScheduledItem) -> Result<bool, StoreError> {
        let item = item.clone();
        self.write(move |txn| {
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            if items.get(item.id.as_str()).map_err(db_err)?.is_some() {
                return Ok(false);
            }
            put_json(&mut items, TABLE, &item.id, &item)?;
            if item.state == ScheduleState::Pending {
                let mut due = txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
                due.insert((item.due_at_ms, item.id.as_str()), ())
                    .map_err(db_err)?;
            }
            let mut by = txn.open_table(SCHEDULE_BY_CONVERSATION).map_err(db_err)?;
            by.insert((item.conversation_id.as_str(), item.id.as_str()), ())
                .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn due_scheduled(
        &self,
        now_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        self.read(move |txn| {
            let due = txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
            let items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in due
                .range((Millis::MIN, "")..=(now_ms, "\u{10ffff}"))
                .map_err(db_err)?
            {
                if out.len() >= limit {
                    break;
                }
                let (key, _) = entry.map_err(db_err)?;
                let id = key.value().1;
                let item: Option<ScheduledItem> = get_json(&items, TABLE, id)?;
                if let Some(item) = item.filter(|i| i.claimed_until_ms <= now_ms) {
                    out.push(item);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn claim_scheduled(
        &self,
        id: &str,
        now_ms: Millis,
        lease_ms: Millis,
    ) -> Result<Option<ScheduledItem>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let item: Option<ScheduledItem> = get_json(&items, TABLE, &id)?;
            let Some(mut item) = item else {
                return Ok(None);
            };
            if item.state != ScheduleState::Pending || item.claimed_until_ms > now_ms {
                return Ok(None);
            }
            item.claimed_until_ms = now_ms.saturating_add(lease_ms);
            put_json(&mut items, TABLE, &id, &item)?;
            Ok(Some(item))
        })
        .await
    }

    async fn finish_scheduled(
        &self,
        id: &str,
        outcome: &str,
        reschedule: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let (id, outcome) = (id.to_owned(), outcome.to_owned());
        self.write(move |txn| {
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let item: Option<ScheduledItem> = get_json(&items, TABLE, &id)?;
            let Some(mut item) = item.filter(|i| i.state == ScheduleState::Pending) else {
                return Ok(false);
            };
            let mut due = txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
            due.remove((item.due_at_ms, id.as_str())).map_err(db_err)?;
            item.claimed_until_ms = 0;
            match reschedule {
                Some(at) => {
                    item.due_at_ms = at;
                    due.insert((at, id.as_str()), ()).map_err(db_err)?;
                }
                None => {
                    item.state = ScheduleState::Done;
                    item.outcome = outcome;
                }
            }
            put_json(&mut items, TABLE, &id, &item)?;
            Ok(true)
        })
        .await
    }

    async fn cancel_scheduled(
        &self,
        conversation_id: &ConversationId,
        kind: ScheduleKind,
        outcome: &str,
    ) -> Result<u64, StoreError> {
        let (conversation, outcome) = (conversation_id.as_str().to_owned(), outcome.to_owned());
        self.write(move |txn| {
            let by = txn.open_table(SCHEDULE_BY_CONVERSATION).map_err(db_err)?;
            let mut ids = Vec::new();
            for entry in by
                .range((conversation.as_str(), "")..=(conversation.as_str(), "\u{10ffff}"))
                .map_err(db_err)?
            {
                let (key, _) = entry.map_err(db_err)?;
                ids.push(key.value().1.to_owned());
            }
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let mut due = txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
            let mut cancelled = 0;
            for id in ids {
                let item: Option<ScheduledItem> = get_json(&items, TABLE, &id)?;
                let Some(mut item) =
                    item.filter(|i| i.state == ScheduleState::Pending && i.kind == kind)
                else {
                    continue;
                };
                due.remove((item.due_at_ms, id.as_str())).map_err(db_err)?;
                item.state = ScheduleState::Cancelled;
                item.outcome = outcome.clone();
                put_json(&mut items, TABLE, &id, &item)?;
                cancelled += 1;
            }
            Ok(cancelled)
        })
        .await
    }

    async fn swap_scheduled_payload(
        &self,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let (id, old, new) = (id.to_owned(), old.to_owned(), new.to_owned());
        self.write(move |txn| {
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let item: Option<ScheduledItem> = get_json(&items, TABLE, &id)?;
            let Some(mut item) = item.filter(|i| i.payload == old) else {
                return Ok(false);
            };
            item.payload = new;
            put_json(&mut items, TABLE, &id, &item)?;
            Ok(true)
        })
        .await
    }

    async fn delete_scheduled(&self, conversation_id: &ConversationId) -> Result<u64, StoreError> {
        let conversation = conversation_id.as_str().to_owned();
        self.write(move |txn| {
            let mut by = txn.open_table(SCHEDULE_BY_CONVERSATION).map_err(db_err)?;
            let mut ids = Vec::new();
            for entry in by
                .range((conversation.as_str(), "")..=(conversation.as_str(), "\u{10ffff}"))
                .map_err(db_err)?
            {
                let (key, _) = entry.map_err(db_err)?;
                ids.push(key.value().1.to_owned());
            }
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let mut due = txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
            let mut answered = txn.open_table(SCHEDULE_ANSWERED).map_err(db_err)?;
            let mut sent = txn.open_table(SCHEDULE_SENT).map_err(db_err)?;
            for id in &ids {
                let item: Option<ScheduledItem> = get_json(&items, TABLE, id)?;
                if let Some(item) = item {
                    due.remove((item.due_at_ms, id.as_str())).map_err(db_err)?;
                    if let Some(at) = item.answered_at_ms {
                        answered.remove((at, id.as_str())).map_err(db_err)?;
                    }
                    if let Some(at) = item.sent_at_ms {
                        sent.remove((at, id.as_str())).map_err(db_err)?;
                    }
                }
                items.remove(id.as_str()).map_err(db_err)?;
                by.remove((conversation.as_str(), id.as_str()))
                    .map_err(db_err)?;
            }
            Ok(ids.len() as u64)
        })
        .await
    }

    async fn scheduled_for(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<ScheduledItem>, StoreError> {
        let conversation = conversation_id.as_str().to_owned();
        self.read(move |txn| {
            let by = txn.open_table(SCHEDULE_BY_CONVERSATION).map_err(db_err)?;
            let items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in by
                .range((conversation.as_str(), "")..=(conversation.as_str(), "\u{10ffff}"))
                .map_err(db_err)?
            {
                let (key, _) = entry.map_err(db_err)?;
                let item: Option<ScheduledItem> = get_json(&items, TABLE, key.value().1)?;
                out.extend(item);
            }
            out.sort_by(|a, b| (a.due_at_ms, &a.id).cmp(&(b.due_at_ms, &b.id)));
            Ok(out)
        })
        .await
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

impl EmbeddedStore {
    /// Marks the item at `at_ms` (the first time is kept) and indexes it.
    async fn mark(&self, mark: Mark, id: &str, at_ms: Millis) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let at = at_ms.max(0);
        self.write(move |txn| {
            let mut items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let item: Option<ScheduledItem> = get_json(&items, TABLE, &id)?;
            let Some(mut item) = item else {
                return Ok(false);
            };
            let field = mark.field(&mut item);
            if field.is_some() {
                return Ok(false);
            }
            *field = Some(at);
            put_json(&mut items, TABLE, &id, &item)?;
            let mut index = txn.open_table(mark.table()).map_err(db_err)?;
            index.insert((at, id.as_str()), ()).map_err(db_err)?;
            Ok(true)
        })
        .await
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
        self.read(move |txn| {
            let index = txn.open_table(mark.table()).map_err(db_err)?;
            let items = txn.open_table(SCHEDULE).map_err(db_err)?;
            let mut out = Vec::new();
            if to_ms <= from_ms {
                return Ok(out);
            }
            let start = after.as_ref().map_or(from_ms, |(at, _)| (*at).max(from_ms));
            for entry in index.range((start, "")..(to_ms, "")).map_err(db_err)? {
                if out.len() >= limit {
                    break;
                }
                let (key, _) = entry.map_err(db_err)?;
                let (at, id) = key.value();
                if let Some((after_at, after_id)) = &after
                    && (at, id) <= (*after_at, after_id.as_str())
                {
                    continue;
                }
                let item: Option<ScheduledItem> = get_json(&items, TABLE, id)?;
                out.extend(item);
            }
            Ok(out)
        })
        .await
    }
}
