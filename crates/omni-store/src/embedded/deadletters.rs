//! [`DeadLetterStore`] for the embedded store: records keyed by (time,
//! message id), so the newest are a reverse range scan and the oldest are
//! trimmed from the front, and an index by message id for idempotency.

use async_trait::async_trait;
use redb::{ReadableTable, ReadableTableMetadata};

use super::EmbeddedStore;
use super::records::{db_err, decode, encode};
use super::schema::{DEAD_LETTER_IDS, DEAD_LETTERS};
use crate::StoreError;
use crate::deadletters::{DeadLetterRecord, DeadLetterStore};

#[async_trait]
impl DeadLetterStore for EmbeddedStore {
    async fn put_dead_letter(
        &self,
        record: &DeadLetterRecord,
        keep: u64,
    ) -> Result<bool, StoreError> {
        let record = record.clone();
        self.write(move |txn| {
            let mut ids = txn.open_table(DEAD_LETTER_IDS).map_err(db_err)?;
            if ids
                .get(record.message_id.as_str())
                .map_err(db_err)?
                .is_some()
            {
                return Ok(false);
            }
            let mut table = txn.open_table(DEAD_LETTERS).map_err(db_err)?;
            let bytes = encode(format_args!("dead_letters/{}", record.message_id), &record)?;
            table
                .insert((record.at_ms, record.message_id.as_str()), bytes.as_slice())
                .map_err(db_err)?;
            ids.insert(record.message_id.as_str(), record.at_ms)
                .map_err(db_err)?;
            let over = table.len().map_err(db_err)?.saturating_sub(keep);
            for _ in 0..over {
                let oldest = table.pop_first().map_err(db_err)?;
                if let Some((key, _)) = oldest {
                    let (_, id) = key.value();
                    ids.remove(id).map_err(db_err)?;
                }
            }
            Ok(true)
        })
        .await
    }

    async fn delete_dead_letters(&self, conversations: &[String]) -> Result<u64, StoreError> {
        let conversations: std::collections::BTreeSet<String> =
            conversations.iter().cloned().collect();
        self.write(move |txn| {
            let mut table = txn.open_table(DEAD_LETTERS).map_err(db_err)?;
            let mut doomed = Vec::new();
            for entry in table.iter().map_err(db_err)? {
                let (key, value) = entry.map_err(db_err)?;
                let (at, id) = key.value();
                let record: DeadLetterRecord =
                    decode(format_args!("dead_letters/{id}"), value.value())?;
                if conversations.contains(&record.conversation_id) {
                    doomed.push((at, id.to_owned()));
                }
            }
            let mut ids = txn.open_table(DEAD_LETTER_IDS).map_err(db_err)?;
            for (at, id) in &doomed {
                table.remove((*at, id.as_str())).map_err(db_err)?;
                ids.remove(id.as_str()).map_err(db_err)?;
            }
            Ok(doomed.len() as u64)
        })
        .await
    }

    async fn dead_letters(
        &self,
        channel: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetterRecord>, StoreError> {
        let channel = channel.map(str::to_owned);
        self.read(move |txn| {
            let table = txn.open_table(DEAD_LETTERS).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(db_err)?.rev() {
                if out.len() >= limit {
                    break;
                }
                let (key, value) = entry.map_err(db_err)?;
                let record: DeadLetterRecord = decode(
                    format_args!("dead_letters/{}", key.value().1),
                    value.value(),
                )?;
                if channel.as_deref().is_none_or(|c| c == record.channel) {
                    out.push(record);
                }
            }
            Ok(out)
        })
        .await
    }
}
