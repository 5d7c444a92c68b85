//! The binary framing of a stored message.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{FRAME_V1, FRAME_VERSION};
use crate::Message;

/// [`encode_at`] without a publish time (0).
#[cfg(test)]
pub(super) fn encode(message: &Message) -> Vec<u8> {
    encode_at(message, 0)
}

/// Binary framing of a stored message: version byte, then length-prefixed
/// (u32 big-endian) subject, header count and header names and values, then
/// (version 2) the publish time in Unix milliseconds (u64 big-endian), then
/// the payload to the end. Version 1 frames, without the time, still decode.
pub(super) fn encode_at(message: &Message, published_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + message.subject.len() + 4 + 8 + message.size());
    out.push(FRAME_VERSION);
    put_bytes(&mut out, message.subject.as_bytes());
    put_len(&mut out, message.headers.len());
    for (name, value) in &message.headers {
        put_bytes(&mut out, name.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    out.extend_from_slice(&published_ms.to_be_bytes());
    out.extend_from_slice(&message.payload);
    out
}

/// When a stored message was published (Unix ms); `None` for a version 1
/// frame or a damaged one.
pub(super) fn published_ms(bytes: &[u8]) -> Option<u64> {
    let mut reader = Reader(bytes);
    let (_, published) = reader.frame().ok()?;
    published
}

pub(super) fn put_len(out: &mut Vec<u8>, len: usize) {
    // Messages are limited to 1 MiB, so every length fits.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reverses [`encode_at`]; an error says what is wrong.
pub(super) fn decode(bytes: &[u8]) -> Result<Message, String> {
    let mut reader = Reader(bytes);
    let ((subject, headers), _) = reader.frame()?;
    Ok(Message {
        subject,
        headers,
        payload: Bytes::copy_from_slice(reader.0),
    })
}

type Head = (String, BTreeMap<String, String>);

pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Everything before the payload: subject, headers, publish time.
    fn frame(&mut self) -> Result<(Head, Option<u64>), String> {
        let version = match self.take(1)? {
            [v @ (FRAME_V1 | FRAME_VERSION)] => *v,
            [other] => return Err(format!("unknown framing version {other}")),
            _ => return Err("empty record".into()),
        };
        let subject = self.string("subject")?;
        let count = self.len()?;
        let mut headers = BTreeMap::new();
        for _ in 0..count {
            let name = self.string("header name")?;
            let value = self.string("header value")?;
            headers.insert(name, value);
        }
        let published = match version {
            FRAME_V1 => None,
            _ => {
                let raw: [u8; 8] = self
                    .take(8)?
                    .try_into()
                    .map_err(|_| "record truncated".to_owned())?;
                Some(u64::from_be_bytes(raw))
            }
        };
        Ok(((subject, headers), published))
    }

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
