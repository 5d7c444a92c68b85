//! Reading and writing records in redb tables: JSON encoding with errors
//! that name the record, pointers, messages and whole-table scans.

use std::fmt;

use omni_core::StoredMessage;
use redb::{ReadableTable, Table};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::schema::Pointer;
use crate::StoreError;

pub(super) fn db_err(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

pub(super) fn decode<T: DeserializeOwned>(
    key: impl fmt::Display,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

pub(super) fn encode<T: Serialize>(
    key: impl fmt::Display,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("cannot encode: {e}"),
    })
}

/// A record another record points to is missing.
pub(super) fn dangling(key: impl fmt::Display, from: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("missing, but referenced by {from}"),
    }
}

pub(super) fn not_found(kind: &'static str, id: impl fmt::Display) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

pub(super) fn get_json<T, R>(
    table: &R,
    table_name: &str,
    key: &str,
) -> Result<Option<T>, StoreError>
where
    T: DeserializeOwned,
    R: ReadableTable<&'static str, &'static [u8]>,
{
    match table.get(key).map_err(db_err)? {
        None => Ok(None),
        Some(guard) => decode(format_args!("{table_name}/{key}"), guard.value()).map(Some),
    }
}

pub(super) fn put_json<T: Serialize>(
    table: &mut Table<'_, &'static str, &'static [u8]>,
    table_name: &str,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = encode(format_args!("{table_name}/{key}"), value)?;
    table.insert(key, bytes.as_slice()).map_err(db_err)?;
    Ok(())
}

pub(super) fn get_str<R>(table: &R, key: &str) -> Result<Option<String>, StoreError>
where
    R: ReadableTable<&'static str, &'static str>,
{
    Ok(table
        .get(key)
        .map_err(db_err)?
        .map(|g| g.value().to_owned()))
}

pub(super) fn get_pointer<R>(table: &R, key: &str) -> Result<Option<(String, u64)>, StoreError>
where
    R: ReadableTable<&'static str, Pointer>,
{
    Ok(table.get(key).map_err(db_err)?.map(|g| {
        let (conversation, seq) = g.value();
        (conversation.to_owned(), seq)
    }))
}

pub(super) fn get_message<R>(
    table: &R,
    conversation: &str,
    seq: u64,
) -> Result<Option<StoredMessage>, StoreError>
where
    R: ReadableTable<(&'static str, u64), &'static [u8]>,
{
    match table.get((conversation, seq)).map_err(db_err)? {
        None => Ok(None),
        Some(guard) => {
            decode(format_args!("messages/{conversation}/{seq}"), guard.value()).map(Some)
        }
    }
}

pub(super) fn put_message(
    table: &mut Table<'_, (&'static str, u64), &'static [u8]>,
    message: &StoredMessage,
) -> Result<(), StoreError> {
    let conversation = message.conversation_id.as_str();
    let bytes = encode(
        format_args!("messages/{conversation}/{}", message.seq),
        message,
    )?;
    table
        .insert((conversation, message.seq), bytes.as_slice())
        .map_err(db_err)?;
    Ok(())
}

pub(super) fn scan_json<T, R>(table: &R, table_name: &str) -> Result<Vec<T>, StoreError>
where
    T: DeserializeOwned,
    R: ReadableTable<&'static str, &'static [u8]>,
{
    let mut out = Vec::new();
    for entry in table.iter().map_err(db_err)? {
        let (key, value) = entry.map_err(db_err)?;
        out.push(decode(
            format_args!("{table_name}/{}", key.value()),
            value.value(),
        )?);
    }
    Ok(out)
}
