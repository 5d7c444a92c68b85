//! The binary framing of a stored message.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::FRAME_VERSION;
use crate::Message;

/// Binary framing of a stored message: version byte, then length-prefixed
/// (u32 big-endian) subject, header count and header names and values, then
/// the payload to the end.
pub(super) fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + message.subject.len() + 4 + message.size());
    out.push(FRAME_VERSION);
    put_bytes(&mut out, message.subject.as_bytes());
    put_len(&mut out, message.headers.len());
    for (name, value) in &message.headers {
        put_bytes(&mut out, name.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    out.extend_from_slice(&message.payload);
    out
}

pub(super) fn put_len(out: &mut Vec<u8>, len: usize) {
    // Messages are limited to 1 MiB, so every length fits.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reverses [`encode`]; an error says what is wrong.
pub(super) fn decode(bytes: &[u8]) -> Result<Message, String> {
    let mut reader = Reader(bytes);
    match reader.take(1)? {
        [FRAME_VERSION] => {}
        [other] => return Err(format!("unknown framing version {other}")),
        _ => return Err("empty record".into()),
    }
    let subject = reader.string("subject")?;
    let count = reader.len()?;
    let mut headers = BTreeMap::new();
    for _ in 0..count {
        let name = reader.string("header name")?;
        let value = reader.string("header value")?;
        headers.insert(name, value);
    }
    Ok(Message {
        subject,
        headers,
        payload: Bytes::copy_from_slice(reader.0),
    })
}

pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "record truncated: {n} bytes expected, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn len(&mut self) -> Result<usize, String> {
        let raw: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| "record truncated".to_owned())?;
        usize::try_from(u32::from_be_bytes(raw)).map_err(|e| e.to_string())
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not utf-8"))
    }
}
